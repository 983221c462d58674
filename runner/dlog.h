/*
 * dlog: recheckd's log lines, on stderr (foreground, systemd journal) or syslog (facility daemon).
 * Thread-safe: each line is written with one call, and dlog_init() (main thread, at start and on reload)
 * may run while other threads log. Debug lines appear only with -d.
 */
#ifndef RECHECKD_DLOG_H
#define RECHECKD_DLOG_H

#include "api.h"

#include <syslog.h>

/* Selects the sink and verbosity. Main thread only; callable again on reload (syslog on/off). */
void dlog_init(bool use_syslog, bool debug);
/* Logs one line at prio (LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG). */
void dlog(int prio, const char *fmt, ...) PRINTF_FMT(2, 3);
bool dlog_debug_on(void);

#define dlog_err(...)    dlog(LOG_ERR, __VA_ARGS__)
#define dlog_warn(...)   dlog(LOG_WARNING, __VA_ARGS__)
#define dlog_notice(...) dlog(LOG_NOTICE, __VA_ARGS__)
#define dlog_info(...)   dlog(LOG_INFO, __VA_ARGS__)
#define dlog_debug(...)  do { if (dlog_debug_on()) dlog(LOG_DEBUG, __VA_ARGS__); } while (0)

#endif

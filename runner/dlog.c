/*
 * dlog: see dlog.h. The sink and the debug switch are atomics: worker threads read them on every line
 * while the main thread's SIGHUP reload may change them (dlog_init). syslog is opened once and never
 * closed while running, so a thread that still saw "syslog" an instant after a switch back to stderr
 * writes to an open log, not to a closed one.
 */
#include "api.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dlog.h"

static atomic_bool to_syslog;
static atomic_bool debug_on;
static bool syslog_open;        /* main thread only (dlog_init) */

void dlog_init(bool use_syslog, bool debug)
{
	if (use_syslog && !syslog_open) {
		openlog("recheckd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
		syslog_open = true;
	}
	atomic_store_explicit(&to_syslog, use_syslog, memory_order_release);
	atomic_store_explicit(&debug_on, debug, memory_order_relaxed);
}

bool dlog_debug_on(void)
{
	return atomic_load_explicit(&debug_on, memory_order_relaxed);
}

void dlog(int prio, const char *fmt, ...)
{
	static const char *const names[] = {"emerg", "alert", "crit", "error", "warning", "notice", "info", "debug"};
	char msg[1024], line[1200];
	va_list ap;
	struct timespec ts;
	struct tm tm;
	int n;

	if (prio == LOG_DEBUG && !dlog_debug_on())
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (atomic_load_explicit(&to_syslog, memory_order_acquire)) {
		syslog(prio, "%s", msg);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ recheckd[%d]: %s: %s\n",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		     ts.tv_nsec / 1000000, (int)getpid(), names[prio & 7], msg);
	if (n > (int)sizeof(line) - 1)
		n = (int)sizeof(line) - 1;
	/* One write per line: lines from several threads never interleave. */
	if (write(STDERR_FILENO, line, (size_t)n) == -1)
		return;
}

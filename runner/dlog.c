/*
 * dlog: see dlog.h.
 */
#include "api.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dlog.h"

static bool to_syslog;
static bool debug_on;

void dlog_init(bool use_syslog, bool debug)
{
	if (use_syslog && !to_syslog)
		openlog("recheckd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	else if (!use_syslog && to_syslog)
		closelog();
	to_syslog = use_syslog;
	debug_on = debug;
}

bool dlog_debug_on(void)
{
	return debug_on;
}

void dlog(int prio, const char *fmt, ...)
{
	static const char *const names[] = {"emerg", "alert", "crit", "error", "warning", "notice", "info", "debug"};
	char msg[1024], line[1200];
	va_list ap;
	struct timespec ts;
	struct tm tm;
	int n;

	if (prio == LOG_DEBUG && !debug_on)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (to_syslog) {
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

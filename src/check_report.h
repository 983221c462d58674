/*
 * check_report: the failure report of one concluded check run, as a person debugging a proxy needs it:
 * the failing step, what it expected, what arrived (hex + text, the first difference marked), what those
 * bytes mean when the protocol is known (explain.h), and the verdict class. `recheck replay` prints it,
 * and so does `check L/S` on recheckd's runtime API.
 */
#ifndef RECHECK_CHECK_REPORT_H
#define RECHECK_CHECK_REPORT_H

#include "api.h"

#include "buf.h"
#include "check-t.h"

struct recipe;

/*
 * Appends the report of run's failure to b. loaded is the recipe as read, ${NAME} unresolved (it tells
 * which values are secrets: they are masked in what is shown); server names the server ("HOST:PORT").
 */
void check_report_failure(const struct check_run *run, const struct recipe *loaded, const char *server,
			  struct buf *b);
/* "connect 0.2ms, send 1 0.0ms, expect 2 1.1ms": each timed step with its HAProxy number. */
void check_report_timings(const struct check_run *run, struct buf *b);

#endif

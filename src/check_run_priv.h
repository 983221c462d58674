/*
 * check_run_priv.h: what check_run.c gives the rest of the engine (check_tcp.c, check_http.c, check.c).
 * Not for other modules: drivers use check.h. The dependencies go one way: check.c -> check_tcp.c /
 * check_http.c -> check_run.c, and nothing below calls back up.
 */
#ifndef RECHECK_CHECK_RUN_PRIV_H
#define RECHECK_CHECK_RUN_PRIV_H

#include "check-t.h"

/* What evaluating a rule returns, as HAProxy's TCPCHK_EVAL_*. */
enum check_eval {
	CHECK_EVAL_WAIT = 0, /* need more data: keep reading */
	CHECK_EVAL_CONTINUE, /* passed: go on with the next rule */
	CHECK_EVAL_STOP,     /* concluded: run->res holds the result */
};

/* One line to the run's trace function, if any. */
void check_trace(struct check_run *run, const char *fmt, ...) PRINTF_FMT(2, 3);
/* The one place a run changes phase: traced as "old -> new (file.c:LINE)". */
void check_set_phase(struct check_run *run, enum check_phase ph, const char *file, int line);
#define SET_PHASE(run, ph) check_set_phase((run), (ph), __FILE__, __LINE__)

/* Concludes the run with a status, the rule (step number, index) and a description. */
void check_conclude(struct check_run *run, enum check_status st, int step, int idx, const char *fmt, ...)
	PRINTF_FMT(5, 6);
/* Keeps a capped copy of p in run->res as "what the failing step received". */
void check_keep_rx(struct check_run *run, const unsigned char *p, size_t n);

/* Timing of rule idx (-1: the implicit connect); NULL when out of range. */
struct check_timing *check_timing_of(struct check_run *run, int idx);
void check_time_start(struct check_run *run, int idx);
void check_time_end(struct check_run *run, int idx);

/* The run concluded: DONE, closing the connection as its connect rule asked (linger or RST). */
struct check_action check_done_action(const struct check_run *run);
/* READING: true while nothing came since the WANT_READ (no data, EOF or error) and the buffer has room. */
bool check_read_pending(const struct check_run *run);
/* A read concluded: notes whether it was the last one (EOF, error, full buffer), as HAProxy's
 * last_read, and waits for new data from now on. */
void check_read_done(struct check_run *run);

/* "connect", "send-binary", "expect rbinary", ... for a TCP rule; "connect" for NULL (implicit). */
const char *check_rule_kind(const struct step *s);
/* Fills run->res's rule fields (kind, comment, failing pattern) from rule idx (-1: implicit connect). */
void check_fill_rule(struct check_run *run, int idx);
/* A connection-level failure at rule idx (refused, timeout, reset with nothing read), as HAProxy's
 * chk_report_conn_err(): concludes with st and "[strerror] at step N of tcp-check (...)". */
void check_fail_conn(struct check_run *run, enum check_status st, int idx);
/* Starts the connection of rule idx (-1: the implicit one): resets the input, returns the action. */
struct check_action check_start_connect(struct check_run *run, int idx);
/*
 * TLS (check_run.c): start_tls issues CHECK_ACT_TLS for t, timed in idx's slot (HTTP: 2); fail_tls
 * concludes L6RSP with the reason (or L6TOUT at the deadline) at rule idx / step, described by where
 * (NULL: the rule's own "at step N of tcp-check (tls ...)").
 */
struct check_action check_start_tls(struct check_run *run, int idx, const struct step_tls *t);
void check_fail_tls(struct check_run *run, int idx, int step, const char *where);

/* Rule idx concluded: records its end time and traces it. */
void check_step_passed(struct check_run *run, int idx);

#endif

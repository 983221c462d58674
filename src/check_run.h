/*
 * check_run: a check run's state, the events a driver feeds it, and the names of its statuses and
 * phases (check_run.c, the bottom of the check engine). A driver includes check.h, which includes this
 * and adds check_run_init() and check_next(); the socket driver (check_io.c) needs only this.
 */
#ifndef RECHECK_CHECK_RUN_H
#define RECHECK_CHECK_RUN_H

#include "check-t.h"

/* Releases what the run owns, including run->res.rx. Safe on a zeroed or already freed run. */
void check_run_free(struct check_run *run);
/* Optional trace of steps as they conclude (and of phase changes when phases is true). */
void check_set_trace(struct check_run *run, check_trace_fn fn, void *arg, bool phases);

/* Events. Each only records what happened; the next check_next() acts on it. */
void check_on_connected(struct check_run *run);
void check_on_sent(struct check_run *run);
/* Appends received bytes; anything past check_rx_room() is dropped (read at most that much). */
void check_on_data(struct check_run *run, const void *p, size_t n);
void check_on_eof(struct check_run *run);
/* CHECK_ACT_TLS outcomes: the handshake completed, or failed for why (detail: OpenSSL's words). */
void check_on_tls_ok(struct check_run *run);
void check_on_tls_error(struct check_run *run, enum tls_reason why, const char *detail);
void check_on_error(struct check_run *run, int err);
/* A handshake under the connection (SOCKS4) failed after the TCP connect: a socket error described by why
 * (static text), with errno err when one caused it (0: the peer's answer did). */
void check_on_conn_fail(struct check_run *run, const char *why, int err);
void check_on_timeout(struct check_run *run);

/* Bytes the input buffer can still take (0 when full: the driver must not read). */
size_t check_rx_room(const struct check_run *run);
bool check_done(const struct check_run *run);

/* "L7OK", "L4CON", ... (HAProxy's names) and "Layer7 check passed", ... (its descriptions). */
const char *check_status_str(enum check_status s);
const char *check_status_desc(enum check_status s);
enum check_verdict check_status_verdict(enum check_status s);
/* True for statuses that mean the server could not be reached at all (L4TOUT, L4CON). */
bool check_status_is_l4(enum check_status s);
const char *check_phase_str(enum check_phase p);

/* Writes p to out as printable text: \r \n \t \\ and \xHH for other bytes, "..." when cut. */
void check_str_escape(char *out, size_t outlen, const unsigned char *p, size_t n);

/* Duration of a timed step in microseconds, or -1 when it did not conclude. */
int64_t check_timing_us(const struct check_timing *t);

#endif

/*
 * check: the I/O-free interpreter of a compiled recipe, matching HAProxy 2.6's tcp-check / http-check
 * evaluation (reference: shared/reference/HAPROXY-SEMANTICS.md §2.5-2.7 and §3).
 *
 * Driving a run:
 *
 *	check_run_init(&run, recipe);
 *	for (;;) {
 *		struct check_action a = check_next(&run);
 *		switch (a.type) {
 *		case CHECK_ACT_CONNECT:   close the old socket, connect; later check_on_connected() or
 *		                          check_on_error(errno)
 *		case CHECK_ACT_SEND:      write a.data/a.len fully; then check_on_sent() (or check_on_error())
 *		case CHECK_ACT_WANT_READ: when readable read <= check_rx_room() bytes; check_on_data() /
 *		                          check_on_eof() / check_on_error()
 *		case CHECK_ACT_WAIT:      keep waiting for the outcome of the previous action
 *		case CHECK_ACT_DONE:      close (RST unless a.linger), report run.res, check_run_free()
 *		}
 *		at the deadline: check_on_timeout()
 *	}
 *
 * Only read when the last action was WANT_READ: bytes a server sends before the engine asks for them
 * must stay in the kernel, because HAProxy's send clears only what it has already read.
 *
 * The engine has no globals and touches the recipe read-only, so runs of one recipe can live in many
 * threads. The recipe's environment references must already be resolved (recipe_resolve_env()).
 */
#ifndef RECHECK_CHECK_H
#define RECHECK_CHECK_H

#include "check-t.h"

/* Prepares a run of r (compiled, env resolved). 0, or -1 when out of memory (run is then freed). */
int check_run_init(struct check_run *run, const struct recipe *r);
/* Releases what the run owns, including run->res.rx. Safe on a zeroed or already freed run. */
void check_run_free(struct check_run *run);
/* Optional trace of steps as they conclude (and of phase changes when phases is true). */
void check_set_trace(struct check_run *run, check_trace_fn fn, void *arg, bool phases);

/* Evaluates as far as possible and returns what the driver must do next. */
struct check_action check_next(struct check_run *run);

/* Events. Each only records what happened; the next check_next() acts on it. */
void check_on_connected(struct check_run *run);
void check_on_sent(struct check_run *run);
/* Appends received bytes; anything past check_rx_room() is dropped (read at most that much). */
void check_on_data(struct check_run *run, const void *p, size_t n);
void check_on_eof(struct check_run *run);
void check_on_error(struct check_run *run, int err);
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

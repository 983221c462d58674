/*
 * check: the I/O-free interpreter of a compiled recipe, matching HAProxy 2.6's tcp-check / http-check
 * evaluation (docs/haproxy-semantics.md). This is the engine's top and the header drivers include.
 *
 * The engine, one way down: check.c (check_run_init(), the check_next() dispatcher) -> check_tcp.c /
 * check_http.c (each kind's *_next() and evaluation) -> check_run.c (run state, events, statuses,
 * timing, the phase setter; check_run.h). The socket work is not here: check_io.c performs the actions.
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
 *		case CHECK_ACT_TLS:       start TLS on the socket with a.tls (non-blocking handshake); then
 *		                          check_on_tls_ok() or check_on_tls_error(); sends and reads go
 *		                          through TLS from then on
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
#include "check_run.h"

/* Prepares a run of r (compiled, env resolved). 0, or -1 when out of memory (run is then freed). */
int check_run_init(struct check_run *run, const struct recipe *r);
/*
 * http-check send-state: rebuilds the request of a fresh run (before it starts) with state as the value
 * of its x-haproxy-server-state header. No-op unless the recipe asks for it; -1 when out of memory.
 */
int check_run_send_state(struct check_run *run, const char *state);
/* Evaluates as far as possible and returns what the driver must do next. */
struct check_action check_next(struct check_run *run);

#endif

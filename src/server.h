/*
 * server: one backend server's record and its health counter, as HAProxy 2.6 keeps them.
 * Reference: docs/haproxy-semantics.md §4.2 (counter), §4.3 (interval), §5.3 (puid), §6 (stats status).
 *
 * Threading: a server's mutable fields (state, admin, health, counters) are written by one thread at a
 * time, the one running its health checks; the balancer reads them only while rebuilding its table
 * (lb.h), which the same thread triggers. Picks never read them.
 */
#ifndef RECHECK_SERVER_H
#define RECHECK_SERVER_H

#include "api.h"
#include "server-t.h"

/*
 * Initialises s with HAProxy's defaults: weight 1, active, no explicit id, no check (inter 2000,
 * rise 2, fall 3 ready for when check.enabled is set), RUNNING. name is copied (truncated names are
 * refused: returns -1 with a reason in err).
 */
int server_init(struct server *s, const char *name, char *err, size_t errlen);

/*
 * Puts s in HAProxy 2.6's start-up state once its settings are final: RUNNING with health = rise
 * ("UP 1/3" before the first check: the first failure takes it DOWN, the first success fully UP),
 * or health 0 and STOPPED for a server in MAINT. Call after changing check settings, before use.
 */
void server_start(struct server *s);

/*
 * Assigns puid to every server of one backend, in declaration order (srv[0] first), as HAProxy 2.6:
 * an explicit id is kept; otherwise a counter `next` starting at 1 and advancing after every server
 * gives the smallest id >= next that no other server of the backend uses (s1 id 7, s2 id 3, s3 -> 4).
 * Also sets index. Returns 0, or -1 with a reason in err when two servers share an explicit id or an
 * id is out of range.
 */
int server_assign_puids(struct server **srv, size_t n, char *err, size_t errlen);

/*
 * Feeds one check result to s and applies HAProxy's jump-to-edge update: a success adds 1 and jumps
 * to rise+fall-1 once >= rise; a failure subtracts 1 (counting chkfail) and drops to 0 once < rise.
 * At 0 the server goes DOWN; at >= rise it goes UP (NOLB for CONDPASS), unless in MAINT.
 * now_ms stamps last_change_ms on a transition. Returns the transition record (changed = false when
 * the state stayed the same).
 */
struct server_status server_check_result(struct server *s, enum srv_check_res res, uint64_t now_ms);

/* Enters or leaves MAINT (HAProxy `set server ... state maint|ready`); returns the transition record. */
struct server_status server_set_maint(struct server *s, bool maint, uint64_t now_ms);

/* Enters or leaves DRAIN (HAProxy `set server ... state drain|ready`): no new balanced traffic, checks go on. */
struct server_status server_set_drain(struct server *s, bool drain, uint64_t now_ms);

/*
 * Forces the health counter as HAProxy's `set server ... health up|stopping|down`: up puts health at
 * rise+fall-1 and RUNNING, stopping the same but NOLB, down health 0 and DOWN (MAINT still wins).
 */
struct server_status server_force_health(struct server *s, enum srv_state st, uint64_t now_ms);

/*
 * True when the balancer may pick s: weight > 0, not in MAINT or DRAIN, RUNNING or STARTING
 * (HAProxy srv_currently_usable()).
 */
bool server_usable(const struct server *s);

/* True when s is on the up side (RUNNING, STARTING or STOPPING). */
bool server_is_up(const struct server *s);

/*
 * The delay before s's next check, from its state (HAProxy srv_getinter()): inter when fully up,
 * downinter (or inter) when DOWN with health 0, fastinter (or inter) otherwise, including the
 * first check after start-up.
 */
/*
 * Enters or leaves resolution maintenance (SRV_ADMF_RMAINT: the server's name has no address; never
 * picked, not checked). Leaving it, the server is up unless its checks had taken it down (health 0):
 * "up, falls at the first failure", as at start-up.
 */
struct server_status server_set_rmaint(struct server *s, bool rmaint, uint64_t now_ms);

uint32_t server_next_inter(const struct server *s);

/*
 * Writes HAProxy's stats `status` column for s into out ("UP", "UP 1/3", "DOWN", "DOWN 1/2", "NOLB",
 * "NOLB 2/3", "DRAIN", "DRAIN 1/3", "MAINT", "no check"). Returns out.
 */
char *server_status_str(const struct server *s, char *out, size_t outlen);

/*
 * slowstart (HAProxy 2.6 server.c server_recalc_eweight(), server_warmup(), queue.c srv_dynamic_maxconn()).
 * A server with `slowstart` that comes back up after start-up (a check, leaving MAINT or resolution
 * maintenance, `set server health up`) enters STARTING instead of RUNNING. HAProxy counts whole seconds
 * since the change (e); while e < slowstart its dynamic (consistent-hash) weight is
 * uweight * w / SERVER_WARM_SCALE with w = (SERVER_WARM_SCALE * e + slowstart) / slowstart (1 at once,
 * so it takes traffic at the smallest step), recomputed once a second; once e >= slowstart it is RUNNING
 * again (a second "is UP" change). Map-based hashing is static: its weight does not ramp, only maxconn.
 *
 * server_warmup_tick recomputes warm_w (and ends the warm-up) at now_ms; returns true when warm_w or the
 * state changed (the caller rebuilds the balancer). Only for a STARTING server; false otherwise.
 */
bool server_warmup_tick(struct server *s, uint64_t now_ms);

/* When the next tick of a STARTING server is due (monotonic ms: each whole second after the change). */
uint64_t server_warmup_next(const struct server *s, uint64_t now_ms);

/*
 * The warm-up ratio in percent as HAProxy's srv_dynamic_maxconn() uses it: 100 * e / slowstart while
 * STARTING within the slowstart period (0 in its first second), else 100. One function for every user.
 */
unsigned srv_warmup_ratio(const struct server *s, uint64_t now_ms);

/* A maxconn under the warm-up ratio: max(1, maxconn * ratio / 100); maxconn itself when not warming. */
unsigned srv_warmup_maxconn(const struct server *s, unsigned maxconn, uint64_t now_ms);

/*
 * The stats weight and throttle of s for a dynamic (consistent) or static (map-based) backend, as
 * HAProxy's show stat fills them: the weight is ceil(eweight / 16) while warming a dynamic backend, the
 * user weight otherwise; the throttle (percent of the full weight) is set only while STARTING and not
 * draining: server_throttle() returns -1 when the column stays empty.
 */
unsigned server_eweight_shown(const struct server *s, bool dynamic);
int server_throttle(const struct server *s, bool dynamic);

/* The consistent-hash points s owns now: weight * warm_w while STARTING, weight * 16 otherwise. */
unsigned server_chash_points(const struct server *s);

/* "DOWN", "STARTING", "UP", "NOLB": a short name of a state for logs. */
const char *server_state_name(enum srv_state st);

#endif

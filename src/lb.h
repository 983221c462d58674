/*
 * lb: `balance source` exactly as HAProxy 2.6, for map-based and consistent hashing, with backups and
 * `option allbackups`. Reference: docs/haproxy-semantics.md §5.
 *
 * Selection (lb_pick): the source key is derived from the client address only (hash.h); when the
 * serving group has one usable server the key is 0, otherwise it is passed through hash_full() if the
 * backend has the avalanche modifier; then the algorithm's table is looked up (map[key % tot] or the
 * nearest ring point). Active servers serve while at least one is usable; otherwise the first usable
 * backup alone, or every usable backup with allbackups.
 *
 * Tables are rebuilt on state changes (lb_server_up/down, lb_rebuild), never per pick.
 *
 * Threading: picks run on every event-loop thread, state changes come from the health checker. A
 * rebuilt table is immutable and published into one of two slots; a pick announces itself on the
 * current slot's reader count, re-checks that the slot is still current, reads the table and leaves.
 * A writer (serialised by wlock) fills the other slot, flips `cur`, then waits for the old slot's
 * readers to drain before freeing its table. All counters are sequentially consistent atomics, so a
 * reader either sees the flip and backs off or is counted before the writer looks.
 * Why not a rwlock: a pick would write the lock's cache line anyway and could be stalled behind a
 * writer for the whole rebuild; here a pick never waits for a rebuild (which may take a while for
 * large map tables) and a writer waits only for the few picks already inside a lookup (a bounded
 * binary search or array index). Why not a plain refcount on the table: a reader would have to
 * load the pointer and increment a count inside the object it might already have lost to free().
 */
#ifndef RECHECK_LB_H
#define RECHECK_LB_H

#include "api.h"

#include <sys/socket.h>

#include "lb-t.h"

extern const struct lb_ops lb_map_ops;
extern const struct lb_ops lb_chash_ops;

/*
 * Creates a backend over srv[0..n-1] (declaration order). The servers are not copied: they must
 * outlive the backend, and their puid must be assigned (server_assign_puids) and their state set
 * (server_start) before. Builds the first table. Returns the backend (caller frees with
 * lb_backend_free), or NULL with a reason in err.
 */
struct lb_backend *lb_backend_new(const char *name, enum lb_algo algo, bool avalanche, bool allbackups,
				  struct server **srv, size_t n, char *err, size_t errlen);
/* Frees the backend and its tables (not the servers). No pick may run concurrently. NULL is a no-op. */
void lb_backend_free(struct lb_backend *be);

/*
 * The server for a client address (AF_INET or AF_INET6; the port is ignored), or NULL when no server
 * is usable or the family is not IP. Lock-free, callable from any thread at any time.
 */
struct server *lb_pick(struct lb_backend *be, const struct sockaddr *src);
/* The same from a precomputed source key (hash_source_key()), for tests and tools. */
struct server *lb_pick_key(struct lb_backend *be, uint32_t key);

/*
 * The pick with the servers avoid[0..navoid-1] left out: the server this client gets once those are
 * marked DOWN, so a redispatched client's fallback is stable and does not move again when the checks
 * catch up. NULL when no other server is usable. For one avoided server the table is built once per
 * table generation and cached (taking the writer lock the first time); for several it is built for the
 * call. Callable from any thread; must not be called with the writer lock held.
 */
struct server *lb_pick_avoid(struct lb_backend *be, const struct sockaddr *src, struct server *const *avoid,
			     size_t navoid);
struct server *lb_pick_key_avoid(struct lb_backend *be, uint32_t key, struct server *const *avoid,
				 size_t navoid);

/*
 * Tells the balancer that s's state was changed (by server_check_result or server_set_maint, with
 * usable_changed set): rebuilds and publishes the table. Returns 0, or -1 when memory ran out (the old
 * table stays in use). lb_rebuild does the same for any number of changed servers.
 */
int lb_server_up(struct lb_backend *be, struct server *s);
int lb_server_down(struct lb_backend *be, struct server *s);
int lb_rebuild(struct lb_backend *be);

/*
 * State changes should come through lb_check_result / lb_set_maint, which hold the backend's writer
 * lock while they change the server and rebuild, so a rebuild never reads a half-made change.
 *
 * Applies one check result to s (server_check_result) and, when s entered or left the usable set,
 * rebuilds the table, under the backend's writer lock. Returns the transition record; *rc (when not
 * NULL) gets lb_rebuild's result.
 */
struct server_status lb_check_result(struct lb_backend *be, struct server *s, enum srv_check_res res,
				     uint64_t now_ms, int *rc);

/*
 * Enters or leaves MAINT (server_set_maint) and rebuilds when needed, under the writer lock: the way
 * for the daemon to take a server out (say, removed by a reload while sessions still use it).
 */
struct server_status lb_set_maint(struct lb_backend *be, struct server *s, bool maint, uint64_t now_ms, int *rc);

/* DRAIN on or off (server_set_drain), and forced health (server_force_health), under the writer lock. */
struct server_status lb_set_drain(struct lb_backend *be, struct server *s, bool drain, uint64_t now_ms, int *rc);
struct server_status lb_force_health(struct lb_backend *be, struct server *s, enum srv_state st, uint64_t now_ms,
				     int *rc);

/*
 * Changes s's weight at run time (HAProxy `set weight`) and rebuilds. A consistent ring recomputes the
 * server's points (weight * 16, the same keys HAProxy gives them); a map-based backend is static in
 * HAProxy: the caller allows only 0 and the initial weight, and the GCD taken at init stays. Returns 0,
 * or -1 when memory ran out (the old weight and table stay).
 */
int lb_set_weight(struct lb_backend *be, struct server *s, unsigned weight);

/*
 * One slowstart tick of a STARTING server (server_warmup_tick) under the writer lock; rebuilds the
 * table when a consistent ring's share of s grew (a map-based table never changes here). Returns the
 * transition record (changed when the warm-up ended: STARTING -> RUNNING); *rc gets the rebuild's result.
 */
struct server_status lb_warmup(struct lb_backend *be, struct server *s, uint64_t now_ms, int *rc);

/* How a pick went, for `show pick`: every value the lookup used. */
struct lb_explain {
	uint32_t key;             /* the source key (hash.h) */
	uint32_t lookup;          /* the key the table was looked up with (0 alone, hash_full with avalanche) */
	unsigned tot_used;        /* usable servers in the serving group */
	bool backup_group;        /* the backups serve (no active server usable) */
	bool first_backup;        /* only the first usable backup serves */
	unsigned slot, tot_weight; /* map-based: map[slot] of tot_weight */
	uint32_t point;           /* consistent: the ring point chosen */
	unsigned npoints;         /* consistent: points on the ring */
	struct server *srv;       /* the pick, NULL when none */
};

/* lb_pick with the reasoning; -1 when src is not IPv4/IPv6. */
int lb_explain(struct lb_backend *be, const struct sockaddr *src, struct lb_explain *x);

/* The same for resolution maintenance (server_set_rmaint: a server name without an address). */
struct server_status lb_set_rmaint(struct lb_backend *be, struct server *s, bool rmaint, uint64_t now_ms, int *rc);

/* Copies the current table's counters (active/backup usable, generation) for stats. */
void lb_counts(struct lb_backend *be, unsigned *active, unsigned *backup, uint64_t *generation);

#endif

/*
 * lb-t.h: a load-balanced backend doing HAProxy 2.6's `balance source`, map-based or consistent.
 * Reference: docs/haproxy-semantics.md §5; HAProxy lb_map.c, lb_chash.c, backend.c.
 */
#ifndef RECHECK_LB_T_H
#define RECHECK_LB_T_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "server-t.h"

enum lb_algo {
	LB_ALGO_MAP = 0,   /* `hash-type map-based` (HAProxy's default) */
	LB_ALGO_CHASH = 1, /* `hash-type consistent` */
};

struct lb_backend;

/* One point of a consistent-hash ring. */
struct lb_point {
	uint32_t key;          /* hash_full(puid * 4096 + j) */
	unsigned node;         /* j: a warming server owns only its first server_chash_points() points */
	struct server *srv;    /* the server owning it */
};

struct lb_table;

/* A lazily built derived table (see lb_table.without); readers load it atomically. */
struct lb_alt {
	_Atomic(struct lb_table *) t;
};

/*
 * An immutable selection table: built on a state change, read by any number of picking threads, freed
 * once no pick uses it any more (see lb.h). Only the fields of the backend's algorithm are set.
 */
struct lb_table {
	unsigned tot_used;        /* usable servers in the serving group (HAProxy lbprm.tot_used) */
	unsigned tot_weight;      /* map size; 0 = no usable server */
	struct server *fbck;      /* first usable backup, when it alone serves (no allbackups, no active) */
	struct server **map;      /* map-based: tot_weight entries, owned */
	struct lb_point *ring;    /* consistent: the serving group's points sorted by key, owned */
	unsigned npoints;         /* entries in ring */
	unsigned active;          /* usable active servers (for logs and stats) */
	unsigned backup;          /* usable backup servers */
	uint64_t generation;      /* 1 for the first table, +1 per rebuild */
	/* The same selection with server i left out (a retry's redispatch), built on first need under the
	 * backend's writer lock and freed with this table; NULL array for such derived tables. */
	struct lb_alt *without;
	size_t nwithout;          /* entries in without (the backend's server count) */
};

/*
 * The algorithm behind a backend, HAProxy's lbprm ops. Every hook runs under the backend's writer lock;
 * none runs on the pick path except pick.
 */
struct lb_ops {
	const char *name;                                        /* "map-based" or "consistent" */
	/* Precomputes what never changes at run time (GCD, every server's ring points). 0 or -1 + err. */
	int (*init)(struct lb_backend *be, char *err, size_t errlen);
	/* A server entered / left the usable set: build the table for the new set (NULL on ENOMEM). Optional:
	 * without them the whole table is rebuilt, which both algorithms do (a rebuild is linear). */
	struct lb_table *(*server_up)(struct lb_backend *be, struct server *s);
	struct lb_table *(*server_down)(struct lb_backend *be, struct server *s);
	/* Builds the table from every server's current state, the servers in avoid[0..navoid-1] counted as
	 * unusable (NULL on ENOMEM). */
	struct lb_table *(*rebuild)(struct lb_backend *be, struct server *const *avoid, size_t navoid);
	/* The server for key (after the tot_used/avalanche rules). Must not allocate, lock or block. */
	struct server *(*pick)(const struct lb_table *t, uint32_t key);
	/* Frees what init allocated. */
	void (*deinit)(struct lb_backend *be);
};

struct lb_backend {
	char name[SERVER_NAME_MAX + 1];   /* the listener / backend name, for messages */
	enum lb_algo algo;                /* map-based or consistent */
	bool avalanche;                   /* apply hash_full to the source key (hash-type modifier) */
	bool allbackups;                  /* `option allbackups` */
	const struct lb_ops *ops;         /* lb_map_ops or lb_chash_ops */
	struct server **srv;              /* servers in declaration order; array owned, servers not */
	size_t nsrv;                      /* entries in srv */

	/* Precomputed by ops->init. */
	unsigned *ew;                     /* map-based: effective weight weight/GCD per server, owned */
	struct lb_point *points;          /* consistent: every server's points, by server, owned */
	unsigned *npts;                   /* consistent: points of server i (weight * 16) */
	size_t *first_pt;                 /* consistent: index of server i's first point in points */
	size_t total_points;              /* consistent: entries in points */

	/* The published table: two slots with reader counts (see lb.h for the protocol). */
	_Atomic(struct lb_table *) slot[2];
	atomic_uint cur;                  /* index of the slot picks read */
	atomic_ulong readers[2];          /* picks in progress on each slot */
	pthread_mutex_t wlock;            /* serialises rebuilds and server state changes */
	uint64_t generation;              /* of the last table built */
};

#endif

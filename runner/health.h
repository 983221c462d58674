/*
 * health: recheckd's health checker (the relayd `hce` role). Every checked server gets a timer on the
 * daemon's main ev loop; each run drives the I/O-free check engine (check.h) through the one socket
 * driver (check_io.h), with ONE deadline (start + timeout) for the whole run, and no thread or fork per
 * check. This file only registers the socket events check_io asks for and arms the deadline.
 *
 * Scheduling is HAProxy 2.6's (docs/haproxy-semantics.md §4.3): the first checks are spread over the start
 * (the k-th of N at max(mininter, its interval) * k / N), then each next check starts an interval after
 * the END of the previous one, the interval chosen by state (inter / fastinter / downinter,
 * server_next_inter()), with the optional `spread` jitter of +/- spread% of it. At most
 * HEALTH_MAX_RUNNING checks run at once; due checks beyond that wait in a FIFO queue.
 *
 * Results go to daemon_check_result() (health counter, balancer rebuild, the transition log line).
 * A run that fails locally (no fd, no memory, no free port: check_io_err_is_local()) has no verdict: it
 * is logged and counted in nlocal, and the server's health is left as it was.
 * The last result (status, failing step, its comment, description, bytes received, duration) and
 * per-server counters stay in struct health for the stats page.
 *
 * Threading: main thread only, like everything it touches on the server (server.h).
 */
#ifndef RECHECKD_HEALTH_H
#define RECHECKD_HEALTH_H

#include "api.h"

#include "check-t.h"
#include "explain.h"
#include "check_io.h"
#include "ev-t.h"
#include "server-t.h"
#include "stats-t.h"

/* Checks running at the same time; the rest queue (HAProxy 2.6 has no such cap; 2.7's max-checks-per-thread). */
#define HEALTH_MAX_RUNNING 64
/* Bytes of the failing step's input kept for the stats page (escaped preview). */
#define HEALTH_RX_PREVIEW  96
/* Interval below which a check does not dictate the start-up spreading (HAProxy SRV_CHK_INTER_THRES). */
#define HEALTH_INTER_THRES 1000

struct daemon;
struct gen;
struct listener;
struct rserver;
struct recipe;
struct health_sched;

/* One remembered state change. */
struct health_trans {
	uint64_t at_ms;               /* ev_now() when it happened */
	enum srv_state from, to;
	enum check_status status;     /* the check that caused it */
	int step;                     /* its failing step, -1 when it passed */
	char kind[24];
	char comment[128];
	char desc[CHECK_DESC_LEN];
};

/* A checked server's checker state (rserver->health). */
struct health {
	struct health_sched *hs;      /* owner */
	struct rserver *s;            /* a reference */
	struct listener *li;          /* its listener in the current gen (not a reference) */
	struct health *prev, *next;   /* every state of hs */
	struct health *qnext;         /* FIFO of checks waiting for a slot */
	bool queued;
	bool seen;                    /* marks during a reload */
	struct ev_timer timer;        /* next check when idle; the run's deadline while running */

	/* the run in progress */
	bool running;
	struct check_run run;
	struct check_conn conn;       /* its socket, driven by check_io.c (conn.fd -1 when none) */
	uint64_t start_ms;            /* ev_now() at start */
	uint64_t start_us;            /* now_us() at start (duration) */
	uint64_t deadline;            /* ev_now() ms: start + timeout */

	/* the recipe, env resolved; refreshed after a reload, at the next start */
	struct recipe *rcp;           /* owned copy */
	bool rcp_stale;
	char rcp_err[ERR_LEN];        /* why it could not be resolved, "" when it was */

	/* the last result */
	bool ran;
	enum check_status status;     /* CHECK_INI before the first result */
	int step;                     /* failing step (0 = implicit connect), -1 when passed */
	char kind[24];
	char comment[128];
	char desc[CHECK_DESC_LEN];
	uint64_t dur_ms;
	int64_t connect_us, tls_us, ttfb_us; /* the delay split (check_result); -1 when not reached */
	enum tls_reason tls_reason;   /* L6RSP: why the TLS handshake failed */
	uint64_t end_ms;              /* ev_now() at the end */
	uint64_t rxtotal;             /* bytes the failing step received */
	char rx_preview[HEALTH_RX_PREVIEW * 4 + 4]; /* escaped, "" when none or hidden (secret recipe) */
	char explain[EXPLAIN_LEN];    /* what the failing bytes mean (explain.h), "" when nothing to say */

	/* counters (main thread only) */
	uint64_t npassed, nfailed, ncondpass;
	uint64_t nlocal;              /* runs abandoned on a local failure (not counted against the server) */
	char local_why[ERR_LEN];      /* the last one's reason, "" once a run concludes again */
	uint64_t buckets[STATS_DUR_BUCKETS + 1];
	double dur_sum;               /* seconds */
	uint64_t to_up, to_down;
	struct health_trans trans[STATS_TRANSITIONS]; /* ring, newest at trans_head - 1 */
	size_t trans_head, ntrans;
};

/* The checker of one daemon. NULL when out of memory. */
struct health_sched *health_new(struct daemon *d);
/* Attaches a state to every checked server of d->gen and schedules the first checks spread out. 0/-1. */
int health_start(struct health_sched *hs);
/*
 * After a reload (d->gen is the new gen): servers kept keep their state (and their schedule; their
 * recipe is re-resolved at their next check); checks of servers gone or no longer checked are cancelled
 * and their sockets closed; new checked servers start checking, spread over their interval.
 */
void health_reloaded(struct health_sched *hs);
/* Cancels every check and forgets every state (draining, or the end). */
void health_stop(struct health_sched *hs);
/* health_stop, then frees hs. NULL is a no-op. */
void health_free(struct health_sched *hs);

/* Passive health: applies on_error for every server whose error_limit was reached (rserver hana_pending). */
void health_analyze(struct health_sched *hs);

/* Checks running now and queued (for stats and tests). */
void health_counts(const struct health_sched *hs, unsigned *running, unsigned *queued);

#endif

/*
 * stats-t.h: a read-only snapshot of recheckd's listeners, servers, health checks and counters, as the
 * stats renderers turn it into the HTML page and /stats.json (stats.c) and Prometheus text (stats_prom.c).
 *
 * The snapshot borrows every string: the daemon builds it on its main thread, renders it and drops it
 * before anything it points to can change. No secret ever enters it: recipes contribute only their
 * name, never a payload.
 */
#ifndef RECHECK_STATS_T_H
#define RECHECK_STATS_T_H

#include "api.h"

/* Upper bounds (seconds) of the check-duration histogram buckets; +Inf is implicit. */
#define STATS_DUR_BUCKETS 12
extern const double stats_dur_bounds[STATS_DUR_BUCKETS];

/* Transitions remembered per server for the page and the JSON. */
#define STATS_TRANSITIONS 8

/* One state change of a server. */
struct stats_transition {
	uint64_t age_ms;        /* how long ago */
	const char *from;       /* "UP", "DOWN", "NOLB" */
	const char *to;
	const char *check;      /* check status name that caused it ("L4CON", "L7OK"), or NULL (maint, reload) */
	int step;               /* failing step (HAProxy numbering), -1 when none */
	const char *kind;       /* the step's kind ("connect", "expect binary"), may be NULL */
	const char *comment;    /* the step's comment, may be NULL */
	const char *desc;       /* the check's description, may be NULL */
};

/* The last check of a server. */
struct stats_check {
	bool enabled;           /* the server is checked */
	bool ran;               /* at least one check concluded */
	bool running;           /* a check is in progress now */
	const char *status;     /* "L7OK", "L4CON", ... ("INI" before the first check) */
	const char *status_desc; /* "Layer7 check passed", ... */
	const char *result;     /* "passed", "failed", "condpass", "" */
	int step;               /* failing step (HAProxy numbering, 0 = implicit connect), -1 when it passed */
	const char *kind;       /* the step's kind, may be NULL */
	const char *comment;    /* the step's comment, may be NULL */
	const char *desc;       /* HAProxy-like description, may be NULL */
	const char *recipe;     /* recipe name (or file), may be NULL */
	uint64_t duration_ms;   /* of the last check */
	const char *tls_reason; /* L6RSP: "expired", "untrusted", "name mismatch", ...; NULL otherwise */
	/* The last check's delay split as mihomo reports a proxy's delay; -1 when the phase was not reached
	 * (no TLS step, failed before): connect, TLS handshake, last send to first byte of its answer. */
	int64_t connect_us, tls_us, ttfb_us;
	uint64_t age_ms;        /* since the last check ended */
	uint64_t rx_bytes;      /* bytes the failing step had received (0 when it passed) */
	const char *rx_preview; /* printable, capped preview of those bytes; NULL when hidden or none */
	const char *explain;    /* what those bytes mean ("SOCKS5 REP 05: connection refused ..."), may be NULL */
	int rise, fall, health;
	uint64_t inter_ms;      /* the interval the next check uses */
	uint64_t passed, failed, condpass; /* checks by result */
	uint64_t dur_buckets[STATS_DUR_BUCKETS + 1]; /* non-cumulative counts; the last one is +Inf */
	double dur_sum;         /* seconds */
	uint64_t dur_count;
};

struct stats_server {
	const char *name;
	const char *address;
	const char *status;     /* HAProxy's stats status: "UP", "UP 1/3", "DOWN 1/2", "MAINT", "no check" */
	bool up;                /* on the up side (RUNNING, STARTING, STOPPING) and not in MAINT */
	unsigned weight;        /* effective, as HAProxy's weight column: ramps during a slowstart */
	unsigned uweight;       /* the user weight (configured, or set at run time) */
	int throttle;           /* slowstart: percent of the full weight now (HAProxy throttle, 1..100), 0 when not
				 * warming up (a warming server never shows 0) */
	bool backup;
	unsigned id;            /* puid */
	uint64_t conn_cur, conn_total, conn_errors;
	uint64_t retries, redispatches; /* HAProxy wretr / wredis */
	unsigned maxconn, maxqueue;     /* the server's limits, 0 = none */
	unsigned queue_cur, queue_max;  /* sessions waiting for a slot now, and the most ever (qcur, qmax) */
	unsigned qtime_ms, qtime_max_ms; /* HAProxy's averaged and longest queue time (qtime, qtime_max) */
	bool observe;           /* passive health (observe layer4) applies */
	uint64_t consec_errors; /* its current run of connect errors */
	uint64_t failed_hana;   /* times error_limit was reached and on_error applied (HAProxy hanafail) */
	uint64_t bytes_in, bytes_out; /* client -> server, server -> client */
	uint64_t to_up, to_down;       /* transitions counted since the server object exists */
	uint64_t last_change_age_ms;   /* since the last state change; UINT64_MAX when never */
	struct stats_check check;
	const struct stats_transition *trans; /* newest first */
	size_t ntrans;
};

struct stats_listener {
	const char *name;
	const char *bind;       /* as configured */
	const char *hash;       /* "map-based" or "consistent" */
	bool allbackups;
	int maxconn;
	uint64_t conn_cur, conn_total, conn_noserver;
	uint64_t retries, redispatches; /* backend wretr / wredis */
	uint64_t proxy_errors;  /* clients closed for a bad PROXY header (accept_proxy) */
	unsigned queue_cur;     /* sessions waiting in its servers' queues now */
	uint64_t bytes_in, bytes_out;
	unsigned active, backup; /* usable servers in the balancer's table */
	const struct stats_server *srv;
	size_t nsrv;
};

/* One worker thread: how the accepted connections are spread (the accept balance). */
struct stats_worker {
	uint64_t sessions;      /* sessions it relays now */
	uint64_t handed_over;   /* accepted connections it gave to a less loaded worker */
};

struct stats_snapshot {
	const char *version;
	uint64_t uptime_ms;
	uint64_t gen;           /* configuration generation */
	int threads;
	const struct stats_worker *workers; /* threads entries, or NULL */
	unsigned refresh_s;     /* HTML auto-refresh period; 0: none */
	uint64_t reloads;       /* SIGHUP reloads accepted */
	uint64_t reload_failures; /* SIGHUP reloads refused */
	int64_t last_reload_time; /* unix seconds of the last reload attempt, 0 when none */
	bool last_reload_ok;
	const char *last_reload_error; /* why the last one was refused, NULL when it was not */
	uint64_t log_dropped;   /* connection log lines dropped (the log socket was full) */
	const struct stats_listener *li;
	size_t nli;
};

#endif

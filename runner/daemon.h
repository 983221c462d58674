/*
 * daemon: recheckd's run-time model and its main thread.
 *
 * Threads: the main thread runs an ev loop for signals (signalfd), reloads, draining, the stats
 * listener and health checks. `threads` worker threads each run their own ev loop, watch a dup of each
 * listener's one listening socket (EV_EXCLUSIVE: one accept queue, a connection wakes one thread),
 * accept (a clearly busier thread hands what it accepted to the least loaded one through that one's
 * mailbox), pick a server and relay. Workers never share
 * a session; they share only listeners and servers, whose counters are updated with relaxed atomics.
 *
 * Generations: a loaded config becomes a `struct gen` (listeners, servers, balancer tables). A reload
 * builds a new gen (binding new addresses, reusing the sockets of listeners whose name and address are
 * unchanged, and reusing the very server objects whose listener name, server name and address are
 * unchanged: their health and counters survive), then hands it to each worker through its mailbox.
 * Sessions keep references to their listener and server, so an old gen's objects live until its last
 * session ends. Reloads are serialised: a new one waits until every worker took the previous one.
 *
 * Hooks for health checks and stats (added on top of this):
 *   - struct rserver carries the balancer's struct server (state, health), the effective check
 *     settings (conf pointer), per-server counters and a `health` pointer for the checker's state;
 *   - daemon_check_result() feeds one check result: updates the health counter, rebuilds the balancer
 *     on a transition, logs it with the remaining active/backup counts, and applies
 *     on_marked_down: shutdown-sessions;
 *   - daemon_set_maint() takes a server out of (or back into) balancing;
 *   - struct daemon_hooks (d->hooks, set before daemon_run) is called at start, after each published
 *     reload, when draining starts and before everything is freed;
 *   - d->gen is the current generation (main thread only); d->ev the main loop for checks and stats;
 *     d->stats_fd is the stats listener, bound before privileges are dropped (a placeholder handler
 *     answers 503 until the stats module replaces it with ev_fd_set).
 */
#ifndef RECHECKD_DAEMON_H
#define RECHECKD_DAEMON_H

#include "api.h"

#include <pthread.h>
#include <sys/socket.h>

#include "conf.h"
#include "ev-t.h"
#include "lb-t.h"
#include "relay-t.h"
#include "server-t.h"
#include "srvq.h"

/* recheckd's exit status (docs/recheckd.8, EXIT STATUS); the recheck commands have their own. */
enum rd_exit {
	RD_EXIT_OK = 0,          /* stopped by SIGTERM/SIGINT, or -c found the configuration valid */
	RD_EXIT_USAGE = 2,       /* bad command line */
	RD_EXIT_BAD_CONFIG = 3,  /* invalid configuration or recipe, or root without user/allow_root */
	RD_EXIT_LOCAL = 5,       /* a local failure at start: bind, privileges */
};

#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* A backend server at run time. */
struct rserver {
	struct server srv;            /* the balancer's record: name, address, weight, backup, puid, state, health */
	char *address;                /* as configured, owned; with the name, identifies the server on reload */
	char *host;                   /* owned: the DNS name in address (resolve.c), NULL for an IP address */
	uint16_t port;                /* with host: the port */
	bool resolve_warned;          /* main thread: the last failed resolution was logged */
	unsigned addr_seq;            /* atomic seqlock over srv.addr/addrlen, written by the main thread only
				       * (a new resolution); workers read through rserver_addr() */
	const struct conf_server *conf; /* effective settings (check recipe, intervals) in the current gen's conf;
					 * main thread only, updated on reload */
	bool shutdown_sessions;       /* on_marked_down: shutdown-sessions */
	int send_proxy;               /* atomic: 0, or the PROXY protocol version sent first (send-proxy[-v2]) */
	struct sockaddr_storage socks4; /* HAProxy's socks4: the traffic goes through this SOCKS4 proxy;
				       * socks4len 0: direct. Fixed for the object's life (a reload that
				       * changes it makes a new server object) */
	socklen_t socks4len;
	unsigned refs;                /* atomic: listeners listing it + sessions using it */
	uint64_t kill_seq;            /* atomic: bumped when marked down with shutdown-sessions */
	struct relay_ctr bytes;       /* atomic byte counters of its sessions */
	struct srvq q;                /* slots (q.cur: sessions holding one, the scur) and the FIFO queue */
	unsigned maxconn;             /* atomic: `maxconn`, 0 = no limit; srv_eff_maxconn() is what applies */
	unsigned maxqueue;            /* atomic: `maxqueue`, 0 = no limit */
	uint64_t lb_total;            /* atomic: sessions the balancer assigned to it (HAProxy lbtot) */
	unsigned qtime_sum;           /* atomic: HAProxy's sliding sum of queue times (qtime), see fe_queue.c */
	unsigned qtime_max;           /* atomic: the longest queue time of a served session, ms */
	uint64_t conn_total;          /* atomic: sessions ever (including failed connects) */
	uint64_t conn_errors;         /* atomic: sessions whose last connect attempt failed (HAProxy econ) */
	uint64_t retries;             /* atomic: connects retried on this server (HAProxy wretr) */
	uint64_t redispatches;        /* atomic: sessions that left this server for another (HAProxy wredis) */
	/* passive health (`observe: layer4`): workers count connect outcomes, the main thread acts */
	unsigned observe_limit;       /* atomic: error_limit when observing a checked server, 0 when not */
	unsigned consec_errors;       /* atomic: connect errors since the last successful connect */
	unsigned hana_pending;        /* atomic: error_limit reached this many times, not yet acted on */
	uint64_t failed_hana;         /* main thread: times on_error was applied (HAProxy hanafail) */
	void *health;                 /* the health checker's state for this server; NULL until it exists */
	unsigned iweight;             /* the configured (initial) weight; srv.weight is the current one */
	bool rt_weight;               /* the weight was set at run time: a reload keeps it (main thread) */
	bool check_paused;            /* `disable health`: no checks run, the state stays (main thread) */
};

/* A listener (frontend + backend) at run time. */
struct listener {
	char *name;                   /* owned */
	struct sockaddr_storage addr; /* bind address */
	socklen_t addrlen;
	const struct conf_listener *conf; /* in its gen's conf */
	int maxconn;                  /* accepting pauses while conn_cur >= maxconn */
	uint64_t timeout_connect;     /* ms */
	uint64_t timeout_queue;       /* ms a session may wait in a server's queue (`timeout queue`) */
	int retries;                  /* `retries`: connect attempts after the first, 0..100 */
	bool redispatch;              /* `redispatch`: a retry may go to another server */
	bool accept_proxy;            /* clients start with a PROXY header */
	struct relay_conf rconf;      /* relay mode and idle timeouts */
	struct lb_backend *lb;        /* balance source over srv; owned */
	struct rserver **srv;         /* owned array, a reference on each */
	size_t nsrv;
	int *fds;                     /* one listening socket per worker; -1 once closed or handed over */
	int nfds;
	unsigned refs;                /* atomic: its gen + sessions */
	int conn_cur;                 /* atomic: sessions now (maxconn) */
	uint64_t conn_total;          /* atomic: accepted connections */
	uint64_t conn_noserver;       /* atomic: closed at once because no server was usable */
	uint64_t retries_total;       /* atomic: connects retried on the same server (backend wretr) */
	uint64_t redispatches;        /* atomic: sessions moved to another server (backend wredis) */
	uint64_t proxy_errors;        /* atomic: clients closed for a malformed, truncated or late PROXY header */
	uint64_t conn_errors;         /* atomic: failed connects and queue failures (backend econ) */
	uint64_t lb_total;            /* atomic: sessions its balancer assigned (backend lbtot) */
	unsigned qtime_sum, qtime_max; /* atomic: as the servers' (backend qtime, qtime_max) */
	struct relay_ctr bytes;       /* atomic byte counters */
};

struct gen {
	struct conf *conf;            /* owned */
	struct listener **li;         /* owned array, a reference on each */
	size_t nli;
	unsigned refs;                /* atomic: the daemon's current pointer + each worker using it */
	uint64_t id;                  /* 1 for the first config, +1 per accepted reload */
};

struct session;
struct daemon;
struct resolver;

/* An accepted connection on its way to a less loaded worker (frontend.c, accept balance). */
struct handoff {
	int fd;
	struct listener *li;          /* a reference, dropped by the receiving worker */
	struct sockaddr_storage src;
};

/* A listening socket as one worker watches it. */
struct wlisten {
	int fd;
	struct listener *li;          /* a reference is held through the worker's gen */
	struct worker *w;
	bool paused;                  /* maxconn reached or out of fds: not watched */
};

struct worker {
	int id;                       /* 0..threads-1: index in listener fds */
	pthread_t thread;
	struct daemon *d;
	struct ev *ev;                /* this thread's loop */
	struct relay_pool *pool;      /* this thread's pipes and buffers */
	struct gen *gen;              /* the gen whose listeners this worker serves (a reference) */
	struct wlisten *wl;           /* owned array, one per listener of gen */
	size_t nwl;
	size_t npaused;               /* entries of wl paused */
	struct ev_timer retry;        /* resumes listeners paused by EMFILE/ENFILE */
	struct session *sessions;     /* doubly linked list of this worker's sessions */
	size_t nsess;                 /* atomic: read by the main thread while draining */
	uint64_t handed_over;         /* atomic: accepted connections given to a less loaded worker */

	pthread_mutex_t mu;           /* guards the mailbox below */
	struct gen *next_gen;         /* mailbox: adopt this gen (a reference) */
	bool stop_accepting;          /* mailbox: close the listening sockets (drain) */
	bool quit;                    /* mailbox: kill every session and leave the loop */
	bool scan_kill;               /* mailbox: end sessions of servers whose kill_seq moved */
	struct handoff *inbox;        /* mailbox: accepted connections a busier worker handed over (ring) */
	unsigned inbox_head, inbox_len;
	unsigned inbox_pending;       /* atomic: inbox_len, read by other workers weighing their load */
	struct session *qready;       /* mailbox: sessions whose queue wait ended (a slot, or pick again) */
};

/*
 * Extension points for the modules that run on the main loop (health checks, stats). All are called on
 * the main thread and may be NULL.
 */
struct daemon_hooks {
	/* The first gen is running (threads started, privileges dropped): start checks, serve stats. 0/-1. */
	int (*start)(struct daemon *d, void *arg);
	/* A reload was published: d->gen is new, old is still valid until this returns. Stop the checks of
	 * servers that are gone, start those of new ones; reused servers keep their `health` pointer. */
	void (*reloaded)(struct daemon *d, struct gen *old, void *arg);
	/* Draining starts (SIGTERM): stop checking. */
	void (*stopping)(struct daemon *d, void *arg);
	/* Passive health: some server's hana_pending moved (workers asked through d->hana_pending). */
	void (*analyze)(struct daemon *d, void *arg);
	/* Last call before the daemon frees everything: free per-server `health` states. */
	void (*stop)(struct daemon *d, void *arg);
	void *arg;
};

struct daemon {
	const char *conf_path;        /* -f */
	struct daemon_hooks hooks;    /* set before daemon_run */
	bool debug;                   /* -d */
	struct ev *ev;                /* main loop */
	struct gen *gen;              /* current generation (a reference) */
	struct worker *workers;       /* owned array */
	int nworkers;
	int sigfd;                    /* signalfd for SIGHUP, SIGTERM, SIGINT */
	int stats_fd;                 /* the stats listener (bound before dropping privileges), -1 when none */
	int cli_fd;                   /* the runtime API's UNIX socket (stats.socket), -1 when none */
	char *cli_path;               /* its path, owned; unlinked at exit */
	uint64_t start_ms;            /* now_ms() when the daemon started */
	int64_t start_wall;           /* time(NULL) then */
	/* reloads (main thread) */
	uint64_t reloads_ok, reload_failures;
	int64_t last_reload_wall;     /* time(NULL) of the last SIGHUP handled, 0 when none */
	bool last_reload_ok;
	char last_reload_err[ERR_LEN]; /* why the last reload was refused, "" when it was accepted */
	uint64_t fd_limit;            /* RLIMIT_NOFILE in effect */
	unsigned pending_acks;        /* atomic: workers that have not yet adopted the last gen */
	unsigned hana_pending;        /* atomic: set by a worker when a server's hana_pending moved */
	bool reload_again;            /* a SIGHUP came while a reload was being adopted */
	bool draining;                /* SIGTERM received: not accepting, waiting for sessions */
	uint64_t drain_deadline;      /* ev_now() ms when draining gives up and kills the rest */
	struct ev_timer drain_timer;  /* polls the session count while draining */
	uint64_t next_gen_id;
	int exit_code;                /* enum rd_exit */
	bool threads_gone;            /* workers stopped: wakeups go nowhere (their loops are being freed) */
	struct resolver *resolver;    /* resolve.c, when some server has a DNS name; NULL otherwise */
	struct ev_timer warm_timer;   /* slowstart: due at the next warm-up tick of any STARTING server */
};

/* --- gen.c: building and releasing generations (main thread, except the *_unref) ------------------ */

/*
 * Builds a generation from conf for nthreads workers, reusing from old (may be NULL) the listening
 * sockets of unchanged listeners and the server objects of unchanged servers. Takes conf on success.
 * NULL with a reason in err (a bind failure names the address); old is then untouched.
 */
struct gen *gen_build(struct conf *conf, struct gen *old, int nthreads, char *err, size_t errlen);
void gen_unref(struct gen *g);
void listener_ref(struct listener *li);
void listener_unref(struct listener *li);
void rserver_ref(struct rserver *s);
void rserver_unref(struct rserver *s);
/* The listener / server named so in g, or NULL. */
struct listener *gen_listener(struct gen *g, const char *name);
struct rserver *listener_server(struct listener *li, const char *name);
/* s's address, consistent even while the main thread changes it (any thread). */
void rserver_addr(struct rserver *s, struct sockaddr_storage *ss, socklen_t *len);
/* Changes s's address (main thread only). */
void rserver_set_addr(struct rserver *s, const struct sockaddr_storage *ss, socklen_t len);

/* --- frontend.c: worker threads --------------------------------------------------------------------- */

int frontend_worker_init(struct worker *w, struct daemon *d, int id, struct gen *g, char *err, size_t errlen);
void *frontend_worker_main(void *arg);
void frontend_worker_free(struct worker *w);
/* Posts to a worker's mailbox and wakes it (thread-safe). */
void frontend_post_gen(struct worker *w, struct gen *g);
void frontend_post_stop_accepting(struct worker *w);
void frontend_post_quit(struct worker *w);
void frontend_post_scan_kill(struct worker *w);

/* --- fe_queue.c: per-server maxconn, the queue ---------------------------------------------------------- */

/*
 * The limit in force on s now (0: none): its maxconn, for every caller. The one place where a slow-start
 * ramp (HAProxy's srv_dynamic_maxconn: maxconn * warm-up ratio, at least 1) belongs. Any thread.
 */
unsigned srv_eff_maxconn(const struct rserver *s, uint64_t now);
/* s left the load-balanced set (DOWN, NOLB, MAINT, DRAIN): with redispatch, its queued sessions pick
 * again (HAProxy's pendconn_redistribute). Returns how many; main thread. */
unsigned daemon_queue_redistribute(struct listener *li, struct rserver *s);
/* s's limit may have risen (a reload, a slow-start step): hand the free slots to its waiters. Any thread. */
void daemon_queue_kick(struct rserver *s);
/* HAProxy's qtime: the sliding sum of queue times (qtime_sum) averaged over `total` assigned sessions. */
unsigned daemon_qtime_avg(unsigned sum, uint64_t total);

/* --- daemon.c: main thread ---------------------------------------------------------------------------- */

/* Runs the daemon with an already loaded config (taken). Returns the process exit code. */
int daemon_run(struct daemon *d, struct conf *conf);
/*
 * The health-check hook: feeds one check result for s of listener li (main thread). Rebuilds the
 * balancer when s entered or left the usable set, logs the transition, and with shutdown-sessions
 * ends s's sessions when it went down. Returns the transition record.
 */
struct server_status daemon_check_result(struct daemon *d, struct listener *li, struct rserver *s,
					 enum srv_check_res res, const char *reason);
/* Puts s in or out of maintenance (never picked, not checked), rebuilding the balancer; main thread. */
/* The instance's name (HAProxy's node): the configuration's `node`, else the host name; returns out.
 * Main thread. */
const char *daemon_node(struct daemon *d, char *out, size_t outlen);
struct server_status daemon_set_maint(struct daemon *d, struct listener *li, struct rserver *s, bool maint);
/* DRAIN on or off (HAProxy `set server L/S state drain|ready`); main thread. */
struct server_status daemon_set_drain(struct daemon *d, struct listener *li, struct rserver *s, bool drain);
/* `set server L/S health up|stopping|down`; main thread. */
struct server_status daemon_force_health(struct daemon *d, struct listener *li, struct rserver *s, enum srv_state st);
/*
 * `set weight`: weight is absolute (0..256). A map-based listener accepts only 0 and the initial weight,
 * as HAProxy's static algorithms. 0, or -1 with HAProxy's message in err.
 */
/*
 * slowstart: (re)arms the main loop's one warm-up timer for the earliest tick due among the current
 * generation's STARTING servers, or stops it when none warms up. Call after any change that may have
 * started a warm-up (the daemon_* state changes and a reload do it themselves).
 */
void daemon_warmup_arm(struct daemon *d);

int daemon_set_weight(struct daemon *d, struct listener *li, struct rserver *s, unsigned weight, char *err,
		      size_t errlen);
/* Ends every session of s now (`shutdown sessions server`); main thread. */
void daemon_shutdown_sessions(struct daemon *d, struct rserver *s);
/*
 * What start-up refuses, checked the same way by `recheckd -c`: root without `user:` or `allow_root`,
 * a user or group that does not exist, two listeners (or a listener and stats.bind) on one address,
 * and a file-descriptor limit below what maxconn and the checks need (raised when it can be, as HAProxy
 * does; for -c the raise happens in the checking process only). A default (unwritten) maxconn is lowered
 * to fit the limit, as HAProxy derives its own from it. 0, or -1 with the reason in err.
 */
int daemon_preflight(struct conf *c, uint64_t *fd_limit, char *err, size_t errlen);

/* Wakes every worker (a listener dropped below maxconn). Thread-safe. */
void daemon_wake_workers(struct daemon *d);

#endif

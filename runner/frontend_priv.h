/*
 * frontend_priv.h: a client session as the worker threads see it, shared by frontend.c (accept, connect,
 * relay, retries) and fe_queue.c (per-server maxconn and the queue). Nothing outside those two uses it.
 */
#ifndef RECHECKD_FRONTEND_PRIV_H
#define RECHECKD_FRONTEND_PRIV_H

#include "api.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include "daemon.h"
#include "ev-t.h"
#include "net.h"
#include "proxy_proto.h"
#include "relay-t.h"
#include "srvq.h"

/* Servers a session's redispatches leave out of the pick (the oldest is forgotten past this). */
#define AVOID_MAX 4
/* HAProxy waits min(1 s, timeout connect) before retrying the same server after a connect error. */
#define RETRY_PAUSE_MS 1000

/* The client's addresses as the PROXY protocol says them (from an accepted header, else the socket's) and
 * the header sent to servers with send_proxy; allocated only for such sessions. */
struct proxy_state {
	struct sockaddr_storage src, dst;
	bool known;                         /* src/dst are set */
	unsigned char out[PP_V1_MAX + 1];   /* the header for the current server */
};

/* A client's PROXY header being read (accept_proxy); freed once it is parsed. */
struct hdr_in {
	unsigned char buf[PP_HDR_MAX];
	size_t len;
};

/* What a session remembers once a connect failed; allocated then, so a session that never retries
 * (nearly all) pays one pointer. */
struct retry_state {
	struct server *avoid[AVOID_MAX]; /* servers that failed this session, left out of redispatch picks */
	unsigned navoid;
};

/* The SOCKS4 exchange with a server's socks4 proxy, before the relay gets the connection. */
struct s4_state {
	int fd;                        /* the connection to the proxy */
	bool sent;                     /* the request went out; the reply is awaited */
	size_t got;
	unsigned char rx[NET_SOCKS4_REP];
};

struct session {
	struct relay relay;        /* owns the client and server sockets */
	struct worker *w;
	struct listener *li;       /* a reference */
	struct rserver *sv;        /* the server of the current (or last) connect attempt; a reference */
	uint64_t kill_seq;         /* sv->kill_seq when the session started (shutdown-sessions) */
	struct ev_timer ctimer;    /* connect timeout; between attempts, the pause before a retry */
	uint32_t key;              /* the client address's `balance source` key */
	uint8_t nretries;          /* connect retries done (HAProxy's conn_retries; the log shows it) */
	bool redispatched;         /* a retry went to another server (HAProxy SF_REDISP) */
	bool pausing;              /* ctimer is the pause before the next attempt */
	bool cerr_seen;            /* this attempt's connect error was counted for passive health */
	struct retry_state *rs;    /* NULL until a connect fails */
	struct proxy_state *ps;    /* NULL unless the PROXY protocol is spoken on either side */
	struct hdr_in *hin;        /* non-NULL while the client's PROXY header is awaited (no relay yet) */
	struct s4_state *s4;       /* non-NULL while a SOCKS4 proxy is asked for the server */
	int cfd;                   /* the client socket while hin is set */
	struct session *prev, *next;
	/* for the connection log line (tlog.h) */
	struct sockaddr_in6 src;   /* client address (the PROXY header's source with accept_proxy) */
	int64_t accept_us;         /* CLOCK_REALTIME at accept */
	uint64_t start_ms;         /* ev_now() at accept */
	/* the server's queue (fe_queue.c) */
	struct srvq_wait qw;       /* s's place in s->sv's queue */
	bool queued;               /* waiting for a slot of s->sv (in its queue, or granted and not yet seen) */
	bool slot;                 /* holds one of s->sv's slots (counted in s->sv->q.cur) */
	bool nosrv;                /* the pick found no server after all: the log says <NOSRV> */
	char qend;                 /* ended in the queue: 's' timeout queue, 'S' maxqueue reached; 0 otherwise */
	int64_t tw_ms;             /* Tw: accept to the slot (the last assignment), -1 until one */
	unsigned srv_queue;        /* HAProxy's srv_queue log field: dequeues seen while waiting */
	struct session *rprev, *rnext; /* in w->qready (under w->mu) while in_ready */
	bool in_ready;
};

/* --- frontend.c ---------------------------------------------------------------------------------------- */

/* One connect attempt to s->sv, which s holds a slot of. May end and free s. */
void fe_attempt(struct session *s);
/* Moves the session's reference and byte counters from s->sv to next (any slot on s->sv is released). */
void fe_switch_server(struct session *s, struct rserver *next);
/* A connect attempt failed (r->err says why): retry, redispatch or end (relay_set_retry's callback). */
void fe_connect_error(struct relay *r, void *arg);

/* --- fe_socks4.c -------------------------------------------------------------------------------------- */

/* sfd's non-blocking connect to s->sv's socks4 proxy is under way: ask it for the server, then hand the
 * connection to the relay. May end and free s. */
void fe_s4_start(struct session *s, int sfd);
/* The exchange failed (or timed out): a failed connect with err. May end and free s. */
void fe_s4_failed(struct session *s, int err, const char *why);
/* Closes an exchange still under way (the session ends). */
void fe_s4_free(struct session *s);

/* --- fe_queue.c --------------------------------------------------------------------------------------- */

/* s->sv is picked and s holds no slot: take one and connect, or wait in its queue, or end (maxqueue). May
 * end and free s. */
void feq_assign(struct session *s);
/* The queue's part of freeing s: leave the queue, give the slot back. */
void feq_session_gone(struct session *s);
/* The queue timeout (s->ctimer while s->queued): ends s with sQ. */
void feq_timeout(struct session *s);
/* Runs the sessions whose wait ended (w->qready); worker thread, from its wakeup. */
void feq_take_ready(struct worker *w);
/* At the end of a session that connected: its queue time enters the qtime averages. */
void feq_time_stats(struct session *s);

#endif

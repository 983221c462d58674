/*
 * relay-t.h: one client<->server TCP session moved by the kernel (splice) or by read/write.
 */
#ifndef RECHECK_RELAY_T_H
#define RECHECK_RELAY_T_H

#include "api.h"
#include "ev-t.h"

enum relay_mode {
	RELAY_SPLICE = 0, /* socket -> pipe -> socket with splice(2); copy where the kernel refuses */
	RELAY_COPY,       /* read(2)/send(2) through a user-space buffer (tests, exotic sockets) */
};

/* Why a session ended, for logs and counters. */
enum relay_end {
	RELAY_END_DONE = 0,       /* both directions finished with FIN and drained */
	RELAY_END_CLIENT_TIMEOUT, /* timeout client: no activity on the client side */
	RELAY_END_SERVER_TIMEOUT, /* timeout server: no activity on the server side */
	RELAY_END_CLIENT_ERROR,   /* reset or error on the client socket */
	RELAY_END_SERVER_ERROR,   /* reset or error on the server socket */
	RELAY_END_KILLED,         /* relay_kill(): shutdown-sessions, hard stop */
	RELAY_END_RESOURCE,       /* no pipe/buffer/memory could be had */
	RELAY_END_CONNECT,        /* the server connection was never established (refused, timed out...) */
};

/* Byte counters shared by many sessions (a listener, a server); updated with relaxed atomics. */
struct relay_ctr {
	uint64_t c2s;   /* bytes client -> server */
	uint64_t s2c;   /* bytes server -> client */
};

/*
 * Per-thread pool of pipes and copy buffers. A session takes a pipe or buffer only while bytes are in
 * flight in a direction and gives it back as soon as it drains, so an idle session owns none.
 */
struct relay_pool {
	int (*pipes)[2];    /* idle pipes: [0] read end, [1] write end; all O_CLOEXEC|O_NONBLOCK */
	size_t npipes;      /* idle pipes in the array */
	size_t maxidle;     /* keep at most this many idle pipes / buffers; close or free the rest */
	unsigned char **bufs; /* idle copy buffers of RELAY_BUFSIZE bytes */
	size_t nbufs;       /* idle buffers in the array */
	size_t pipes_out;   /* pipes currently held by sessions */
	size_t bufs_out;    /* buffers currently held by sessions */
	int pipesz;         /* capacity of one pipe in bytes (F_GETPIPE_SZ of the first one, grown) */
};

struct relay_conf {
	enum relay_mode mode;
	uint64_t timeout_client; /* ms of client-side inactivity before the session ends; 0: none */
	uint64_t timeout_server; /* ms of server-side inactivity; 0: none */
};

struct relay;
typedef void (*relay_end_cb)(struct relay *r, enum relay_end why, void *arg);
/* The server connect failed (r->err says why) and its socket is closed: see relay_set_retry(). */
typedef void (*relay_retry_cb)(struct relay *r, void *arg);
/* The server connect in progress was seen to complete. Must not end or free the relay. */
typedef void (*relay_up_cb)(struct relay *r, void *arg);

/* One direction: bytes read from `from` and written to `to`. */
struct relay_dir {
	int pipe[2];          /* borrowed from the pool while in_pipe > 0; -1 otherwise */
	unsigned char *buf;   /* copy mode: borrowed while off < len; NULL otherwise */
	uint32_t in_pipe;     /* bytes sitting in the pipe */
	uint16_t off, len;    /* copy mode: pending bytes are buf[off..len) */
	bool eof;             /* `from` reported end of stream */
	bool shut;            /* shutdown(to, SHUT_WR) done: this direction is finished */
	bool copy;            /* this direction uses read/write (mode copy, or splice refused) */
	bool full;            /* splice said EAGAIN with bytes in the pipe: read again once drained */
	bool bulk;            /* splice mode: the last read filled its room, so the next one uses the pipe */
	uint64_t bytes;       /* bytes delivered to `to` */
};

struct relay {
	struct ev *ev;            /* the loop of the thread that owns the session */
	struct relay_pool *pool;  /* that thread's pool */
	int cfd, sfd;             /* client and server sockets, owned: closed when the session ends; sfd is
				   * -1 while no server connection exists (before the first, between retries) */
	struct relay_dir d[2];    /* [0] client -> server, [1] server -> client */
	struct ev_timer timer;    /* idle timeout, re-armed lazily from the last_* stamps */
	uint64_t tmo_client;      /* see struct relay_conf */
	uint64_t tmo_server;
	uint64_t last_client;     /* ev_now() of the last read from / write to the client */
	uint64_t last_server;     /* same for the server */
	struct relay_ctr *ctr[2]; /* optional shared counters (e.g. listener, server); NULL: none */
	relay_end_cb end;         /* called once when the session ends; may free the relay */
	relay_retry_cb retry;     /* optional: a failed connect goes here instead of ending the session */
	relay_up_cb up;           /* optional: told when a connect completes (passive health) */
	void *arg;                /* passed to end, retry and up */
	const unsigned char *pre; /* optional: bytes sent to the server before the client's (a PROXY header);
				   * the caller's memory, valid until the session ends or a new one is set */
	uint16_t pre_len, pre_off; /* pre[pre_off..pre_len) is still to be sent */
	int err;                  /* errno behind an *_ERROR or CONNECT end, 0 otherwise */
	bool started;             /* relay_start() done */
	bool connecting;          /* the server socket's connect() may still be in progress */
	uint64_t connected_at;    /* ev_now() when the server connection was first seen up, 0 before */
};

#endif

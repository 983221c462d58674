/*
 * check_io: the one socket driver of a check run. `recheck replay` (checknet.c, a poll() loop) and
 * recheckd (runner/health.c, the daemon's epoll loop) both perform the engine's actions (check.h) through
 * these functions; they only differ in how they wait for readiness and for the deadline.
 *
 * Every call either completes its action at once, feeding the outcome to the run (connected, sent,
 * data, EOF, or an error of the server), or says what it waits for: CIO_WANT_READ / CIO_WANT_WRITE.
 * The driver then waits for that readiness (or the run's one deadline) and calls check_io_resume(),
 * which carries on with whatever was pending.
 *
 * The rules, one place each (documented in docs/recheckd.8, CHECK CONNECTIONS):
 *  - Sockets are non-blocking, close-on-exec and TCP_NODELAY from their creation: each SEND leaves as
 *    its own segment, as HAProxy 2.6 sends checks (no Nagle, no MSG_MORE).
 *  - A connection is closed with a RST (SO_LINGER 0) unless its connect rule says linger, as HAProxy.
 *  - A read takes at most check_rx_room() bytes and stops at a short read (the receive queue is empty;
 *    the poller says when more, or the EOF, is there), as HAProxy's raw_sock_to_buf() does.
 *  - Local failures are never the server's fault: a failed socket(), no memory, a full fd table, no free
 *    local port (check_io_err_is_local()) return CIO_LOCAL and feed nothing to the run. The driver then
 *    abandons the run without a verdict (relayd's HCE_TCP_SOCKET_LIMIT): replay exits with a local
 *    error, recheckd logs it and leaves the server's health unchanged.
 *
 * Transports (the hook for TLS). Bytes go through c->tr, a small table of recv/send/pending/close
 * functions; cio_plain (recv(2)/send(2) on the fd) unless check_io_tls.c layered TLS on it. A transport's recv/send
 * return bytes moved, 0 for EOF (recv), or -1 with *want = CIO_WANT_READ / CIO_WANT_WRITE for "not now"
 * (a TLS record may need the socket readable to write, or writable to read), or -1 with *want = CIO_OK
 * and errno set for a failure. A TLS step layers itself on an established connection (right after
 * connect, or after a SOCKS/CONNECT exchange) by setting c->tr/c->tr_ctx and driving its non-blocking
 * handshake with the same CIO_WANT_* results through check_io_resume() (a CIO_OP_HANDSHAKE next to
 * CONNECT/SEND/RECV, carried on by c->tr->handshake, so this file never calls check_io_tls.c back: the
 * TLS layer uses cio_plain and this file, one way down); neither driver changes, because both only map CIO_WANT_* to poll/epoll masks.
 * pending() reports bytes the transport already holds (decrypted records), so a driver reads them
 * before waiting for the socket (check_io_recv() does).
 */
#ifndef RECHECK_CHECK_IO_H
#define RECHECK_CHECK_IO_H

#include "api.h"

#include <sys/socket.h>
#include <sys/types.h>

#include "check-t.h"

/* What an I/O call needs before the run can go on. */
enum cio_want {
	CIO_OK = 0,     /* done: the outcome was fed to the run; call check_next() */
	CIO_WANT_READ,  /* wait until the socket is readable, then check_io_resume() */
	CIO_WANT_WRITE, /* wait until the socket is writable, then check_io_resume() */
	CIO_LOCAL,      /* local failure (c->local_err, c->local_op): abandon the run, no verdict */
};

/* The operation a CIO_WANT_* is waiting to finish. */
enum cio_op {
	CIO_OP_NONE = 0,
	CIO_OP_CONNECT,  /* TCP handshake in progress */
	CIO_OP_SEND,     /* c->out has bytes left to write */
	CIO_OP_RECV,     /* the engine asked for data (CHECK_ACT_WANT_READ) */
	CIO_OP_HANDSHAKE, /* TLS handshake in progress (CHECK_ACT_TLS; check_io_tls.c) */
	CIO_OP_SOCKS4,   /* connected to a SOCKS4 proxy, its 8-byte reply is awaited */
};

struct check_conn;

struct cio_transport {
	const char *name;
	ssize_t (*recv)(struct check_conn *c, void *p, size_t n, enum cio_want *want);
	ssize_t (*send)(struct check_conn *c, const void *p, size_t n, enum cio_want *want);
	bool (*pending)(const struct check_conn *c);  /* bytes held above the socket; NULL: never */
	void (*close)(struct check_conn *c);          /* frees tr_ctx before the fd closes; NULL: nothing */
	/* carries on with the layer's handshake (CIO_OP_HANDSHAKE) for check_io_resume(), which so never
	 * names a layer: the layers sit on this file, not beside it; NULL: the transport has none */
	enum cio_want (*handshake)(struct check_conn *c, struct check_run *run);
};

extern const struct cio_transport cio_plain;

/* The connection of one check run. Owned by its driver; check_io_init() before first use. */
struct check_conn {
	int fd;                         /* -1 when none */
	const struct cio_transport *tr; /* cio_plain unless a layer took over */
	void *tr_ctx;                   /* the transport's state, owned by it */
	enum cio_op op;                 /* what a CIO_WANT_* waits for */
	bool linger;                    /* close this connection with FIN (connect rule's linger) */
	const unsigned char *out;       /* SEND bytes not written yet (owned by the run or the recipe) */
	size_t outlen;
	const unsigned char *pre;       /* sent as soon as the next connect completes, then forgotten: the PROXY
					 * header of check-send-proxy (the driver's memory); NULL: none */
	size_t prelen;
	struct sockaddr_storage via;    /* the next connect goes through this SOCKS4 proxy (HAProxy's server
					 * socks4 + check-via-socks4), then it is forgotten; vialen 0: none (a
					 * connect rule's own socks4 wins) */
	socklen_t vialen;
	struct sockaddr_storage target; /* where the SOCKS4 proxy is asked to connect */
	bool s4;                        /* the current connection is to a SOCKS4 proxy, not yet granted */
	unsigned char s4rx[8];          /* its reply so far (VN CD DSTPORT DSTIP) */
	size_t s4got;
	int local_err;                  /* errno of the last CIO_LOCAL, 0 when none */
	const char *local_op;           /* the call that failed locally ("socket", "connect", ...), static */
};

void check_io_init(struct check_conn *c);
/* The PROXY header of a check connection, version 1 ("PROXY UNKNOWN") or 2 (LOCAL); static, *len set. */
const unsigned char *check_io_proxy_header(int version, size_t *len);

/*
 * CHECK_ACT_CONNECT: closes the current connection (with its own linger), opens a new one to sa, or to
 * a->addr when the rule has one (port: a->port, else a->addr's, else sa's). Through a SOCKS4 proxy
 * (a->socks4, else c->via) the proxy is connected and asked for that address as HAProxy does (VN 4,
 * CD 1, port, IPv4 address, user id "HAProxy"); its reply must be 8 bytes with CD 0x5A, consumed before
 * the run sees the connection up (then c->pre goes out; a->send_proxy sets it first, replacing the
 * driver's). A refused or broken SOCKS4 exchange is a
 * socket error with HAProxy's words. CIO_OK (connected, or the server's refusal fed to the run),
 * CIO_WANT_WRITE / CIO_WANT_READ (in progress), or CIO_LOCAL.
 */
enum cio_want check_io_connect(struct check_conn *c, struct check_run *run, const struct sockaddr_storage *sa,
			       socklen_t salen, const struct check_action *a);
/* CHECK_ACT_SEND: writes a->data fully. CIO_OK, CIO_WANT_WRITE / CIO_WANT_READ, or CIO_LOCAL. */
enum cio_want check_io_send(struct check_conn *c, struct check_run *run, const struct check_action *a);
/*
 * CHECK_ACT_WANT_READ: CIO_WANT_READ (wait, then check_io_resume() reads), unless the transport already
 * holds bytes: then they are read now.
 */
enum cio_want check_io_recv(struct check_conn *c, struct check_run *run);
/*
 * The socket is ready for what the last CIO_WANT_* asked. err_hint: the poller reported an error or a
 * hang-up (EPOLLERR/POLLERR, EPOLLHUP/POLLHUP); a connect then asks SO_ERROR for the reason. Carries on
 * with the pending operation: CIO_OK when its outcome was fed, else another CIO_WANT_* or CIO_LOCAL.
 */
enum cio_want check_io_resume(struct check_conn *c, struct check_run *run, bool err_hint);
/*
 * CHECK_ACT_TLS (check_io_tls.c): layers TLS (a->tls, context prepared by tls_prepare()) on the open
 * connection and runs the handshake: CIO_OK (its outcome fed: check_on_tls_ok() / check_on_tls_error()),
 * CIO_WANT_READ / CIO_WANT_WRITE (then check_io_resume()), or CIO_LOCAL (out of memory).
 */
enum cio_want check_io_tls(struct check_conn *c, struct check_run *run, const struct check_action *a);

/* Forgets the pending operation (the deadline passed, or the run is cancelled); the socket stays open. */
void check_io_cancel(struct check_conn *c);
/* Closes the connection: RST (SO_LINGER 0) unless linger. A closed connection is a no-op. */
void check_io_close(struct check_conn *c, bool linger);

/* The one classification: true when errno err is a shortage of ours, not a fault of the server. */
bool check_io_err_is_local(int err);
/* "socket: Too many open files" for the last CIO_LOCAL; returns out. */
char *check_io_local_str(const struct check_conn *c, char *out, size_t outlen);

#endif

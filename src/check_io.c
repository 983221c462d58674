/*
 * check_io: the one socket driver of a check run (see check_io.h for its rules and the transport hook).
 * The callers only wait: checknet.c with poll() for `recheck replay`, runner/health.c on the daemon's
 * epoll loop. Everything that touches the check's socket is here, so both behave alike by construction.
 */
#include "api.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check_io.h"
#include "check_run.h"
#include "net.h"

/* ---- the plain transport: the fd itself ---------------------------------------------------------- */

static ssize_t plain_recv(struct check_conn *c, void *p, size_t n, enum cio_want *want)
{
	ssize_t r;

	*want = CIO_OK;
	do
		r = recv(c->fd, p, n, 0);
	while (r == -1 && errno == EINTR);
	if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		*want = CIO_WANT_READ;
	return r;
}

static ssize_t plain_send(struct check_conn *c, const void *p, size_t n, enum cio_want *want)
{
	ssize_t w;

	*want = CIO_OK;
	do
		w = send(c->fd, p, n, MSG_NOSIGNAL);
	while (w == -1 && errno == EINTR);
	if (w == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		*want = CIO_WANT_WRITE;
	return w;
}

const struct cio_transport cio_plain = {
	.name = "plain",
	.recv = plain_recv,
	.send = plain_send,
};

/* ---- classification ------------------------------------------------------------------------------ */

bool check_io_err_is_local(int err)
{
	switch (err) {
	case EMFILE:        /* our fd table is full */
	case ENFILE:        /* the system's is */
	case ENOBUFS:
	case ENOMEM:
	case EADDRNOTAVAIL: /* no free local port (HAProxy: "no free ports", SF_ERR_RESOURCE) */
	case EADDRINUSE:
	case EAGAIN:        /* connect(): no routing cache entry / port left */
		return true;
	default:
		return false;
	}
}

char *check_io_local_str(const struct check_conn *c, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s: %s", c->local_op ? c->local_op : "check",
		 strerror(c->local_err ? c->local_err : EIO));
	return out;
}

static enum cio_want local_fail(struct check_conn *c, const char *op, int err)
{
	c->local_op = op;
	c->local_err = err ? err : EIO;
	c->op = CIO_OP_NONE;
	return CIO_LOCAL;
}

/* A failed call on the connection: ours (CIO_LOCAL) or the server's (fed to the run). */
static enum cio_want failed(struct check_conn *c, struct check_run *run, const char *op, int err)
{
	if (check_io_err_is_local(err))
		return local_fail(c, op, err);
	c->op = CIO_OP_NONE;
	check_on_error(run, err);
	return CIO_OK;
}

/*
 * The connection is up (the SOCKS4 proxy's grant included): check-send-proxy's header goes first (a fresh
 * socket's send buffer takes its few bytes at once; anything short of that is the server's failure),
 * then the engine is told.
 */
static enum cio_want established(struct check_conn *c, struct check_run *run)
{
	if (c->pre && c->prelen) {
		ssize_t w = send(c->fd, c->pre, c->prelen, MSG_NOSIGNAL | MSG_DONTWAIT);

		c->pre = NULL;
		if (w == -1)
			return failed(c, run, "send", errno);
		if ((size_t)w != c->prelen)
			return failed(c, run, "send", EAGAIN);
	}
	check_on_connected(run);
	return CIO_OK;
}

/* HAProxy's conn_err_code_str() words for the SOCKS4 handshake (connection.c). */
#define S4_SEND  "SOCKS4 Proxy write error during handshake"
#define S4_RECV  "SOCKS4 Proxy read error during handshake"
#define S4_DENY  "SOCKS4 Proxy deny the request"
#define S4_ABORT "SOCKS4 Proxy handshake aborted by server"

static enum cio_want s4_fail(struct check_conn *c, struct check_run *run, const char *why, int err)
{
	c->op = CIO_OP_NONE;
	c->s4 = false;
	check_on_conn_fail(run, why, err);
	return CIO_OK;
}

/* Reads the proxy's reply: exactly its 8 bytes, so nothing of the server's own bytes is taken. */
static enum cio_want s4_reply(struct check_conn *c, struct check_run *run)
{
	while (c->s4got < sizeof(c->s4rx)) {
		ssize_t r = recv(c->fd, c->s4rx + c->s4got, sizeof(c->s4rx) - c->s4got, 0);

		if (r > 0) {
			c->s4got += (size_t)r;
			continue;
		}
		if (r == 0)
			return s4_fail(c, run, S4_RECV, 0);
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			c->op = CIO_OP_SOCKS4;
			return CIO_WANT_READ;
		}
		return s4_fail(c, run, S4_ABORT, errno);
	}
	/* HAProxy looks at CD only (0x5A: granted); VN and the rest are not checked */
	if (c->s4rx[1] != 0x5A)
		return s4_fail(c, run, S4_DENY, 0);
	c->op = CIO_OP_NONE;
	c->s4 = false;
	return established(c, run);
}

/* The TCP connection is up: to a SOCKS4 proxy, the CONNECT request goes first (16 bytes, at once). */
static enum cio_want connected(struct check_conn *c, struct check_run *run)
{
	unsigned char req[NET_SOCKS4_REQ];
	ssize_t w;

	if (!c->s4)
		return established(c, run);
	if (net_socks4_request(&c->target, req) == -1)
		return s4_fail(c, run, S4_SEND " (SOCKS4 carries IPv4 addresses only)", 0);
	w = send(c->fd, req, sizeof(req), MSG_NOSIGNAL | MSG_DONTWAIT);
	if (w == -1 && check_io_err_is_local(errno) && errno != EAGAIN)
		return local_fail(c, "send", errno);
	if (w != (ssize_t)sizeof(req))
		return s4_fail(c, run, S4_SEND, w == -1 ? errno : 0);
	c->s4got = 0;
	return s4_reply(c, run);
}

/*
 * The header HAProxy sends first on a check connection (check-send-proxy, or a recipe connect's send_proxy):
 * it names no client (make_proxy_line() without a stream), so "PROXY UNKNOWN" for v1, a LOCAL command for v2.
 */
const unsigned char *check_io_proxy_header(int version, size_t *len)
{
	static const unsigned char v1[] = "PROXY UNKNOWN\r\n";
	static const unsigned char v2[] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51,
					   0x55, 0x49, 0x54, 0x0A, 0x20, 0x00, 0x00, 0x00};

	if (version == 2) {
		*len = sizeof(v2);
		return v2;
	}
	*len = sizeof(v1) - 1;
	return v1;
}

/* ---- life cycle ---------------------------------------------------------------------------------- */

void check_io_init(struct check_conn *c)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->tr = &cio_plain;
}

void check_io_close(struct check_conn *c, bool linger)
{
	struct linger l = {.l_onoff = 1, .l_linger = 0};

	if (c->fd == -1)
		return;
	if (c->tr && c->tr->close)
		c->tr->close(c);
	/* HAProxy closes check connections with a RST unless the connect rule has linger */
	if (!linger)
		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(c->fd);
	c->fd = -1;
	c->tr = &cio_plain;
	c->tr_ctx = NULL;
	c->op = CIO_OP_NONE;
	c->out = NULL;
	c->outlen = 0;
	c->s4 = false;
	c->s4got = 0;
}

void check_io_cancel(struct check_conn *c)
{
	c->op = CIO_OP_NONE;
}

/* ---- actions ------------------------------------------------------------------------------------- */

enum cio_want check_io_connect(struct check_conn *c, struct check_run *run, const struct sockaddr_storage *sa,
			       socklen_t salen, const struct check_action *a)
{
	struct sockaddr_storage ss = a->addr ? *a->addr : *sa;
	const struct sockaddr_storage *via = a->socks4 ? a->socks4 : c->vialen ? &c->via : NULL;
	socklen_t vialen = a->socks4 ? a->socks4len : c->vialen;
	int one = 1;

	/* a later connect rule closes the current connection first, the way that one asked */
	check_io_close(c, c->linger);
	c->linger = a->linger;
	c->vialen = 0; /* the driver's proxy is for the run's first connection, as its PROXY header */
	/* the rule's PROXY header takes the place of the driver's (a server's check_send_proxy): one header */
	if (a->send_proxy)
		c->pre = check_io_proxy_header(a->send_proxy, &c->prelen);
	/* HAProxy's order: the rule's port, the rule's address's port, then the server's (check) port */
	if (a->port)
		net_set_port(&ss, (uint16_t)a->port);
	else if (a->addr && !net_port_of(a->addr))
		net_set_port(&ss, net_port_of(sa));
	if (a->addr)
		salen = a->addrlen;
	c->s4 = via != NULL;
	if (via) {
		c->target = ss;
		ss = *via; /* before anything overwrites c->via: via may point to it */
		salen = vialen;
	}
	c->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	if (c->fd == -1)
		return local_fail(c, "socket", errno); /* whatever the reason, no server was involved */
	/* one policy for every check socket: each SEND is its own segment (HAProxy: TCP_NODELAY, no
	 * MSG_MORE); a failure only costs a possible delayed-ACK wait, never the verdict */
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&ss, salen) == 0)
		return connected(c, run);
	if (errno != EINPROGRESS)
		return failed(c, run, "connect", errno);
	/*
	 * On loopback and other fast paths the handshake is already done when connect() returns EINPROGRESS.
	 * One getpeername() says so and lets the first SEND go out now, instead of a poller round for
	 * writability. A refused connect is still reported by the poller, as L4CON at the connect step.
	 */
	if (net_peer_known(c->fd))
		return connected(c, run);
	c->op = CIO_OP_CONNECT;
	return CIO_WANT_WRITE;
}

/* Writes what is left of c->out. */
static enum cio_want send_rest(struct check_conn *c, struct check_run *run)
{
	enum cio_want want;

	while (c->outlen > 0) {
		ssize_t w = c->tr->send(c, c->out, c->outlen, &want);

		if (w >= 0) {
			c->out += w;
			c->outlen -= (size_t)w;
			continue;
		}
		if (want != CIO_OK)
			return want;
		return failed(c, run, "send", errno);
	}
	c->op = CIO_OP_NONE;
	c->out = NULL;
	check_on_sent(run);
	return CIO_OK;
}

enum cio_want check_io_send(struct check_conn *c, struct check_run *run, const struct check_action *a)
{
	if (c->fd == -1) {
		check_on_error(run, ENOTCONN);
		return CIO_OK;
	}
	c->out = a->data;
	c->outlen = a->len;
	c->op = CIO_OP_SEND;
	return send_rest(c, run);
}

/*
 * Reads what is available now, at most the engine's room (HAProxy's tcpcheck_eval_recv() loop). A short
 * read means the receive queue is empty: reading again would only return EAGAIN, so stop there.
 */
static enum cio_want read_now(struct check_conn *c, struct check_run *run)
{
	unsigned char chunk[CHECK_BUFSIZE];
	enum cio_want want;
	bool fed = false;

	for (;;) {
		size_t room = check_rx_room(run), n = MIN(room, sizeof(chunk));
		ssize_t r;

		if (room == 0)
			break;
		r = c->tr->recv(c, chunk, n, &want);
		if (r > 0) {
			check_on_data(run, chunk, (size_t)r);
			fed = true;
			if ((size_t)r < n)
				break;
			continue;
		}
		if (r == 0) {
			check_on_eof(run);
			break;
		}
		if (want != CIO_OK) {
			if (fed)
				break;
			return want; /* spurious wake-up, or a transport that needs the other direction */
		}
		return failed(c, run, "recv", errno);
	}
	c->op = CIO_OP_NONE;
	return CIO_OK;
}

enum cio_want check_io_recv(struct check_conn *c, struct check_run *run)
{
	if (c->fd == -1) {
		check_on_error(run, ENOTCONN);
		return CIO_OK;
	}
	c->op = CIO_OP_RECV;
	if (c->tr->pending && c->tr->pending(c))
		return read_now(c, run);
	/* only read once the poller says so: bytes the engine did not ask for stay in the kernel */
	return CIO_WANT_READ;
}

enum cio_want check_io_resume(struct check_conn *c, struct check_run *run, bool err_hint)
{
	int err;

	switch (c->op) {
	case CIO_OP_CONNECT:
		/* writable without an error report: the connect succeeded and SO_ERROR would say 0, so only
		 * ask the kernel for the reason when the poller reported a problem */
		err = err_hint ? net_connect_result(c->fd) : 0;
		if (err)
			return failed(c, run, "connect", err);
		c->op = CIO_OP_NONE;
		return connected(c, run);
	case CIO_OP_SEND:
		return send_rest(c, run);
	case CIO_OP_RECV:
		return read_now(c, run);
	case CIO_OP_HANDSHAKE:
		if (c->tr->handshake)
			return c->tr->handshake(c, run);
		c->op = CIO_OP_NONE; /* not reached: only a layer with a handshake sets this op */
		return CIO_OK;
	case CIO_OP_SOCKS4:
		return s4_reply(c, run);
	case CIO_OP_NONE:
	default:
		return CIO_OK;
	}
}

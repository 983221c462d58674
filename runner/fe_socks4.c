/*
 * fe_socks4: HAProxy's server `socks4` for the traffic. The connection goes to the proxy, which is asked
 * (SOCKS4 CONNECT, HAProxy's request: net_socks4_request()) for the server; its 8-byte reply must grant it
 * (CD 0x5A) and is consumed. Only then does the relay get the connection: the client's bytes wait, and the
 * PROXY header (send-proxy) goes first, after the SOCKS4 exchange as in HAProxy. A refusal or a broken
 * exchange is a failed connect (retries, redispatch, passive health); `timeout connect` covers the whole
 * exchange (frontend.c's connect timer). The checks' side of the same exchange is in src/check_io.c.
 */
#include "api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon.h"
#include "dlog.h"
#include "ev.h"
#include "frontend_priv.h"
#include "net.h"
#include "relay.h"

void fe_s4_failed(struct session *s, int err, const char *why)
{
	struct s4_state *st = s->s4;

	dlog_debug("%s/%s: SOCKS4 proxy: %s", s->li->name, s->sv->srv.name, why);
	ev_fd_del(s->w->ev, st->fd);
	close(st->fd);
	free(st);
	s->s4 = NULL;
	s->relay.err = err;
	fe_connect_error(&s->relay, s); /* may end and free s */
}

static void on_s4(struct ev *ev, int fd, int mask, void *arg)
{
	struct session *s = arg;
	struct s4_state *st = s->s4;
	unsigned char req[NET_SOCKS4_REQ];
	struct sockaddr_storage ss;
	socklen_t sl;
	ssize_t n;
	int err;

	(void)mask;
	if (!st->sent) {
		if ((err = net_connect_result(fd)) != 0) {
			fe_s4_failed(s, err, strerror(err));
			return;
		}
		rserver_addr(s->sv, &ss, &sl);
		if (net_socks4_request(&ss, req) == -1) {
			fe_s4_failed(s, EAFNOSUPPORT, "the server is not an IPv4 address (SOCKS4 carries IPv4 only)");
			return;
		}
		n = send(fd, req, sizeof(req), MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n != (ssize_t)sizeof(req)) {
			fe_s4_failed(s, n == -1 ? errno : EPIPE, "cannot send the request");
			return;
		}
		st->sent = true;
		if (ev_fd_set(ev, fd, EV_READ, on_s4, s) == -1)
			fe_s4_failed(s, errno, "cannot watch the connection");
		return;
	}
	while (st->got < sizeof(st->rx)) {
		n = recv(fd, st->rx + st->got, sizeof(st->rx) - st->got, 0);
		if (n > 0) {
			st->got += (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		fe_s4_failed(s, n == 0 ? ECONNRESET : errno, "closed before its reply");
		return;
	}
	if (st->rx[1] != 0x5A) {
		char why[64];

		snprintf(why, sizeof(why), "refused the request (CD %02X)", st->rx[1]);
		fe_s4_failed(s, ECONNREFUSED, why);
		return;
	}
	ev_fd_del(ev, fd);
	free(st);
	s->s4 = NULL;
	relay_set_server(&s->relay, fd); /* may end and free s */
}

void fe_s4_start(struct session *s, int sfd)
{
	s->s4 = calloc(1, sizeof(*s->s4));
	if (!s->s4) {
		close(sfd);
		relay_end(&s->relay, RELAY_END_RESOURCE);
		return;
	}
	s->s4->fd = sfd;
	if (ev_fd_set(s->w->ev, sfd, EV_WRITE, on_s4, s) == -1)
		fe_s4_failed(s, errno, "cannot watch the connection");
}

void fe_s4_free(struct session *s)
{
	if (!s->s4)
		return;
	ev_fd_del(s->w->ev, s->s4->fd);
	close(s->s4->fd);
	free(s->s4);
	s->s4 = NULL;
}

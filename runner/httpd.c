/*
 * httpd: the stats HTTP server (see httpd.h). Reference: RFC 9112 §3 (request line), §9.6 (close).
 */
#include "api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ev.h"
#include "httpd.h"
#include "net.h"
#include "util.h"

enum client_phase {
	CL_READ = 0,  /* reading the request head */
	CL_WRITE,     /* writing the response */
	CL_LINGER,    /* response sent and write side shut: reading until EOF so close() sends no RST */
};

struct client {
	struct httpd *h;
	struct client *prev, *next;
	int fd;
	enum client_phase phase;
	char in[HTTPD_MAX_REQUEST + 1];
	size_t inlen;
	struct buf out;               /* head + body */
	size_t outoff;
	struct ev_timer timer;        /* the connection's one deadline */
};

struct httpd {
	struct ev *ev;
	int lfd;
	httpd_handler handler;
	void *arg;
	struct client *clients;       /* oldest first */
	struct client *tail;
	unsigned nclients;
	uint64_t evicted;             /* connections closed to make room (slowloris) */
};

int httpd_parse_request(char *p, size_t n, const char **method, const char **path)
{
	char *end = NULL, *sp1, *sp2, *eol, *q;
	size_t i, headlen;

	for (i = 0; i + 1 < n; i++) {
		if (p[i] == '\n' && p[i + 1] == '\n') {
			end = p + i + 2;
			break;
		}
		if (i + 3 < n && p[i] == '\r' && p[i + 1] == '\n' && p[i + 2] == '\r' && p[i + 3] == '\n') {
			end = p + i + 4;
			break;
		}
	}
	/* the request line alone must be sane even before the head is complete */
	eol = memchr(p, '\n', n);
	if (!end)
		return eol == p ? -1 : -2; /* the caller enforces HTTPD_MAX_REQUEST */
	headlen = (size_t)(end - p);
	if (eol > p && eol[-1] == '\r')
		eol--;
	*eol = '\0';
	sp1 = strchr(p, ' ');
	if (!sp1 || sp1 == p)
		return -1;
	for (q = p; q < sp1; q++)
		if (*q < 'A' || *q > 'Z')
			return -1;
	*sp1 = '\0';
	sp2 = strchr(sp1 + 1, ' ');
	if (!sp2 || sp1[1] != '/')
		return -1;
	*sp2 = '\0';
	if (strncmp(sp2 + 1, "HTTP/1.", 7) != 0 || !(sp2[8] == '0' || sp2[8] == '1') || sp2[9] != '\0')
		return -1;
	for (q = sp1 + 1; *q; q++)
		if ((unsigned char)*q <= ' ' || (unsigned char)*q >= 0x7F)
			return -1;
	q = strchr(sp1 + 1, '?');
	if (q)
		*q = '\0';
	*method = p;
	*path = sp1 + 1;
	return (int)headlen;
}

static void client_close(struct client *c)
{
	struct httpd *h = c->h;

	ev_timer_stop(h->ev, &c->timer);
	ev_fd_del(h->ev, c->fd);
	close(c->fd);
	buf_free(&c->out);
	if (c->prev)
		c->prev->next = c->next;
	else
		h->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		h->tail = c->prev;
	h->nclients--;
	free(c);
}

static void on_client_timer(struct ev *ev, struct ev_timer *t, void *arg)
{
	(void)ev;
	(void)t;
	client_close(arg);
}

static const char *reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	default:
		return "Error";
	}
}

/* Builds the response into c->out and switches to writing. */
static void respond(struct client *c, int status, const char *ctype, const struct buf *body, bool head_only)
{
	size_t blen = body ? body->len : 0;
	int rc;

	buf_init(&c->out, HTTPD_MAX_BODY + 1024);
	rc = buf_printf(&c->out,
			"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nCache-Control: no-store\r\n"
			"X-Content-Type-Options: nosniff\r\n"
			"Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'\r\n"
			"Connection: close\r\n\r\n",
			status, reason(status), ctype, blen);
	if (rc == 0 && blen && !head_only)
		rc = buf_append(&c->out, body->data, blen);
	if (rc == -1) {
		client_close(c);
		return;
	}
	c->phase = CL_WRITE;
	c->outoff = 0;
	ev_fd_mask(c->h->ev, c->fd, EV_WRITE);
}

static void respond_text(struct client *c, int status, const char *text)
{
	struct buf b;

	buf_init(&b, 256);
	buf_append_str(&b, text);
	respond(c, status, "text/plain; charset=utf-8", &b, false);
	buf_free(&b);
}

static void handle(struct client *c)
{
	const char *method = NULL, *path = NULL;
	struct httpd_reply r;
	int n;

	n = httpd_parse_request(c->in, c->inlen, &method, &path);
	if (n == -2) {
		if (c->inlen >= HTTPD_MAX_REQUEST)
			respond_text(c, 431, "request head too large\n");
		return;
	}
	if (n == -1) {
		respond_text(c, 400, "malformed request\n");
		return;
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		respond_text(c, 405, "only GET and HEAD are served\n");
		return;
	}
	memset(&r, 0, sizeof(r));
	r.status = 200;
	r.content_type = "text/plain; charset=utf-8";
	buf_init(&r.body, HTTPD_MAX_BODY);
	c->h->handler(c->h->arg, path, &r);
	respond(c, r.status, r.content_type, &r.body, strcmp(method, "HEAD") == 0);
	buf_free(&r.body);
}

static void on_client(struct ev *ev, int fd, int mask, void *arg)
{
	struct client *c = arg;
	char sink[512];
	ssize_t r;

	(void)ev;
	(void)mask;
	switch (c->phase) {
	case CL_READ:
		r = recv(fd, c->in + c->inlen, HTTPD_MAX_REQUEST - c->inlen, 0);
		if (r == 0 || (r == -1 && errno != EAGAIN && errno != EINTR)) {
			client_close(c);
			return;
		}
		if (r > 0) {
			c->inlen += (size_t)r;
			c->in[c->inlen] = '\0';
			handle(c);
		}
		return;
	case CL_WRITE:
		while (c->outoff < c->out.len) {
			r = send(fd, c->out.data + c->outoff, c->out.len - c->outoff, MSG_NOSIGNAL);
			if (r > 0) {
				c->outoff += (size_t)r;
				continue;
			}
			if (r == -1 && (errno == EAGAIN || errno == EINTR))
				return;
			client_close(c);
			return;
		}
		shutdown(fd, SHUT_WR);
		c->phase = CL_LINGER;
		ev_fd_mask(c->h->ev, fd, EV_READ);
		return;
	case CL_LINGER:
		r = recv(fd, sink, sizeof(sink), 0);
		if (r == 0 || (r == -1 && errno != EAGAIN && errno != EINTR))
			client_close(c);
		return;
	}
}

/*
 * All slots taken: close the oldest connection that has not sent a whole request yet, as nginx and
 * HAProxy protect themselves. Half-sent requests cannot then lock scrapers out for HTTPD_TIMEOUT_MS.
 */
static bool evict(struct httpd *h)
{
	struct client *c;

	for (c = h->clients; c; c = c->next) {
		if (c->phase == CL_READ) {
			h->evicted++;
			client_close(c);
			return true;
		}
	}
	return false;
}

static void on_accept(struct ev *ev, int lfd, int mask, void *arg)
{
	struct httpd *h = arg;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct client *c;
	int i, fd;

	(void)mask;
	for (i = 0; i < 64; i++) {
		fd = net_accept(lfd, &ss, &sl);
		if (fd == -1)
			return;
		if ((h->nclients >= HTTPD_MAX_CLIENTS && !evict(h)) || !(c = calloc(1, sizeof(*c)))) {
			close(fd);
			continue;
		}
		c->h = h;
		c->fd = fd;
		if (ev_fd_set(ev, fd, EV_READ, on_client, c) == -1) {
			close(fd);
			free(c);
			continue;
		}
		ev_timer_init(&c->timer, on_client_timer, c);
		ev_timer_arm(ev, &c->timer, HTTPD_TIMEOUT_MS);
		c->prev = h->tail;
		if (h->tail)
			h->tail->next = c;
		else
			h->clients = c;
		h->tail = c;
		h->nclients++;
	}
}

struct httpd *httpd_new(struct ev *ev, int lfd, httpd_handler handler, void *arg, char *err, size_t errlen)
{
	struct httpd *h = calloc(1, sizeof(*h));

	if (!h) {
		set_err(err, errlen, "out of memory");
		return NULL;
	}
	h->ev = ev;
	h->lfd = lfd;
	h->handler = handler;
	h->arg = arg;
	if (ev_fd_set(ev, lfd, EV_READ, on_accept, h) == -1) {
		set_err(err, errlen, "cannot watch the stats listener: %s", strerror(errno));
		free(h);
		return NULL;
	}
	return h;
}

void httpd_free(struct httpd *h)
{
	if (!h)
		return;
	while (h->clients)
		client_close(h->clients);
	if (h->lfd != -1 && ev_fd_get(h->ev, h->lfd) != EV_NONE)
		ev_fd_del(h->ev, h->lfd);
	free(h);
}

unsigned httpd_nclients(const struct httpd *h)
{
	return h->nclients;
}

/* benchtls: one process listening on COUNT ports from BASE, each a TLS server (OpenSSL, non-blocking, one
 * epoll loop) that answers an HTTP request with 204 and closes. With --socks, each connection first speaks
 * SOCKS5 in clear (greeting -> 05 00, CONNECT -> success with a bound address) and TLS starts after it, as
 * a proxy's tunnel to an HTTPS site would: it stands for 2,000 proxies checked with a recipe whose tls step
 * is inside the tunnel. Without --socks it is a direct TLS server (HAProxy's check-ssl peer).
 *
 *   benchtls BASE COUNT CERT KEY [--socks]   prints "ready" once every port listens; exit 4 if a port is
 *                                            taken; on SIGUSR1 prints "answered=N"
 *
 * Session resumption is off (no cache, no tickets) so that every check is a full handshake on both sides.
 * Bench tool: every connection's input is capped, 127.0.0.1 only.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define MAXFD 65536
#define CAP 1024

struct conn {
	int listener;
	int phase; /* 0 SOCKS greeting, 1 SOCKS request, 2 TLS handshake, 3 HTTP request, 4 sending */
	size_t len;
	SSL *ssl;
	unsigned char buf[CAP];
};

static struct conn *tab[MAXFD];
static unsigned long long answered;
static volatile sig_atomic_t report;
static SSL_CTX *ctx;
static int ep;

static void on_usr1(int sig)
{
	(void)sig;
	report = 1;
}

static void drop(int fd)
{
	struct conn *c = tab[fd];

	if (c) {
		SSL_free(c->ssl);
		free(c);
		tab[fd] = NULL;
	}
	close(fd);
}

static void want(int fd, int ev)
{
	struct epoll_event e = {.events = (uint32_t)ev, .data.fd = fd};

	epoll_ctl(ep, EPOLL_CTL_MOD, fd, &e);
}

/* After an SSL call failed with e: wait for what TLS wants, or drop the connection on a real error. */
static void wait_or_drop(int fd, int e)
{
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		want(fd, e == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT);
		return;
	}
	ERR_clear_error();
	drop(fd);
}

/* One TLS step: handshake, then read the request head, then answer. */
static void tls_step(int fd, struct conn *c)
{
	static const char resp[] = "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
	int rc, e;

	if (c->phase == 2) {
		rc = SSL_accept(c->ssl);
		if (rc != 1) {
			e = SSL_get_error(c->ssl, rc);
			wait_or_drop(fd, e);
			return;
		}
		c->phase = 3;
		c->len = 0;
	}
	while (c->phase == 3) {
		size_t got = 0;

		if (c->len >= CAP - 1) {
			drop(fd);
			return;
		}
		if (SSL_read_ex(c->ssl, c->buf + c->len, CAP - 1 - c->len, &got) != 1) {
			e = SSL_get_error(c->ssl, 0);
			wait_or_drop(fd, e);
			return;
		}
		c->len += got;
		c->buf[c->len] = 0;
		if (strstr((char *)c->buf, "\r\n\r\n"))
			c->phase = 4;
	}
	if (c->phase == 4) {
		size_t put = 0;

		if (SSL_write_ex(c->ssl, resp, sizeof(resp) - 1, &put) != 1) {
			e = SSL_get_error(c->ssl, 0);
			if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
				want(fd, e == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT);
				return;
			}
			ERR_clear_error();
		} else {
			answered++;
		}
		drop(fd);
	}
}

static void start_tls(int fd, struct conn *c)
{
	c->ssl = SSL_new(ctx);
	if (!c->ssl || SSL_set_fd(c->ssl, fd) != 1) {
		drop(fd);
		return;
	}
	c->phase = 2;
	tls_step(fd, c);
}

static void on_socks(int fd, struct conn *c)
{
	static const unsigned char reply[] = {5, 0, 0, 1, 127, 0, 0, 1, 0x1f, 0x90};
	ssize_t r = recv(fd, c->buf + c->len, CAP - c->len, 0);

	if (r <= 0) {
		if (r == -1 && errno == EAGAIN)
			return;
		drop(fd);
		return;
	}
	c->len += (size_t)r;
	if (c->phase == 0 && c->len >= 2 && c->len >= 2u + c->buf[1]) {
		if (send(fd, "\x05\x00", 2, MSG_NOSIGNAL) != 2) {
			drop(fd);
			return;
		}
		memmove(c->buf, c->buf + 2 + c->buf[1], c->len - 2 - c->buf[1]);
		c->len -= 2u + c->buf[1];
		c->phase = 1;
	}
	if (c->phase == 1 && c->len >= 10) { /* CONNECT, any address: answer success, then TLS */
		if (send(fd, reply, sizeof(reply), MSG_NOSIGNAL) != (ssize_t)sizeof(reply)) {
			drop(fd);
			return;
		}
		c->len = 0;
		start_tls(fd, c);
	}
}

int main(int argc, char **argv)
{
	struct rlimit rl;
	int base, count, i, lfd_first = -1, socks;
	struct epoll_event evs[256];

	if (argc < 5) {
		fprintf(stderr, "usage: benchtls BASE COUNT CERT KEY [--socks]\n");
		return 2;
	}
	base = atoi(argv[1]);
	count = atoi(argv[2]);
	socks = argc > 5 && !strcmp(argv[5], "--socks");
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx || SSL_CTX_use_certificate_chain_file(ctx, argv[3]) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, argv[4], SSL_FILETYPE_PEM) != 1) {
		fprintf(stderr, "benchtls: cannot load %s / %s\n", argv[3], argv[4]);
		return 3;
	}
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_num_tickets(ctx, 0);
	signal(SIGUSR1, on_usr1);
	signal(SIGPIPE, SIG_IGN);
	ep = epoll_create1(EPOLL_CLOEXEC);
	for (i = 0; i < count; i++) {
		struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)(base + i))};
		struct epoll_event e = {.events = EPOLLIN};
		int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (fd == -1 || fd >= MAXFD || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 || listen(fd, 128) == -1) {
			/* bench.py reads the port to resume its search after it */
			fprintf(stderr, "benchtls: port %d: %s\n", base + i, fd >= MAXFD ? "too many files" : strerror(errno));
			return 4;
		}
		if (lfd_first == -1)
			lfd_first = fd;
		e.data.fd = fd;
		epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
	}
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		int n = epoll_wait(ep, evs, 256, 1000), k;

		if (report) {
			report = 0;
			printf("answered=%llu\n", answered);
			fflush(stdout);
		}
		for (k = 0; k < n; k++) {
			int fd = evs[k].data.fd;

			if (fd >= lfd_first && fd < lfd_first + count) {
				for (;;) {
					int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
					struct epoll_event e = {.events = EPOLLIN};

					if (c == -1)
						break;
					if (c >= MAXFD || !(tab[c] = calloc(1, sizeof(*tab[c])))) {
						close(c);
						continue;
					}
					tab[c]->listener = fd;
					e.data.fd = c;
					epoll_ctl(ep, EPOLL_CTL_ADD, c, &e);
					if (!socks)
						start_tls(c, tab[c]);
				}
				continue;
			}
			if (!tab[fd])
				continue;
			if (tab[fd]->phase < 2)
				on_socks(fd, tab[fd]);
			else
				tls_step(fd, tab[fd]);
		}
	}
}

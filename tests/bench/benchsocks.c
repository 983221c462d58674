/* benchsocks: one process listening on COUNT ports from BASE, answering the SOCKS5 + HTTP 204 conversation
 * of samples/local/socks5-local-204.yaml on each (greeting -> 05 00, CONNECT -> success with a bound
 * address, HTTP request -> 204, close). It stands for 2,000 checked servers in tests/bench/run.sh.
 *
 *   benchsocks BASE COUNT      prints "ready" once every port listens; exit 4 if a port is taken;
 *                              on SIGUSR1 prints "answered=N" (conversations answered so far)
 *
 * Bench tool: every connection's input is capped (1 KB), 127.0.0.1 only.
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

#define BENCHSOCKS_MAXFD 65536
#define BENCHSOCKS_CAP 1024

struct benchsocks_conn {
	int listener;
	int phase; /* 0 greeting, 1 connect request, 2 HTTP request */
	size_t len;
	unsigned char buf[BENCHSOCKS_CAP];
};

static struct benchsocks_conn *benchsocks_tab[BENCHSOCKS_MAXFD];
static unsigned long long benchsocks_answered;
static volatile sig_atomic_t benchsocks_report;

static void on_usr1(int sig)
{
	(void)sig;
	benchsocks_report = 1;
}

static void drop(int fd)
{
	free(benchsocks_tab[fd]);
	benchsocks_tab[fd] = NULL;
	close(fd);
}

/* Consumes whole messages from the front of c->buf; answers each. Returns -1 to close. */
static int advance(int fd, struct benchsocks_conn *c)
{
	static const unsigned char method[] = {5, 0};
	static const unsigned char ok[] = {5, 0, 0, 1, 127, 0, 0, 1, 0x47, 0x1c};
	static const char http[] = "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
	for (;;) {
		size_t need;
		if (c->phase == 0) {
			if (c->len < 2 || c->len < 2u + c->buf[1])
				return 0;
			need = 2u + c->buf[1];
			(void)!write(fd, method, sizeof(method));
		} else if (c->phase == 1) {
			if (c->len < 5)
				return 0;
			switch (c->buf[3]) {
			case 1: need = 10; break;
			case 4: need = 22; break;
			case 3: need = 7u + c->buf[4]; break;
			default: return -1;
			}
			if (c->len < need)
				return 0;
			(void)!write(fd, ok, sizeof(ok));
		} else {
			if (!memmem(c->buf, c->len, "\r\n\r\n", 4))
				return c->len >= BENCHSOCKS_CAP ? -1 : 0;
			(void)!write(fd, http, sizeof(http) - 1);
			benchsocks_answered++;
			return -1;
		}
		memmove(c->buf, c->buf + need, c->len - need);
		c->len -= need;
		c->phase++;
	}
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: benchsocks BASE COUNT\n");
		return 2;
	}
	int base = atoi(argv[1]), count = atoi(argv[2]);
	if (base < 1 || count < 1 || base + count > 65536) {
		fprintf(stderr, "benchsocks: ports %s..+%s out of range\n", argv[1], argv[2]);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa_usr1 = {.sa_handler = on_usr1};
	sigaction(SIGUSR1, &sa_usr1, NULL);
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	int ep = epoll_create1(EPOLL_CLOEXEC);
	for (int i = 0; i < count; i++) {
		struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)(base + i))};
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		int one = 1, l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (l < 0 || l >= BENCHSOCKS_MAXFD || bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
		    listen(l, 128) < 0) {
			fprintf(stderr, "benchsocks: port %d: %s\n", base + i, strerror(errno));
			return 4;
		}
		benchsocks_tab[l] = calloc(1, sizeof(struct benchsocks_conn));
		if (!benchsocks_tab[l])
			return 5;
		benchsocks_tab[l]->listener = 1;
		struct epoll_event ev = {.events = EPOLLIN, .data.fd = l};
		epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
	}
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		struct epoll_event evs[256];
		int n = epoll_wait(ep, evs, 256, 100);
		if (benchsocks_report) {
			benchsocks_report = 0;
			printf("answered=%llu\n", benchsocks_answered);
			fflush(stdout);
		}
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			struct benchsocks_conn *c = benchsocks_tab[fd];
			if (!c)
				continue;
			if (c->listener) {
				for (int k = 0; k < 64; k++) {
					int a = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
					if (a < 0)
						break;
					if (a >= BENCHSOCKS_MAXFD || !(benchsocks_tab[a] = calloc(1, sizeof(*c)))) {
						close(a);
						continue;
					}
					struct epoll_event ev = {.events = EPOLLIN, .data.fd = a};
					epoll_ctl(ep, EPOLL_CTL_ADD, a, &ev);
				}
				continue;
			}
			ssize_t r = read(fd, c->buf + c->len, BENCHSOCKS_CAP - c->len);
			if (r < 0 && errno == EAGAIN)
				continue;
			if (r <= 0) {
				drop(fd);
				continue;
			}
			c->len += (size_t)r;
			if (advance(fd, c) < 0)
				drop(fd);
		}
	}
}

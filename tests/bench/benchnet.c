/* benchnet: the bulk sender, the sink and the idle-connection holder of tests/bench/run.sh.
 *
 *   benchnet sink PORT...            accept on 127.0.0.1:PORT..., read each connection to EOF, answer the
 *                                    byte count (8 bytes, big-endian) and close; idle connections stay open
 *   benchnet send PORT BYTES         connect, write BYTES, half-close, wait for the count; prints
 *                                    "bytes=N seconds=S gbps=G" (the time includes the answer: end to end)
 *   benchnet idle PORT N SECONDS     open N connections and hold them; prints "ready N" once every one is
 *                                    connected, then sleeps until SECONDS pass, stdin closes or a signal
 *
 * Bench tool, not product code: everything is bounded (connect waits, counts, durations), 127.0.0.1 only.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BENCHNET_MAXFD 65536
#define BENCHNET_CHUNK (256 * 1024)

static double benchnet_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void benchnet_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static struct sockaddr_in benchnet_addr(int port)
{
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sa;
}

static int benchnet_port(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v < 1 || v > 65535) {
		fprintf(stderr, "benchnet: %s: expected a port 1-65535\n", s);
		exit(2);
	}
	return (int)v;
}

static uint64_t *benchnet_count; /* per fd: bytes read; UINT64_MAX marks a listener */

static int sink(int argc, char **argv)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	static char buf[BENCHNET_CHUNK];
	benchnet_count = calloc(BENCHNET_MAXFD, sizeof(*benchnet_count));
	if (ep < 0 || !benchnet_count)
		return 5;
	for (int i = 0; i < argc; i++) {
		struct sockaddr_in sa = benchnet_addr(benchnet_port(argv[i]));
		int one = 1, l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (l < 0 || l >= BENCHNET_MAXFD || bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
		    listen(l, 4096) < 0) {
			fprintf(stderr, "benchnet sink: port %s: %s\n", argv[i], strerror(errno));
			return 4;
		}
		benchnet_count[l] = UINT64_MAX;
		struct epoll_event ev = {.events = EPOLLIN, .data.fd = l};
		epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
	}
	for (;;) {
		struct epoll_event evs[256];
		int n = epoll_wait(ep, evs, 256, -1);
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (benchnet_count[fd] == UINT64_MAX) {
				for (int k = 0; k < 256; k++) {
					int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
					if (c < 0)
						break;
					if (c >= BENCHNET_MAXFD) {
						close(c);
						continue;
					}
					benchnet_count[c] = 0;
					struct epoll_event ev = {.events = EPOLLIN, .data.fd = c};
					epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
				}
				continue;
			}
			for (int k = 0; k < 64; k++) {
				ssize_t r = read(fd, buf, sizeof(buf));
				if (r > 0) {
					benchnet_count[fd] += (uint64_t)r;
					continue;
				}
				if (r < 0 && (errno == EAGAIN || errno == EINTR))
					break;
				if (r == 0) {
					uint64_t v = benchnet_count[fd];
					unsigned char out[8];
					for (int b = 0; b < 8; b++)
						out[b] = (unsigned char)(v >> (56 - 8 * b));
					(void)!write(fd, out, sizeof(out));
				}
				close(fd);
				break;
			}
		}
	}
}

static int connect_to(int port, int nonblock)
{
	struct sockaddr_in sa = benchnet_addr(port);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
	if (s < 0)
		return -1;
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
		close(s);
		return -1;
	}
	return s;
}

static int send_bulk(int port, unsigned long long bytes)
{
	static char buf[BENCHNET_CHUNK];
	memset(buf, 'x', sizeof(buf));
	double t0 = benchnet_now();
	int s = connect_to(port, 0);
	if (s < 0) {
		fprintf(stderr, "benchnet send: connect %d: %s\n", port, strerror(errno));
		return 4;
	}
	struct timeval tv = {.tv_sec = 60};
	setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	unsigned long long left = bytes;
	while (left > 0) {
		size_t n = left < sizeof(buf) ? (size_t)left : sizeof(buf);
		ssize_t w = write(s, buf, n);
		if (w <= 0) {
			fprintf(stderr, "benchnet send: write: %s\n", strerror(errno));
			return 4;
		}
		left -= (unsigned long long)w;
	}
	shutdown(s, SHUT_WR);
	unsigned char in[8];
	size_t got = 0;
	while (got < sizeof(in)) {
		ssize_t r = read(s, in + got, sizeof(in) - got);
		if (r <= 0) {
			fprintf(stderr, "benchnet send: no count back from the sink\n");
			return 4;
		}
		got += (size_t)r;
	}
	double dt = benchnet_now() - t0;
	unsigned long long v = 0;
	for (int b = 0; b < 8; b++)
		v = v << 8 | in[b];
	close(s);
	if (v != bytes) {
		fprintf(stderr, "benchnet send: the sink counted %llu of %llu bytes\n", v, bytes);
		return 1;
	}
	printf("bytes=%llu seconds=%.4f gbps=%.3f\n", bytes, dt, bytes * 8.0 / dt / 1e9);
	return 0;
}

static int hold_idle(int port, int n, int seconds)
{
	benchnet_nofile();
	int *fds = calloc((size_t)n, sizeof(*fds));
	if (!fds)
		return 5;
	double deadline = benchnet_now() + 60;
	int open_ = 0;
	/* Connect in batches so the balancer's accept queue never overflows. */
	while (open_ < n && benchnet_now() < deadline) {
		int batch = n - open_ < 200 ? n - open_ : 200;
		struct pollfd pf[200];
		for (int i = 0; i < batch; i++) {
			pf[i].fd = connect_to(port, 1);
			pf[i].events = POLLOUT;
			if (pf[i].fd < 0) {
				fprintf(stderr, "benchnet idle: connection %d: %s\n", open_ + i, strerror(errno));
				return 4;
			}
		}
		int done = 0;
		while (done < batch && benchnet_now() < deadline) {
			if (poll(pf, (nfds_t)batch, 1000) <= 0)
				continue;
			for (int i = 0; i < batch; i++) {
				if (pf[i].fd >= 0 && pf[i].revents) {
					int e = 0;
					socklen_t el = sizeof(e);
					getsockopt(pf[i].fd, SOL_SOCKET, SO_ERROR, &e, &el);
					if (e) {
						fprintf(stderr, "benchnet idle: connect: %s\n", strerror(e));
						return 4;
					}
					fds[open_ + done++] = pf[i].fd;
					pf[i].fd = -pf[i].fd - 1; /* poll ignores negative fds */
				}
			}
		}
		open_ += done;
		if (done < batch)
			break;
	}
	printf("ready %d\n", open_);
	fflush(stdout);
	if (open_ < n)
		return 4;
	struct pollfd in = {.fd = 0, .events = POLLIN};
	double end = benchnet_now() + seconds;
	while (benchnet_now() < end) {
		if (poll(&in, 1, 200) > 0) {
			char c;
			if (read(0, &c, 1) <= 0)
				break;
		}
	}
	for (int i = 0; i < open_; i++)
		close(fds[i]);
	free(fds);
	return 0;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc >= 3 && strcmp(argv[1], "sink") == 0)
		return sink(argc - 2, argv + 2);
	if (argc == 4 && strcmp(argv[1], "send") == 0)
		return send_bulk(benchnet_port(argv[2]), strtoull(argv[3], NULL, 10));
	if (argc == 5 && strcmp(argv[1], "idle") == 0)
		return hold_idle(benchnet_port(argv[2]), atoi(argv[3]), atoi(argv[4]));
	fprintf(stderr, "usage: benchnet sink PORT... | send PORT BYTES | idle PORT N SECONDS\n");
	return 2;
}

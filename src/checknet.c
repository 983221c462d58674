/*
 * checknet: the poll() driver of the check engine (see checknet.h).
 */
#include "api.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "checknet.h"
#include "util.h"

int checknet_resolve(const char *hostport, struct checknet_addr *addr, bool *resolve_failed, char *err,
		     size_t errlen)
{
	struct addrinfo hints, *res = NULL;
	const char *colon, *host = hostport, *hend;
	char portstr[8];
	long port;
	char *end;
	int rc;

	memset(addr, 0, sizeof(*addr));
	*resolve_failed = false;
	if (hostport[0] == '[') {
		hend = strchr(hostport, ']');
		if (!hend || hend[1] != ':') {
			set_err(err, errlen, "'%s': an IPv6 server is written [ADDRESS]:PORT", hostport);
			return -1;
		}
		host = hostport + 1;
		colon = hend + 1;
	} else {
		colon = strrchr(hostport, ':');
		if (!colon || memchr(hostport, ':', (size_t)(colon - hostport))) {
			set_err(err, errlen, "'%s' is not HOST:PORT (write IPv6 addresses as [ADDRESS]:PORT)", hostport);
			return -1;
		}
		hend = colon;
	}
	if (hend == host || (size_t)(hend - host) >= sizeof(addr->host)) {
		set_err(err, errlen, "'%s': missing or too long host", hostport);
		return -1;
	}
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (!colon[1] || *end || errno || port < 1 || port > 65535) {
		set_err(err, errlen, "'%s': port must be a number from 1 to 65535", hostport);
		return -1;
	}
	memcpy(addr->host, host, (size_t)(hend - host));
	addr->host[hend - host] = '\0';
	addr->port = (int)port;
	snprintf(portstr, sizeof(portstr), "%ld", port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
	rc = getaddrinfo(addr->host, portstr, &hints, &res);
	if (rc == EAI_ADDRFAMILY || rc == EAI_NONAME || rc == EAI_NODATA) {
		/* AI_ADDRCONFIG hides loopback-only families on some hosts: try once without it */
		hints.ai_flags = AI_NUMERICSERV;
		rc = getaddrinfo(addr->host, portstr, &hints, &res);
	}
	if (rc != 0) {
		set_err(err, errlen, "cannot resolve '%s': %s", addr->host, gai_strerror(rc));
		*resolve_failed = true;
		return -1;
	}
	memcpy(&addr->ss, res->ai_addr, res->ai_addrlen);
	addr->len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

char *checknet_addr_str(const struct sockaddr *sa, char *out, size_t outlen)
{
	char ip[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
		snprintf(out, outlen, "[%s]:%u", ip, ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
		snprintf(out, outlen, "%s:%u", ip, ntohs(s4->sin_port));
	}
	return out;
}

/* Milliseconds left until deadline (0 when passed), as poll() takes them. */
static int left_ms(uint64_t deadline)
{
	uint64_t now = now_ms();

	if (now >= deadline)
		return 0;
	return deadline - now > 3600000 ? 3600000 : (int)(deadline - now);
}

/* Waits for events on fd until the deadline: 1 ready, 0 deadline passed, -1 poll() failed. */
static int wait_fd(int fd, short events, uint64_t deadline, short *revents)
{
	struct pollfd p = {.fd = fd, .events = events};
	int rc;

	for (;;) {
		int ms = left_ms(deadline);

		if (ms == 0)
			return 0;
		rc = poll(&p, 1, ms);
		if (rc == -1 && errno == EINTR)
			continue;
		if (rc == -1)
			return -1;
		if (rc == 0)
			continue; /* re-check the clock: poll may wake a little early */
		*revents = p.revents;
		return 1;
	}
}

/* HAProxy closes check connections with a RST unless the connect rule has linger. */
static void close_conn(int *fd, bool linger)
{
	struct linger l = {.l_onoff = 1, .l_linger = 0};

	if (*fd == -1)
		return;
	if (!linger)
		setsockopt(*fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(*fd);
	*fd = -1;
}

/* Starts a connection; the outcome is fed to run (connected or error) unless the deadline passes. */
static int do_connect(struct check_run *run, const struct checknet_addr *addr, int port, uint64_t deadline,
		      int *fd, char *err, size_t errlen)
{
	struct sockaddr_storage ss = addr->ss;
	int one = 1, soerr = 0, rc;
	socklen_t sl = sizeof(soerr);
	short rev = 0;

	if (port) {
		if (ss.ss_family == AF_INET6)
			((struct sockaddr_in6 *)(void *)&ss)->sin6_port = htons((uint16_t)port);
		else
			((struct sockaddr_in *)(void *)&ss)->sin_port = htons((uint16_t)port);
	}
	*fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	if (*fd == -1) {
		set_err(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(*fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	rc = connect(*fd, (struct sockaddr *)&ss, addr->len);
	if (rc == 0) {
		check_on_connected(run);
		return 0;
	}
	if (errno != EINPROGRESS) {
		check_on_error(run, errno);
		return 0;
	}
	rc = wait_fd(*fd, POLLOUT, deadline, &rev);
	if (rc == -1) {
		set_err(err, errlen, "poll: %s", strerror(errno));
		return -1;
	}
	if (rc == 0) {
		check_on_timeout(run);
		return 0;
	}
	if (getsockopt(*fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == -1)
		soerr = errno;
	if (soerr)
		check_on_error(run, soerr);
	else
		check_on_connected(run);
	return 0;
}

static int do_send(struct check_run *run, int fd, const unsigned char *p, size_t n, uint64_t deadline,
		   char *err, size_t errlen)
{
	short rev = 0;
	ssize_t w;
	int rc;

	while (n > 0) {
		w = send(fd, p, n, MSG_NOSIGNAL);
		if (w >= 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			check_on_error(run, errno);
			return 0;
		}
		rc = wait_fd(fd, POLLOUT, deadline, &rev);
		if (rc == -1) {
			set_err(err, errlen, "poll: %s", strerror(errno));
			return -1;
		}
		if (rc == 0) {
			check_on_timeout(run);
			return 0;
		}
	}
	check_on_sent(run);
	return 0;
}

/* Reads everything available now (HAProxy's tcpcheck_eval_recv() loop), up to the engine's room. */
static int do_read(struct check_run *run, int fd, uint64_t deadline, char *err, size_t errlen)
{
	unsigned char chunk[CHECK_BUFSIZE];
	short rev = 0;
	ssize_t r;
	int rc;

	rc = wait_fd(fd, POLLIN, deadline, &rev);
	if (rc == -1) {
		set_err(err, errlen, "poll: %s", strerror(errno));
		return -1;
	}
	if (rc == 0) {
		check_on_timeout(run);
		return 0;
	}
	for (;;) {
		size_t room = check_rx_room(run);

		if (room == 0)
			return 0;
		r = recv(fd, chunk, MIN(room, sizeof(chunk)), 0);
		if (r > 0) {
			check_on_data(run, chunk, (size_t)r);
			continue;
		}
		if (r == 0) {
			check_on_eof(run);
			return 0;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		check_on_error(run, errno);
		return 0;
	}
}

int checknet_run(struct check_run *run, const struct checknet_addr *addr, uint64_t timeout_ms, char *err,
		 size_t errlen)
{
	uint64_t deadline = now_ms() + timeout_ms;
	struct check_action a;
	bool linger = false;
	int fd = -1, rc = 0;

	for (;;) {
		a = check_next(run);
		switch (a.type) {
		case CHECK_ACT_CONNECT:
			/* a later connect rule closes the current connection first */
			close_conn(&fd, linger);
			linger = a.linger;
			rc = do_connect(run, addr, a.port, deadline, &fd, err, errlen);
			break;
		case CHECK_ACT_SEND:
			rc = do_send(run, fd, a.data, a.len, deadline, err, errlen);
			break;
		case CHECK_ACT_WANT_READ:
			rc = do_read(run, fd, deadline, err, errlen);
			break;
		case CHECK_ACT_WAIT:
			/* every action above feeds its outcome, so this only means: wait for the deadline */
			if (left_ms(deadline) > 0)
				poll(NULL, 0, left_ms(deadline));
			check_on_timeout(run);
			break;
		case CHECK_ACT_DONE:
			close_conn(&fd, a.linger);
			return 0;
		}
		if (rc == -1)
			goto fail;
	}
fail:
	close_conn(&fd, linger);
	return -1;
}

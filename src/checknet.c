/*
 * checknet: the poll() loop of `recheck replay` around the one socket driver (check_io.c): it waits with
 * poll() for what check_io asks, always for the time left until the run's one deadline, and feeds the
 * timeout. Address parsing and formatting for --server also live here (see checknet.h).
 */
#include "api.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "check_io.h"
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

/*
 * Waits for what check_io asked (w) until the deadline, then resumes it; repeats while it asks for more.
 * Returns the last check_io result, CIO_OK after feeding the timeout, or -1 when poll() failed.
 */
static int wait_io(struct check_run *run, struct check_conn *c, enum cio_want w, uint64_t deadline)
{
	while (w == CIO_WANT_READ || w == CIO_WANT_WRITE) {
		struct pollfd p = {.fd = c->fd, .events = w == CIO_WANT_READ ? POLLIN : POLLOUT};
		int ms = left_ms(deadline), rc;

		if (ms == 0) {
			check_io_cancel(c);
			check_on_timeout(run);
			return CIO_OK;
		}
		rc = poll(&p, 1, ms);
		if (rc == -1 && errno == EINTR)
			continue;
		if (rc == -1)
			return -1;
		if (rc == 0)
			continue; /* re-check the clock: poll may wake a little early */
		w = check_io_resume(c, run, (p.revents & (POLLERR | POLLHUP)) != 0);
	}
	return (int)w;
}

int checknet_run(struct check_run *run, const struct checknet_addr *addr, uint64_t timeout_ms, char *err,
		 size_t errlen)
{
	uint64_t deadline = now_ms() + timeout_ms;
	struct check_conn c;
	struct check_action a;
	int rc;

	check_io_init(&c);
	for (;;) {
		a = check_next(run);
		switch (a.type) {
		case CHECK_ACT_CONNECT:
			rc = wait_io(run, &c, check_io_connect(&c, run, &addr->ss, addr->len, &a), deadline);
			break;
		case CHECK_ACT_SEND:
			rc = wait_io(run, &c, check_io_send(&c, run, &a), deadline);
			break;
		case CHECK_ACT_WANT_READ:
			rc = wait_io(run, &c, check_io_recv(&c, run), deadline);
			break;
		case CHECK_ACT_TLS:
			rc = wait_io(run, &c, check_io_tls(&c, run, &a), deadline);
			break;
		case CHECK_ACT_WAIT:
			/* every action above feeds its outcome, so this only means: wait for the deadline */
			if (left_ms(deadline) > 0)
				poll(NULL, 0, left_ms(deadline));
			check_on_timeout(run);
			rc = CIO_OK;
			break;
		case CHECK_ACT_DONE:
		default:
			check_io_close(&c, a.linger);
			return 0;
		}
		if (rc == -1) {
			set_err(err, errlen, "poll: %s", strerror(errno));
			goto fail;
		}
		if (rc == CIO_LOCAL) {
			check_io_local_str(&c, err, errlen);
			goto fail;
		}
	}
fail:
	check_io_close(&c, false);
	return -1;
}

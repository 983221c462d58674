/*
 * net: address parsing and non-blocking sockets (see net.h).
 */
#include "api.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net.h"
#include "util.h"

int net_split_hostport(const char *text, int flags, char *host, size_t hostlen, uint16_t *port, char *err,
		       size_t errlen)
{
	const char *ps, *hs = text;
	size_t hl;
	char *end;
	unsigned long p;
	unsigned long lo = flags & NET_PORT_ZERO ? 0 : 1;

	if (text[0] == '[') {
		const char *close = strchr(text, ']');

		if (!close || close[1] != ':') {
			set_err(err, errlen, "'%s': an IPv6 address is written [ADDR]:PORT", text);
			return -1;
		}
		hs = text + 1;
		hl = (size_t)(close - hs);
		ps = close + 2;
	} else {
		const char *colon = strrchr(text, ':');

		if (!colon) {
			set_err(err, errlen, "'%s': expected HOST:PORT, [IPV6]:PORT%s", text,
				flags & NET_HOST_ANY ? " or :PORT" : "");
			return -1;
		}
		if (strchr(text, ':') != colon) {
			set_err(err, errlen, "'%s': write IPv6 addresses in brackets: [ADDR]:PORT", text);
			return -1;
		}
		hl = (size_t)(colon - text);
		ps = colon + 1;
	}
	if (hl >= hostlen) {
		set_err(err, errlen, "'%s': host name too long", text);
		return -1;
	}
	if (hl == 0 && !(flags & NET_HOST_ANY)) {
		set_err(err, errlen, "'%s': the host is missing", text);
		return -1;
	}
	errno = 0;
	p = strtoul(ps, &end, 10);
	if (*ps < '0' || *ps > '9' || *end || errno || p < lo || p > 65535) { /* strtoul skips blanks, signs */
		set_err(err, errlen, "'%s': the port must be a number from %lu to 65535", text, lo);
		return -1;
	}
	memcpy(host, hs, hl);
	host[hl] = '\0';
	*port = (uint16_t)p;
	return 0;
}

int net_resolve_all(const char *host, uint16_t port, int family, int flags, struct net_addr *out, size_t max,
		    char *err, size_t errlen)
{
	struct addrinfo hints = {0}, *res = NULL, *a;
	char ps[8];
	size_t n = 0;
	int rc, tries;

	/* A literal address needs no resolver: getaddrinfo()'s AI_ADDRCONFIG costs a netlink exchange per
	 * call, which made loading tens of thousands of servers slow. Other spellings (127.1, scope ids)
	 * still go through getaddrinfo() below, with the same result as before. */
	if (max > 0) {
		struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
		struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_port = htons(port)};

		memset(&out[0].ss, 0, sizeof(out[0].ss));
		if (family != AF_INET6 && inet_pton(AF_INET, host, &sin.sin_addr) == 1) {
			memcpy(&out[0].ss, &sin, sizeof(sin));
			out[0].len = sizeof(sin);
			return 1;
		}
		if (family != AF_INET && inet_pton(AF_INET6, host, &sin6.sin6_addr) == 1) {
			memcpy(&out[0].ss, &sin6, sizeof(sin6));
			out[0].len = sizeof(sin6);
			return 1;
		}
	}
	snprintf(ps, sizeof(ps), "%u", port);
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | (flags & NET_RES_NUMERIC ? AI_NUMERICHOST : 0);
	if (flags & NET_RES_CONFIGURED)
		hints.ai_flags |= AI_ADDRCONFIG;
	for (tries = 0; tries < 2; tries++) {
		rc = getaddrinfo(host, ps, &hints, &res);
		if (!(hints.ai_flags & AI_ADDRCONFIG) || (rc != EAI_ADDRFAMILY && rc != EAI_NONAME && rc != EAI_NODATA))
			break;
		/* AI_ADDRCONFIG hides loopback-only families on some hosts: try once without it. */
		hints.ai_flags &= ~AI_ADDRCONFIG;
	}
	if (rc != 0) {
		set_err(err, errlen, "%s", gai_strerror(rc));
		return -1;
	}
	for (a = res; a && n < max; a = a->ai_next) {
		if ((a->ai_family != AF_INET && a->ai_family != AF_INET6) || a->ai_addrlen > sizeof(out[n].ss))
			continue;
		memset(&out[n].ss, 0, sizeof(out[n].ss));
		memcpy(&out[n].ss, a->ai_addr, a->ai_addrlen);
		out[n].len = a->ai_addrlen;
		n++;
	}
	freeaddrinfo(res);
	if (!n) {
		set_err(err, errlen, "no IPv4 or IPv6 address");
		return -1;
	}
	return (int)n;
}

int net_resolve(const char *host, uint16_t port, struct sockaddr_storage *ss, socklen_t *len, char *err,
		size_t errlen)
{
	struct net_addr a;
	char why[ERR_LEN];

	if (net_resolve_all(*host ? host : "0.0.0.0", port, AF_UNSPEC, NET_RES_CONFIGURED, &a, 1, why,
			    sizeof(why)) == -1) {
		set_err(err, errlen, "cannot resolve '%s': %s", host, why);
		return -1;
	}
	*ss = a.ss;
	*len = a.len;
	return 0;
}

int net_parse_ip(const char *text, bool need_port, struct sockaddr_storage *ss, socklen_t *len, char *err,
		 size_t errlen)
{
	struct sockaddr_in *in = (struct sockaddr_in *)(void *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)(void *)ss;
	char host[INET6_ADDRSTRLEN + 1];
	uint16_t port = 0;
	const char *colon = strrchr(text, ':');

	/* a bare IPv6 address ("::1") has colons but no port; "[::1]" and "[::1]:80" have brackets */
	if (text[0] == '[' ? strstr(text, "]:") != NULL : colon && strchr(text, ':') == colon) {
		if (net_split_hostport(text, 0, host, sizeof(host), &port, err, errlen) == -1)
			return -1;
	} else if (text[0] == '[') {
		size_t n = strlen(text);

		if (n < 3 || text[n - 1] != ']' || n - 2 >= sizeof(host)) {
			set_err(err, errlen, "'%s': not an IP address", text);
			return -1;
		}
		memcpy(host, text + 1, n - 2);
		host[n - 2] = '\0';
	} else if (strlen(text) < sizeof(host)) {
		memcpy(host, text, strlen(text) + 1);
	} else {
		set_err(err, errlen, "'%s': not an IP address", text);
		return -1;
	}
	if (need_port && !port) {
		set_err(err, errlen, "'%s': expected IP:PORT", text);
		return -1;
	}
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		*len = sizeof(*in);
	} else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		*len = sizeof(*in6);
	} else {
		set_err(err, errlen, "'%s': not an IP address (a host name is not resolved here)", text);
		return -1;
	}
	return 0;
}

int net_socks4_request(const struct sockaddr_storage *target, unsigned char out[NET_SOCKS4_REQ])
{
	const struct sockaddr_in *t = (const struct sockaddr_in *)(const void *)target;

	if (target->ss_family != AF_INET)
		return -1;
	out[0] = 0x04;
	out[1] = 0x01;
	memcpy(out + 2, &t->sin_port, 2);
	memcpy(out + 4, &t->sin_addr, 4);
	memcpy(out + 8, "HAProxy", 8);
	return 0;
}

uint16_t net_port_of(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)(const void *)ss)->sin_port);
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)(const void *)ss)->sin6_port);
	return 0;
}

char *net_fmt_ip(const struct sockaddr_storage *ss, char *out, size_t outlen)
{
	return net_port_of(ss) ? net_fmt_addr((const struct sockaddr *)ss, out, outlen)
			       : net_fmt_host((const struct sockaddr *)ss, out, outlen);
}

void net_set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)(void *)ss)->sin_port = htons(port);
	else if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)(void *)ss)->sin6_port = htons(port);
}

int net_parse_addr(const char *text, struct sockaddr_storage *ss, socklen_t *len, char *err, size_t errlen)
{
	return net_parse_addr_opt(text, ss, len, false, NULL, 0, NULL, err, errlen);
}

int net_parse_addr_opt(const char *text, struct sockaddr_storage *ss, socklen_t *len, bool numeric,
		       char *hostout, size_t hostsize, uint16_t *portout, char *err, size_t errlen)
{
	char host[256], why[ERR_LEN];
	uint16_t port;

	if (net_split_hostport(text, NET_HOST_ANY | NET_PORT_ZERO, host, sizeof(host), &port, err, errlen) == -1)
		return -1;
	if (numeric && *host) {
		struct in_addr a4;
		struct in6_addr a6;

		if (inet_pton(AF_INET, host, &a4) != 1 && inet_pton(AF_INET6, host, &a6) != 1) {
			if (!hostout || strlen(host) >= hostsize) {
				set_err(err, errlen, hostout ? "'%s': host name too long" : "'%s': not an IP address", text);
				return -1;
			}
			memcpy(hostout, host, strlen(host) + 1);
			*portout = port;
			return -2;
		}
	}
	if (net_resolve(host, port, ss, len, why, sizeof(why)) == -1) {
		set_err(err, errlen, "'%s': %s", text, why);
		return -1;
	}
	return 0;
}

char *net_fmt_host(const struct sockaddr *sa, char *out, size_t outlen)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		if (!inet_ntop(AF_INET, &in->sin_addr, out, (socklen_t)outlen))
			snprintf(out, outlen, "?");
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		if (!inet_ntop(AF_INET6, &in6->sin6_addr, out, (socklen_t)outlen))
			snprintf(out, outlen, "?");
	} else {
		snprintf(out, outlen, "unix");
	}
	return out;
}

char *net_fmt_addr(const struct sockaddr *sa, char *out, size_t outlen)
{
	char h[INET6_ADDRSTRLEN];

	net_fmt_host(sa, h, sizeof(h));
	if (sa->sa_family == AF_INET)
		snprintf(out, outlen, "%s:%u", h, ntohs(((const struct sockaddr_in *)sa)->sin_port));
	else if (sa->sa_family == AF_INET6)
		snprintf(out, outlen, "[%s]:%u", h, ntohs(((const struct sockaddr_in6 *)sa)->sin6_port));
	else
		snprintf(out, outlen, "%s", h);
	return out;
}

int net_listen(const struct sockaddr *sa, socklen_t len, int backlog, bool reuseport, char *err, size_t errlen)
{
	char a[NET_ADDRSTRLEN];
	int fd, one = 1;

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1) {
		set_err(err, errlen, "%s: socket: %s", net_fmt_addr(sa, a, sizeof(a)), strerror(errno));
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) == -1) ||
	    (sa->sa_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) == -1)) {
		set_err(err, errlen, "%s: setsockopt: %s", net_fmt_addr(sa, a, sizeof(a)), strerror(errno));
		goto fail;
	}
	if (bind(fd, sa, len) == -1) {
		set_err(err, errlen, "%s: cannot bind: %s", net_fmt_addr(sa, a, sizeof(a)), strerror(errno));
		goto fail;
	}
	if (listen(fd, backlog) == -1) {
		set_err(err, errlen, "%s: cannot listen: %s", net_fmt_addr(sa, a, sizeof(a)), strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

int net_accept(int lfd, struct sockaddr_storage *peer, socklen_t *peerlen)
{
	*peerlen = sizeof(*peer);
	return accept4(lfd, (struct sockaddr *)peer, peerlen, SOCK_CLOEXEC | SOCK_NONBLOCK);
}

int net_connect(const struct sockaddr *sa, socklen_t len, char *err, size_t errlen)
{
	char a[NET_ADDRSTRLEN];
	int fd, e;

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1) {
		e = errno;
		set_err(err, errlen, "%s: socket: %s", net_fmt_addr(sa, a, sizeof(a)), strerror(e));
		errno = e;
		return -1;
	}
	if (connect(fd, sa, len) == -1 && errno != EINPROGRESS) {
		e = errno;
		set_err(err, errlen, "%s: connect: %s", net_fmt_addr(sa, a, sizeof(a)), strerror(e));
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int net_connect_result(int fd)
{
	int e = 0;
	socklen_t l = sizeof(e);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l) == -1)
		return errno;
	return e;
}

bool net_peer_known(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	return getpeername(fd, (struct sockaddr *)&ss, &len) == 0;
}

int net_nodelay(int fd)
{
	int one = 1;

	return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

int net_local_addr(int fd, struct sockaddr_storage *ss, socklen_t *len)
{
	*len = sizeof(*ss);
	return getsockname(fd, (struct sockaddr *)ss, len);
}

bool net_addr_equal(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family)
		return false;
	if (a->sa_family == AF_INET) {
		const struct sockaddr_in *x = (const struct sockaddr_in *)a, *y = (const struct sockaddr_in *)b;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->sa_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a, *y = (const struct sockaddr_in6 *)b;

		return x->sin6_port == y->sin6_port && memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
	}
	return false;
}

/*
 * net: addresses and non-blocking sockets. The one HOST:PORT parser (net_split_hostport()), the one name
 * lookup (net_resolve_all(), under net_resolve()) and the one address formatter (net_fmt_addr()), shared
 * by recheckd's configuration and resolver, `replay --server`, `from-pcap --server` and `record`'s proxy;
 * socket helpers in the spirit of Redis' anet: every fd is close-on-exec and non-blocking. User-facing
 * failures go into err as "ADDRESS: reason".
 */
#ifndef RECHECK_NET_H
#define RECHECK_NET_H

#include "api.h"

#include <sys/socket.h>

/* "[v6]:65535" plus NUL. */
#define NET_ADDRSTRLEN 64

enum net_hostport_flags {
	NET_HOST_ANY = 1,       /* ":PORT" is allowed: an empty host (0.0.0.0 when resolved) */
	NET_PORT_ZERO = 2,      /* port 0 is allowed (a listener on any free port) */
};

/*
 * The one HOST:PORT syntax: "HOST:PORT", "[V6ADDR]:PORT", and with NET_HOST_ANY ":PORT". Copies the host
 * without brackets into host (hostlen bytes) and the port into *port; nothing is resolved. Returns 0,
 * or -1 with "'text': reason" in err.
 */
int net_split_hostport(const char *text, int flags, char *host, size_t hostlen, uint16_t *port, char *err,
		       size_t errlen);
/* One resolved address. */
struct net_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

enum net_resolve_flags {
	NET_RES_NUMERIC = 1,    /* host must be an IP literal: never a name lookup */
	NET_RES_CONFIGURED = 2, /* families configured on this host only (AI_ADDRCONFIG), unless that finds none */
};

/*
 * The one name lookup (the system's resolver, getaddrinfo: /etc/hosts, nsswitch, resolv.conf): up to max
 * IPv4 and IPv6 addresses of host (family AF_UNSPEC, AF_INET or AF_INET6) into out, each with port, in
 * the resolver's order. Returns how many (at least 1), or -1 with the resolver's reason alone in err
 * ("Name or service not known"): the caller names the host.
 */
int net_resolve_all(const char *host, uint16_t port, int family, int flags, struct net_addr *out, size_t max,
		    char *err, size_t errlen);
/*
 * Resolves host (a name or a literal; "" is 0.0.0.0) with port into ss; the first address wins,
 * families configured on this host first. Returns 0, or -1 with "cannot resolve 'HOST': reason".
 */
int net_resolve(const char *host, uint16_t port, struct sockaddr_storage *ss, socklen_t *len, char *err,
		size_t errlen);
/*
 * net_split_hostport(NET_HOST_ANY | NET_PORT_ZERO) then net_resolve(): the address of a listener or a
 * server in recheckd's configuration. Returns 0, or -1 with "'text': reason" in err.
 */
int net_parse_addr(const char *text, struct sockaddr_storage *ss, socklen_t *len, char *err, size_t errlen);
/*
 * net_parse_addr(), and with numeric set never a name lookup: a HOST that is not an IP address is copied
 * to hostout (hostsize bytes) with the port in *portout, and -2 is returned (the caller resolves it).
 */
int net_parse_addr_opt(const char *text, struct sockaddr_storage *ss, socklen_t *len, bool numeric,
		       char *hostout, size_t hostsize, uint16_t *portout, char *err, size_t errlen);
/*
 * An IP address with an optional port, never a name lookup: "IP", "IP:PORT", "[V6]", "[V6]:PORT" or a bare
 * IPv6 address (HAProxy's server `addr`, `socks4`). The port is 0 when absent; need_port refuses that.
 * Returns 0, or -1 with "'text': reason".
 */
int net_parse_ip(const char *text, bool need_port, struct sockaddr_storage *ss, socklen_t *len, char *err,
		 size_t errlen);
/* The port of an IPv4/IPv6 address (host order), 0 for other families. */
uint16_t net_port_of(const struct sockaddr_storage *ss);
/* net_parse_ip()'s form back: the address alone when its port is 0, else net_fmt_addr(); returns out. */
char *net_fmt_ip(const struct sockaddr_storage *ss, char *out, size_t outlen);
/* Replaces the port of an IPv4/IPv6 address. */
void net_set_port(struct sockaddr_storage *ss, uint16_t port);
/* HAProxy's SOCKS4 CONNECT request (connection.c): VN 4, CD 1, DSTPORT, DSTIP, user id "HAProxy" and its NUL. */
#define NET_SOCKS4_REQ 16
/* Its reply: VN CD DSTPORT DSTIP; CD 0x5A grants it (HAProxy checks CD only). */
#define NET_SOCKS4_REP 8
/* Writes the request for target into out; -1 when target is not IPv4 (SOCKS4 carries IPv4 only). */
int net_socks4_request(const struct sockaddr_storage *target, unsigned char out[NET_SOCKS4_REQ]);
/* The one address formatter: an IPv4/IPv6 address with its port ("1.2.3.4:80", "[::1]:80"); returns out. */
char *net_fmt_addr(const struct sockaddr *sa, char *out, size_t outlen);
/* Formats only the address, no port. */
char *net_fmt_host(const struct sockaddr *sa, char *out, size_t outlen);

/*
 * A listening socket bound to sa, SO_REUSEADDR always, SO_REUSEPORT when reuseport (so that a reload
 * can bind the address again while the old socket still serves), IPV6_V6ONLY for IPv6 so "[::]:80" and "0.0.0.0:80" can coexist. Returns the fd or -1 with err.
 */
int net_listen(const struct sockaddr *sa, socklen_t len, int backlog, bool reuseport, char *err, size_t errlen);
/* accept4 with SOCK_CLOEXEC|SOCK_NONBLOCK. Returns the fd, or -1 with errno (EAGAIN: no more). */
int net_accept(int lfd, struct sockaddr_storage *peer, socklen_t *peerlen);
/*
 * Starts a non-blocking connect to sa. Returns the fd (the connection is in progress or done: wait for
 * writability, then net_connect_result), or -1 with errno kept and "ADDRESS: reason" in err.
 */
int net_connect(const struct sockaddr *sa, socklen_t len, char *err, size_t errlen);
/* After writability: 0 when connected, else the errno of the failed connect. */
int net_connect_result(int fd);
/* Whether fd's connection is established (getpeername succeeds): false while connecting or after a failure. */
bool net_peer_known(int fd);
/* TCP_NODELAY on. 0 or -1 with errno. */
int net_nodelay(int fd);
/* The local address a socket is bound to (for ":0" listeners in tests). 0 or -1. */
int net_local_addr(int fd, struct sockaddr_storage *ss, socklen_t *len);
/* True when a and b are the same family, address and port. */
bool net_addr_equal(const struct sockaddr *a, const struct sockaddr *b);

#endif

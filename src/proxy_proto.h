/*
 * proxy_proto: the PROXY protocol, versions 1 (text) and 2 (binary), as HAProxy speaks it.
 * Reference: HAProxy doc/proxy-protocol.txt; HAProxy 2.6 connection.c conn_recv_proxy() and
 * make_proxy_line_v1/v2().
 *
 * Parsing follows the incremental parser contract: pp_parse() returns the header's length in bytes
 * (consume exactly that many), -2 when more bytes are needed, -1 when the bytes are not a valid header.
 * Nothing is allocated; the input is never read past len.
 */
#ifndef RECHECK_PROXY_PROTO_H
#define RECHECK_PROXY_PROTO_H

#include "api.h"

#include <sys/socket.h>

#define PP_V1_MAX   107  /* the longest v1 line, CRLF included (proxy-protocol.txt 2.1) */
#define PP_V2_MAX   2048 /* the longest v2 header recheck accepts (16 + addresses + TLVs) */
#define PP_HDR_MAX  PP_V2_MAX

struct pp_addrs {
	bool known;                   /* a TCP4/TCP6 header: src/dst are the original connection's */
	struct sockaddr_storage src;  /* the original client */
	struct sockaddr_storage dst;  /* the address the client connected to */
};

/*
 * Parses a v1 or v2 header at the start of buf[0..len). On success, *out says the addresses (known is
 * false for v1 UNKNOWN, v2 LOCAL and v2 families other than TCP over IPv4/IPv6, where the connection's
 * own addresses stand, as in HAProxy). Returns the header length, -2 (need more), or -1 (malformed).
 */
int pp_parse(const unsigned char *buf, size_t len, struct pp_addrs *out);

/*
 * Writes the header HAProxy's `send-proxy` (version 1) or `send-proxy-v2` (version 2) sends for a
 * connection from src to dst into buf; src/dst NULL (or of different or non-IP families) give v1
 * "PROXY UNKNOWN" / a v2 LOCAL header, as HAProxy's check-send-proxy does. Returns the length, or 0 when
 * size is too small (PP_HDR_MAX always suffices).
 */
size_t pp_build(int version, const struct sockaddr *src, const struct sockaddr *dst, unsigned char *buf,
		size_t size);

#endif

/*
 * proxy_proto: PROXY protocol v1/v2 parser and builder (see proxy_proto.h).
 * Reference: HAProxy doc/proxy-protocol.txt.
 */
#include "api.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "proxy_proto.h"
#include "rd.h"

static const unsigned char v2sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

#define V2_HDR_LEN   16
#define V2_ADDR4_LEN 12
#define V2_ADDR6_LEN 36

/* A decimal port 0..65535 of 1 to 5 digits, no sign, no leading space. */
static int port_parse(const char *s, uint16_t *out)
{
	unsigned long v = 0;
	size_t i, n = strlen(s);

	if (n == 0 || n > 5)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

static int v1_addr(int fam, const char *a, const char *p, struct sockaddr_storage *ss)
{
	uint16_t port;

	memset(ss, 0, sizeof(*ss));
	if (port_parse(p, &port) == -1)
		return -1;
	if (fam == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, a, &sin->sin_addr) != 1)
			return -1;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, a, &sin6->sin6_addr) != 1)
			return -1;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
	}
	return 0;
}

/* "PROXY TCP4|TCP6 SRC DST SPORT DPORT\r\n" or "PROXY UNKNOWN\r\n" (HAProxy accepts nothing after
 * UNKNOWN either). */
static int parse_v1(const unsigned char *buf, size_t len, struct pp_addrs *out)
{
	char line[PP_V1_MAX + 1], *f[6], *save = NULL;
	const unsigned char *cr;
	size_t n, i;
	int fam;

	cr = memchr(buf, '\r', len < PP_V1_MAX ? len : PP_V1_MAX);
	if (!cr)
		return len >= PP_V1_MAX ? -1 : -2;
	n = (size_t)(cr - buf);
	if (n + 1 >= len)
		return -2;
	if (cr[1] != '\n')
		return -1;
	memcpy(line, buf, n);
	line[n] = '\0';
	if (strlen(line) != n) /* a NUL inside the line */
		return -1;
	if (strcmp(line, "PROXY UNKNOWN") == 0) {
		out->known = false;
		return (int)(n + 2);
	}
	/* exactly single spaces between six fields */
	for (i = 0; i + 1 < n; i++)
		if (line[i] == ' ' && line[i + 1] == ' ')
			return -1;
	if (line[n - 1] == ' ')
		return -1;
	for (i = 0; i < 6; i++) {
		f[i] = strtok_r(i ? NULL : line, " ", &save);
		if (!f[i])
			return -1;
	}
	if (strtok_r(NULL, " ", &save))
		return -1;
	if (strcmp(f[1], "TCP4") == 0)
		fam = AF_INET;
	else if (strcmp(f[1], "TCP6") == 0)
		fam = AF_INET6;
	else
		return -1;
	if (v1_addr(fam, f[2], f[4], &out->src) == -1 || v1_addr(fam, f[3], f[5], &out->dst) == -1)
		return -1;
	out->known = true;
	return (int)(n + 2);
}

static int parse_v2(const unsigned char *buf, size_t len, struct pp_addrs *out)
{
	size_t total, alen;
	uint8_t ver_cmd, fam;
	uint16_t v;

	if (len < V2_HDR_LEN || rd_be16(buf, len, 14, &v) == -1)
		return -2;
	ver_cmd = buf[12];
	fam = buf[13];
	alen = v;
	if ((ver_cmd & 0xF0) != 0x20)
		return -1;
	total = V2_HDR_LEN + alen;
	if (total > PP_V2_MAX)
		return -1;
	if (len < total)
		return -2;
	out->known = false;
	switch (ver_cmd & 0x0F) {
	case 0x00: /* LOCAL: the connection's own addresses stand */
		return (int)total;
	case 0x01: /* PROXY */
		break;
	default:
		return -1;
	}
	memset(&out->src, 0, sizeof(out->src));
	memset(&out->dst, 0, sizeof(out->dst));
	if (fam == 0x11) { /* TCP over IPv4 */
		struct sockaddr_in *s = (struct sockaddr_in *)&out->src, *d = (struct sockaddr_in *)&out->dst;

		if (alen < V2_ADDR4_LEN)
			return -1;
		s->sin_family = d->sin_family = AF_INET;
		memcpy(&s->sin_addr, buf + 16, 4);
		memcpy(&d->sin_addr, buf + 20, 4);
		memcpy(&s->sin_port, buf + 24, 2);
		memcpy(&d->sin_port, buf + 26, 2);
		out->known = true;
	} else if (fam == 0x21) { /* TCP over IPv6 */
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&out->src, *d = (struct sockaddr_in6 *)&out->dst;

		if (alen < V2_ADDR6_LEN)
			return -1;
		s->sin6_family = d->sin6_family = AF_INET6;
		memcpy(&s->sin6_addr, buf + 16, 16);
		memcpy(&d->sin6_addr, buf + 32, 16);
		memcpy(&s->sin6_port, buf + 48, 2);
		memcpy(&d->sin6_port, buf + 50, 2);
		out->known = true;
	}
	/* other families (UDP, UNIX, UNSPEC): accepted, the connection's addresses stand (HAProxy) */
	return (int)total;
}

int pp_parse(const unsigned char *buf, size_t len, struct pp_addrs *out)
{
	size_t k = len < sizeof(v2sig) ? len : sizeof(v2sig);

	out->known = false;
	if (len == 0)
		return -2;
	if (memcmp(buf, v2sig, k) == 0)
		return len < sizeof(v2sig) ? -2 : parse_v2(buf, len, out);
	k = len < 6 ? len : 6;
	if (memcmp(buf, "PROXY ", k) != 0)
		return -1;
	return len < 6 ? -2 : parse_v1(buf, len, out);
}

static bool same_ip_family(const struct sockaddr *a, const struct sockaddr *b)
{
	return a && b && a->sa_family == b->sa_family && (a->sa_family == AF_INET || a->sa_family == AF_INET6);
}

size_t pp_build(int version, const struct sockaddr *src, const struct sockaddr *dst, unsigned char *buf,
		size_t size)
{
	bool known = same_ip_family(src, dst);
	size_t n;

	if (version == 1) {
		char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
		int w;

		if (!known) {
			w = snprintf((char *)buf, size, "PROXY UNKNOWN\r\n");
		} else if (src->sa_family == AF_INET) {
			const struct sockaddr_in *s = (const void *)src, *d = (const void *)dst;

			inet_ntop(AF_INET, &s->sin_addr, a, sizeof(a));
			inet_ntop(AF_INET, &d->sin_addr, b, sizeof(b));
			w = snprintf((char *)buf, size, "PROXY TCP4 %s %s %u %u\r\n", a, b, ntohs(s->sin_port),
				     ntohs(d->sin_port));
		} else {
			const struct sockaddr_in6 *s = (const void *)src, *d = (const void *)dst;

			inet_ntop(AF_INET6, &s->sin6_addr, a, sizeof(a));
			inet_ntop(AF_INET6, &d->sin6_addr, b, sizeof(b));
			w = snprintf((char *)buf, size, "PROXY TCP6 %s %s %u %u\r\n", a, b, ntohs(s->sin6_port),
				     ntohs(d->sin6_port));
		}
		return w > 0 && (size_t)w < size ? (size_t)w : 0;
	}
	n = V2_HDR_LEN + (!known ? 0 : src->sa_family == AF_INET ? V2_ADDR4_LEN : V2_ADDR6_LEN);
	if (size < n)
		return 0;
	memcpy(buf, v2sig, sizeof(v2sig));
	buf[12] = known ? 0x21 : 0x20; /* version 2, PROXY or LOCAL */
	buf[13] = !known ? 0x00 : src->sa_family == AF_INET ? 0x11 : 0x21;
	buf[14] = (unsigned char)((n - V2_HDR_LEN) >> 8);
	buf[15] = (unsigned char)((n - V2_HDR_LEN) & 0xFF);
	if (known && src->sa_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)src, *d = (const void *)dst;

		memcpy(buf + 16, &s->sin_addr, 4);
		memcpy(buf + 20, &d->sin_addr, 4);
		memcpy(buf + 24, &s->sin_port, 2);
		memcpy(buf + 26, &d->sin_port, 2);
	} else if (known) {
		const struct sockaddr_in6 *s = (const void *)src, *d = (const void *)dst;

		memcpy(buf + 16, &s->sin6_addr, 16);
		memcpy(buf + 32, &d->sin6_addr, 16);
		memcpy(buf + 48, &s->sin6_port, 2);
		memcpy(buf + 50, &d->sin6_port, 2);
	}
	return n;
}

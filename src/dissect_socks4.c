/*
 * dissect_socks4: SOCKS 4 and its 4A extension. References: "SOCKS: A protocol for TCP proxy across
 * firewalls" (Ying-Da Lee, NEC, www.openssh.com/txt/socks4.protocol) and "SOCKS 4A: A Simple Extension to
 * SOCKS 4 Protocol" (www.openssh.com/txt/socks4a.protocol); HAProxy's doc/SOCKS4.protocol.txt.
 *
 *   request: VN=4 CD DSTPORT(2) DSTIP(4) USERID NUL [HOSTNAME NUL when DSTIP is 0.0.0.x, x != 0 (4A)]
 *   reply:   VN=0 CD DSTPORT(2) DSTIP(4), CD 90 granted, 91 rejected, 92/93 identd problems
 *
 * The request is kept exact; the reply is checked for its grant code only (rbinary ^005A, min-recv 8 so
 * that the whole 8-byte reply is read and dropped by the next send): DSTPORT/DSTIP of the reply are
 * "ignored" by the protocol note and servers fill them differently.
 */
#include "api.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "dissect_priv.h"
#include "dx.h"
#include "rd.h"
#include "recipe.h"

#define SOCKS4_VER        0x04
#define SOCKS4_REPLY_LEN  8
#define SOCKS4_MAX_FIELD  255 /* cap on USERID / HOSTNAME: curl sends at most 255, a longer one is garbage */

static const struct dx_tok commands[] = {
	{1, "CONNECT"},
	{2, "BIND"},
	{0, NULL},
};

static const struct dx_tok replies[] = {
	{90, "request granted"},
	{91, "request rejected or failed"},
	{92, "rejected: no identd on the client"},
	{93, "rejected: identd user-id mismatch"},
	{0, NULL},
};

static int probe(const unsigned char *p, size_t len)
{
	uint8_t v;

	return rd_u8(p, len, 0, &v) == 0 && v == SOCKS4_VER;
}

/* Length of the NUL-terminated field at off (without the NUL), -2 when no NUL yet, -1 when over the cap. */
static long field(const unsigned char *p, size_t len, size_t off)
{
	size_t i;
	uint8_t c;

	for (i = 0; i <= SOCKS4_MAX_FIELD; i++) {
		if (rd_u8(p, len, off + i, &c) == -1)
			return -2;
		if (c == 0)
			return (long)i;
	}
	return -1;
}

static void printable(const unsigned char *p, size_t n, char *out, size_t outlen)
{
	size_t i, k = 0;

	for (i = 0; i < n && k + 5 < outlen; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f)
			out[k++] = (char)p[i];
		else
			k += (size_t)snprintf(out + k, outlen - k, "\\x%02x", p[i]);
	}
	out[k] = '\0';
}

/*
 * Decodes a request at p: its length in *n, "CONNECT host:port user 'id'" in out, *is4a. 0 or -2 (more
 * bytes needed) or -1 (malformed).
 */
static int request(const unsigned char *p, size_t len, size_t *n, char *out, size_t outlen, bool *is4a)
{
	uint8_t vn, cd;
	uint16_t port;
	uint32_t ip;
	long ulen, hlen = 0;
	char user[SOCKS4_MAX_FIELD * 4 + 8], host[SOCKS4_MAX_FIELD * 4 + 8], addr[INET_ADDRSTRLEN];

	if (rd_u8(p, len, 0, &vn) == -1 || rd_u8(p, len, 1, &cd) == -1 || rd_be16(p, len, 2, &port) == -1 ||
	    rd_be32(p, len, 4, &ip) == -1)
		return -2;
	if (vn != SOCKS4_VER)
		return -1;
	ulen = field(p, len, 8);
	if (ulen < 0)
		return (int)ulen;
	*is4a = ip != 0 && ip <= 0xff;
	if (*is4a) {
		hlen = field(p, len, 8 + (size_t)ulen + 1);
		if (hlen < 0)
			return (int)hlen;
		if (hlen == 0)
			return -1;
	}
	*n = 8 + (size_t)ulen + 1 + (*is4a ? (size_t)hlen + 1 : 0);
	printable(p + 8, (size_t)ulen, user, sizeof(user));
	if (*is4a) {
		printable(p + 8 + ulen + 1, (size_t)hlen, host, sizeof(host));
	} else {
		inet_ntop(AF_INET, p + 4, addr, sizeof(addr));
		snprintf(host, sizeof(host), "%s", addr);
	}
	snprintf(out, outlen, "%s %.300s:%u, user-id '%.300s'", dx_tok_name(commands, cd, "command ?"), host, port,
		 user);
	return 0;
}

static int build(struct dissect_ctx *x)
{
	struct dissect_stream *c = &x->c, *s = &x->s;
	char what[1200];
	bool is4a = false;
	uint8_t cd, vn;
	size_t n;
	int rc;

	snprintf(x->proto, sizeof(x->proto), "socks4");
	rc = request(c->p + c->off, c->len - c->off, &n, what, sizeof(what), &is4a);
	if (rc == -1)
		return 1;
	if (rc == -2) {
		dx_warn(x, "the SOCKS4 request is truncated");
		return 0;
	}
	if (is4a)
		snprintf(x->proto, sizeof(x->proto), "socks4a");
	if (!dx_send(x, c->p + c->off, n, true, "SOCKS%s request %s, kept exact", is4a ? "4a" : "4", what))
		return -1;
	dx_note(x, "SOCKS%s request %s kept exact", is4a ? "4a" : "4", what);
	c->off += n;
	if (c->p[c->off - n + 1] != 1)
		dx_note(x, "the command is not CONNECT: the recipe stops after its first reply");
	if (rd_u8(s->p, s->len, s->off, &vn) == -1 || rd_u8(s->p, s->len, s->off + 1, &cd) == -1 ||
	    s->off + SOCKS4_REPLY_LEN > s->len) {
		dx_unanswered(x, "the SOCKS4 reply");
		return 0;
	}
	if (!dx_expect(x, EXPECT_RBINARY, "^005A", 5, SOCKS4_REPLY_LEN,
		       "SOCKS4 reply: VN 00 and CD 5A (granted) only, after the whole 8-byte reply; its port and "
		       "address are not matched"))
		return -1;
	dx_note(x, "SOCKS4 reply checked for VN 00 and CD 5A (granted) only (rbinary ^005A min-recv 8): its "
		   "DSTPORT/DSTIP are ignored by the protocol and vary by server");
	if (vn != 0)
		dx_warn(x, "the recorded reply has VN 0x%02x where the protocol says 00: this server would fail the "
			   "recipe", vn);
	if (cd != 90)
		return dx_refuse(x, "the proxy answered the SOCKS4 request with CD %02X (%s) instead of 5A "
				    "(granted): record again once the proxy grants it", cd,
				 dx_tok_name(replies, cd, "unknown code"));
	s->off += SOCKS4_REPLY_LEN;
	if (c->p[c->off - n + 1] != 1)
		return 0;
	return dx_tunnel_here(x, LEAD_NONE, true);
}

const struct dissector dissect_socks4 = {
	.name = "socks4",
	.probe = probe,
	.build = build,
};

bool dissect_socks4_annotate(const struct step *s, struct buf *out)
{
	char what[1200];
	bool is4a;
	size_t n;

	if (!s->data || !s->len)
		return false;
	if (s->type == STEP_SEND && request(s->data, s->len, &n, what, sizeof(what), &is4a) == 0) {
		buf_printf(out, "SOCKS%s request: %s", is4a ? "4a" : "4", what);
		return true;
	}
	if (s->type != STEP_EXPECT)
		return false;
	if (s->match == EXPECT_RBINARY && !strncmp((const char *)s->data, "^005A", 5)) {
		buf_printf(out, "SOCKS4 reply: request granted (port and address not matched)");
		return true;
	}
	if (s->match == EXPECT_BINARY && s->len == SOCKS4_REPLY_LEN && s->data[0] == 0) {
		buf_printf(out, "SOCKS4 reply: %s", dx_tok_name(replies, s->data[1], "unknown code"));
		return true;
	}
	return false;
}

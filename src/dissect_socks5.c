/*
 * dissect_socks5: SOCKS Protocol Version 5, RFC 1928 (greeting and method choice §3, requests §4,
 * replies §6, addressing §5) and Username/Password Authentication for SOCKS V5, RFC 1929 (§2).
 *
 * What is kept and what is generalized, so that the recipe passes on any correct SOCKS5 server:
 *   greeting, method choice     exact (send-binary / expect binary): they are protocol constants
 *   RFC 1929 request            as recorded, flagged secret; --redact writes ${RECHECK_SOCKS_USER} and
 *                               ${RECHECK_SOCKS_PASS} references with the recorded length bytes
 *   RFC 1929 reply              status 00 whatever the version byte: servers send 01 (the RFC) or 05
 *   CONNECT request             exact (the target is what the check is about)
 *   CONNECT reply               VER 05 and REP 00 only (rbinary ^0500): BND.ADDR/BND.PORT are the
 *                               server's own socket, and their type and length vary between servers
 * The messages are read from the reassembled streams, never from turn boundaries.
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

#define SOCKS5_VER          0x05
#define RFC1929_VER         0x01
#define SOCKS5_METHOD_NONE  0x00
#define SOCKS5_METHOD_USER  0x02
#define SOCKS5_METHOD_NOACC 0xff
#define SOCKS5_CMD_CONNECT  0x01
#define SOCKS5_ATYP_IPV4    0x01
#define SOCKS5_ATYP_DOMAIN  0x03
#define SOCKS5_ATYP_IPV6    0x04
#define SOCKS5_REPLY_MIN    10 /* VER REP RSV ATYP=1 + 4-byte IPv4 + port: the shortest usual reply */

static const struct dx_tok methods[] = {
	{0x00, "no-auth"},
	{0x01, "GSSAPI"},
	{0x02, "user/pass"},
	{0x03, "CHAP"},
	{0xff, "no-acceptable-method"},
	{0, NULL},
};

static const struct dx_tok commands[] = {
	{0x01, "CONNECT"},
	{0x02, "BIND"},
	{0x03, "UDP ASSOCIATE"},
	{0, NULL},
};

static const struct dx_tok atyps[] = {
	{SOCKS5_ATYP_IPV4, "IPv4"},
	{SOCKS5_ATYP_DOMAIN, "domain"},
	{SOCKS5_ATYP_IPV6, "IPv6"},
	{0, NULL},
};

static const struct dx_tok replies[] = {
	{0x00, "succeeded"},
	{0x01, "general SOCKS server failure"},
	{0x02, "connection not allowed by ruleset"},
	{0x03, "network unreachable"},
	{0x04, "host unreachable"},
	{0x05, "connection refused"},
	{0x06, "TTL expired"},
	{0x07, "command not supported"},
	{0x08, "address type not supported"},
	{0, NULL},
};

static int probe(const unsigned char *p, size_t len)
{
	uint8_t v;

	return rd_u8(p, len, 0, &v) == 0 && v == SOCKS5_VER;
}

/*
 * Length of the address + port starting at off (ATYP at off), or -1 when incomplete or unknown. Writes
 * "host:port" (IPv6 in brackets) into out when not NULL.
 */
static long addr_len(const unsigned char *p, size_t len, size_t off, char *out, size_t outlen)
{
	uint8_t atyp, n;
	uint16_t port;
	char host[INET6_ADDRSTRLEN + 2];
	size_t alen;

	if (rd_u8(p, len, off, &atyp) == -1)
		return -1;
	switch (atyp) {
	case SOCKS5_ATYP_IPV4:
		alen = 4;
		break;
	case SOCKS5_ATYP_IPV6:
		alen = 16;
		break;
	case SOCKS5_ATYP_DOMAIN:
		if (rd_u8(p, len, off + 1, &n) == -1)
			return -1;
		alen = 1 + (size_t)n;
		break;
	default:
		return -1;
	}
	if (rd_be16(p, len, off + 1 + alen, &port) == -1)
		return -1;
	if (out) {
		if (atyp == SOCKS5_ATYP_IPV4) {
			inet_ntop(AF_INET, p + off + 1, host, sizeof(host));
			snprintf(out, outlen, "%s:%u", host, port);
		} else if (atyp == SOCKS5_ATYP_IPV6) {
			inet_ntop(AF_INET6, p + off + 1, host, sizeof(host));
			snprintf(out, outlen, "[%s]:%u", host, port);
		} else {
			size_t i, k = 0;

			/* A hostile name may hold anything: keep it printable. */
			for (i = 0; i < alen - 1 && k + 5 < outlen; i++) {
				unsigned char c = p[off + 2 + i];

				if (c >= 0x21 && c < 0x7f)
					out[k++] = (char)c;
				else
					k += (size_t)snprintf(out + k, outlen - k, "\\x%02x", c);
			}
			out[k] = '\0';
			snprintf(out + k, outlen - k, ":%u", port);
		}
	}
	return (long)(1 + alen + 2);
}

/* "no-auth, user/pass" for the n method bytes at p. */
static void method_list(const unsigned char *p, size_t n, char *out, size_t outlen)
{
	size_t i, k = 0;

	out[0] = '\0';
	for (i = 0; i < n && k < outlen; i++) {
		const char *name = dx_tok_name(methods, p[i], NULL);

		if (name)
			k += (size_t)snprintf(out + k, outlen - k, "%s%s", i ? ", " : "", name);
		else
			k += (size_t)snprintf(out + k, outlen - k, "%s0x%02x", i ? ", " : "", p[i]);
	}
}

static int auth(struct dissect_ctx *x)
{
	struct dissect_stream *c = &x->c, *s = &x->s;
	uint8_t ver, ulen, plen, status;
	char user[256];
	size_t n;
	struct step *st;

	if (rd_u8(c->p, c->len, c->off, &ver) == -1) {
		dx_unanswered(x, "the RFC 1929 user/password request");
		return 1;
	}
	if (ver != RFC1929_VER) {
		dx_warn(x, "the client answered the user/password method with version 0x%02x, not RFC 1929's 0x01",
			ver);
		return dx_raw_rest(x, false) == -1 ? -1 : 1;
	}
	if (rd_u8(c->p, c->len, c->off + 1, &ulen) == -1 ||
	    rd_u8(c->p, c->len, c->off + 2 + ulen, &plen) == -1 || c->off + 3 + ulen + plen > c->len) {
		dx_warn(x, "the RFC 1929 user/password request is truncated");
		return 1;
	}
	n = 3 + (size_t)ulen + plen;
	memcpy(user, c->p + c->off + 2, ulen);
	user[ulen] = '\0';
	if (x->o->redact && ulen && plen) {
		unsigned char tmp[128];
		int k;

		/* Text, not binary: ${NAME} references only work in a text send. */
		k = snprintf((char *)tmp, sizeof(tmp), "%c%c${RECHECK_SOCKS_USER}%c${RECHECK_SOCKS_PASS}",
			     RFC1929_VER, ulen, plen);
		st = dx_send(x, tmp, (size_t)k, false,
			     "RFC 1929 user/password from ${RECHECK_SOCKS_USER} / ${RECHECK_SOCKS_PASS}; the length "
			     "bytes are those of the recorded values (%u and %u): the variables must have those "
			     "lengths", ulen, plen);
		if (!st)
			return -1;
		st->binary = false;
		st->env = true;
		dx_note(x, "RFC 1929 credentials redacted: set RECHECK_SOCKS_USER (%u byte%s) and RECHECK_SOCKS_PASS "
			   "(%u byte%s) when replaying; the request keeps the recorded length bytes, so lint, replay "
			   "and recheckd refuse values of other lengths", ulen, DX_PL(ulen), plen, DX_PL(plen));
	} else {
		/* The comment names no user: `recheck show` prints comments and hides recorded credentials. */
		st = dx_send(x, c->p + c->off, n, true,
			     "RFC 1929 user/password request as recorded (%u-byte user, %u-byte password): a recorded "
			     "credential", ulen, plen);
		if (!st)
			return -1;
		st->secret = true;
		dx_note(x, "RFC 1929 request for user '%s' kept as recorded: the recipe carries the password "
			   "(use --redact to write environment references instead)",
			dx_is_text((const unsigned char *)user, ulen) ? user : "?");
	}
	c->off += n;
	if (rd_u8(s->p, s->len, s->off + 1, &status) == -1) {
		dx_unanswered(x, "the RFC 1929 reply");
		return 1;
	}
	if (!dx_expect(x, EXPECT_RBINARY, "^..00", 5, 2,
		       "RFC 1929 reply: status 00 (success) whatever the version byte (0x%02x was recorded; servers "
		       "send 01 or 05)", s->p[s->off]))
		return -1;
	dx_note(x, "RFC 1929 reply accepted on status 00 whatever its version byte (recorded 0x%02x; the RFC "
		   "says 01, some servers send 05)", s->p[s->off]);
	s->off += 2;
	if (status != 0)
		return dx_refuse(x, "the proxy refused the RFC 1929 user name and password of user '%s' (it "
				    "answered %02X %02X, status not 00): check the credentials and record again",
				 dx_is_text((const unsigned char *)user, ulen) ? user : "?", s->p[s->off - 2], status);
	return 0;
}

/* 0: continue to the tunnel; 1: stop here (nothing more to build); -1: local failure. */
static int connect_exchange(struct dissect_ctx *x)
{
	struct dissect_stream *c = &x->c, *s = &x->s;
	char target[300], bound[300];
	uint8_t ver, cmd, atyp, rep, ratyp;
	long alen, blen;
	int min_recv;

	if (rd_u8(c->p, c->len, c->off, &ver) == -1) {
		dx_warn(x, "the recording ends before the SOCKS5 request");
		return 1;
	}
	if (ver != SOCKS5_VER || rd_u8(c->p, c->len, c->off + 1, &cmd) == -1 ||
	    rd_u8(c->p, c->len, c->off + 3, &atyp) == -1 ||
	    (alen = addr_len(c->p, c->len, c->off + 3, target, sizeof(target))) == -1) {
		if (ver != SOCKS5_VER) {
			dx_warn(x, "the SOCKS5 request has version 0x%02x", ver);
			return dx_raw_rest(x, false) == -1 ? -1 : 1;
		}
		dx_warn(x, "the SOCKS5 request is truncated or has an unknown address type");
		return 1;
	}
	if (!dx_send(x, c->p + c->off, 3 + (size_t)alen, true, "SOCKS5 %s %s (%s), kept exact",
		     dx_tok_name(commands, cmd, "command ?"), target, dx_tok_name(atyps, atyp, "?")))
		return -1;
	dx_note(x, "SOCKS5 request %s %s (ATYP %s) kept exact", dx_tok_name(commands, cmd, "?"), target,
		dx_tok_name(atyps, atyp, "?"));
	c->off += 3 + (size_t)alen;

	if (rd_u8(s->p, s->len, s->off, &ver) == -1 || rd_u8(s->p, s->len, s->off + 1, &rep) == -1 ||
	    rd_u8(s->p, s->len, s->off + 3, &ratyp) == -1) {
		dx_unanswered(x, "the SOCKS5 reply");
		return 1;
	}
	blen = addr_len(s->p, s->len, s->off + 3, bound, sizeof(bound));
	/*
	 * min-recv: wait for the shortest whole reply (10 bytes, ATYP 1). Waiting for the recorded length
	 * would hang on a server that binds IPv4 when the recording had IPv6 (22 bytes); the bytes of a
	 * longer reply that are already read are dropped by the next send, and late ones are tolerated by
	 * the HTTP expect that follows. Only a domain reply shorter than 10 bytes lowers it.
	 */
	min_recv = SOCKS5_REPLY_MIN;
	if (blen > 0 && 3 + blen < SOCKS5_REPLY_MIN)
		min_recv = (int)(3 + blen);
	if (!dx_expect(x, EXPECT_RBINARY, "^0500", 5, min_recv,
		       "SOCKS5 reply: VER 05 and REP 00 (succeeded) only, once %d bytes are in; BND.ADDR/BND.PORT "
		       "(recorded %s %s) vary by server and are not matched", min_recv,
		       dx_tok_name(atyps, ratyp, "ATYP ?"), blen > 0 ? bound : "?"))
		return -1;
	dx_note(x, "SOCKS5 reply checked for VER 05 and REP 00 only (rbinary ^0500 min-recv %d): the bound "
		   "address (recorded ATYP %s, %ld bytes in all) differs between servers and is not matched; the "
		   "check waits for the shortest whole reply (%d bytes, ATYP IPv4), not the recorded length, which "
		   "a server binding another address type would never send; what is left of a longer reply is "
		   "dropped by the next send or, when late, skipped by the HTTP expect", min_recv,
		dx_tok_name(atyps, ratyp, "?"), blen > 0 ? 3 + blen : 0, min_recv);
	if (ver != SOCKS5_VER)
		dx_warn(x, "the recorded SOCKS5 reply has version 0x%02x, not 05", ver);
	if (rep != 0)
		return dx_refuse(x, "the proxy answered the SOCKS5 %s %s with REP %02X (%s) instead of 00: the "
				    "check would expect a success this recording never saw; record again once the proxy "
				    "reaches the target", dx_tok_name(commands, cmd, "request"), target, rep,
				 dx_tok_name(replies, rep, "unassigned code"));
	if (blen == -1) {
		dx_warn(x, "the SOCKS5 reply is truncated or has an unknown address type: the tunnelled payload "
			   "cannot be located");
		return 1;
	}
	s->off += 3 + (size_t)blen;
	if (cmd != SOCKS5_CMD_CONNECT) {
		dx_note(x, "%s is not CONNECT: the recipe stops after its first reply",
			dx_tok_name(commands, cmd, "the command"));
		return 1;
	}
	return 0;
}

static int build(struct dissect_ctx *x)
{
	struct dissect_stream *c = &x->c, *s = &x->s;
	uint8_t nm, ver, method;
	char list[256];
	size_t i;
	int rc;

	snprintf(x->proto, sizeof(x->proto), "socks5");
	if (rd_u8(c->p, c->len, c->off + 1, &nm) == -1 || nm == 0)
		return 1;
	if (c->off + 2 + nm > c->len) {
		dx_warn(x, "the SOCKS5 greeting is truncated (%u methods announced, %zu bytes recorded)", nm,
			c->len - c->off);
		return 0;
	}
	method_list(c->p + c->off + 2, nm, list, sizeof(list));
	if (!dx_send(x, c->p + c->off, 2 + (size_t)nm, true, "SOCKS5 greeting: methods %s, kept exact", list))
		return -1;
	c->off += 2 + (size_t)nm;
	if (rd_u8(s->p, s->len, s->off, &ver) == -1 || rd_u8(s->p, s->len, s->off + 1, &method) == -1) {
		dx_unanswered(x, "the SOCKS5 method choice");
		return 0;
	}
	if (ver != SOCKS5_VER) {
		dx_warn(x, "the server answered the SOCKS5 greeting with version 0x%02x: not a SOCKS5 proxy", ver);
		dx_unanswered(x, "a SOCKS5 method choice");
		return 0;
	}
	if (method == SOCKS5_METHOD_NOACC) {
		bool offered_user = memchr(c->p + c->off - nm, SOCKS5_METHOD_USER, nm) != NULL;

		return dx_refuse(x, "the proxy answered the SOCKS5 greeting with 05 FF: none of the offered "
				    "methods (%s) is acceptable to it; %s", list,
				 offered_user ? "record again with a method it accepts"
					      : "it most likely requires a user name and password: give them "
						"(socks5://USER:PASS@HOST:PORT) and record again");
	}
	for (i = 0; i < nm; i++)
		if (c->p[c->off - nm + i] == method)
			break;
	if (i == nm)
		dx_warn(x, "the proxy chose method 0x%02x, which the client did not offer", method);
	if (!dx_expect(x, EXPECT_BINARY, s->p + s->off, 2, -1, "SOCKS5 method choice: %s, kept exact",
		       dx_tok_name(methods, method, "?")))
		return -1;
	dx_note(x, "SOCKS5 greeting (methods %s) and method choice (%s) kept exact", list,
		dx_tok_name(methods, method, "?"));
	s->off += 2;
	if (method == SOCKS5_METHOD_USER) {
		rc = auth(x);
		if (rc || x->refused)
			return rc == -1 ? -1 : 0;
	} else if (method != SOCKS5_METHOD_NONE) {
		dx_warn(x, "method %s (0x%02x) is not dissected: the rest is kept raw",
			dx_tok_name(methods, method, "?"), method);
		return dx_raw_rest(x, false) == -1 ? -1 : 0;
	}
	rc = connect_exchange(x);
	if (rc || x->refused)
		return rc == -1 ? -1 : 0;
	return dx_tunnel_here(x, LEAD_SOCKS5, true);
}

const struct dissector dissect_socks5 = {
	.name = "socks5",
	.probe = probe,
	.build = build,
};

bool dissect_socks5_annotate(const struct step *s, struct buf *out)
{
	const unsigned char *p = s->data;
	size_t n = s->len;
	char a[300], list[256];
	uint8_t v0, v1, v3;
	long alen;

	if (!p || rd_u8(p, n, 0, &v0) == -1)
		return false;
	if (s->type == STEP_SEND && s->env && v0 == RFC1929_VER) {
		buf_printf(out, "RFC 1929 auth: user and password from the environment");
		return true;
	}
	if (s->type == STEP_SEND && v0 == RFC1929_VER && rd_u8(p, n, 1, &v1) == 0 && 2 + (size_t)v1 < n &&
	    s->secret) {
		/* `recheck show` hides recorded credentials, and the user name is half of this one. */
		buf_printf(out, "RFC 1929 auth: user (%u byte%s) and password (%zu byte%s), recorded credential", v1,
			   DX_PL(v1), n - 3 - v1, DX_PL(n - 3 - v1));
		return true;
	}
	if (s->type == STEP_SEND && v0 == RFC1929_VER && rd_u8(p, n, 1, &v1) == 0 && 2 + (size_t)v1 < n) {
		memcpy(a, p + 2, v1);
		a[v1] = '\0';
		buf_printf(out, "RFC 1929 auth: user '%s' (password not shown)",
			   dx_is_text((const unsigned char *)a, v1) ? a : "?");
		return true;
	}
	if (s->type == STEP_SEND && v0 == SOCKS5_VER && rd_u8(p, n, 1, &v1) == 0) {
		/* The request has RSV 00 and a valid address; otherwise this is a greeting. */
		if (rd_u8(p, n, 3, &v3) == 0 && p[2] == 0 && (alen = addr_len(p, n, 3, a, sizeof(a))) > 0 &&
		    (size_t)(3 + alen) == n) {
			buf_printf(out, "SOCKS5 request: %s %s (%s)", dx_tok_name(commands, v1, "command ?"), a,
				   dx_tok_name(atyps, v3, "?"));
			return true;
		}
		if (v1 && 2 + (size_t)v1 <= n) {
			method_list(p + 2, v1, list, sizeof(list));
			buf_printf(out, "SOCKS5 greeting: methods %s", list);
			if (2 + (size_t)v1 < n)
				buf_printf(out, " (+%zu more bytes)", n - 2 - v1);
			return true;
		}
		return false;
	}
	if (s->type != STEP_EXPECT)
		return false;
	if (s->match == EXPECT_RBINARY && !strcmp((const char *)p, "^..00")) {
		buf_printf(out, "RFC 1929 auth reply: success (any version byte)");
		return true;
	}
	if (s->match == EXPECT_RBINARY && !strncmp((const char *)p, "^0500", 5)) {
		buf_printf(out, "SOCKS5 reply: succeeded (bound address not matched)");
		return true;
	}
	if (s->match == EXPECT_BINARY && v0 == SOCKS5_VER && n == 2) {
		buf_printf(out, "SOCKS5 method choice: %s", dx_tok_name(methods, p[1], "unknown method"));
		return true;
	}
	if (s->match == EXPECT_BINARY && v0 == SOCKS5_VER && n >= 10 && (alen = addr_len(p, n, 3, a, sizeof(a))) > 0) {
		buf_printf(out, "SOCKS5 reply: %s, bound %s (%s)", dx_tok_name(replies, p[1], "unassigned code"), a,
			   dx_tok_name(atyps, p[3], "?"));
		return true;
	}
	if (s->match == EXPECT_BINARY && (v0 == RFC1929_VER || v0 == SOCKS5_VER) && n == 2) {
		buf_printf(out, "RFC 1929 auth reply: %s", p[1] ? "failure" : "success");
		return true;
	}
	return false;
}

/*
 * dissect_tls: a bare TLS conversation (RFC 8446 §5.1 records, §4 handshake). The handshake carries
 * fresh randoms, a session id and key shares on both sides, so no server byte after the first record
 * header can be expected again. What recurs is the shape: the server answers a ClientHello with a
 * handshake record (content type 22, version 3.x) whose first message is a ServerHello (type 2). The
 * recipe sends the recorded ClientHello (a server accepts any client random) and expects exactly that
 * shape, then stops: going further needs the keys.
 */
#include "api.h"

#include <stdio.h>
#include <string.h>

#include "dissect_priv.h"
#include "dx.h"
#include "rd.h"
#include "recipe.h"

#define TLS_HANDSHAKE 22
#define TLS_ALERT     21

static int probe(const unsigned char *p, size_t len)
{
	uint8_t t, v;

	return rd_u8(p, len, 0, &t) == 0 && rd_u8(p, len, 1, &v) == 0 && t == TLS_HANDSHAKE && v == 3;
}

static int build(struct dissect_ctx *x)
{
	struct dissect_stream *c = &x->c, *s = &x->s;
	uint16_t rlen;
	uint8_t t, hs;

	snprintf(x->proto, sizeof(x->proto), "tls");
	if (rd_be16(c->p, c->len, c->off + 3, &rlen) == -1 || !rd_has(c->len, c->off, 5 + (size_t)rlen))
		return 1;
	if (!dx_send(x, c->p + c->off, 5 + (size_t)rlen, true, "TLS ClientHello record as recorded (%u bytes)",
		     5 + rlen))
		return -1;
	c->off += 5 + (size_t)rlen;
	if (rd_u8(s->p, s->len, s->off, &t) == -1 || rd_u8(s->p, s->len, s->off + 5, &hs) == -1) {
		dx_unanswered(x, "the server's first TLS record");
		return 0;
	}
	if (t == TLS_ALERT)
		return dx_refuse(x, "the server answered the TLS ClientHello with an alert (%02X %02X %02X ...): "
				    "record again once it completes a handshake", s->p[s->off], s->p[s->off + 1],
				 s->p[s->off + 2]);
	if (t != TLS_HANDSHAKE || hs != 2)
		return 1;
	if (!dx_expect(x, EXPECT_RBINARY, "^1603[0-9A-F]{2}[0-9A-F]{4}02", 29, 6,
		       "TLS: a handshake record whose first message is a ServerHello; the version, random, session "
		       "and keys differ on every handshake and are not matched"))
		return -1;
	dx_note(x, "TLS: the recorded ClientHello is sent and only the ServerHello's record header and handshake "
		   "type are expected; the server random and everything after it cannot recur, so the recipe stops "
		   "there");
	s->off = s->len;
	c->off = c->len;
	return 0;
}

const struct dissector dissect_tls = {
	.name = "tls",
	.probe = probe,
	.build = build,
};

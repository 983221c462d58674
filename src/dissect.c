/*
 * dissect: the driver of the recorder's dissection, from the turns of one recorded conversation to a
 * portable recipe. The layers go one way down: this file (the registry and the driver) calls the protocol
 * dissectors (dissect_*.c), and both call the toolkit (dx.c); no dissector calls back up here.
 *
 * The turns of each direction are joined into one byte stream (dissect_stream) and the protocol
 * dissectors re-segment those streams by protocol messages, because TCP segments and turns say nothing
 * about message boundaries: a SOCKS5 greeting may be split over turns or merged with the next message.
 * The dissector is picked from the first client bytes through the registry table below; a conversation
 * no dissector recognizes gets the raw treatment (send what the client sent, expect the first bytes of
 * each server turn) with a warning. An outer dissector (SOCKS5, SOCKS4, HTTP CONNECT) stops where its
 * tunnel opens and says so (x->tunnel); the driver then dissects the tunnelled stream: HTTP/1 through
 * dissect_http.c, TLS not at all, anything else raw. References are in each dissect_*.c.
 */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "dissect.h"
#include "dissect_priv.h"
#include "dx.h"
#include "recipe.h"
#include "turn-t.h"
#include "util.h"

#define SUMMARY_CAP   (64 * 1024)

static const struct dissector *const registry[] = {
	&dissect_socks5,
	&dissect_socks4,
	&dissect_http_connect,
	&dissect_http_proxy,
	&dissect_tls,
};

/*
 * The tunnelled stream after an outer dissector's handshake, from where it said the tunnel starts: HTTP,
 * TLS (stop) or anything else (raw). 0 or -1.
 */
static int tunnel(struct dissect_ctx *x)
{
	const struct dissect_tunnel *tn = &x->tunnel;
	size_t n = strlen(x->proto);
	int is_http = 0;

	x->c.off = tn->c_off;
	x->s.off = tn->s_off;
	if (x->c.off >= x->c.len) {
		if (x->s.off < x->s.len)
			dx_note(x, "the server sent %zu byte%s through the tunnel unprompted; not checked",
				x->s.len - x->s.off, DX_PL(x->s.len - x->s.off));
		dx_note(x, "nothing was sent through the tunnel: the recipe ends once it is established");
		return 0;
	}
	if (x->c.p[x->c.off] == 0x16) {
		/* A TLS handshake has fresh randoms and keys: replaying the recorded bytes cannot work. */
		dx_note(x, "TLS inside the tunnel (first client byte 0x16): its recorded bytes cannot be replayed "
			   "(every handshake has fresh keys), so they are not part of the recipe; an https:// "
			   "recording starts TLS with a tls step instead");
		return 0;
	}
	if (dissect_http_exchanges(x, tn->lead, &is_http) == -1)
		return -1;
	if (is_http == 2) {
		/* the label claims only what the recipe checks: the tunnel, not an HTTP exchange it never saw */
		dx_note(x, "the tunnelled HTTP request was cut: protocol %s (not %s+http), and the recipe ends once the "
			   "tunnel is established", x->proto, x->proto);
		return 0;
	}
	if (is_http) {
		if (tn->name_inner) /* the outer dissector named the protocol: "socks5" becomes "socks5+http" */
			snprintf(x->proto + n, sizeof(x->proto) - n, "+http");
		return 0;
	}
	dx_warn(x, "the tunnelled payload is not HTTP/1: it is sent as recorded and only the first %d bytes "
		   "of each server turn are expected", DX_RAW_EXPECT_N);
	return dx_raw_rest(x, false);
}

static int join(struct dissect_stream *st, const struct turns *t, enum turn_dir dir)
{
	size_t i, n = 0;

	for (i = 0; i < t->n; i++)
		if (t->v[i].dir == dir)
			n += t->v[i].len;
	st->p = malloc(n + 1);
	if (!st->p)
		return -1;
	st->len = 0;
	st->off = 0;
	for (i = 0; i < t->n; i++) {
		if (t->v[i].dir != dir || !t->v[i].len)
			continue;
		memcpy(st->p + st->len, t->v[i].data, t->v[i].len);
		st->len += t->v[i].len;
	}
	return 0;
}

static size_t count_turns(const struct turns *t, enum turn_dir dir)
{
	size_t i, n = 0;

	for (i = 0; i < t->n; i++)
		n += t->v[i].dir == dir;
	return n;
}

/* A new empty recipe in x->r, the one being built (if any) dropped. 0, or -1 with err set. */
static int new_recipe(struct dissect_ctx *x)
{
	recipe_free(x->r);
	x->r = recipe_new(RECIPE_TCP);
	if (!x->r) {
		set_err(x->err, x->errlen, "out of memory");
		return -1;
	}
	return 0;
}

/*
 * Not (or not really) a protocol we know (d, or NULL when no dissector recognized the first bytes):
 * start over with the raw treatment. 0 or -1.
 */
static int raw_fallback(struct dissect_ctx *x, const struct dissector *d)
{
	if (new_recipe(x) == -1)
		return -1;
	x->c.off = x->s.off = 0;
	snprintf(x->proto, sizeof(x->proto), "raw");
	if (d)
		dx_warn(x, "the conversation starts like %s (first client bytes %02X %02X) but its messages do not "
			   "parse as %s%s%s: the client's bytes are sent as recorded and only the first %d bytes (or "
			   "the status) of each server turn are expected; review the recipe (or use --raw to keep "
			   "every byte)", d->name, x->c.p[0], x->c.len > 1 ? x->c.p[1] : 0, d->name,
			x->refusal[0] ? ": " : "", x->refusal, DX_RAW_EXPECT_N);
	else
		dx_warn(x, "no known protocol (SOCKS5, SOCKS4/4a, HTTP proxy, HTTP CONNECT, TLS) was recognized "
			   "from the first client bytes (%02X %02X): the client's bytes are sent as recorded and only "
			   "the first %d bytes (or the status) of each server turn are expected; review the recipe (or "
			   "use --raw to keep every byte)", x->c.p[0], x->c.len > 1 ? x->c.p[1] : 0, DX_RAW_EXPECT_N);
	return dx_raw_rest(x, false);
}

struct recipe *dissect_build(const struct turns *t, const struct dissect_opts *o, struct buf *summary,
			     char *err, size_t errlen)
{
	enum dissect_rc rc;

	return dissect_build_rc(t, o, summary, &rc, err, errlen);
}

struct recipe *dissect_build_rc(const struct turns *t, const struct dissect_opts *o, struct buf *summary,
				enum dissect_rc *drc, char *err, size_t errlen)
{
	static const struct dissect_opts defaults;
	const struct dissector *d = NULL;
	struct dissect_ctx x;
	struct buf notes;
	char why[ERR_LEN];
	size_t i;
	int rc;

	memset(&x, 0, sizeof(x));
	*drc = DISSECT_NO_RECIPE;
	buf_init(&notes, SUMMARY_CAP);
	x.t = t;
	x.o = o ? o : &defaults;
	x.summary = &notes;
	x.err = err;
	x.errlen = errlen;
	if (!t || !t->n) {
		set_err(err, errlen, "the conversation is empty: no bytes were exchanged with the proxy");
		goto fail;
	}
	if (join(&x.c, t, TURN_C2S) == -1 || join(&x.s, t, TURN_S2C) == -1) {
		set_err(err, errlen, "out of memory while joining the turns");
		goto local;
	}
	if (!x.c.len) {
		set_err(err, errlen, "the client sent no bytes (%zu server bytes only): nothing to replay", x.s.len);
		goto fail;
	}
	if (new_recipe(&x) == -1)
		goto local;
	for (i = 0; i < ARRAY_SIZE(registry); i++) {
		if (registry[i]->probe(x.c.p, x.c.len)) {
			d = registry[i];
			break;
		}
	}
	if (x.o->raw) {
		snprintf(x.proto, sizeof(x.proto), "%s", d ? d->name : "raw");
		dx_note(&x, "--raw: every byte kept exact, nothing generalized: each client turn is sent as recorded "
			    "and each server turn expected in full (a server that differs in any byte fails)");
		if (dx_raw_rest(&x, true) == -1)
			goto local;
	} else {
		rc = d ? d->build(&x) : 1;
		if (rc == 0 && x.tunnel.open && !x.refused && !x.side_effect)
			rc = tunnel(&x);
		if (rc == -1)
			goto local;
		if (x.side_effect) {
			set_err(err, errlen, "%s", x.refusal);
			*drc = DISSECT_SIDE_EFFECT;
			goto fail;
		}
		if (x.refused) {
			set_err(err, errlen, "the recorded conversation failed, so it cannot become a check: %s",
				x.refusal);
			*drc = DISSECT_REFUSED;
			goto fail;
		}
		if (rc == 1 && raw_fallback(&x, d) == -1)
			goto local;
	}
	if (t->truncated)
		dx_warn(&x, "the capture is incomplete (a gap or a capped stream): the recipe stops at the last "
			    "complete exchange");
	if (t->reset)
		dx_note(&x, "the conversation ended with a RST");
	if (!x.r->nsteps) {
		set_err(err, errlen, "the conversation has no complete request/reply exchange to check (%zu client, "
			"%zu server bytes, detected %s)", x.c.len, x.s.len, x.proto);
		goto fail;
	}
	if (dissect_secrets(&x) == -1)
		goto local;
	if (x.r->steps[x.r->nsteps - 1].type == STEP_SEND)
		dx_warn(&x, "the recipe ends with a send: it passes once the bytes are written, whatever the server "
			    "answers");
	if (recipe_set_str(&x.r->protocol, x.proto) == -1) {
		set_err(err, errlen, "out of memory");
		goto local;
	}
	if (recipe_compile(x.r, why, sizeof(why)) == -1) {
		set_err(err, errlen, "the built recipe is invalid: %s", why);
		goto fail;
	}
	if (summary) {
		buf_printf(summary, "detected %s: %zu turn%s (%zu from the client, %zu byte%s; %zu from the server, "
			   "%zu byte%s) -> %zu step%s%s\n", x.proto, t->n, DX_PL(t->n), count_turns(t, TURN_C2S), x.c.len,
			   DX_PL(x.c.len), count_turns(t, TURN_S2C), x.s.len, DX_PL(x.s.len), x.r->nsteps,
			   DX_PL(x.r->nsteps),
			   recipe_has_secret(x.r) ? " (carries recorded credentials)" : "");
		buf_append_str(summary, "  turns:");
		for (i = 0; i < t->n && i < 64; i++)
			buf_printf(summary, " %s%zu", t->v[i].dir == TURN_C2S ? "C" : "S", t->v[i].len);
		buf_append_str(summary, i < t->n ? " ...\n" : "\n");
		buf_append(summary, notes.data, notes.len);
	}
	buf_free(&notes);
	free(x.c.p);
	free(x.s.p);
	*drc = DISSECT_OK;
	return x.r;
local:
	*drc = DISSECT_LOCAL;
fail:
	buf_free(&notes);
	free(x.c.p);
	free(x.s.p);
	recipe_free(x.r);
	return NULL;
}

void dissect_annotate(const char *protocol, const struct recipe *r, size_t step, struct buf *out)
{
	const struct step *s;

	if (!protocol || !r || step >= r->nsteps || !out)
		return;
	s = &r->steps[step];
	if (s->type == STEP_CONNECT)
		return;
	/* The tunnelled HTTP exchange of a SOCKS recipe falls through to the HTTP decoder. */
	if (!strncmp(protocol, "socks5", 6) && dissect_socks5_annotate(s, out))
		return;
	if (!strncmp(protocol, "socks4", 6) && dissect_socks4_annotate(s, out))
		return;
	if (!strcmp(protocol, "raw"))
		return;
	dissect_http_annotate(s, out);
}

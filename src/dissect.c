/*
 * dissect: from the turns of one recorded conversation to a portable recipe.
 *
 * The turns of each direction are joined into one byte stream (dissect_stream) and the protocol
 * dissectors re-segment those streams by protocol messages, because TCP segments and turns say nothing
 * about message boundaries: a SOCKS5 greeting may be split over turns or merged with the next message.
 * The dissector is picked from the first client bytes through the registry table below; a conversation
 * no dissector recognizes gets the raw treatment (send what the client sent, expect the first bytes of
 * each server turn) with a warning. References are in each dissect_*.c.
 */
#include "api.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "dissect.h"
#include "dissect_priv.h"
#include "recipe.h"
#include "turn-t.h"
#include "util.h"

#define SUMMARY_CAP   (64 * 1024)
#define RAW_EXPECT_N  16 /* bytes of each server turn the raw fallback expects */

static const struct dissector *const registry[] = {
	&dissect_socks5,
	&dissect_socks4,
	&dissect_http_connect,
	&dissect_http_proxy,
	&dissect_tls,
};

const char *dx_tok_name(const struct dx_tok *t, int v, const char *unknown)
{
	for (; t->s; t++)
		if (t->v == v)
			return t->s;
	return unknown;
}

bool dx_is_text(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((p[i] < 0x20 && p[i] != '\r' && p[i] != '\n' && p[i] != '\t') || p[i] >= 0x7f)
			return false;
	return true;
}

int dx_refuse(struct dissect_ctx *x, const char *fmt, ...)
{
	va_list ap;

	if (x->refused)
		return 0;
	x->refused = true;
	va_start(ap, fmt);
	vsnprintf(x->refusal, sizeof(x->refusal), fmt, ap);
	va_end(ap);
	return 0;
}

int dx_side_effect(struct dissect_ctx *x, const char *fmt, ...)
{
	va_list ap;

	if (x->side_effect || x->refused)
		return 0;
	x->side_effect = true;
	va_start(ap, fmt);
	vsnprintf(x->refusal, sizeof(x->refusal), fmt, ap);
	va_end(ap);
	return 0;
}

/*
 * A text reply that starts with a protocol status: matched by that status only, never by the rest of
 * the banner, which names the host and its software ("220 mx1.example ESMTP Postfix"). NULL otherwise.
 */
static const char *banner_regex(const unsigned char *p, size_t n, bool first, char *re, size_t relen)
{
	/* Bytes already matched (a CONNECT head) may precede it in the buffer: then at a line start. */
	const char *a = first ? "^" : "(?:^|\\n)";

	if (n >= 8 && !memcmp(p, "SSH-2.0-", 8))
		snprintf(re, relen, "%sSSH-2\\.0-", a);
	else if (n >= 3 && !memcmp(p, "+OK", 3))
		snprintf(re, relen, "%s\\+OK", a);
	else if (n >= 4 && !memcmp(p, "* OK", 4))
		snprintf(re, relen, "%s\\* OK", a);
	else if (n >= 4 && p[0] >= '1' && p[0] <= '5' && p[1] >= '0' && p[1] <= '9' && p[2] >= '0' &&
		 p[2] <= '9' && (p[3] == ' ' || p[3] == '-'))
		/* SMTP (RFC 5321 §4.2), FTP, NNTP: a three-digit code, then a space or a dash. */
		snprintf(re, relen, "%s%.3s[ -]", a, (const char *)p);
	else
		return NULL;
	return re;
}

int dx_oom(struct dissect_ctx *x)
{
	set_err(x->err, x->errlen, "out of memory (or more than %d steps) while building the recipe",
		RECIPE_MAX_STEPS);
	return -1;
}

static void vline(struct dissect_ctx *x, const char *pfx, const char *fmt, va_list ap) PRINTF_FMT(3, 0);
static void vline(struct dissect_ctx *x, const char *pfx, const char *fmt, va_list ap)
{
	char line[1024];

	vsnprintf(line, sizeof(line), fmt, ap);
	/* A full summary only loses lines: the recipe matters more than its explanation. */
	buf_printf(x->summary, "  %s%s\n", pfx, line);
}

void dx_note(struct dissect_ctx *x, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline(x, "- ", fmt, ap);
	va_end(ap);
}

void dx_warn(struct dissect_ctx *x, const char *fmt, ...)
{
	va_list ap;

	x->warnings++;
	va_start(ap, fmt);
	vline(x, "warning: ", fmt, ap);
	va_end(ap);
}

static int set_comment(struct step *s, const char *fmt, va_list ap) PRINTF_FMT(2, 0);
static int set_comment(struct step *s, const char *fmt, va_list ap)
{
	char c[512];

	if (!fmt)
		return 0;
	vsnprintf(c, sizeof(c), fmt, ap);
	return recipe_set_str(&s->comment, c);
}

struct step *dx_send(struct dissect_ctx *x, const void *p, size_t n, bool binary, const char *fmt, ...)
{
	const unsigned char *b = p;
	struct step *s = NULL;
	va_list ap;
	size_t done = 0;

	/* A payload over HAProxy's buffer is cut into several sends: the server sees the same stream. */
	while (done < n) {
		size_t k = MIN(n - done, (size_t)RECIPE_MAX_PAYLOAD);

		s = recipe_add_step(x->r, STEP_SEND);
		if (!s || step_set_data(s, b + done, k) == -1) {
			dx_oom(x);
			return NULL;
		}
		s->binary = binary || !dx_is_text(b + done, k);
		if (done == 0) {
			va_start(ap, fmt);
			if (set_comment(s, fmt, ap) == -1) {
				va_end(ap);
				dx_oom(x);
				return NULL;
			}
			va_end(ap);
		}
		done += k;
	}
	return s;
}

struct step *dx_expect(struct dissect_ctx *x, enum expect_match m, const void *pat, size_t n, int min_recv,
		       const char *fmt, ...)
{
	struct step *s;
	va_list ap;
	int rc;

	s = recipe_add_step(x->r, STEP_EXPECT);
	if (!s || step_set_data(s, pat, n) == -1) {
		dx_oom(x);
		return NULL;
	}
	s->match = m;
	s->min_recv = min_recv;
	va_start(ap, fmt);
	rc = set_comment(s, fmt, ap);
	va_end(ap);
	if (rc == -1) {
		dx_oom(x);
		return NULL;
	}
	return s;
}

/*
 * One server turn (part) as an expect: every byte (exact) or the first RAW_EXPECT_N (a status for a
 * banner). first: these bytes begin what the server sent since the last send.
 */
static int raw_expect(struct dissect_ctx *x, const unsigned char *p, size_t n, bool exact, size_t turn,
		      bool first)
{
	size_t k = exact ? n : MIN(n, (size_t)RAW_EXPECT_N);
	enum expect_match m = EXPECT_BINARY;

	if (k > RECIPE_MAX_PAYLOAD) {
		dx_warn(x, "server turn %zu is %zu bytes; only its first %d (HAProxy's buffer) are expected", turn,
			n, RECIPE_MAX_PAYLOAD);
		k = RECIPE_MAX_PAYLOAD;
	}
	if (exact) {
		if (!dx_expect(x, m, p, k, -1, "server turn %zu: all %zu bytes, exact (raw mode)", turn, k))
			return -1;
		return 0;
	}
	{
		char re[48];
		const char *b = banner_regex(p, n, first, re, sizeof(re));

		if (b) {
			if (!dx_expect(x, EXPECT_RSTRING, b, strlen(b), -1, "server turn %zu: matched by its status %s "
				       "only; the rest of the line names this server and differs on another", turn, b))
				return -1;
			return 0;
		}
	}
	if (dx_is_text(p, k))
		m = EXPECT_STRING;
	if (!dx_expect(x, m, p, k, -1, "server turn %zu: its first %zu of %zu byte%s (unknown protocol)", turn,
		       k, n, n == 1 ? "" : "s"))
		return -1;
	return 0;
}

int dx_raw_rest(struct dissect_ctx *x, bool exact)
{
	size_t i, coff = 0, soff = 0;

	for (i = 0; i < x->t->n; i++) {
		const struct turn *tn = &x->t->v[i];
		size_t *pos = tn->dir == TURN_C2S ? &coff : &soff;
		struct dissect_stream *st = tn->dir == TURN_C2S ? &x->c : &x->s;
		size_t skip = 0;

		if (!tn->len)
			continue;
		if (*pos + tn->len <= st->off) {
			*pos += tn->len;
			continue;
		}
		if (st->off > *pos)
			skip = st->off - *pos;
		*pos += tn->len;
		if (tn->dir == TURN_C2S && !exact && !x->o->allow_side_effects && tn->len - skip >= 6 &&
		    !strncasecmp((const char *)tn->data + skip, "DATA\r\n", 6))
			return dx_side_effect(x, "client turn %zu sends SMTP DATA: the check would send a mail on every "
						 "interval; record a conversation that stops before DATA (QUIT after RCPT), "
						 "or pass --allow-side-effects to keep it", i + 1);
		if (tn->dir == TURN_C2S) {
			if (!dx_send(x, tn->data + skip, tn->len - skip, exact, "client turn %zu: %zu byte%s as recorded",
				     i + 1, tn->len - skip, DX_PL(tn->len - skip)))
				return -1;
		} else if (raw_expect(x, tn->data + skip, tn->len - skip, exact, i + 1,
				      !skip && (!x->r->nsteps || x->r->steps[x->r->nsteps - 1].type == STEP_SEND)) == -1) {
			return -1;
		}
	}
	x->c.off = x->c.len;
	x->s.off = x->s.len;
	return 0;
}

void dx_unanswered(struct dissect_ctx *x, const char *what)
{
	struct recipe *r = x->r;

	while (r->nsteps && r->steps[r->nsteps - 1].type == STEP_SEND) {
		r->nsteps--;
		free(r->steps[r->nsteps].comment);
		free(r->steps[r->nsteps].data);
		memset(&r->steps[r->nsteps], 0, sizeof(r->steps[r->nsteps]));
	}
	dx_warn(x, "the recording ends before %s: the recipe stops at the last answered request", what);
}

int dx_tunnel(struct dissect_ctx *x, const char *outer, enum dissect_lead lead)
{
	int is_http = 0;

	snprintf(x->proto, sizeof(x->proto), "%s", outer);
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
	if (dissect_http_exchanges(x, lead, &is_http) == -1)
		return -1;
	if (is_http == 2) {
		/* the label claims only what the recipe checks: the tunnel, not an HTTP exchange it never saw */
		dx_note(x, "the tunnelled HTTP request was cut: protocol %s (not %s+http), and the recipe ends once the "
			   "tunnel is established", outer, outer);
		return 0;
	}
	if (is_http) {
		snprintf(x->proto, sizeof(x->proto), "%s+http", outer);
		return 0;
	}
	dx_warn(x, "the tunnelled payload is not HTTP/1: it is sent as recorded and only the first %d bytes "
		   "of each server turn are expected", RAW_EXPECT_N);
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
	x.r = recipe_new(RECIPE_TCP);
	if (!x.r) {
		set_err(err, errlen, "out of memory");
		goto local;
	}
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
		if (rc == 1) {
			/* Not (or not really) a protocol we know: start over with the raw treatment. */
			recipe_free(x.r);
			x.r = recipe_new(RECIPE_TCP);
			if (!x.r) {
				set_err(err, errlen, "out of memory");
				goto local;
			}
			x.c.off = x.s.off = 0;
			snprintf(x.proto, sizeof(x.proto), "raw");
			if (d)
				dx_warn(&x, "the conversation starts like %s (first client bytes %02X %02X) but its messages "
					    "do not parse as %s%s%s: the client's bytes are sent as recorded and only the "
					    "first %d bytes (or the status) of each server turn are expected; review the "
					    "recipe (or use --raw to keep every byte)", d->name, x.c.p[0],
					x.c.len > 1 ? x.c.p[1] : 0, d->name, x.refusal[0] ? ": " : "", x.refusal,
					RAW_EXPECT_N);
			else
				dx_warn(&x, "no known protocol (SOCKS5, SOCKS4/4a, HTTP proxy, HTTP CONNECT, TLS) was "
					    "recognized from the first client bytes (%02X %02X): the client's bytes are sent "
					    "as recorded and only the first %d bytes (or the status) of each server turn are "
					    "expected; review the recipe (or use --raw to keep every byte)", x.c.p[0],
					x.c.len > 1 ? x.c.p[1] : 0, RAW_EXPECT_N);
			if (dx_raw_rest(&x, false) == -1)
				goto local;
		}
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
	if (dx_secrets(&x) == -1)
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

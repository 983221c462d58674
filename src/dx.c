/*
 * dx: the dissect toolkit (see dx.h). Everything a dissector does to the recipe and the summary goes
 * through here: steps with their comments, notes and warnings, the recorded-failure and side-effect
 * rules, and the raw treatment (each client turn sent as recorded, each server turn expected by its
 * status or first bytes) that a dissector falls back to and the driver uses for unknown protocols.
 * Nothing here calls a dissector or the driver.
 */
#include "api.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "dx.h"
#include "recipe.h"
#include "turn-t.h"
#include "util.h"

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
 * One server turn (part) as an expect: every byte (exact) or the first DX_RAW_EXPECT_N (a status for a
 * banner). first: these bytes begin what the server sent since the last send.
 */
static int raw_expect(struct dissect_ctx *x, const unsigned char *p, size_t n, bool exact, size_t turn,
		      bool first)
{
	size_t k = exact ? n : MIN(n, (size_t)DX_RAW_EXPECT_N);
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

int dx_tunnel_here(struct dissect_ctx *x, enum dissect_lead lead, bool name_inner)
{
	x->tunnel.open = true;
	x->tunnel.c_off = x->c.off;
	x->tunnel.s_off = x->s.off;
	x->tunnel.lead = lead;
	x->tunnel.name_inner = name_inner;
	return 0;
}

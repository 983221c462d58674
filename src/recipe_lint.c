/*
 * recipe_lint: the warnings of `recheck lint` (see recipe_lint.h): recipes that load but are fragile.
 * The rules carry protocol knowledge (RFC 1928's CONNECT request and reply, HAProxy's upper-case rbinary
 * text, its implicit http-check status 200-399), so they live beside the recipe model, not in the CLI.
 */
#include "api.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "recipe.h"
#include "recipe_lint.h"

struct lint {
	recipe_lint_cb cb;
	void *arg;
	int nwarn;
};

static void warn(struct lint *l, int line, const char *fmt, ...) PRINTF_FMT(3, 4);
static void warn(struct lint *l, int line, const char *fmt, ...)
{
	char msg[ERR_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	l->cb(l->arg, line, msg);
	l->nwarn++;
}

/* A SOCKS5 request (RFC 1928 section 4): VER=5, CMD 1-3, RSV=0, ATYP 1/3/4, then address and port. */
static bool is_socks5_request(const struct step *s)
{
	return s->type == STEP_SEND && s->len >= 7 && s->data[0] == 0x05 && s->data[1] >= 0x01 &&
	       s->data[1] <= 0x03 && s->data[2] == 0x00 && (s->data[3] == 0x01 || s->data[3] == 0x03 ||
							    s->data[3] == 0x04);
}

/* True when the regex has a run of hex digits with a lowercase letter, outside a backslash escape. */
static bool has_lowercase_hex(const unsigned char *p, size_t n)
{
	size_t i, run = 0;
	bool lower = false;

	for (i = 0; i < n; i++) {
		if (p[i] == '\\') {
			i++; /* \d, \x0a, \b: the escaped character is not a hex digit of the pattern */
			run = 0;
			lower = false;
			continue;
		}
		if (isxdigit(p[i])) {
			run++;
			if (p[i] >= 'a' && p[i] <= 'f')
				lower = true;
			if (run >= 2 && lower)
				return true;
		} else {
			run = 0;
			lower = false;
		}
	}
	return false;
}

static bool client_speaks_first(const char *protocol)
{
	return protocol && (!strncmp(protocol, "socks", 5) || !strncmp(protocol, "http", 4));
}

static void lint_tls(struct lint *l, const struct step_tls *t, int line, const char *at)
{
	if (!t->verify)
		warn(l, line, "%s: tls verify: false accepts any certificate, so an intercepting proxy passes the "
		     "check; record without --insecure, or give the origin's CA with ca: FILE", at);
	else if (!t->sni)
		warn(l, line, "%s: tls without sni: the chain is verified but not the name, so any trusted "
		     "certificate passes (and most servers need SNI to pick theirs)", at);
}

static void lint_tcp(struct lint *l, const struct recipe *r)
{
	const struct step *last_send = NULL;
	size_t i;

	for (i = 0; i < r->nsteps; i++) {
		const struct step *s = &r->steps[i];
		bool after_connect = i == 0 || r->steps[i - 1].type == STEP_CONNECT;
		bool after_tls = i > 0 && r->steps[i - 1].type == STEP_TLS;
		char at[32];

		if (s->type == STEP_SEND)
			last_send = s;
		if (s->type == STEP_CONNECT || s->type == STEP_TLS)
			last_send = NULL;
		if (s->type == STEP_TLS) {
			snprintf(at, sizeof(at), "step %zu", i + 1);
			lint_tls(l, &s->tls, s->line, at);
		}
		if (s->type == STEP_EXPECT && after_tls && client_speaks_first(r->protocol))
			warn(l, s->line, "step %zu: expect right after tls, but the client speaks first inside the "
			     "tunnel (%s): the origin sends nothing until it gets a request", i + 1, r->protocol);
		if (s->type != STEP_EXPECT)
			continue;
		if (after_connect && client_speaks_first(r->protocol))
			warn(l, s->line, "step %zu: expect right after %s, but in protocol %s the client speaks first: "
			     "the server sends nothing until it gets a request, so this waits for the timeout",
			     i + 1, i == 0 ? "the implicit connect" : "connect", r->protocol);
		if (last_send && is_socks5_request(last_send) && !s->negate &&
		    (s->match == EXPECT_BINARY || s->match == EXPECT_STRING) && s->len > 3 && s->data[0] == 0x05)
			warn(l, s->line, "step %zu: expect %s pins the SOCKS5 reply's ATYP/BND.ADDR/BND.PORT, which differ "
			     "between servers and restarts; match only VER REP RSV: expect rbinary ^050000", i + 1,
			     expect_match_str(s->match));
		if (s->match == EXPECT_RBINARY && has_lowercase_hex(s->data, s->len))
			warn(l, s->line, "step %zu: rbinary runs on the UPPERCASE hex form of the bytes, so lowercase "
			     "hex letters in '%s' never match", i + 1, (const char *)s->data);
	}
	if (r->nsteps && r->steps[r->nsteps - 1].type == STEP_SEND)
		warn(l, r->steps[r->nsteps - 1].line, "step %zu: the recipe ends with a send: HAProxy reports "
		     "success once the bytes are written, without reading any reply", r->nsteps);
}

static void lint_http(struct lint *l, const struct recipe *r)
{
	size_t i;

	if (r->tls)
		lint_tls(l, r->tls, r->req.line, "tls");
	if (r->nhexp == 0)
		warn(l, r->req.line, "no expect: HAProxy's implicit 'status 200-399' applies, which also passes "
		     "redirects and captive portals; name the status you want (e.g. 204)");
	for (i = 0; i < r->nhexp; i++)
		if (r->hexp[i].match == HEXP_STATUS && !r->hexp[i].negate && !strcmp(r->hexp[i].pattern, "200-399"))
			warn(l, r->hexp[i].line, "expect %zu: status 200-399 is HAProxy's implicit default, which also "
			     "passes redirects and captive portals; name the status you want (e.g. 204)", i + 1);
}

int recipe_lint(const struct recipe *r, recipe_lint_cb cb, void *arg)
{
	struct lint l = {cb, arg, 0};

	if (r->kind == RECIPE_TCP)
		lint_tcp(&l, r);
	else
		lint_http(&l, r);
	return l.nwarn;
}

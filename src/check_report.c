/*
 * check_report: see check_report.h (moved from recheck replay so that recheckd's `check L/S` prints the
 * same report).
 */
#include "api.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "check.h"
#include "check_report.h"
#include "explain.h"
#include "recipe.h"
#include "util.h"

/* "connect 0.2ms, send 1 0.0ms, expect 2 1.1ms": each timed step with its HAProxy number. */
void check_report_timings(const struct check_run *run, struct buf *b)
{
	static const char *const http_names[] = {"connect", "request", "response", "tls"};
	const struct recipe *r = run->recipe;
	const char *sep = "";
	size_t i;

	for (i = 0; i < run->ntimes; i++) {
		const struct check_timing *t = &run->times[i];
		int64_t us = check_timing_us(t);

		if (!t->start_us)
			continue;
		if (r->kind == RECIPE_HTTP)
			buf_printf(b, "%s%s", sep, i < ARRAY_SIZE(http_names) ? http_names[i] : "?");
		else if (i == 0)
			buf_printf(b, "%sconnect", sep);
		else
			buf_printf(b, "%s%s %zu", sep, step_type_str(r->steps[i - 1].type), i);
		if (us >= 0)
			buf_printf(b, " %.1fms", (double)us / 1000.0);
		else
			buf_printf(b, " (unfinished)");
		sep = ", ";
	}
}

static bool is_hex_upper(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

static int hexval(char c)
{
	return c <= '9' ? c - '0' : c - 'A' + 10;
}

/*
 * The literal bytes a regex starts with ("^HTTP/1\.[01]" gives "HTTP/1."; an rbinary "^050000(..."
 * gives 05 00 00), so a failed anchored regex can still point at the first differing byte.
 */
static size_t regex_literal(const char *re, bool hex, unsigned char *out, size_t outlen, bool *anchored)
{
	size_t n = 0;

	*anchored = *re == '^';
	if (*anchored)
		re++;
	while (*re && n < outlen) {
		if (hex) {
			if (!is_hex_upper(re[0]) || !is_hex_upper(re[1]) || (re[2] && strchr("*+?{", re[2])))
				break;
			out[n++] = (unsigned char)(hexval(re[0]) << 4 | hexval(re[1]));
			re += 2;
			continue;
		}
		if (*re == '\\') {
			if (!re[1] || isalnum((unsigned char)re[1]))
				break;
			if (re[2] && strchr("*+?{", re[2]))
				break;
			out[n++] = (unsigned char)re[1];
			re += 2;
			continue;
		}
		if (strchr(".[]()*+?{}|^$", *re) || (re[1] && strchr("*+?{", re[1])))
			break;
		out[n++] = (unsigned char)*re++;
	}
	return n;
}

/* Offset of the first differing byte: the alignment of exp in rx that matches the longest prefix. */
static size_t first_diff(const unsigned char *rx, size_t n, const unsigned char *exp, size_t elen, bool anchored)
{
	size_t best = 0, bestlen = 0, off, k;

	if (!elen)
		return (size_t)-1;
	for (off = 0; off < n; off++) {
		for (k = 0; k < elen && off + k < n && rx[off + k] == exp[k]; k++)
			;
		if (k > bestlen) {
			bestlen = k;
			best = off;
		}
		if (anchored)
			break;
	}
	if (bestlen == elen)
		return (size_t)-1; /* the literal part is there: the difference is in the regex's rest */
	return best + bestlen < n ? best + bestlen : (size_t)-1;
}

static const char *verdict_text(enum check_status st)
{
	switch (st) {
	case CHECK_L4CON:
		return "Layer 4: the connection was refused or the server is unreachable";
	case CHECK_L4TOUT:
		return "Layer 4: the connection did not complete before the deadline";
	case CHECK_SOCKERR:
		return "socket error: the connection broke before the server sent anything";
	case CHECK_L7TOUT:
		return "Layer 7: connected, but the expected answer did not arrive before the deadline";
	case CHECK_L7RSP:
		return "Layer 7: the server answered, but not what the recipe expects";
	case CHECK_L7STS:
		return "Layer 7: the HTTP status is not one the recipe accepts";
	case CHECK_L6RSP:
		return "Layer 6: the TLS handshake failed (the reason is in the message)";
	case CHECK_L6TOUT:
		return "Layer 6: the TLS handshake did not complete before the deadline";
	default:
		return check_status_desc(st);
	}
}

/* Overwrites every occurrence of needle in p with '*'. Values shorter than 4 bytes are left alone:
 * masking every "a" of an answer would hide it all and protect nothing. */
static void redact(unsigned char *p, size_t n, const void *needle, size_t nl)
{
	unsigned char *at;
	size_t off = 0;

	if (nl < 4)
		return;
	while (off < n && (at = memmem(p + off, n - off, needle, nl))) {
		memset(at, '*', nl);
		off = (size_t)(at - p) + nl;
	}
}

/* Redacts the value of every ${NAME} reference in s[0..len). */
static void redact_refs(unsigned char *p, size_t n, const char *s, size_t len)
{
	size_t i = 0;

	while (i + 3 < len) {
		const char *close;
		char name[256];
		size_t k;

		if (s[i] != '$' || s[i + 1] != '{' || !(close = memchr(s + i + 2, '}', len - i - 2))) {
			i++;
			continue;
		}
		k = (size_t)(close - (s + i + 2));
		if (k > 0 && k < sizeof(name)) {
			const char *v;

			memcpy(name, s + i + 2, k);
			name[k] = '\0';
			v = getenv(name);
			if (v)
				redact(p, n, v, strlen(v));
		}
		i += k + 3;
	}
}

/*
 * A server that mirrors the request (or a proxy error page quoting it) sends the credential back;
 * the failure report must not print it. Redacts, in p, the values of the ${NAME} references of the
 * secret steps and headers, and the literal payload of secret steps recorded without env.
 */
static void redact_secrets(const struct recipe *r, unsigned char *p, size_t n)
{
	size_t i;

	if (!r || !recipe_has_secret(r))
		return;
	for (i = 0; i < r->nsteps; i++) {
		const struct step *s = &r->steps[i];

		if (s->type != STEP_SEND || !s->secret)
			continue;
		if (s->env)
			redact_refs(p, n, (const char *)s->data, s->len);
		else
			redact(p, n, s->data, s->len);
	}
	for (i = 0; r->req.secret && i < r->req.nhdrs; i++) {
		const char *v = r->req.hdrs[i].value;

		if (r->req.env)
			redact_refs(p, n, v, strlen(v));
		else if (!strncasecmp(r->req.hdrs[i].name, "Proxy-Authorization", 19) ||
			 !strncasecmp(r->req.hdrs[i].name, "Authorization", 13))
			redact(p, n, v, strlen(v));
	}
}

void check_report_failure(const struct check_run *run, const struct recipe *loaded, const char *server,
			  struct buf *b)
{
	const struct check_result *res = &run->res;
	unsigned char lit[512];
	const unsigned char *exp = NULL;
	size_t elen = 0, mark = (size_t)-1;
	bool anchored = false;
	char esc[600], meaning[EXPLAIN_LEN];
	unsigned char *rx;

	buf_printf(b, "  server:   %s\n", server);
	buf_printf(b, "  step %d:%s %s%s%s%s\n", res->step, res->step < 10 ? "  " : " ", res->kind ? res->kind : "?",
		   res->step == 0 ? " (implicit, before the first rule)" : "", res->comment ? " - " : "",
		   res->comment ? res->comment : "");
	if (res->expected) {
		const char *kind = res->kind ? res->kind : "";

		check_str_escape(esc, sizeof(esc), res->expected, res->explen);
		if (strstr(kind, "expect binary")) {
			buf_printf(b, "  expected: %sbinary (hex) ", res->negate ? "NOT " : "");
			hex_encode(b, res->expected, MIN(res->explen, (size_t)256), false);
			buf_printf(b, "\n");
			exp = res->expected;
			elen = res->explen;
		} else {
			buf_printf(b, "  expected: %s%s '%s'\n", res->negate ? "NOT " : "",
				   strstr(kind, "rbinary") ? "regex over the UPPERCASE hex of the bytes" :
				   strstr(kind, "rstring") ? "regex" : strstr(kind, "status") ? "status" : "string", esc);
			if (strstr(kind, "rbinary") || strstr(kind, "rstring")) {
				elen = regex_literal((const char *)res->expected, strstr(kind, "rbinary") != NULL, lit,
						     sizeof(lit), &anchored);
				exp = lit;
			} else if (!strstr(kind, "status")) {
				exp = res->expected;
				elen = res->explen;
			}
		}
	}
	if (res->http_code)
		buf_printf(b, "  HTTP:     status %d\n", res->http_code);
	if (res->rx && res->rxlen) {
		if (res->negate && exp && elen) {
			const unsigned char *at = memmem(res->rx, res->rxlen, exp, elen);

			mark = at ? (size_t)(at - res->rx) : (size_t)-1;
		} else if (exp && elen) {
			mark = first_diff(res->rx, res->rxlen, exp, elen, anchored);
		}
		buf_printf(b, "  received: %zu bytes", res->rxtotal);
		if (res->rxtotal > res->rxlen)
			buf_printf(b, " (first %zu shown)", res->rxlen);
		if (mark != (size_t)-1)
			buf_printf(b, ", %s at offset %zu in [brackets]", res->negate ? "unwanted content" :
				   "first difference", mark);
		else if (!res->negate && exp && elen > res->rxlen && !memcmp(res->rx, exp, res->rxlen))
			buf_printf(b, ", the start of what was expected: the rest never arrived");
		buf_printf(b, "\n");
		rx = malloc(res->rxlen);
		if (rx) {
			memcpy(rx, res->rx, res->rxlen);
			redact_secrets(loaded, rx, res->rxlen);
			hexdump(b, rx, res->rxlen, mark, "    ");
			if (explain_reply(run->recipe ? run->recipe->protocol : NULL, rx, res->rxlen, meaning,
					  sizeof(meaning)))
				buf_printf(b, "  meaning:  %s\n", meaning);
			free(rx);
		} else {
			buf_printf(b, "    (out of memory)\n");
		}
	} else if (res->expected || res->status == CHECK_L7RSP || res->status == CHECK_L7TOUT) {
		buf_printf(b, "  received: nothing\n");
	}
	buf_printf(b, "  verdict:  %s (%s): %s\n", check_status_str(res->status), check_status_desc(res->status),
		   verdict_text(res->status));
}

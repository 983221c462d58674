/*
 * haproxy_import: read the checks of one `listen`/`backend` section of an HAProxy 2.6 configuration into
 * a recipe (docs/haproxy-semantics.md §2-§3). Lines are lexed exactly as HAProxy lexes them (haproxy_lex.c).
 *
 * What is imported: `option tcp-check` + `tcp-check connect|send|send-binary|expect|comment`, and
 * `option httpchk [[meth] uri [ver]]` (including the legacy "ver\r\nHdr: v" form) + `http-check
 * send|send-state|expect|comment` (haproxy_import_http.c). Everything whose meaning recheck cannot
 * reproduce (send-lf, set-var, name-lf, connect proto, ok-status L7OKC, a second http-check
 * send, other check options) is an error that names file:line and the keyword. A tcp-check expect's
 * error-status L7RSP/L7STS/L6RSP/L4CON is kept in the step (the status its failure reports); the other
 * error-status, tout-status and ok-status L7OK/L6OK/L4OK only change the reported status name, not
 * pass/fail: they are dropped and listed in the recipe's notes.
 * Sections, `defaults` inheritance and the built-in protocol checks are in haproxy_import_cfg.c.
 * `tcp-check connect ssl [sni N] [alpn L]` becomes a connect step and a tls step (verify: true; the
 * server line's verify/ca-file are not read here). `tcp-check connect addr IP[:PORT]` is the connect
 * step's addr; `via-socks4` takes the server line's `socks4` address (haproxy_import_cfg.c).
 */
#include "api.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "haproxy_import_priv.h"
#include "haproxy_lex.h"
#include "net.h"
#include "recipe.h"
#include "recipe_haproxy.h"
#include "util.h"

int haproxy_import_fail(struct imp *im, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset_err_at(im->err, im->errlen, im->file, im->line, fmt, ap);
	va_end(ap);
	return -1;
}

/* The word as a C string for messages (cut at the first NUL). */
const char *haproxy_import_ws(const struct haproxy_word *w)
{
	return (const char *)w->data;
}

static int parse_int(struct imp *im, const struct haproxy_word *w, const char *what, long lo, long hi,
                     int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(haproxy_import_ws(w), &end, 10);
	if (!w->len || *end || errno || v < lo || v > hi)
		return haproxy_import_fail(im, "%s expects an integer from %ld to %ld (got '%s')", what, lo,
		                           hi, haproxy_import_ws(w));
	*out = (int)v;
	return 0;
}

static int note(struct imp *im, const char *what, const struct haproxy_word *arg)
{
	return buf_printf(&im->notes, "%sdropped '%s %s' at line %d (it only changes the reported status)",
	                  im->notes.len ? "; " : "import: ", what, haproxy_import_ws(arg), im->line);
}

/* ok-status / error-status / tout-status: keep the pass/fail meaning or refuse. */
static int status_opt(struct imp *im, const struct haproxy_word *kw, const struct haproxy_word *arg)
{
	if (!arg)
		return haproxy_import_fail(im, "'%s' expects a status", haproxy_import_ws(kw));
	if (haproxy_word_is(kw, "error-status") && !strcasecmp(haproxy_import_ws(arg), "L7OKC"))
		return haproxy_import_fail(im, "'error-status L7OKC' (a failure that counts as a conditional success) "
		                           "is not supported by recheck");
	if (haproxy_word_is(kw, "ok-status") && strcasecmp(haproxy_import_ws(arg), "L7OK") &&
	    strcasecmp(haproxy_import_ws(arg), "L6OK") && strcasecmp(haproxy_import_ws(arg), "L4OK"))
		return haproxy_import_fail(im,
		                           "'ok-status %s' (conditional success) is not supported by recheck",
		                           haproxy_import_ws(arg));
	if (note(im, haproxy_import_ws(kw), arg) == -1)
		return haproxy_import_fail(im, "out of memory");
	return 0;
}

int haproxy_import_set_comment(struct imp *im, char **dst, const struct haproxy_word *w)
{
	if (recipe_set_str(dst, haproxy_import_ws(w)) == -1)
		return haproxy_import_fail(im, "out of memory");
	return 0;
}

/* Gives the pending `comment` rule text to a rule of type t that has none of its own. */
int haproxy_import_take_pending(struct imp *im, int t, char **dst)
{
	if (!im->pending)
		return 0;
	if (im->pending_type == -1)
		im->pending_type = t;
	if (im->pending_type != t) {
		free(im->pending);
		im->pending = NULL;
		return 0;
	}
	if (!*dst && recipe_set_str(dst, im->pending) == -1)
		return haproxy_import_fail(im, "out of memory");
	return 0;
}

int haproxy_import_env_ok(struct imp *im, const struct haproxy_word *w, bool allowed)
{
	if (w->env && !allowed)
		return haproxy_import_fail(
		        im, "${NAME} references are only supported in send data and header values");
	if (w->env && w->literal_dollar_brace)
		return haproxy_import_fail(
		        im, "a literal '${' (written \\${) cannot be mixed with ${NAME} references");
	return 0;
}

/* ---- tcp-check ------------------------------------------------------------------------------------- */

/* A word that becomes a C string of the recipe (sni, alpn): no NUL, no ${NAME}. */
static int import_str(struct imp *im, const struct haproxy_word *w, const char *what, char **out)
{
	if (w->env)
		return haproxy_import_fail(im, "tcp-check connect: %s cannot hold ${NAME} references", what);
	if (!w->data[0] || strlen((const char *)w->data) != w->len)
		return haproxy_import_fail(im, "tcp-check connect: %s must be a non-empty name", what);
	return recipe_set_str(out, (const char *)w->data) == -1 ? haproxy_import_fail(im, "out of memory") : 0;
}

/* A new step of type t, at the current line; NULL after reporting when the recipe is full. */
static struct step *tcp_step(struct imp *im, enum step_type t)
{
	struct step *s = recipe_add_step(im->r, t);

	if (!s) {
		haproxy_import_fail(im, "too many steps (at most %d)", RECIPE_MAX_STEPS);
		return NULL;
	}
	s->line = im->line;
	return s;
}

/*
 * The options of a `tcp-check connect` / `http-check connect` rule (kw names it in messages) into the
 * connect s and, for `ssl [sni N] [alpn L]`, into tls and *ssl; *dflt for `default`. 0, or -1 reported.
 */
int haproxy_import_connect_opts(struct imp *im, const struct haproxy_line *l, const char *kw, struct step *s,
                                struct step_tls *tls, bool *ssl, bool *dflt)
{
	size_t i;

	for (i = 2; i < l->n; i++) {
		const struct haproxy_word *w = &l->w[i];

		/* "connect ssl [sni N] [alpn L]": TLS right after connect, verified as the server line says
		 * (HAProxy's default is verify required; verify/ca-file live on server lines) */
		if (haproxy_word_is(w, "ssl")) {
			*ssl = true;
		} else if ((haproxy_word_is(w, "sni") || haproxy_word_is(w, "alpn")) && i + 1 < l->n) {
			bool sni = haproxy_word_is(w, "sni");

			if (import_str(im, &l->w[++i], sni ? "sni" : "alpn", sni ? &tls->sni : &tls->alpn) == -1)
				return -1;
		} else if (haproxy_word_is(w, "port") && i + 1 < l->n) {
			char what[64];

			if (!isdigit(l->w[i + 1].data[0]))
				return haproxy_import_fail(im, "%s: port expressions are not supported (got '%s')", kw,
				                           haproxy_import_ws(&l->w[i + 1]));
			snprintf(what, sizeof(what), "%s port", kw);
			if (parse_int(im, &l->w[++i], what, 1, 65535, &s->port) == -1)
				return -1;
		} else if (haproxy_word_is(w, "addr") && i + 1 < l->n) {
			char why[ERR_LEN];

			if (net_parse_ip(haproxy_import_ws(&l->w[++i]), false, &s->addr, &s->addrlen, why, sizeof(why)) == -1)
				return haproxy_import_fail(im, "%s addr: %s", kw, why);
		} else if (haproxy_word_is(w, "via-socks4")) {
			/* the server line's socks4 address, once the walk has seen it (haproxy_import_cfg.c) */
			s->socks4len = HAPROXY_IMPORT_VIA_SOCKS4;
		} else if (haproxy_word_is(w, "send-proxy")) {
			s->send_proxy = HAPROXY_IMPORT_SERVER_PP;
		} else if (haproxy_word_is(w, "linger")) {
			s->linger = true;
		} else if (haproxy_word_is(w, "default")) {
			/* the server line's check settings apply to it (haproxy_import_cfg.c) */
			*dflt = true;
		} else if (haproxy_word_is(w, "comment") && i + 1 < l->n) {
			if (haproxy_import_set_comment(im, &s->comment, &l->w[++i]) == -1)
				return -1;
		} else {
			return haproxy_import_fail(im, "%s: option '%s' is not supported by recheck (only port, addr, "
			                           "via-socks4, send-proxy, linger, default, ssl, sni, alpn and comment)",
			                           kw, haproxy_import_ws(w));
		}
	}
	if (!*ssl && (tls->sni || tls->alpn))
		return haproxy_import_fail(im, "%s: sni and alpn only apply with ssl", kw);
	return 0;
}

static int tcp_connect(struct imp *im, const struct haproxy_line *l)
{
	struct step *s = tcp_step(im, STEP_CONNECT);
	struct step_tls tls = {.verify = true};
	bool ssl = false, dflt = false;
	int rc;

	if (!s)
		return -1;
	if (haproxy_import_connect_opts(im, l, "tcp-check connect", s, &tls, &ssl, &dflt) == -1)
		goto fail;
	if (dflt) {
		/* its TLS is applied after the walk (haproxy_import_cfg.c) */
		if (im->nconn_default == ARRAY_SIZE(im->conn_default)) {
			haproxy_import_fail(im, "tcp-check connect default: at most %zu such rules",
			                    ARRAY_SIZE(im->conn_default));
			goto fail;
		}
		im->conn_default[im->nconn_default++] = (int)(s - im->r->steps);
	}
	rc = haproxy_import_take_pending(im, STEP_CONNECT, &s->comment);
	if (rc == -1 || !ssl)
		goto out;
	s = tcp_step(im, STEP_TLS);
	if (!s)
		goto fail;
	s->tls = tls;
	return 0;
fail:
	rc = -1;
out:
	step_tls_clear(&tls);
	return rc;
}

static int tcp_send(struct imp *im, const struct haproxy_line *l, bool binary)
{
	const char *kw = binary ? "send-binary" : "send";
	struct step *s;
	char why[ERR_LEN];
	size_t i;

	if (l->n < 3 || (!binary && !l->w[2].data[0]))
		return haproxy_import_fail(im, "tcp-check %s expects %s", kw,
		                           binary ? "a hex string" : "a non-empty string");
	if (haproxy_import_env_ok(im, &l->w[2], !binary) == -1)
		return -1;
	s = tcp_step(im, STEP_SEND);
	if (!s)
		return -1;
	s->binary = binary;
	s->env = l->w[2].env;
	if (binary) {
		unsigned char *bytes;
		size_t n;

		if (hex_decode(haproxy_import_ws(&l->w[2]), l->w[2].len, &bytes, &n, why, sizeof(why)) == -1)
			return haproxy_import_fail(im, "tcp-check send-binary: %s", why);
		if (n == 0) {
			free(bytes);
			return haproxy_import_fail(im, "tcp-check send-binary expects a hex string");
		}
		free(s->data);
		s->data = bytes;
		s->len = n;
	} else if (step_set_data(s, l->w[2].data, strlen(haproxy_import_ws(&l->w[2]))) == -1) {
		/* HAProxy keeps the argument as a C string: everything from a NUL on is lost (§2.3) */
		return haproxy_import_fail(im, "out of memory");
	}
	for (i = 3; i < l->n; i++) {
		if (haproxy_word_is(&l->w[i], "comment") && i + 1 < l->n) {
			if (haproxy_import_set_comment(im, &s->comment, &l->w[++i]) == -1)
				return -1;
		} else {
			return haproxy_import_fail(
			        im,
			        "tcp-check %s: unexpected '%s' (only 'comment <msg>' may follow the data)",
			        kw, haproxy_import_ws(&l->w[i]));
		}
	}
	return haproxy_import_take_pending(im, STEP_SEND, &s->comment);
}

static const struct haproxy_import_match tcp_matches[] = {
        {"string", EXPECT_STRING},
        {"binary", EXPECT_BINARY},
        {"rstring", EXPECT_RSTRING},
        {"rbinary", EXPECT_RBINARY},
};

/*
 * The options shared by tcp-check and http-check expect. Returns 1 when w[*i] was one of them (and
 * advances *i past its argument), 0 when not, -1 on error.
 */
int haproxy_import_expect_opt(struct imp *im, const struct haproxy_line *l, size_t *i, int *min_recv,
                              char **comment, char *error_status)
{
	const struct haproxy_word *w = &l->w[*i], *arg = *i + 1 < l->n ? &l->w[*i + 1] : NULL;

	if (haproxy_word_is(w, "min-recv")) {
		if (!arg)
			return haproxy_import_fail(im, "'min-recv' expects an integer");
		if (parse_int(im, arg, "min-recv", -1, INT_MAX, min_recv) == -1)
			return -1;
	} else if (haproxy_word_is(w, "comment")) {
		if (!arg)
			return haproxy_import_fail(im, "'comment' expects a message");
		if (haproxy_import_set_comment(im, comment, arg) == -1)
			return -1;
	} else if (error_status && haproxy_word_is(w, "error-status") && arg &&
	           (!strcasecmp(haproxy_import_ws(arg), "L7RSP") || !strcasecmp(haproxy_import_ws(arg), "L7STS") ||
	            !strcasecmp(haproxy_import_ws(arg), "L6RSP") || !strcasecmp(haproxy_import_ws(arg), "L4CON"))) {
		/* tcp-check: the status a failure reports, kept in the step */
		size_t k;

		for (k = 0; k < 5; k++)
			error_status[k] = (char)toupper((unsigned char)haproxy_import_ws(arg)[k]);
		error_status[5] = '\0';
	} else if (haproxy_word_is(w, "ok-status") || haproxy_word_is(w, "error-status") ||
	           haproxy_word_is(w, "tout-status")) {
		if (status_opt(im, w, arg) == -1)
			return -1;
	} else if (haproxy_word_is(w, "on-success") || haproxy_word_is(w, "on-error") ||
	           haproxy_word_is(w, "status-code")) {
		return haproxy_import_fail(im, "expect option '%s' is not supported by recheck",
		                           haproxy_import_ws(w));
	} else {
		return 0;
	}
	(*i)++;
	return 1;
}

/* Counts and strips leading '!' of w[*i] ('!string' or '! string'). Returns the match word or NULL. */
const char *haproxy_import_negations(const struct haproxy_line *l, size_t *i, bool *negate, bool *any)
{
	const char *p;

	*any = false;
	for (;;) {
		p = haproxy_import_ws(&l->w[*i]);
		while (*p == '!') {
			*negate = !*negate;
			*any = true;
			p++;
		}
		if (*p)
			return p;
		if (++*i >= l->n)
			return NULL;
	}
}

const struct haproxy_import_match *haproxy_import_expect_match(struct imp *im, const struct haproxy_line *l,
                                                               size_t *i, const char *rule,
                                                               const struct haproxy_import_match *matches,
                                                               size_t n, const char *supported, bool *have,
                                                               bool *negate)
{
	const char *kw;
	bool bang;
	size_t k;

	kw = haproxy_import_negations(l, i, negate, &bang);
	if (!kw) {
		haproxy_import_fail(im, "%s expect: '!' must be followed by a match keyword", rule);
		return NULL;
	}
	for (k = 0; k < n && strcmp(kw, matches[k].kw); k++)
		;
	if (k == n && bang) {
		haproxy_import_fail(im, "%s expect: '!' must be followed by a match keyword, not '%s'", rule, kw);
		return NULL;
	}
	if (k == n) {
		haproxy_import_fail(im, "%s expect: '%s' is not supported by recheck (expected min-recv, comment, [!] %s)",
		                    rule, kw, supported);
		return NULL;
	}
	if (*have) {
		haproxy_import_fail(im, "%s expect: only one pattern expected", rule);
		return NULL;
	}
	if (*i + 1 >= l->n) {
		haproxy_import_fail(im, "%s expect %s expects a pattern", rule, kw);
		return NULL;
	}
	*have = true;
	return &matches[k];
}

static int tcp_expect(struct imp *im, const struct haproxy_line *l)
{
	struct step *s = tcp_step(im, STEP_EXPECT);
	const struct haproxy_import_match *mt;
	bool have = false, negate = false;
	char why[ERR_LEN];
	size_t i;
	int rc;

	if (!s)
		return -1;
	for (i = 2; i < l->n; i++) {
		rc = haproxy_import_expect_opt(im, l, &i, &s->min_recv, &s->comment, s->error_status);
		if (rc == -1)
			return -1;
		if (rc == 1)
			continue;
		mt = haproxy_import_expect_match(im, l, &i, "tcp-check", tcp_matches, ARRAY_SIZE(tcp_matches),
		                                 "string, binary, rstring or rbinary", &have, &negate);
		if (!mt)
			return -1;
		s->match = (enum expect_match)mt->m;
		s->negate = negate;
		i++;
		if (haproxy_import_env_ok(im, &l->w[i], false) == -1)
			return -1;
		if (s->match == EXPECT_BINARY) {
			unsigned char *bytes;
			size_t n;

			if (hex_decode(haproxy_import_ws(&l->w[i]), strlen(haproxy_import_ws(&l->w[i])),
			               &bytes, &n, why, sizeof(why)) == -1)
				return haproxy_import_fail(im, "tcp-check expect binary: %s", why);
			free(s->data);
			s->data = bytes;
			s->len = n;
		} else if (step_set_data(s, l->w[i].data, strlen(haproxy_import_ws(&l->w[i]))) == -1) {
			return haproxy_import_fail(im, "out of memory");
		}
	}
	if (!have)
		return haproxy_import_fail(
		        im,
		        "tcp-check expect needs a match: [!] string, binary, rstring or rbinary <pattern>");
	if (!s->len)
		return haproxy_import_fail(im, "tcp-check expect %s: the pattern is empty",
		                           expect_match_str(s->match));
	return haproxy_import_take_pending(im, STEP_EXPECT, &s->comment);
}

int haproxy_import_comment(struct imp *im, const struct haproxy_line *l, const char *kw)
{
	if (l->n != 3)
		return haproxy_import_fail(im, "%s comment expects exactly one argument (quote or escape spaces)", kw);
	free(im->pending);
	im->pending = strdup(haproxy_import_ws(&l->w[2]));
	im->pending_type = -1;
	return im->pending ? 0 : haproxy_import_fail(im, "out of memory");
}

int haproxy_import_tcp_line(struct imp *im, const struct haproxy_line *l)
{
	const struct haproxy_word *kw = l->n > 1 ? &l->w[1] : NULL;

	im->step++;
	if (!kw)
		return haproxy_import_fail(im, "tcp-check expects a keyword");
	if (haproxy_word_is(kw, "comment"))
		return haproxy_import_comment(im, l, "tcp-check");
	if (haproxy_word_is(kw, "connect"))
		return tcp_connect(im, l);
	if (haproxy_word_is(kw, "send"))
		return tcp_send(im, l, false);
	if (haproxy_word_is(kw, "send-binary"))
		return tcp_send(im, l, true);
	if (haproxy_word_is(kw, "expect"))
		return tcp_expect(im, l);
	return haproxy_import_fail(
	        im,
	        "tcp-check step %d: '%s' is not supported by recheck (only connect, send, send-binary, "
	        "expect and comment)",
	        im->step, haproxy_import_ws(kw));
}


/*
 * haproxy_import_http: `option httpchk` (including the legacy "ver\r\nHdr: v" form) and `http-check
 * send|send-state|expect|comment` lines into an HTTP recipe (docs/haproxy-semantics.md §3). See
 * haproxy_import.c.
 */
#include "api.h"

#include <stdlib.h>
#include <string.h>

#include "haproxy_import_priv.h"
#include "recipe.h"
#include "util.h"

static void clear_hdrs(struct http_req *q)
{
	size_t i;

	for (i = 0; i < q->nhdrs; i++) {
		free(q->hdrs[i].name);
		free(q->hdrs[i].value);
	}
	free(q->hdrs);
	q->hdrs = NULL;
	q->nhdrs = 0;
}

/*
 * hdr values are log-format strings: "%%" is a literal '%', any other '%' a run-time tag.
 * `option httpchk` and `http-check send` are merged into one request, and HAProxy 2.6 keeps the
 * header list of whichever of the two lines comes later, when that line has headers at all (it
 * replaces the list, it does not append to it); a later line without headers keeps the earlier list.
 */
static int add_hdr(struct imp *im, const char *name, size_t namelen, const unsigned char *v, size_t vlen,
                   bool env)
{
	char *n = xstrndup(name, namelen), *val = malloc(vlen + 1);
	size_t i, o = 0;
	int rc = -1;

	if (!n || !val) {
		haproxy_import_fail(im, "out of memory");
		goto out;
	}
	if (im->hdr_line != im->line) {
		clear_hdrs(&im->r->req);
		im->r->req.env = false;
		im->hdr_line = im->line;
	}
	for (i = 0; i < vlen; i++) {
		if (v[i] == '%') {
			if (i + 1 >= vlen || v[i + 1] != '%') {
				haproxy_import_fail(im,
				                    "header '%s': log-format tags ('%%...') are not "
				                    "supported; write '%%%%' for a "
				                    "literal '%%'",
				                    n);
				goto out;
			}
			i++;
		}
		val[o++] = (char)v[i];
	}
	val[o] = '\0';
	if (!recipe_add_hdr(im->r, n, val)) {
		haproxy_import_fail(im, "too many headers");
		goto out;
	}
	if (env)
		im->r->req.env = true;
	rc = 0;
out:
	free(n);
	free(val);
	return rc;
}

/* The legacy "ver\r\nName: value\r\n...\r\n\r\nbody" argument of option httpchk. */
static int legacy_version(struct imp *im, const struct haproxy_word *w)
{
	const char *p = haproxy_import_ws(w), *end = p + strlen(p), *eol;

	eol = strstr(p, "\r\n");
	if (recipe_set_str(&im->r->req.version, NULL) == -1 ||
	    !(im->r->req.version = xstrndup(p, (eol ? eol : end) - p)))
		return haproxy_import_fail(im, "out of memory");
	while (eol) {
		const char *line = eol + 2, *colon, *v;

		eol = strstr(line, "\r\n");
		if (line == eol || line == end) {
			/* an empty line: the rest is the body */
			const char *body = eol ? eol + 2 : end;

			if (body < end) {
				free(im->r->req.body);
				im->r->req.body = (unsigned char *)xstrndup(body, (size_t)(end - body));
				if (!im->r->req.body)
					return haproxy_import_fail(im, "out of memory");
				im->r->req.bodylen = (size_t)(end - body);
			}
			return 0;
		}
		colon = memchr(line, ':', (size_t)((eol ? eol : end) - line));
		if (!colon || colon == line)
			return haproxy_import_fail(im, "option httpchk: header line '%.*s' has no 'name:'",
			                           (int)((eol ? eol : end) - line), line);
		for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
			;
		if (add_hdr(im, line, (size_t)(colon - line), (const unsigned char *)v,
		            (size_t)((eol ? eol : end) - v), w->env) == -1)
			return -1;
	}
	return 0;
}

int haproxy_import_httpchk_option(struct imp *im, const struct haproxy_line *l)
{
	struct http_req *q = &im->r->req;
	size_t n = l->n - 2, i;

	q->line = im->line;
	for (i = 2; i < l->n; i++)
		if (haproxy_import_env_ok(im, &l->w[i], i == 4) == -1)
			return -1;
	if (!im->http_send_seen) {
		/* a later `option httpchk` replaces the earlier one's request as a whole */
		clear_hdrs(q);
		free(q->method);
		free(q->uri);
		free(q->version);
		free(q->body);
		q->method = q->uri = q->version = NULL;
		q->body = NULL;
		q->bodylen = 0;
		q->env = false;
	}
	if (n > 3)
		return haproxy_import_fail(im,
		                           "option httpchk takes at most 3 arguments (method, uri, version)");
	if (n == 1)
		return recipe_set_str(&q->uri, haproxy_import_ws(&l->w[2]))
		               ? haproxy_import_fail(im, "out of memory")
		               : 0;
	if (n >= 2 && (recipe_set_str(&q->method, haproxy_import_ws(&l->w[2])) ||
	               recipe_set_str(&q->uri, haproxy_import_ws(&l->w[3]))))
		return haproxy_import_fail(im, "out of memory");
	if (n == 3)
		return legacy_version(im, &l->w[4]);
	return 0;
}

static int http_send(struct imp *im, const struct haproxy_line *l)
{
	struct http_req *q = &im->r->req;
	size_t i;

	if (im->http_send_seen)
		return haproxy_import_fail(
		        im, "a second 'http-check send': recheck supports one request per check");
	im->http_send_seen = true;
	q->line = im->line;
	for (i = 2; i < l->n; i++) {
		const struct haproxy_word *w = &l->w[i], *a = i + 1 < l->n ? &l->w[i + 1] : NULL;
		char **dst = NULL;

		if (haproxy_word_is(w, "meth"))
			dst = &q->method;
		else if (haproxy_word_is(w, "uri"))
			dst = &q->uri;
		else if (haproxy_word_is(w, "ver"))
			dst = &q->version;
		else if (haproxy_word_is(w, "comment"))
			dst = &q->comment;
		if (dst || haproxy_word_is(w, "body")) {
			if (!a)
				return haproxy_import_fail(im, "http-check send: '%s' expects an argument",
				                           haproxy_import_ws(w));
			if (haproxy_import_env_ok(im, a, false) == -1)
				return -1;
			if (dst && recipe_set_str(dst, haproxy_import_ws(a)) == -1)
				return haproxy_import_fail(im, "out of memory");
			if (!dst) {
				free(q->body);
				q->bodylen = strlen(haproxy_import_ws(a));
				q->body = (unsigned char *)xstrndup(haproxy_import_ws(a), q->bodylen);
				if (!q->body)
					return haproxy_import_fail(im, "out of memory");
			}
			i++;
		} else if (haproxy_word_is(w, "hdr")) {
			/* HAProxy tests !*args[]: an empty word ("") is missing too */
			if (i + 2 >= l->n || !haproxy_import_ws(&l->w[i + 1])[0] ||
			    !haproxy_import_ws(&l->w[i + 2])[0])
				return haproxy_import_fail(
				        im, "http-check send: 'hdr' expects a name and a value");
			if (haproxy_import_env_ok(im, &l->w[i + 1], false) == -1 ||
			    haproxy_import_env_ok(im, &l->w[i + 2], true) == -1)
				return -1;
			if (add_hdr(im, haproxy_import_ws(&l->w[i + 1]),
			            strlen(haproxy_import_ws(&l->w[i + 1])), l->w[i + 2].data,
			            strlen(haproxy_import_ws(&l->w[i + 2])), l->w[i + 2].env) == -1)
				return -1;
			i += 2;
		} else {
			return haproxy_import_fail(im,
			                           "http-check send: '%s' is not supported by recheck (only "
			                           "meth, uri, ver, hdr, "
			                           "body and comment)",
			                           haproxy_import_ws(w));
		}
	}
	return haproxy_import_take_pending(im, 100, &q->comment);
}

static const struct haproxy_import_match http_matches[] = {
        {"status", HEXP_STATUS},
        {"rstatus", HEXP_RSTATUS},
        {"string", HEXP_STRING},
        {"rstring", HEXP_RSTRING},
        {"hdr", HEXP_HDR},
        {"fhdr", HEXP_HDR},
};

/* Reads "[-m METH] PATTERN" at l->w[*i] for hdr's name or value (what names the part). */
static int hdr_part(struct imp *im, const struct haproxy_line *l, size_t *i, const char *what, enum hdr_match *m,
                    char **pat, size_t *len)
{
	if (*i < l->n && haproxy_word_is(&l->w[*i], "-m")) {
		if (*i + 1 >= l->n || hdr_match_parse(haproxy_import_ws(&l->w[*i + 1]), m) == -1)
			return haproxy_import_fail(im, "http-check expect hdr: %s -m expects str, beg, end, sub or reg",
			                           what);
		*i += 2;
	}
	if (*i >= l->n)
		return haproxy_import_fail(im, "http-check expect hdr: %s expects a pattern", what);
	if (haproxy_import_env_ok(im, &l->w[*i], false) == -1)
		return -1;
	*len = strlen(haproxy_import_ws(&l->w[*i]));
	*pat = xstrndup(haproxy_import_ws(&l->w[*i]), *len);
	if (!*pat)
		return haproxy_import_fail(im, "out of memory");
	return 0;
}

/*
 * hdr|fhdr name [-m M] NAME [value [-m M] VALUE], l->w[*i] at hdr/fhdr (fhdr: the whole value). The log-format forms
 * (name-lf, value-lf) are refused like every other log-format expression.
 */
static int hdr_expect(struct imp *im, const struct haproxy_line *l, size_t *i, struct http_expect *e)
{
	e->full = haproxy_word_is(&l->w[*i], "fhdr");
	for (++*i; *i < l->n; ++*i) {
		const struct haproxy_word *w = &l->w[*i];

		if (haproxy_word_is(w, "name") && !e->pattern) {
			++*i;
			if (hdr_part(im, l, i, "name", &e->name_m, &e->pattern, &e->len) == -1)
				return -1;
		} else if (haproxy_word_is(w, "value") && e->pattern && !e->value) {
			++*i;
			if (hdr_part(im, l, i, "value", &e->value_m, &e->value, &e->vlen) == -1)
				return -1;
		} else if (haproxy_word_is(w, "name-lf") || haproxy_word_is(w, "value-lf")) {
			return haproxy_import_fail(im, "http-check expect hdr: '%s' (a log-format expression) is not "
			                           "supported by recheck", haproxy_import_ws(w));
		} else {
			break;
		}
	}
	--*i;
	if (!e->pattern)
		return haproxy_import_fail(im, "http-check expect hdr: 'name' expects a header name");
	return 0;
}

static int http_expect(struct imp *im, const struct haproxy_line *l)
{
	struct http_expect *e = recipe_add_hexpect(im->r, HEXP_STATUS);
	const struct haproxy_import_match *mt;
	bool have = false, negate = false;
	size_t i;
	int rc;

	if (!e)
		return haproxy_import_fail(im, "too many expects");
	e->line = im->line;
	for (i = 2; i < l->n; i++) {
		rc = haproxy_import_expect_opt(im, l, &i, &e->min_recv, &e->comment, NULL);
		if (rc == -1)
			return -1;
		if (rc == 1)
			continue;
		mt = haproxy_import_expect_match(im, l, &i, "http-check", http_matches, ARRAY_SIZE(http_matches),
		                                 "status, rstatus, string, rstring, hdr or fhdr", &have, &negate);
		if (!mt)
			return -1;
		e->match = (enum http_expect_match)mt->m;
		e->negate = negate;
		if (e->match == HEXP_HDR) {
			if (hdr_expect(im, l, &i, e) == -1)
				return -1;
			continue;
		}
		i++;
		if (haproxy_import_env_ok(im, &l->w[i], false) == -1)
			return -1;
		e->len = strlen(haproxy_import_ws(&l->w[i]));
		e->pattern = xstrndup(haproxy_import_ws(&l->w[i]), e->len);
		if (!e->pattern)
			return haproxy_import_fail(im, "out of memory");
	}
	if (!have)
		return haproxy_import_fail(
		        im,
		        "http-check expect needs a match: [!] status, rstatus, string, rstring <pattern> or hdr name ...");
	return haproxy_import_take_pending(im, 101, &e->comment);
}

/*
 * `http-check connect [default] [port N] [addr IP[:PORT]] [via-socks4] [send-proxy] [linger] [ssl [sni N]
 * [alpn L]]`: the recipe's one connection. It must come first: a recipe has one exchange. The server line's
 * port/addr apply where the rule has none; its TLS, socks4 and PROXY header only with `default`
 * (haproxy_import_cfg.c).
 */
static int http_connect(struct imp *im, const struct haproxy_line *l)
{
	struct recipe *r = im->r;
	struct step_tls tls = {.verify = true};
	bool ssl = false, dflt = false;

	if (r->conn || im->step != 1)
		return haproxy_import_fail(im, "http-check connect: only as the first http-check rule (an HTTP recipe "
		                           "has one connection and one exchange)");
	if (!(r->conn = recipe_new_connect(NULL)))
		return haproxy_import_fail(im, "out of memory");
	if (haproxy_import_connect_opts(im, l, "http-check connect", r->conn, &tls, &ssl, &dflt) == -1)
		goto fail;
	im->http_conn_explicit = !dflt;
	if (ssl) {
		if (!(r->tls = calloc(1, sizeof(*r->tls)))) {
			haproxy_import_fail(im, "out of memory");
			goto fail;
		}
		*r->tls = tls; /* the recipe owns sni/alpn now */
		return 0;
	}
	step_tls_clear(&tls);
	return 0;
fail:
	step_tls_clear(&tls);
	return -1;
}

int haproxy_import_http_line(struct imp *im, const struct haproxy_line *l)
{
	const struct haproxy_word *kw = l->n > 1 ? &l->w[1] : NULL;

	if (kw && haproxy_word_is(kw, "send-state")) {
		/* a proxy option (PR_O2_CHK_SNDST), not a rule: it does not count as a step */
		if (l->n > 2)
			return haproxy_import_fail(im, "http-check send-state takes no argument");
		im->r->req.send_state = true;
		return 0;
	}
	im->step++;
	if (!kw)
		return haproxy_import_fail(im, "http-check expects a keyword");
	if (haproxy_word_is(kw, "comment"))
		return haproxy_import_comment(im, l, "http-check");
	if (haproxy_word_is(kw, "send"))
		return http_send(im, l);
	if (haproxy_word_is(kw, "expect"))
		return http_expect(im, l);
	if (haproxy_word_is(kw, "connect"))
		return http_connect(im, l);

	return haproxy_import_fail(
	        im, "http-check step %d: '%s' is not supported by recheck (only connect, send, expect and comment)",
	        im->step, haproxy_import_ws(kw));
}

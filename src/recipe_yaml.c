/*
 * recipe_yaml: the YAML loader (the emitter is in recipe_yaml_emit.c). The schema is in docs/recipe.md.
 *
 * Loading runs in two passes. ytree_read() reads libyaml's events into a small capped tree of our own
 * (depth, node count, no anchors, aliases or tags, every node's line:column); this file walks that tree
 * against the schema. Every error is "NAME:LINE:COLUMN: reason" with 1-based positions taken from
 * libyaml's marks.
 */
#include "api.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "net.h"
#include "recipe.h"
#include "recipe_yaml.h"
#include "util.h"
#include "ytree.h"

/* ---- pass 2: the schema ----------------------------------------------------------------------------- */

static const char *type_name(const struct ynode *n)
{
	if (ytree_is_null(n))
		return "nothing (null)";
	switch (n->type) {
	case YN_SCALAR: return "a scalar";
	case YN_MAP:    return "a mapping";
	case YN_SEQ:    return "a list";
	}
	return "?";
}

/* "'abc'", "the quoted string \"true\"", "a mapping": what a value of the wrong type holds, for messages. */
static const char *got(const struct ynode *n, char *out, size_t outlen)
{
	if (n->type != YN_SCALAR || ytree_is_null(n))
		snprintf(out, outlen, "%s", type_name(n));
	else if (!n->plain)
		snprintf(out, outlen, "the quoted string \"%.40s\"; write it without quotes", n->val);
	else
		snprintf(out, outlen, "'%.40s'", n->val);
	return out;
}

/* Every key must be a plain string from allowed (NULL-terminated), and appear once. */
static int check_keys(struct ysink *l, const struct ynode *m, const char *const *allowed, const char *ctx)
{
	char list[256];
	size_t i, j, off = 0;

	list[0] = '\0';
	for (j = 0; allowed[j] && off < sizeof(list); j++)
		off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s", j ? ", " : "", allowed[j]);
	for (i = 0; i + 1 < m->nkids; i += 2) {
		const struct ynode *k = m->kids[i];

		if (k->type != YN_SCALAR || strlen(k->val) != k->len)
			return YERR(l, k, "%s: keys must be plain names", ctx);
		for (j = 0; allowed[j]; j++)
			if (!strcmp(k->val, allowed[j]))
				break;
		if (!allowed[j])
			return YERR(l, k, "%s: unknown key '%s' (expected one of: %s)", ctx, k->val, list);
		for (j = 0; j < i; j += 2)
			if (!strcmp(m->kids[j]->val, k->val))
				return YERR(l, k, "%s: duplicate key '%s' (first at line %d)", ctx, k->val,
					    m->kids[j]->line);
	}
	return 0;
}

/* A string value: any non-null scalar, bytes as written (may hold NUL). */
static int get_bytes(struct ysink *l, const struct ynode *n, const char *ctx, const char *key, char **out,
		     size_t *len)
{
	char *p;

	if (n->type != YN_SCALAR || ytree_is_null(n))
		return YERR(l, n, "%s: '%s' must be a string, not %s", ctx, key, type_name(n));
	p = malloc(n->len + 1);
	if (!p)
		return YERR(l, n, "out of memory");
	memcpy(p, n->val, n->len + 1);
	free(*out);
	*out = p;
	if (len)
		*len = n->len;
	return 0;
}

/* The same into a byte payload (struct step data, a request body). */
static int get_payload(struct ysink *l, const struct ynode *n, const char *ctx, const char *key,
		       unsigned char **out, size_t *len)
{
	char *p = NULL;

	if (get_bytes(l, n, ctx, key, &p, len) == -1)
		return -1;
	free(*out);
	*out = (unsigned char *)p;
	return 0;
}

/* A string that is used as a C string: no NUL inside. */
static int get_str(struct ysink *l, const struct ynode *n, const char *ctx, const char *key, char **out)
{
	if (n->type == YN_SCALAR && strlen(n->val) != n->len)
		return YERR(l, n, "%s: '%s' cannot contain a NUL byte", ctx, key);
	return get_bytes(l, n, ctx, key, out, NULL);
}

static int get_bool(struct ysink *l, const struct ynode *n, const char *ctx, const char *key, bool *out)
{
	char what[128];

	if (n->type == YN_SCALAR && n->plain) {
		if (!strcmp(n->val, "true") || !strcmp(n->val, "True") || !strcmp(n->val, "TRUE")) {
			*out = true;
			return 0;
		}
		if (!strcmp(n->val, "false") || !strcmp(n->val, "False") || !strcmp(n->val, "FALSE")) {
			*out = false;
			return 0;
		}
	}
	return YERR(l, n, "%s: '%s' must be true or false (got %s)", ctx, key, got(n, what, sizeof(what)));
}

static int get_int(struct ysink *l, const struct ynode *n, const char *ctx, const char *key, long lo, long hi,
		   int *out)
{
	char what[128], *end;
	const char *p;
	long v;

	if (n->type != YN_SCALAR || !n->plain || ytree_is_null(n))
		goto bad;
	p = n->val;
	if (*p == '+' || *p == '-')
		p++;
	if (*p < '0' || *p > '9')
		goto bad;
	errno = 0;
	v = strtol(n->val, &end, 10);
	if (*end || errno == ERANGE || v < lo || v > hi)
		goto bad;
	*out = (int)v;
	return 0;
bad:
	return YERR(l, n, "%s: '%s' must be an integer from %ld to %ld (got %s)", ctx, key, lo, hi,
		    got(n, what, sizeof(what)));
}

/* Hex digits into bytes; odd length and stray characters are caught here, with the key's position. */
/* addr / socks4 of a connect: an IP address (no name lookup), with a port (need_port) or an optional one. */
static int get_ip(struct ysink *l, const struct ynode *n, const char *ctx, const char *key, bool need_port,
		  struct sockaddr_storage *ss, socklen_t *len)
{
	char *text = NULL, why[ERR_LEN];
	int rc;

	if (get_str(l, n, ctx, key, &text) == -1)
		return -1;
	rc = net_parse_ip(text, need_port, ss, len, why, sizeof(why));
	free(text);
	if (rc == -1)
		return YERR(l, n, "%s: '%s': %s", ctx, key, why);
	return 0;
}

static int get_hex(struct ysink *l, const struct ynode *n, const char *ctx, const char *key,
		   unsigned char **out, size_t *len)
{
	char why[ERR_LEN];
	unsigned char *p;
	size_t plen;

	if (n->type != YN_SCALAR || ytree_is_null(n))
		return YERR(l, n, "%s: '%s' must be a string of hex digits, not %s", ctx, key, type_name(n));
	if (hex_decode(n->val, n->len, &p, &plen, why, sizeof(why)) == -1)
		return YERR(l, n, "%s: '%s': %s", ctx, key, why);
	free(*out);
	*out = p;
	*len = plen;
	return 0;
}

static const struct ynode *want_map(struct ysink *l, const struct ynode *n, const char *ctx, const char *key)
{
	if (n->type != YN_MAP) {
		YERR(l, n, "%s: '%s' must be a mapping ({key: value, ...}), not %s", ctx, key, type_name(n));
		return NULL;
	}
	return n;
}

static const char *const step_keys[] = {"connect", "send", "send-binary", "expect", "tls", "comment", "env",
					 "secret", NULL};
static const char *const tls_keys[] = {"sni", "verify", "alpn", "ca", NULL};
static const char *const connect_keys[] = {"port", "linger", "addr", "socks4", "send_proxy", NULL};
static const char *const expect_keys[] = {"string", "binary", "rstring", "rbinary", "min-recv", "negate",
					  "error-status", NULL};

static int load_expect_opts(struct ysink *l, const struct ynode *m, const char *ctx, int *min_recv, bool *negate)
{
	const struct ynode *v;

	if ((v = ytree_get(m, "min-recv")) && get_int(l, v, ctx, "min-recv", -1, INT_MAX, min_recv) == -1)
		return -1;
	if ((v = ytree_get(m, "negate")) && get_bool(l, v, ctx, "negate", negate) == -1)
		return -1;
	return 0;
}

/* tls: {sni: NAME, verify: true|false, alpn: [h2, http/1.1], ca: FILE}; null means all defaults. */
static int load_tls(struct ysink *l, const struct ynode *m, const char *ctx, struct step_tls *t)
{
	const struct ynode *v;
	char *one = NULL;
	struct buf list;
	size_t i;

	t->verify = true;
	if (ytree_is_null(m))
		return 0;
	if (!want_map(l, m, ctx, "tls") || check_keys(l, m, tls_keys, ctx) == -1)
		return -1;
	if ((v = ytree_get(m, "sni")) && get_str(l, v, ctx, "sni", &t->sni) == -1)
		return -1;
	if ((v = ytree_get(m, "verify")) && get_bool(l, v, ctx, "verify", &t->verify) == -1)
		return -1;
	if ((v = ytree_get(m, "ca")) && get_str(l, v, ctx, "ca", &t->ca) == -1)
		return -1;
	if (!(v = ytree_get(m, "alpn")) || ytree_is_null(v))
		return 0;
	if (v->type == YN_SCALAR)
		return get_str(l, v, ctx, "alpn", &t->alpn);
	if (v->type != YN_SEQ || v->nkids == 0)
		return YERR(l, v, "%s: 'alpn' must be a list of protocol names like [h2, http/1.1], not %s", ctx,
			    v->type == YN_SEQ ? "an empty list" : type_name(v));
	buf_init(&list, 256);
	for (i = 0; i < v->nkids; i++) {
		if (get_str(l, v->kids[i], ctx, "alpn", &one) == -1)
			goto fail;
		if (!*one) {
			YERR(l, v->kids[i], "%s: alpn: a protocol name cannot be empty", ctx);
			goto fail;
		}
		if (strchr(one, ',')) {
			YERR(l, v->kids[i], "%s: alpn: '%s' is one protocol name and cannot contain a comma", ctx, one);
			goto fail;
		}
		if ((i && buf_putc(&list, ',') == -1) || buf_append_str(&list, one) == -1) {
			YERR(l, v->kids[i], "%s: alpn: the list is longer than 255 bytes", ctx);
			goto fail;
		}
	}
	free(one);
	free(t->alpn);
	t->alpn = buf_steal(&list, NULL);
	if (!t->alpn)
		return YERR(l, v, "out of memory");
	return 0;
fail:
	free(one);
	buf_free(&list);
	return -1;
}

/* connect: {port: N, linger: BOOL, addr: IP[:PORT], socks4: IP:PORT, send_proxy: v1|v2}: a connect step, or
 * an HTTP recipe's. */
static int load_connect(struct ysink *l, const struct ynode *m, const char *ctx, struct step *s)
{
	const struct ynode *v;

	if (ytree_is_null(m))
		return 0; /* "connect:" with nothing after it reads as "connect: {}" */
	if (!want_map(l, m, ctx, "connect") || check_keys(l, m, connect_keys, ctx) == -1)
		return -1;
	if ((v = ytree_get(m, "port")) && get_int(l, v, ctx, "port", 1, 65535, &s->port) == -1)
		return -1;
	if ((v = ytree_get(m, "linger")) && get_bool(l, v, ctx, "linger", &s->linger) == -1)
		return -1;
	if ((v = ytree_get(m, "addr")) && get_ip(l, v, ctx, "addr", false, &s->addr, &s->addrlen) == -1)
		return -1;
	if ((v = ytree_get(m, "socks4")) && get_ip(l, v, ctx, "socks4", true, &s->socks4, &s->socks4len) == -1)
		return -1;
	if ((v = ytree_get(m, "send_proxy"))) {
		/* the names of recheckd's server setting send_proxy (runner/conf.c) */
		if (v->type != YN_SCALAR || (strcmp(v->val, "v1") && strcmp(v->val, "v2")))
			return YERR(l, v, "%s: 'send_proxy' must be v1 or v2 (the PROXY protocol version)", ctx);
		s->send_proxy = v->val[1] - '0';
	}
	return 0;
}

static int load_step(struct ysink *l, struct recipe *r, const struct ynode *m, size_t idx)
{
	static const char *const actions[] = {"connect", "send", "send-binary", "expect", "tls"};
	const struct ynode *act = NULL, *v;
	const char *aname = NULL;
	char ctx[64];
	struct step *s;
	size_t i;

	snprintf(ctx, sizeof(ctx), "step %zu", idx + 1);
	if (m->type != YN_MAP)
		return YERR(l, m, "%s: a step is a mapping with one of connect, send, send-binary, expect, tls (got %s)",
			    ctx, type_name(m));
	if (check_keys(l, m, step_keys, ctx) == -1)
		return -1;
	for (i = 0; i < ARRAY_SIZE(actions); i++) {
		if (!(v = ytree_get(m, actions[i])))
			continue;
		if (act)
			return YERR(l, ytree_key_of(m, v), "%s: a step has exactly one action, but has both '%s' and '%s'",
				    ctx, aname, actions[i]);
		act = v;
		aname = actions[i];
	}
	if (!act)
		return YERR(l, m, "%s: no action: a step needs one of connect, send, send-binary, expect, tls", ctx);
	if (!strcmp(aname, "connect"))
		s = recipe_add_step(r, STEP_CONNECT);
	else if (!strcmp(aname, "tls"))
		s = recipe_add_step(r, STEP_TLS);
	else if (!strcmp(aname, "expect"))
		s = recipe_add_step(r, STEP_EXPECT);
	else
		s = recipe_add_step(r, STEP_SEND);
	if (!s)
		return YERR(l, m, "%s: more than %d steps", ctx, RECIPE_MAX_STEPS);
	s->line = m->line;
	if ((v = ytree_get(m, "comment")) && get_str(l, v, ctx, "comment", &s->comment) == -1)
		return -1;
	if (s->type != STEP_SEND) {
		if ((v = ytree_get(m, "env")) || (v = ytree_get(m, "secret")))
			return YERR(l, ytree_key_of(m, v), "%s: '%s' only applies to send and send-binary steps", ctx,
				    ytree_key_of(m, v)->val);
	} else {
		if ((v = ytree_get(m, "env")) && get_bool(l, v, ctx, "env", &s->env) == -1)
			return -1;
		if ((v = ytree_get(m, "secret")) && get_bool(l, v, ctx, "secret", &s->secret) == -1)
			return -1;
	}

	switch (s->type) {
	case STEP_TLS:
		return load_tls(l, act, ctx, &s->tls);
	case STEP_CONNECT:
		return load_connect(l, act, ctx, s);
	case STEP_SEND:
		if (!strcmp(aname, "send-binary")) {
			s->binary = true;
			return get_hex(l, act, ctx, "send-binary", &s->data, &s->len);
		}
		return get_payload(l, act, ctx, "send", &s->data, &s->len);
	case STEP_EXPECT: {
		static const struct {
			const char *key;
			enum expect_match m;
		} kinds[] = {
			{"string", EXPECT_STRING}, {"binary", EXPECT_BINARY},
			{"rstring", EXPECT_RSTRING}, {"rbinary", EXPECT_RBINARY},
		};
		const struct ynode *pat = NULL;
		const char *pname = NULL;

		if (!want_map(l, act, ctx, "expect") || check_keys(l, act, expect_keys, ctx) == -1)
			return -1;
		for (i = 0; i < ARRAY_SIZE(kinds); i++) {
			if (!(v = ytree_get(act, kinds[i].key)))
				continue;
			if (pat)
				return YERR(l, ytree_key_of(act, v), "%s: expect has both '%s' and '%s' (one match per expect)",
					    ctx, pname, kinds[i].key);
			pat = v;
			pname = kinds[i].key;
			s->match = kinds[i].m;
		}
		if (!pat)
			return YERR(l, act, "%s: expect needs one of string, binary, rstring, rbinary", ctx);
		if (load_expect_opts(l, act, ctx, &s->min_recv, &s->negate) == -1)
			return -1;
		if ((v = ytree_get(act, "error-status"))) {
			char *st = NULL;

			if (get_str(l, v, ctx, "error-status", &st) == -1)
				return -1;
			if (strcmp(st, "L7RSP") && strcmp(st, "L7STS") && strcmp(st, "L6RSP") && strcmp(st, "L4CON")) {
				free(st);
				return YERR(l, v, "%s: error-status: expected L7RSP, L7STS, L6RSP or L4CON", ctx);
			}
			snprintf(s->error_status, sizeof(s->error_status), "%s", st);
			free(st);
		}
		if (s->match == EXPECT_BINARY)
			return get_hex(l, pat, ctx, "binary", &s->data, &s->len);
		return get_payload(l, pat, ctx, pname, &s->data, &s->len);
	}
	}
	return 0;
}

static const char *const req_keys[] = {"method", "uri", "version", "headers", "body", "env", "secret", "send-state",
					"comment", NULL};
static const char *const hdr_keys[] = {"name", "value", NULL};
static const char *const hexp_keys[] = {"status", "rstatus", "string", "rstring", "hdr", "name-match", "value",
					 "value-match", "full", "negate", "min-recv", "comment", NULL};

/* hdr: NAME [name-match: M] [value: V] [value-match: M] [full: true] (http-check expect hdr / fhdr) */
static int load_hdr_opts(struct ysink *l, const struct ynode *m, const char *ctx, struct http_expect *e)
{
	const struct ynode *v;
	char *s = NULL;
	int rc = 0;

	if (e->match != HEXP_HDR) {
		static const char *const only[] = {"name-match", "value", "value-match", "full"};
		size_t k;

		for (k = 0; k < ARRAY_SIZE(only); k++)
			if ((v = ytree_get(m, only[k])))
				return YERR(l, ytree_key_of(m, v), "%s: '%s' goes with 'hdr' only", ctx, only[k]);
		return 0;
	}
	if ((v = ytree_get(m, "name-match"))) {
		if (get_str(l, v, ctx, "name-match", &s) == -1)
			return -1;
		if (hdr_match_parse(s, &e->name_m) == -1)
			rc = YERR(l, v, "%s: name-match must be str, beg, end, sub or reg, not '%s'", ctx, s);
		free(s);
		s = NULL;
		if (rc == -1)
			return -1;
	}
	if ((v = ytree_get(m, "value-match"))) {
		if (get_str(l, v, ctx, "value-match", &s) == -1)
			return -1;
		if (hdr_match_parse(s, &e->value_m) == -1)
			rc = YERR(l, v, "%s: value-match must be str, beg, end, sub or reg, not '%s'", ctx, s);
		free(s);
		if (rc == -1)
			return -1;
		if (!ytree_get(m, "value"))
			return YERR(l, v, "%s: value-match needs a 'value'", ctx);
	}
	if ((v = ytree_get(m, "value")) && get_bytes(l, v, ctx, "value", &e->value, &e->vlen) == -1)
		return -1;
	if ((v = ytree_get(m, "full")) && get_bool(l, v, ctx, "full", &e->full) == -1)
		return -1;
	return 0;
}

static int load_request(struct ysink *l, struct recipe *r, const struct ynode *m)
{
	const char *ctx = "request";
	const struct ynode *v;
	size_t i;

	if (!want_map(l, m, "recipe", "request") || check_keys(l, m, req_keys, ctx) == -1)
		return -1;
	r->req.line = m->line;
	if ((v = ytree_get(m, "method")) && get_str(l, v, ctx, "method", &r->req.method) == -1)
		return -1;
	if ((v = ytree_get(m, "uri")) && get_str(l, v, ctx, "uri", &r->req.uri) == -1)
		return -1;
	if ((v = ytree_get(m, "version")) && get_str(l, v, ctx, "version", &r->req.version) == -1)
		return -1;
	if ((v = ytree_get(m, "body")) && get_payload(l, v, ctx, "body", &r->req.body, &r->req.bodylen) == -1)
		return -1;
	if ((v = ytree_get(m, "env")) && get_bool(l, v, ctx, "env", &r->req.env) == -1)
		return -1;
	if ((v = ytree_get(m, "secret")) && get_bool(l, v, ctx, "secret", &r->req.secret) == -1)
		return -1;
	if ((v = ytree_get(m, "send-state")) && get_bool(l, v, ctx, "send-state", &r->req.send_state) == -1)
		return -1;
	if ((v = ytree_get(m, "comment")) && get_str(l, v, ctx, "comment", &r->req.comment) == -1)
		return -1;
	if (!(v = ytree_get(m, "headers")) || ytree_is_null(v))
		return 0;
	if (v->type != YN_SEQ)
		return YERR(l, v, "request: 'headers' must be a list of {name: ..., value: ...}, not %s", type_name(v));
	for (i = 0; i < v->nkids; i++) {
		const struct ynode *h = v->kids[i], *hn, *hv;
		char hctx[64];
		char *name = NULL, *value = NULL;
		int rc;

		snprintf(hctx, sizeof(hctx), "request header %zu", i + 1);
		if (!want_map(l, h, hctx, "header") || check_keys(l, h, hdr_keys, hctx) == -1)
			return -1;
		if (!(hn = ytree_get(h, "name")) || !(hv = ytree_get(h, "value")))
			return YERR(l, h, "%s: a header needs both 'name' and 'value'", hctx);
		rc = get_str(l, hn, hctx, "name", &name);
		if (rc == 0)
			rc = get_str(l, hv, hctx, "value", &value);
		if (rc == 0 && !recipe_add_hdr(r, name, value))
			rc = YERR(l, h, "%s: out of memory or more than %d headers", hctx, RECIPE_MAX_STEPS);
		free(name);
		free(value);
		if (rc == -1)
			return -1;
	}
	return 0;
}

static int load_hexpects(struct ysink *l, struct recipe *r, const struct ynode *seq)
{
	static const struct {
		const char *key;
		enum http_expect_match m;
	} kinds[] = {
		{"status", HEXP_STATUS}, {"rstatus", HEXP_RSTATUS}, {"string", HEXP_STRING}, {"rstring", HEXP_RSTRING},
		{"hdr", HEXP_HDR},
	};
	size_t i, k;

	if (ytree_is_null(seq))
		return 0;
	if (seq->type != YN_SEQ)
		return YERR(l, seq, "'expect' must be a list of {status: ...} / {rstring: ...} mappings, not %s",
			    type_name(seq));
	for (i = 0; i < seq->nkids; i++) {
		const struct ynode *m = seq->kids[i], *pat = NULL, *v;
		const char *pname = NULL;
		struct http_expect *e;
		char ctx[64];

		snprintf(ctx, sizeof(ctx), "expect %zu", i + 1);
		if (!want_map(l, m, ctx, "expect") || check_keys(l, m, hexp_keys, ctx) == -1)
			return -1;
		for (k = 0; k < ARRAY_SIZE(kinds); k++) {
			if (!(v = ytree_get(m, kinds[k].key)))
				continue;
			if (pat)
				return YERR(l, ytree_key_of(m, v), "%s: expect has both '%s' and '%s' (one match per expect)",
					    ctx, pname, kinds[k].key);
			pat = v;
			pname = kinds[k].key;
		}
		if (!pat)
			return YERR(l, m, "%s: expect needs one of status, rstatus, string, rstring, hdr", ctx);
		for (k = 0; strcmp(kinds[k].key, pname); k++)
			;
		e = recipe_add_hexpect(r, kinds[k].m);
		if (!e)
			return YERR(l, m, "%s: out of memory or more than %d expects", ctx, RECIPE_MAX_STEPS);
		e->line = m->line;
		if (get_bytes(l, pat, ctx, pname, &e->pattern, &e->len) == -1)
			return -1;
		if (load_expect_opts(l, m, ctx, &e->min_recv, &e->negate) == -1)
			return -1;
		if (load_hdr_opts(l, m, ctx, e) == -1)
			return -1;
		if ((v = ytree_get(m, "comment")) && get_str(l, v, ctx, "comment", &e->comment) == -1)
			return -1;
	}
	return 0;
}

static const char *const top_keys[] = {"version", "name", "protocol", "recorded_from", "recorded_at", "notes",
					"kind", "steps", "request", "expect", "tls", "connect", NULL};

/*
 * Turns recipe_compile()'s "step N (line L): reason" (or "expect N (line L)", "request (line L)") into
 * "NAME:L:C: step N: reason", placed at the step's node; other messages go at the 'steps' key.
 */
static void compile_error(struct ysink *l, const struct ynode *root, const char *why)
{
	const struct ynode *seq, *at;
	size_t idx = 0;
	int line, used = 0;

	if (sscanf(why, "step %zu (line %d): %n", &idx, &line, &used) == 2 && used > 0) {
		seq = ytree_get(root, "steps");
		at = seq && seq->type == YN_SEQ && idx >= 1 && idx <= seq->nkids ? seq->kids[idx - 1] : root;
		yerr_at(l, at->line, at->col, "step %zu: %s", idx, why + used);
	} else if (sscanf(why, "expect %zu (line %d): %n", &idx, &line, &used) == 2 && used > 0) {
		seq = ytree_get(root, "expect");
		at = seq && seq->type == YN_SEQ && idx >= 1 && idx <= seq->nkids ? seq->kids[idx - 1] : root;
		yerr_at(l, at->line, at->col, "expect %zu: %s", idx, why + used);
	} else if (sscanf(why, "request (line %d): %n", &line, &used) == 1 && used > 0) {
		at = ytree_get(root, "request");
		yerr_at(l, at ? at->line : 1, at ? at->col : 1, "request: %s", why + used);
	} else {
		at = ytree_get(root, "steps");
		at = at ? ytree_key_of(root, at) : root;
		YERR(l, at, "%s", why);
	}
}

static struct recipe *load_root(struct ysink *l, const struct ynode *root)
{
	static const struct {
		const char *key;
		size_t off;
	} meta[] = {
		{"name", offsetof(struct recipe, name)},
		{"protocol", offsetof(struct recipe, protocol)},
		{"recorded_from", offsetof(struct recipe, recorded_from)},
		{"recorded_at", offsetof(struct recipe, recorded_at)},
		{"notes", offsetof(struct recipe, notes)},
	};
	const struct ynode *v, *steps, *req, *hexp, *tls, *conn;
	char why[ERR_LEN];
	struct recipe *r = NULL;
	enum recipe_kind kind = RECIPE_TCP;
	size_t i;

	/* before the keys: a file without 'version' is most likely not a recipe at all */
	if (!(v = ytree_get(root, "version"))) {
		YERR(l, root, "'version' is missing: this is not a recipe (a recipe starts with 'version: 1')");
		return NULL;
	}
	if (check_keys(l, root, top_keys, "recipe") == -1)
		return NULL;
	if (v->type != YN_SCALAR || !v->plain || strcmp(v->val, "1")) {
		char what[128];

		YERR(l, v, "'version' must be 1, the only recipe version this recheck reads (got %s)",
		     got(v, what, sizeof(what)));
		return NULL;
	}
	if ((v = ytree_get(root, "kind"))) {
		if (v->type == YN_SCALAR && !strcmp(v->val, "tcp"))
			kind = RECIPE_TCP;
		else if (v->type == YN_SCALAR && !strcmp(v->val, "http"))
			kind = RECIPE_HTTP;
		else {
			YERR(l, v, "'kind' must be tcp or http (got %s%s%s)", v->type == YN_SCALAR ? "'" : "",
			     v->type == YN_SCALAR ? v->val : type_name(v), v->type == YN_SCALAR ? "'" : "");
			return NULL;
		}
	}
	r = recipe_new(kind);
	if (!r) {
		YERR(l, root, "out of memory");
		return NULL;
	}
	for (i = 0; i < ARRAY_SIZE(meta); i++)
		if ((v = ytree_get(root, meta[i].key)) &&
		    get_str(l, v, "recipe", meta[i].key, (char **)((char *)r + meta[i].off)) == -1)
			goto fail;
	steps = ytree_get(root, "steps");
	req = ytree_get(root, "request");
	hexp = ytree_get(root, "expect");
	tls = ytree_get(root, "tls");
	conn = ytree_get(root, "connect");
	if (kind == RECIPE_TCP) {
		if (req || hexp || tls || conn) {
			v = ytree_key_of(root, req ? req : hexp ? hexp : tls ? tls : conn);
			if (tls && v == ytree_key_of(root, tls)) {
				YERR(l, v, "'tls' at the top level belongs to HTTP recipes (add 'kind: http'); tcp recipes "
				     "start TLS with a '- tls: {...}' step");
				goto fail;
			}
			if (conn && v == ytree_key_of(root, conn)) {
				YERR(l, v, "'connect' at the top level belongs to HTTP recipes (add 'kind: http'); tcp "
				     "recipes connect with a '- connect: {...}' step");
				goto fail;
			}
			YERR(l, v, "'%s' belongs to HTTP recipes (add 'kind: http'); tcp recipes use 'steps'", v->val);
			goto fail;
		}
		if (!steps) {
			YERR(l, root, "'steps' is missing (a tcp recipe is a list of connect/send/expect steps)");
			goto fail;
		}
		if (steps->type != YN_SEQ && !ytree_is_null(steps)) {
			YERR(l, steps, "'steps' must be a list, not %s", type_name(steps));
			goto fail;
		}
		if (steps->type == YN_SEQ && steps->nkids > RECIPE_MAX_STEPS) {
			YERR(l, steps->kids[RECIPE_MAX_STEPS], "more than %d steps", RECIPE_MAX_STEPS);
			goto fail;
		}
		for (i = 0; steps->type == YN_SEQ && i < steps->nkids; i++)
			if (load_step(l, r, steps->kids[i], i) == -1)
				goto fail;
	} else {
		if (steps) {
			YERR(l, ytree_key_of(root, steps), "'steps' belongs to tcp recipes; HTTP recipes use 'request' "
			     "and 'expect'");
			goto fail;
		}
		if (tls) {
			r->tls = calloc(1, sizeof(*r->tls));
			if (!r->tls) {
				YERR(l, tls, "out of memory");
				goto fail;
			}
			if (load_tls(l, tls, "tls", r->tls) == -1)
				goto fail;
		}
		if (conn) {
			if (!(r->conn = recipe_new_connect(NULL))) {
				YERR(l, conn, "out of memory");
				goto fail;
			}
			r->conn->line = conn->line;
			if (load_connect(l, conn, "connect", r->conn) == -1)
				goto fail;
		}
		if (req && load_request(l, r, req) == -1)
			goto fail;
		if (hexp && load_hexpects(l, r, hexp) == -1)
			goto fail;
	}
	if (recipe_compile(r, why, sizeof(why)) == -1) {
		compile_error(l, root, why);
		goto fail;
	}
	return r;
fail:
	recipe_free(r);
	return NULL;
}

/* RECIPE_MAX_STEPS steps of a dozen nodes each, with room to spare. */
static const struct ytree_kind recipe_kind = {"recipe", "recipes", "a recipe starts with 'version: 1'", 100000};

struct recipe *recipe_load_mem(const char *text, size_t len, const char *name, char *err, size_t errlen)
{
	struct ysink l = {.name = name ? name : "<recipe>", .err = err, .errlen = errlen};
	struct ynode *root;
	struct recipe *r;

	if (len > RECIPE_YAML_MAX_FILE) {
		set_err(err, errlen, "%s: %zu bytes is more than the %u-byte limit for a recipe", l.name, len,
			RECIPE_YAML_MAX_FILE);
		return NULL;
	}
	root = ytree_read(text, len, l.name, &recipe_kind, err, errlen);
	if (!root)
		return NULL;
	if (root->type != YN_MAP) {
		YERR(&l, root, "a recipe is a YAML mapping (starting with 'version: 1')");
		ytree_free(root);
		return NULL;
	}
	r = load_root(&l, root);
	ytree_free(root);
	if (r && name && recipe_set_str(&r->file, name) == -1) {
		set_err(err, errlen, "%s: out of memory", l.name);
		recipe_free(r);
		return NULL;
	}
	return r;
}

struct recipe *recipe_load_file(const char *path, char *err, size_t errlen)
{
	struct recipe *r;
	char *text;
	size_t len;

	if (read_file(path, RECIPE_YAML_MAX_FILE, &text, &len, err, errlen) == -1)
		return NULL;
	r = recipe_load_mem(text, len, path, err, errlen);
	free(text);
	return r;
}

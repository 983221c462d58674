/*
 * recipe: the recipe model's operations (see recipe.h): building and freeing, the names of step kinds
 * and matches, validation and compilation (recipe_compile: regexes, HTTP status lists, TLS options),
 * deep copies and ${NAME} references filled from the environment. Loading and writing are elsewhere:
 * recipe_yaml*.c (YAML), recipe_haproxy.c and haproxy_import*.c (HAProxy lines).
 */
#include "api.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "recipe.h"
#include "regex.h"
#include "tls.h"
#include "util.h"

struct recipe *recipe_new(enum recipe_kind kind)
{
	struct recipe *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->kind = kind;
	return r;
}

void step_tls_clear(struct step_tls *t)
{
	free(t->sni);
	free(t->alpn);
	free(t->ca);
	tls_ctx_unref(t->ctx);
	memset(t, 0, sizeof(*t));
}

int step_tls_copy(struct step_tls *dst, const struct step_tls *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->verify = src->verify;
	if (recipe_set_str(&dst->sni, src->sni) || recipe_set_str(&dst->alpn, src->alpn) ||
	    recipe_set_str(&dst->ca, src->ca)) {
		step_tls_clear(dst);
		return -1;
	}
	/* the context is immutable once built: copies share it */
	dst->ctx = tls_ctx_ref(src->ctx);
	return 0;
}

static void step_clear(struct step *s)
{
	free(s->comment);
	free(s->data);
	rx_free(s->rx);
	step_tls_clear(&s->tls);
}

struct step *recipe_new_connect(const struct step *from)
{
	struct step *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->type = STEP_CONNECT;
	if (from) {
		/* a connect step owns nothing but its comment; an HTTP recipe's connect carries none */
		c->port = from->port;
		c->linger = from->linger;
		c->addr = from->addr;
		c->addrlen = from->addrlen;
		c->socks4 = from->socks4;
		c->socks4len = from->socks4len;
		c->send_proxy = from->send_proxy;
		c->line = from->line;
	}
	c->min_recv = -1;
	return c;
}

static void hexpect_clear(struct http_expect *e)
{
	free(e->pattern);
	free(e->comment);
	rx_free(e->rx);
	free(e->value);
	rx_free(e->vrx);
}

void recipe_free(struct recipe *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->nsteps; i++)
		step_clear(&r->steps[i]);
	free(r->steps);
	for (i = 0; i < r->req.nhdrs; i++) {
		free(r->req.hdrs[i].name);
		free(r->req.hdrs[i].value);
	}
	free(r->req.hdrs);
	free(r->req.method);
	free(r->req.uri);
	free(r->req.version);
	free(r->req.body);
	free(r->req.comment);
	for (i = 0; i < r->nhexp; i++)
		hexpect_clear(&r->hexp[i]);
	free(r->hexp);
	if (r->tls) {
		step_tls_clear(r->tls);
		free(r->tls);
	}
	if (r->conn) {
		step_clear(r->conn);
		free(r->conn);
	}
	free(r->name);
	free(r->protocol);
	free(r->recorded_from);
	free(r->recorded_at);
	free(r->notes);
	free(r->file);
	free(r);
}

struct step *recipe_add_step(struct recipe *r, enum step_type type)
{
	struct step *steps, *s;

	if (r->nsteps >= RECIPE_MAX_STEPS)
		return NULL;
	steps = realloc(r->steps, (r->nsteps + 1) * sizeof(*steps));
	if (!steps)
		return NULL;
	r->steps = steps;
	s = &steps[r->nsteps++];
	memset(s, 0, sizeof(*s));
	s->type = type;
	s->min_recv = -1;
	return s;
}

struct http_hdr *recipe_add_hdr(struct recipe *r, const char *name, const char *value)
{
	struct http_hdr *hdrs, *h;

	if (r->req.nhdrs >= RECIPE_MAX_STEPS)
		return NULL;
	hdrs = realloc(r->req.hdrs, (r->req.nhdrs + 1) * sizeof(*hdrs));
	if (!hdrs)
		return NULL;
	r->req.hdrs = hdrs;
	h = &hdrs[r->req.nhdrs];
	h->name = strdup(name);
	h->value = strdup(value);
	if (!h->name || !h->value) {
		free(h->name);
		free(h->value);
		return NULL;
	}
	r->req.nhdrs++;
	return h;
}

struct http_expect *recipe_add_hexpect(struct recipe *r, enum http_expect_match match)
{
	struct http_expect *v, *e;

	if (r->nhexp >= RECIPE_MAX_STEPS)
		return NULL;
	v = realloc(r->hexp, (r->nhexp + 1) * sizeof(*v));
	if (!v)
		return NULL;
	r->hexp = v;
	e = &v[r->nhexp++];
	memset(e, 0, sizeof(*e));
	e->match = match;
	e->min_recv = -1;
	return e;
}

int step_set_data(struct step *s, const void *p, size_t n)
{
	unsigned char *d = malloc(n + 1);

	if (!d)
		return -1;
	if (n)
		memcpy(d, p, n);
	d[n] = '\0';
	free(s->data);
	s->data = d;
	s->len = n;
	return 0;
}

int recipe_set_str(char **dst, const char *src)
{
	char *p = NULL;

	if (src) {
		p = strdup(src);
		if (!p)
			return -1;
	}
	free(*dst);
	*dst = p;
	return 0;
}

const char *step_type_str(enum step_type t)
{
	switch (t) {
	case STEP_CONNECT: return "connect";
	case STEP_SEND:    return "send";
	case STEP_EXPECT:  return "expect";
	case STEP_TLS:     return "tls";
	}
	return "?";
}

const char *expect_match_str(enum expect_match m)
{
	switch (m) {
	case EXPECT_STRING:  return "string";
	case EXPECT_BINARY:  return "binary";
	case EXPECT_RSTRING: return "rstring";
	case EXPECT_RBINARY: return "rbinary";
	}
	return "?";
}

const char *http_expect_match_str(enum http_expect_match m)
{
	switch (m) {
	case HEXP_STATUS:  return "status";
	case HEXP_RSTATUS: return "rstatus";
	case HEXP_STRING:  return "string";
	case HEXP_RSTRING: return "rstring";
	case HEXP_HDR:     return "hdr";
	}
	return "?";
}

const char *hdr_match_str(enum hdr_match m)
{
	switch (m) {
	case HDRM_STR: return "str";
	case HDRM_BEG: return "beg";
	case HDRM_END: return "end";
	case HDRM_SUB: return "sub";
	case HDRM_REG: return "reg";
	}
	return "?";
}

int hdr_match_parse(const char *s, enum hdr_match *m)
{
	static const enum hdr_match all[] = {HDRM_STR, HDRM_BEG, HDRM_END, HDRM_SUB, HDRM_REG};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(all); i++) {
		if (!strcmp(s, hdr_match_str(all[i]))) {
			*m = all[i];
			return 0;
		}
	}
	return -1;
}

int http_status_in_list(const char *list, int code)
{
	const char *p = list;
	int found = 0;

	if (!*p)
		return -1;
	for (;;) {
		long lo, hi;
		char *end;

		if (!isdigit((unsigned char)*p))
			return -1;
		lo = strtol(p, &end, 10);
		hi = lo;
		p = end;
		if (*p == '-') {
			p++;
			if (!isdigit((unsigned char)*p))
				return -1;
			hi = strtol(p, &end, 10);
			p = end;
		}
		if (lo < 100 || hi > 999 || lo > hi)
			return -1;
		if (code >= lo && code <= hi)
			found = 1;
		if (*p == '\0')
			return found;
		if (*p != ',')
			return -1;
		p++;
	}
}

/* "step N (line L)" or "step N", for the start of validation messages. */
static const char *where(char *out, size_t outlen, size_t idx, int line)
{
	if (line > 0)
		snprintf(out, outlen, "step %zu (line %d)", idx + 1, line);
	else
		snprintf(out, outlen, "step %zu", idx + 1);
	return out;
}

/* "expect N (line L)" or "expect N", for HTTP expects. */
static const char *hwhere(char *out, size_t outlen, size_t idx, int line)
{
	if (line > 0)
		snprintf(out, outlen, "expect %zu (line %d)", idx + 1, line);
	else
		snprintf(out, outlen, "expect %zu", idx + 1);
	return out;
}

/* Checks ${NAME} references: every '${' must close and name a valid variable. */
static int check_env_refs(const char *p, size_t len, char *err, size_t errlen, const char *at)
{
	size_t i, j;

	for (i = 0; i + 1 < len; i++) {
		if (p[i] != '$' || p[i + 1] != '{')
			continue;
		for (j = i + 2; j < len && p[j] != '}'; j++) {
			if (!(isalnum((unsigned char)p[j]) || p[j] == '_')) {
				set_err(err, errlen, "%s: environment reference at offset %zu is not ${NAME} "
					"(NAME is letters, digits and '_')", at, i);
				return -1;
			}
		}
		if (j >= len || j == i + 2 || isdigit((unsigned char)p[i + 2])) {
			set_err(err, errlen, "%s: environment reference at offset %zu is not ${NAME}", at, i);
			return -1;
		}
		i = j;
	}
	return 0;
}

/* A host name or address: printable, no blanks, DNS-sized. */
static bool sni_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 253)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f || *s == '/' || *s == '"' || *s == '\\')
			return false;
	return true;
}

/* An ALPN list as HAProxy's check-alpn takes it: comma-separated names of 1-255 printable bytes. */
static bool alpn_ok(const char *s)
{
	size_t n = 0;

	if (!*s || strlen(s) > 255)
		return false;
	for (; *s; s++) {
		if (*s == ',') {
			if (n == 0)
				return false;
			n = 0;
			continue;
		}
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return false;
		n++;
	}
	return n > 0;
}

int step_tls_check(const struct step_tls *t, const char *at, char *err, size_t errlen)
{
	if (t->sni && !sni_ok(t->sni)) {
		set_err(err, errlen, "%s: tls: sni '%s' is not a host name (1-253 printable bytes, no blanks)", at,
			t->sni);
		return -1;
	}
	if (t->alpn && !alpn_ok(t->alpn)) {
		set_err(err, errlen, "%s: tls: alpn '%s' is not a list of protocol names like [h2, http/1.1]", at,
			t->alpn);
		return -1;
	}
	if (t->ca && (!*t->ca || strlen(t->ca) > 4096)) {
		set_err(err, errlen, "%s: tls: ca must name a PEM file", at);
		return -1;
	}
	if (t->ca && !t->verify) {
		set_err(err, errlen, "%s: tls: ca is only used with verify: true", at);
		return -1;
	}
	return 0;
}

/* A connect step's settings, also an HTTP recipe's 'connect'. */
static int connect_check(const struct step *s, const char *at, char *err, size_t errlen)
{
	if (s->port < 0 || s->port > 65535) {
		set_err(err, errlen, "%s: connect port %d is out of range 1-65535", at, s->port);
		return -1;
	}
	return 0;
}

static int compile_tcp(struct recipe *r, char *err, size_t errlen)
{
	char at[64], why[ERR_LEN];
	bool any_connect = false, in_tls = false;
	size_t i;

	for (i = 0; i < r->nsteps; i++)
		if (r->steps[i].type == STEP_CONNECT)
			any_connect = true;
	if (r->nsteps == 0) {
		set_err(err, errlen, "the recipe has no steps");
		return -1;
	}
	/* HAProxy: with any explicit connect, the first rule must be a connect. */
	if (any_connect && r->steps[0].type != STEP_CONNECT) {
		set_err(err, errlen, "%s: the first step must be 'connect' when the recipe has any 'connect' step "
			"(HAProxy refuses this ruleset)", where(at, sizeof(at), 0, r->steps[0].line));
		return -1;
	}
	for (i = 0; i < r->nsteps; i++) {
		struct step *s = &r->steps[i];

		where(at, sizeof(at), i, s->line);
		switch (s->type) {
		case STEP_CONNECT:
			if (connect_check(s, at, err, errlen) == -1)
				return -1;
			in_tls = false;
			break;
		case STEP_TLS:
			if (in_tls) {
				set_err(err, errlen, "%s: tls: TLS is already started on this connection (TLS inside "
					"TLS is not supported)", at);
				return -1;
			}
			in_tls = true;
			if (step_tls_check(&s->tls, at, err, errlen) == -1)
				return -1;
			break;
		case STEP_SEND:
			if (s->len == 0) {
				set_err(err, errlen, "%s: send has an empty payload", at);
				return -1;
			}
			if (s->len > RECIPE_MAX_PAYLOAD) {
				set_err(err, errlen, "%s: send payload is %zu bytes, more than HAProxy's %d-byte buffer",
					at, s->len, RECIPE_MAX_PAYLOAD);
				return -1;
			}
			if (s->env && check_env_refs((const char *)s->data, s->len, err, errlen, at) == -1)
				return -1;
			break;
		case STEP_EXPECT:
			if (s->len == 0) {
				set_err(err, errlen, "%s: expect %s has an empty pattern", at, expect_match_str(s->match));
				return -1;
			}
			if (s->len > RECIPE_MAX_PAYLOAD) {
				set_err(err, errlen, "%s: expect pattern is %zu bytes, more than HAProxy's %d-byte buffer",
					at, s->len, RECIPE_MAX_PAYLOAD);
				return -1;
			}
			if (s->min_recv < -1) {
				set_err(err, errlen, "%s: min-recv must be -1 or more (got %d)", at, s->min_recv);
				return -1;
			}
			if (s->match == EXPECT_RSTRING || s->match == EXPECT_RBINARY) {
				rx_free(s->rx);
				s->rx = rx_compile((const char *)s->data, s->len, why, sizeof(why));
				if (!s->rx) {
					set_err(err, errlen, "%s: expect %s '%s': %s", at, expect_match_str(s->match),
						(const char *)s->data, why);
					return -1;
				}
			}
			break;
		}
	}
	return 0;
}

static bool is_token(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("!#$%&'*+-.^_`|~", *s))
			return false;
	return true;
}

/* A request-target must not break the request line (RFC 9112 section 3.2): no space, no control byte. */
static bool has_ctl_or_space(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f)
			return true;
	return false;
}

static int compile_http(struct recipe *r, char *err, size_t errlen)
{
	char at[64], why[ERR_LEN];
	size_t i;

	if (r->nsteps) {
		set_err(err, errlen, "an HTTP recipe cannot also have tcp-check steps");
		return -1;
	}
	if (r->tls && step_tls_check(r->tls, "recipe", err, errlen) == -1)
		return -1;
	if (r->conn && connect_check(r->conn, "connect", err, errlen) == -1)
		return -1;
	if (r->req.method && !is_token(r->req.method)) {
		set_err(err, errlen, "request (line %d): method '%s' is not an HTTP token", r->req.line, r->req.method);
		return -1;
	}
	if (r->req.uri && (!*r->req.uri || has_ctl_or_space(r->req.uri))) {
		set_err(err, errlen, "request (line %d): uri must be non-empty and contain no spaces or control bytes",
			r->req.line);
		return -1;
	}
	if (r->req.version && strcmp(r->req.version, "HTTP/1.0") && strcmp(r->req.version, "HTTP/1.1")) {
		set_err(err, errlen, "request (line %d): version must be HTTP/1.0 or HTTP/1.1 (got '%s')",
			r->req.line, r->req.version);
		return -1;
	}
	for (i = 0; i < r->req.nhdrs; i++) {
		if (!is_token(r->req.hdrs[i].name)) {
			set_err(err, errlen, "request (line %d): header name '%s' is not an HTTP token", r->req.line,
				r->req.hdrs[i].name);
			return -1;
		}
		if (strpbrk(r->req.hdrs[i].value, "\r\n")) {
			set_err(err, errlen, "request (line %d): header '%s' has a CR or LF in its value", r->req.line,
				r->req.hdrs[i].name);
			return -1;
		}
		snprintf(at, sizeof(at), "request (line %d)", r->req.line);
		if (r->req.env && check_env_refs(r->req.hdrs[i].value, strlen(r->req.hdrs[i].value), err, errlen,
						 at) == -1)
			return -1;
	}
	for (i = 0; i < r->nhexp; i++) {
		struct http_expect *e = &r->hexp[i];

		hwhere(at, sizeof(at), i, e->line);
		if (!e->pattern || !e->len) {
			set_err(err, errlen, "%s: %s has an empty pattern", at, http_expect_match_str(e->match));
			return -1;
		}
		if (e->min_recv < -1) {
			set_err(err, errlen, "%s: min-recv must be -1 or more (got %d)", at, e->min_recv);
			return -1;
		}
		if (e->match == HEXP_STATUS && http_status_in_list(e->pattern, 0) == -1) {
			set_err(err, errlen, "%s: status '%s' is not a list of codes or ranges like 200-399,401",
				at, e->pattern);
			return -1;
		}
		if (e->match == HEXP_HDR && e->value && !e->vlen) {
			set_err(err, errlen, "%s: hdr has an empty value pattern", at);
			return -1;
		}
		if (e->match == HEXP_HDR && e->value_m == HDRM_REG && e->value) {
			rx_free(e->vrx);
			e->vrx = rx_compile(e->value, e->vlen, why, sizeof(why));
			if (!e->vrx) {
				set_err(err, errlen, "%s: hdr value '%s': %s", at, e->value, why);
				return -1;
			}
		}
		if (e->match == HEXP_RSTATUS || e->match == HEXP_RSTRING ||
		    (e->match == HEXP_HDR && e->name_m == HDRM_REG)) {
			rx_free(e->rx);
			e->rx = rx_compile(e->pattern, e->len, why, sizeof(why));
			if (!e->rx) {
				set_err(err, errlen, "%s: %s '%s': %s", at, http_expect_match_str(e->match),
					e->pattern, why);
				return -1;
			}
		}
	}
	return 0;
}

int recipe_compile(struct recipe *r, char *err, size_t errlen)
{
	return r->kind == RECIPE_TCP ? compile_tcp(r, err, errlen) : compile_http(r, err, errlen);
}

/* Appends p with every ${NAME} replaced by getenv(NAME). -1 with err when a variable is unset. */
static int expand(struct buf *out, const char *p, size_t len, const char *at, char *err, size_t errlen)
{
	size_t i = 0;

	while (i < len) {
		const char *close;
		char name[256], *val;
		size_t n;

		if (p[i] != '$' || i + 1 >= len || p[i + 1] != '{') {
			if (buf_putc(out, (unsigned char)p[i]) == -1)
				goto toobig;
			i++;
			continue;
		}
		close = memchr(p + i + 2, '}', len - i - 2);
		n = close ? (size_t)(close - (p + i + 2)) : 0;
		if (!close || n == 0 || n >= sizeof(name)) {
			set_err(err, errlen, "%s: malformed ${NAME} reference", at);
			return -1;
		}
		memcpy(name, p + i + 2, n);
		name[n] = '\0';
		val = getenv(name);
		if (!val) {
			set_err(err, errlen, "%s: environment variable %s is not set", at, name);
			return -1;
		}
		if (buf_append_str(out, val) == -1)
			goto toobig;
		i += n + 3;
	}
	return 0;
toobig:
	set_err(err, errlen, "%s: payload too large after filling ${NAME} references", at);
	return -1;
}

/*
 * An RFC 1929 request written by --redact keeps the recorded length bytes before its references:
 * "\x01 ULEN ${USER} PLEN ${PASS}". A value of another length would make the server read a different
 * user and password than intended (or wait for bytes that never come), so it is refused here, naming
 * the variable and the length the recipe was built for. Unset variables are left to expand().
 */
static int check_len_bytes(const struct step *s, const char *at, char *err, size_t errlen)
{
	const unsigned char *p = s->data;
	size_t n = s->len, off = 1, nl, vl;
	const unsigned char *e;
	char name[256];
	const char *val;
	int field;

	if (n < 2 || p[0] != 0x01)
		return 0;
	for (field = 0; field < 2; field++) {
		if (off + 3 > n || p[off + 1] != '$' || p[off + 2] != '{')
			return 0;
		e = memchr(p + off + 3, '}', n - off - 3);
		if (!e)
			return 0;
		nl = (size_t)(e - (p + off + 3));
		if (!nl || nl >= sizeof(name))
			return 0;
		memcpy(name, p + off + 3, nl);
		name[nl] = '\0';
		val = getenv(name);
		vl = val ? strlen(val) : p[off];
		if (vl != p[off]) {
			set_err(err, errlen, "%s: %s is %zu bytes long, but the recipe was built for a %u-byte value "
				"(the RFC 1929 %s length byte before it is %u): set a %u-byte value or record the recipe "
				"again", at, name, vl, p[off], field ? "PLEN" : "ULEN", p[off], p[off]);
			return -1;
		}
		off = (size_t)(e - p) + 1;
	}
	return 0;
}

int recipe_check_env_lengths(const struct recipe *r, char *err, size_t errlen)
{
	char at[64];
	size_t i;

	for (i = 0; i < r->nsteps; i++) {
		const struct step *s = &r->steps[i];

		if (s->type == STEP_SEND && s->env &&
		    check_len_bytes(s, where(at, sizeof(at), i, s->line), err, errlen) == -1)
			return -1;
	}
	return 0;
}

struct recipe *recipe_dup(const struct recipe *r)
{
	struct recipe *d;
	char err[ERR_LEN];
	size_t i;

	d = recipe_new(r->kind);
	if (!d)
		return NULL;
	if (recipe_set_str(&d->name, r->name) || recipe_set_str(&d->protocol, r->protocol) ||
	    recipe_set_str(&d->recorded_from, r->recorded_from) || recipe_set_str(&d->recorded_at, r->recorded_at) ||
	    recipe_set_str(&d->notes, r->notes) || recipe_set_str(&d->file, r->file))
		goto fail;
	for (i = 0; i < r->nsteps; i++) {
		const struct step *s = &r->steps[i];
		struct step *c = recipe_add_step(d, s->type);

		if (!c)
			goto fail;
		*c = *s;
		c->comment = NULL;
		c->data = NULL;
		c->rx = NULL;
		memset(&c->tls, 0, sizeof(c->tls));
		if (recipe_set_str(&c->comment, s->comment) || (s->data && step_set_data(c, s->data, s->len)))
			goto fail;
		if (s->type == STEP_TLS && step_tls_copy(&c->tls, &s->tls) == -1)
			goto fail;
		if (s->rx && !(c->rx = rx_compile((const char *)c->data, c->len, err, sizeof(err))))
			goto fail;
	}
	if (recipe_set_str(&d->req.method, r->req.method) || recipe_set_str(&d->req.uri, r->req.uri) ||
	    recipe_set_str(&d->req.version, r->req.version) || recipe_set_str(&d->req.comment, r->req.comment))
		goto fail;
	if (r->tls) {
		d->tls = calloc(1, sizeof(*d->tls));
		if (!d->tls || step_tls_copy(d->tls, r->tls) == -1)
			goto fail;
	}
	if (r->conn && !(d->conn = recipe_new_connect(r->conn)))
		goto fail;
	d->req.env = r->req.env;
	d->req.secret = r->req.secret;
	d->req.send_state = r->req.send_state;
	d->req.line = r->req.line;
	for (i = 0; i < r->req.nhdrs; i++)
		if (!recipe_add_hdr(d, r->req.hdrs[i].name, r->req.hdrs[i].value))
			goto fail;
	if (r->req.body) {
		d->req.body = malloc(r->req.bodylen + 1);
		if (!d->req.body)
			goto fail;
		memcpy(d->req.body, r->req.body, r->req.bodylen + 1);
		d->req.bodylen = r->req.bodylen;
	}
	for (i = 0; i < r->nhexp; i++) {
		const struct http_expect *e = &r->hexp[i];
		struct http_expect *c = recipe_add_hexpect(d, e->match);

		if (!c)
			goto fail;
		*c = *e;
		c->pattern = NULL;
		c->comment = NULL;
		c->rx = NULL;
		c->value = NULL;
		c->vrx = NULL;
		if (e->value && !(c->value = xstrndup(e->value, e->vlen)))
			goto fail;
		if (e->vrx && !(c->vrx = rx_compile(c->value, c->vlen, err, sizeof(err))))
			goto fail;
		if (e->pattern) {
			c->pattern = xstrndup(e->pattern, e->len);
			if (!c->pattern)
				goto fail;
		}
		if (recipe_set_str(&c->comment, e->comment))
			goto fail;
		if (e->rx && !(c->rx = rx_compile(c->pattern, c->len, err, sizeof(err))))
			goto fail;
	}
	return d;
fail:
	recipe_free(d);
	return NULL;
}

struct recipe *recipe_resolve_env(const struct recipe *r, char *err, size_t errlen)
{
	struct recipe *d;
	struct buf b;
	char at[64];
	size_t i;

	d = recipe_dup(r);
	if (!d) {
		set_err(err, errlen, "out of memory");
		return NULL;
	}
	buf_init(&b, RECIPE_MAX_PAYLOAD);
	if (recipe_check_env_lengths(d, err, errlen) == -1)
		goto fail;
	for (i = 0; i < d->nsteps; i++) {
		struct step *s = &d->steps[i];

		if (s->type != STEP_SEND || !s->env)
			continue;
		buf_reset(&b);
		if (expand(&b, (const char *)s->data, s->len, where(at, sizeof(at), i, s->line), err, errlen) == -1)
			goto fail;
		if (b.len == 0) {
			/* HAProxy refuses an empty send; sending nothing would silently skip the step */
			set_err(err, errlen, "%s: the payload is empty once ${NAME} references are filled", at);
			goto fail;
		}
		if (step_set_data(s, b.data, b.len) == -1)
			goto oom;
		s->env = false;
	}
	for (i = 0; d->req.env && i < d->req.nhdrs; i++) {
		char *v;

		buf_reset(&b);
		if (expand(&b, d->req.hdrs[i].value, strlen(d->req.hdrs[i].value), "request header", err, errlen) == -1)
			goto fail;
		v = buf_steal(&b, NULL);
		if (!v)
			goto oom;
		free(d->req.hdrs[i].value);
		d->req.hdrs[i].value = v;
	}
	d->req.env = false;
	buf_free(&b);
	return d;
oom:
	set_err(err, errlen, "out of memory");
fail:
	buf_free(&b);
	recipe_free(d);
	return NULL;
}

bool recipe_has_secret(const struct recipe *r)
{
	size_t i;

	for (i = 0; i < r->nsteps; i++)
		if (r->steps[i].secret)
			return true;
	if (r->req.secret)
		return true;
	for (i = 0; i < r->req.nhdrs; i++)
		if (!strcasecmp(r->req.hdrs[i].name, "Proxy-Authorization") ||
		    !strcasecmp(r->req.hdrs[i].name, "Authorization"))
			return true;
	return false;
}

/*
 * recipe_yaml_emit: writes a recipe as YAML with libyaml's emitter (recipe_emit_yaml() in recipe_yaml.h).
 *
 * The output is deterministic (fixed key order, fixed styles) and meant to be read and edited by people:
 * block style for the document and the steps, flow style for the small option maps, payloads and
 * patterns always double-quoted so that control bytes show as \r, \n, \t, \0, \xNN escapes. YAML strings
 * are Unicode, so a text payload whose bytes are not valid UTF-8 cannot be a YAML string: it is written
 * as send-binary (or expect binary), which puts the same bytes on the wire and matches the same bytes.
 */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "net.h"
#include "recipe.h"
#include "recipe_yaml.h"
#include "util.h"

struct yemit {
	yaml_emitter_t e;
	struct buf *out;
	bool overflow;          /* the output buffer hit its cap */
	char *err;
	size_t errlen;
};

static int write_cb(void *data, unsigned char *p, size_t n)
{
	struct yemit *y = data;

	if (buf_append(y->out, p, n) == -1) {
		y->overflow = true;
		return 0;
	}
	return 1;
}

static int emit(struct yemit *y, yaml_event_t *ev, int ok)
{
	if (!ok) {
		set_err(y->err, y->errlen, "out of memory or invalid text while writing YAML");
		return -1;
	}
	if (!yaml_emitter_emit(&y->e, ev)) {
		if (y->overflow)
			set_err(y->err, y->errlen, "the YAML output is larger than its %zu-byte limit", y->out->cap);
		else
			set_err(y->err, y->errlen, "YAML emitter: %s", y->e.problem ? y->e.problem : "unknown error");
		return -1;
	}
	return 0;
}

/* Length of the strict UTF-8 sequence at p (no overlong forms, no surrogates, nothing past U+10FFFF,
 * which is what libyaml accepts in a scalar), or 0 when p[0] does not start one. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
	unsigned c = p[0], need, cp, min;
	size_t k;

	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0) {
		need = 1, cp = c & 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		need = 2, cp = c & 0x0f, min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		need = 3, cp = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n <= need)
		return 0;
	for (k = 1; k <= need; k++) {
		if ((p[k] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[k] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return need + 1;
}

UNITTEST bool utf8_valid(const unsigned char *p, size_t n);
UNITTEST bool utf8_valid(const unsigned char *p, size_t n)
{
	size_t i = 0, k;

	while (i < n) {
		k = utf8_seq(p + i, n - i);
		if (k == 0)
			return false;
		i += k;
	}
	return true;
}

/*
 * Free text (comments, metadata) that is not UTF-8 (it can come from an imported HAProxy comment with
 * \xNN escapes) is saved with U+FFFD in place of each bad byte rather than failing the whole save.
 * Returns a copy the caller frees, or NULL when out of memory.
 */
static char *utf8_lossy(const char *v)
{
	const unsigned char *p = (const unsigned char *)v;
	size_t n = strlen(v), i = 0, k;
	struct buf b;

	buf_init(&b, 3 * n + 1);
	while (i < n) {
		k = utf8_seq(p + i, n - i);
		if (k == 0) {
			buf_append(&b, "\xef\xbf\xbd", 3);
			i++;
		} else {
			buf_append(&b, p + i, k);
			i += k;
		}
	}
	return buf_steal(&b, NULL);
}

static int scalar(struct yemit *y, const void *p, size_t n, yaml_scalar_style_t style)
{
	yaml_event_t ev;

	/* libyaml takes a non-const pointer but only reads it */
	return emit(y, &ev, yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)(uintptr_t)p, (int)n, 1, 1,
							   style));
}

static int key(struct yemit *y, const char *k)
{
	return scalar(y, k, strlen(k), YAML_PLAIN_SCALAR_STYLE);
}

/*
 * True when s can go unquoted without surprising a reader: no YAML indicator at the start, no ": " or
 * " #", no flow indicators (the value may sit in a {flow: map}), no control bytes or Unicode line
 * breaks, no blanks at either end, and not a word the loader takes for null. This is
 * stricter than libyaml, so that what is not plain becomes double-quoted rather than single-quoted.
 */
static bool plain_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || strlen(s) != n || strchr("-?:,[]{}#&*!|>'\"%@`", s[0]) || s[0] == ' ' || s[n - 1] == ' ' ||
	    !strcmp(s, "~") || !strcasecmp(s, "null") || !strncmp(s, "...", 3))
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f || (c == ':' && (i + 1 == n || s[i + 1] == ' ')) ||
		    (c == '#' && s[i - 1] == ' ') || strchr(",[]{}", c))
			return false;
		/* NEL, LS and PS are line breaks to YAML, a BOM is special: libyaml would single-quote them */
		if ((c == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] == 0x85) ||
		    (c == 0xe2 && i + 2 < n && (unsigned char)s[i + 1] == 0x80 &&
		     ((unsigned char)s[i + 2] == 0xa8 || (unsigned char)s[i + 2] == 0xa9)) ||
		    (c == 0xef && i + 2 < n && (unsigned char)s[i + 1] == 0xbb && (unsigned char)s[i + 2] == 0xbf))
			return false;
	}
	return true;
}

/* A scalar the loader reads back as this exact string: plain when plain_ok(), double-quoted otherwise. */
static int str_value(struct yemit *y, const char *s, size_t n, bool quote)
{
	return scalar(y, s, n, !quote && plain_ok(s, n) ? YAML_ANY_SCALAR_STYLE : YAML_DOUBLE_QUOTED_SCALAR_STYLE);
}

static int kv_str(struct yemit *y, const char *k, const char *v, bool quote)
{
	if (!v)
		return 0;
	if (!utf8_valid((const unsigned char *)v, strlen(v))) {
		set_err(y->err, y->errlen, "'%s' is not valid UTF-8 text and cannot be written as YAML", k);
		return -1;
	}
	if (key(y, k) == -1)
		return -1;
	return str_value(y, v, strlen(v), quote);
}

/* kv_str() for free text: invalid UTF-8 is replaced (utf8_lossy) instead of failing the save. */
static int kv_text(struct yemit *y, const char *k, const char *v, bool quote)
{
	char *fixed;
	int rc;

	if (!v || utf8_valid((const unsigned char *)v, strlen(v)))
		return kv_str(y, k, v, quote);
	fixed = utf8_lossy(v);
	if (!fixed) {
		set_err(y->err, y->errlen, "out of memory");
		return -1;
	}
	rc = kv_str(y, k, fixed, quote);
	free(fixed);
	return rc;
}

static int kv_bytes(struct yemit *y, const char *k, const void *p, size_t n)
{
	if (key(y, k) == -1)
		return -1;
	return scalar(y, p, n, YAML_DOUBLE_QUOTED_SCALAR_STYLE);
}

static int kv_int(struct yemit *y, const char *k, int v)
{
	char num[16];

	snprintf(num, sizeof(num), "%d", v);
	if (key(y, k) == -1)
		return -1;
	return scalar(y, num, strlen(num), YAML_PLAIN_SCALAR_STYLE);
}

static int kv_true(struct yemit *y, const char *k)
{
	if (key(y, k) == -1)
		return -1;
	return scalar(y, "true", 4, YAML_PLAIN_SCALAR_STYLE);
}

static int kv_hex(struct yemit *y, const char *k, const unsigned char *p, size_t n)
{
	struct buf hex;
	int rc;

	buf_init(&hex, 2 * n + 1);
	if (hex_encode(&hex, p, n, false) == -1) {
		buf_free(&hex);
		set_err(y->err, y->errlen, "out of memory");
		return -1;
	}
	rc = kv_bytes(y, k, hex.data ? (const char *)hex.data : "", hex.len);
	buf_free(&hex);
	return rc;
}

static int map_start(struct yemit *y, bool flow)
{
	yaml_event_t ev;

	return emit(y, &ev, yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
								 flow ? YAML_FLOW_MAPPING_STYLE : YAML_BLOCK_MAPPING_STYLE));
}

static int map_end(struct yemit *y)
{
	yaml_event_t ev;

	return emit(y, &ev, yaml_mapping_end_event_initialize(&ev));
}

static int seq_start(struct yemit *y)
{
	yaml_event_t ev;

	return emit(y, &ev, yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE));
}

static int seq_end(struct yemit *y)
{
	yaml_event_t ev;

	return emit(y, &ev, yaml_sequence_end_event_initialize(&ev));
}

/*
 * notes: a literal block (|) when it is plain multi-line text, which reads best; anything unusual
 * (leading or trailing blanks, tabs, control bytes, blank first or last line) is double-quoted, which
 * libyaml round-trips exactly.
 */
static int kv_notes(struct yemit *y, const char *v)
{
	size_t i, n;
	bool literal;

	if (!v)
		return 0;
	n = strlen(v);
	if (!utf8_valid((const unsigned char *)v, n)) {
		char *fixed = utf8_lossy(v);
		int rc;

		if (!fixed) {
			set_err(y->err, y->errlen, "out of memory");
			return -1;
		}
		rc = kv_notes(y, fixed);
		free(fixed);
		return rc;
	}
	literal = n > 0 && strchr(v, '\n') && v[0] != ' ' && v[0] != '\n';
	for (i = 0; literal && i < n; i++) {
		unsigned char c = (unsigned char)v[i];

		if ((c < 0x20 && c != '\n') || c == 0x7f || (c == ' ' && (i + 1 == n || v[i + 1] == '\n')) ||
		    (c == '\n' && i + 2 == n && v[i + 1] == '\n') || (c == '\n' && i + 1 < n && v[i + 1] == ' '))
			literal = false;
	}
	if (key(y, "notes") == -1)
		return -1;
	return scalar(y, v, n, literal ? YAML_LITERAL_SCALAR_STYLE : YAML_DOUBLE_QUOTED_SCALAR_STYLE);
}

static int flow_seq_start(struct yemit *y)
{
	yaml_event_t ev;

	return emit(y, &ev, yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_FLOW_SEQUENCE_STYLE));
}

/* {sni: NAME, verify: false, alpn: [h2, http/1.1], ca: FILE}: only what differs from the defaults. */
static int emit_tls(struct yemit *y, const struct step_tls *t)
{
	const char *p, *e;
	char name[256];

	if (map_start(y, true) == -1 || kv_str(y, "sni", t->sni, false) == -1)
		return -1;
	if (!t->verify && (key(y, "verify") == -1 || scalar(y, "false", 5, YAML_PLAIN_SCALAR_STYLE) == -1))
		return -1;
	if (t->alpn) {
		if (key(y, "alpn") == -1 || flow_seq_start(y) == -1)
			return -1;
		for (p = t->alpn; *p; p = *e ? e + 1 : e) {
			e = strchr(p, ',');
			if (!e)
				e = p + strlen(p);
			snprintf(name, sizeof(name), "%.*s", (int)(e - p), p);
			if (str_value(y, name, strlen(name), false) == -1)
				return -1;
		}
		if (seq_end(y) == -1)
			return -1;
	}
	if (kv_str(y, "ca", t->ca, false) == -1)
		return -1;
	return map_end(y);
}

/* connect: {port, linger, addr, socks4, send_proxy}: a connect step's action, or an HTTP recipe's 'connect'. */
static int emit_connect(struct yemit *y, const struct step *s)
{
	char ip[NET_ADDRSTRLEN + 8];

	if (key(y, "connect") == -1 || map_start(y, true) == -1)
		return -1;
	if (s->port && kv_int(y, "port", s->port) == -1)
		return -1;
	if (s->linger && kv_true(y, "linger") == -1)
		return -1;
	if (s->addrlen && kv_str(y, "addr", net_fmt_ip(&s->addr, ip, sizeof(ip)), true) == -1)
		return -1;
	if (s->socks4len && kv_str(y, "socks4", net_fmt_ip(&s->socks4, ip, sizeof(ip)), true) == -1)
		return -1;
	if (s->send_proxy && kv_str(y, "send_proxy", s->send_proxy == 2 ? "v2" : "v1", false) == -1)
		return -1;
	return map_end(y);
}

static int emit_step(struct yemit *y, const struct step *s, size_t idx)
{
	bool utf8 = s->data && utf8_valid(s->data, s->len);

	if (map_start(y, false) == -1)
		return -1;
	switch (s->type) {
	case STEP_TLS:
		if (key(y, "tls") == -1 || emit_tls(y, &s->tls) == -1)
			return -1;
		break;
	case STEP_CONNECT:
		if (emit_connect(y, s) == -1)
			return -1;
		break;
	case STEP_SEND:
		if (s->binary || !utf8) {
			if (kv_hex(y, "send-binary", s->data, s->len) == -1)
				return -1;
		} else if (kv_bytes(y, "send", s->data, s->len) == -1) {
			return -1;
		}
		break;
	case STEP_EXPECT:
		if (key(y, "expect") == -1 || map_start(y, true) == -1)
			return -1;
		if (s->match == EXPECT_BINARY || (s->match == EXPECT_STRING && !utf8)) {
			/* a string and a binary expect are the same substring search over the same bytes */
			if (kv_hex(y, "binary", s->data, s->len) == -1)
				return -1;
		} else if (!utf8) {
			set_err(y->err, y->errlen, "step %zu: the %s pattern is not valid UTF-8 and cannot be written "
				"as YAML (write non-ASCII bytes as \\xNN in the regex)", idx + 1,
				expect_match_str(s->match));
			return -1;
		} else if (kv_bytes(y, expect_match_str(s->match), s->data, s->len) == -1) {
			return -1;
		}
		if (s->min_recv != -1 && kv_int(y, "min-recv", s->min_recv) == -1)
			return -1;
		if (s->error_status[0] && kv_str(y, "error-status", s->error_status, false) == -1)
			return -1;
		if (s->negate && kv_true(y, "negate") == -1)
			return -1;
		if (map_end(y) == -1)
			return -1;
		break;
	}
	if (kv_text(y, "comment", s->comment, false) == -1)
		return -1;
	if (s->type == STEP_SEND) {
		if (s->env && kv_true(y, "env") == -1)
			return -1;
		if (s->secret && kv_true(y, "secret") == -1)
			return -1;
	}
	return map_end(y);
}

static int emit_http(struct yemit *y, const struct recipe *r)
{
	const struct http_req *q = &r->req;
	size_t i;

	if (key(y, "request") == -1 || map_start(y, false) == -1)
		return -1;
	if (kv_str(y, "method", q->method, false) == -1 || kv_str(y, "uri", q->uri, true) == -1 ||
	    kv_str(y, "version", q->version, false) == -1)
		return -1;
	if (q->nhdrs) {
		if (key(y, "headers") == -1 || seq_start(y) == -1)
			return -1;
		for (i = 0; i < q->nhdrs; i++) {
			if (map_start(y, true) == -1 || kv_str(y, "name", q->hdrs[i].name, false) == -1 ||
			    kv_str(y, "value", q->hdrs[i].value, true) == -1 || map_end(y) == -1)
				return -1;
		}
		if (seq_end(y) == -1)
			return -1;
	}
	if (q->body) {
		if (!utf8_valid(q->body, q->bodylen)) {
			set_err(y->err, y->errlen, "request: the body is not valid UTF-8 and cannot be written as YAML");
			return -1;
		}
		if (kv_bytes(y, "body", q->body, q->bodylen) == -1)
			return -1;
	}
	if ((q->env && kv_true(y, "env") == -1) || (q->secret && kv_true(y, "secret") == -1) ||
	    (q->send_state && kv_true(y, "send-state") == -1))
		return -1;
	if (kv_text(y, "comment", q->comment, false) == -1 || map_end(y) == -1)
		return -1;
	if (!r->nhexp)
		return 0;
	if (key(y, "expect") == -1 || seq_start(y) == -1)
		return -1;
	for (i = 0; i < r->nhexp; i++) {
		const struct http_expect *e = &r->hexp[i];

		if (!utf8_valid((const unsigned char *)e->pattern, e->len)) {
			set_err(y->err, y->errlen, "expect %zu: the pattern is not valid UTF-8 and cannot be written "
				"as YAML", i + 1);
			return -1;
		}
		if (map_start(y, true) == -1 || kv_bytes(y, http_expect_match_str(e->match), e->pattern, e->len) == -1)
			return -1;
		if (e->min_recv != -1 && kv_int(y, "min-recv", e->min_recv) == -1)
			return -1;
		if (e->negate && kv_true(y, "negate") == -1)
			return -1;
		if (e->match == HEXP_HDR) {
			if (e->name_m != HDRM_STR && kv_text(y, "name-match", hdr_match_str(e->name_m), false) == -1)
				return -1;
			if (e->value && !utf8_valid((const unsigned char *)e->value, e->vlen)) {
				set_err(y->err, y->errlen, "expect %zu: the value is not valid UTF-8 and cannot be "
					"written as YAML", i + 1);
				return -1;
			}
			if (e->value && kv_bytes(y, "value", e->value, e->vlen) == -1)
				return -1;
			if (e->value && e->value_m != HDRM_STR &&
			    kv_text(y, "value-match", hdr_match_str(e->value_m), false) == -1)
				return -1;
			if (e->full && kv_true(y, "full") == -1)
				return -1;
		}
		if (kv_text(y, "comment", e->comment, false) == -1 || map_end(y) == -1)
			return -1;
	}
	return seq_end(y);
}

static int emit_recipe(struct yemit *y, const struct recipe *r)
{
	yaml_event_t ev;
	size_t i;

	if (emit(y, &ev, yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING)) == -1 ||
	    emit(y, &ev, yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1)) == -1 ||
	    map_start(y, false) == -1)
		return -1;
	if (kv_int(y, "version", 1) == -1 || kv_text(y, "name", r->name, false) == -1 ||
	    kv_text(y, "protocol", r->protocol, false) == -1 || kv_text(y, "recorded_from", r->recorded_from, true) == -1 ||
	    kv_text(y, "recorded_at", r->recorded_at, true) == -1 || kv_notes(y, r->notes) == -1)
		return -1;
	if (key(y, "kind") == -1 || key(y, r->kind == RECIPE_HTTP ? "http" : "tcp") == -1)
		return -1;
	if (r->kind == RECIPE_HTTP) {
		if (r->conn && emit_connect(y, r->conn) == -1)
			return -1;
		if (r->tls && (key(y, "tls") == -1 || emit_tls(y, r->tls) == -1))
			return -1;
		if (emit_http(y, r) == -1)
			return -1;
	} else {
		if (key(y, "steps") == -1 || seq_start(y) == -1)
			return -1;
		for (i = 0; i < r->nsteps; i++)
			if (emit_step(y, &r->steps[i], i) == -1)
				return -1;
		if (seq_end(y) == -1)
			return -1;
	}
	return map_end(y) == -1 || emit(y, &ev, yaml_document_end_event_initialize(&ev, 1)) == -1 ||
			       emit(y, &ev, yaml_stream_end_event_initialize(&ev)) == -1
		       ? -1
		       : 0;
}

int recipe_emit_yaml(const struct recipe *r, struct buf *out, char *err, size_t errlen)
{
	struct yemit y = {.out = out, .err = err, .errlen = errlen};
	size_t start = out->len;
	int rc;

	if (!yaml_emitter_initialize(&y.e)) {
		set_err(err, errlen, "out of memory");
		return -1;
	}
	yaml_emitter_set_output(&y.e, write_cb, &y);
	yaml_emitter_set_unicode(&y.e, 1);
	yaml_emitter_set_width(&y.e, -1);  /* never fold long payloads across lines */
	yaml_emitter_set_indent(&y.e, 2);
	yaml_emitter_set_break(&y.e, YAML_LN_BREAK);
	rc = emit_recipe(&y, r);
	if (rc == 0 && !yaml_emitter_flush(&y.e)) {
		set_err(err, errlen, "the YAML output is larger than its %zu-byte limit", out->cap);
		rc = -1;
	}
	yaml_emitter_delete(&y.e);
	if (rc == -1)
		out->len = start; /* leave nothing half-written */
	return rc;
}

/*
 * recipe_yaml: load -> save -> load gives the same recipe, save(load(save(x))) == save(x) byte for byte,
 * every schema error names file:line:column and the key, and hostile input gets a clean error.
 */
#include "api.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>
#include <yaml.h>

#include "buf.h"
#include "net.h"
#include "recipe.h"
#include "recipe_yaml.h"
#include "util.h"

bool utf8_valid(const unsigned char *p, size_t n);

static bool streq_opt(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static bool memeq(const void *a, size_t alen, const void *b, size_t blen)
{
	return alen == blen && (alen == 0 || !memcmp(a, b, alen));
}

/* Field-by-field equality of what a recipe means (not where it was loaded from). */
static void assert_recipe_equal(const struct recipe *a, const struct recipe *b)
{
	size_t i;

	assert_int_equal(a->kind, b->kind);
	assert_true(streq_opt(a->name, b->name));
	assert_true(streq_opt(a->protocol, b->protocol));
	assert_true(streq_opt(a->recorded_from, b->recorded_from));
	assert_true(streq_opt(a->recorded_at, b->recorded_at));
	assert_true(streq_opt(a->notes, b->notes));
	assert_int_equal(a->nsteps, b->nsteps);
	for (i = 0; i < a->nsteps; i++) {
		const struct step *x = &a->steps[i], *y = &b->steps[i];

		assert_int_equal(x->type, y->type);
		assert_true(streq_opt(x->comment, y->comment));
		assert_int_equal(x->port, y->port);
		assert_int_equal(x->send_proxy, y->send_proxy);
		assert_int_equal(x->linger, y->linger);
		assert_int_equal(x->binary, y->binary);
		assert_int_equal(x->env, y->env);
		assert_int_equal(x->secret, y->secret);
		assert_int_equal(x->match, y->match);
		assert_int_equal(x->negate, y->negate);
		assert_int_equal(x->min_recv, y->min_recv);
		assert_true(memeq(x->data, x->len, y->data, y->len));
		assert_int_equal(x->rx != NULL, y->rx != NULL);
		assert_true(streq_opt(x->tls.sni, y->tls.sni));
		assert_true(streq_opt(x->tls.alpn, y->tls.alpn));
		assert_true(streq_opt(x->tls.ca, y->tls.ca));
		assert_int_equal(x->tls.verify, y->tls.verify);
	}
	assert_int_equal(a->conn != NULL, b->conn != NULL);
	if (a->conn) {
		assert_int_equal(a->conn->port, b->conn->port);
		assert_int_equal(a->conn->linger, b->conn->linger);
		assert_true(memeq(&a->conn->addr, a->conn->addrlen, &b->conn->addr, b->conn->addrlen));
		assert_true(memeq(&a->conn->socks4, a->conn->socks4len, &b->conn->socks4, b->conn->socks4len));
		assert_int_equal(a->conn->send_proxy, b->conn->send_proxy);
	}
	assert_int_equal(a->tls != NULL, b->tls != NULL);
	if (a->tls) {
		assert_true(streq_opt(a->tls->sni, b->tls->sni));
		assert_true(streq_opt(a->tls->alpn, b->tls->alpn));
		assert_int_equal(a->tls->verify, b->tls->verify);
	}
	assert_true(streq_opt(a->req.method, b->req.method));
	assert_true(streq_opt(a->req.uri, b->req.uri));
	assert_true(streq_opt(a->req.version, b->req.version));
	assert_true(streq_opt(a->req.comment, b->req.comment));
	assert_int_equal(a->req.env, b->req.env);
	assert_int_equal(a->req.secret, b->req.secret);
	assert_int_equal(a->req.send_state, b->req.send_state);
	assert_int_equal(a->req.body != NULL, b->req.body != NULL);
	assert_true(memeq(a->req.body, a->req.bodylen, b->req.body, b->req.bodylen));
	assert_int_equal(a->req.nhdrs, b->req.nhdrs);
	for (i = 0; i < a->req.nhdrs; i++) {
		assert_string_equal(a->req.hdrs[i].name, b->req.hdrs[i].name);
		assert_string_equal(a->req.hdrs[i].value, b->req.hdrs[i].value);
	}
	assert_int_equal(a->nhexp, b->nhexp);
	for (i = 0; i < a->nhexp; i++) {
		const struct http_expect *x = &a->hexp[i], *y = &b->hexp[i];

		assert_int_equal(x->match, y->match);
		assert_int_equal(x->negate, y->negate);
		assert_int_equal(x->min_recv, y->min_recv);
		assert_true(memeq(x->pattern, x->len, y->pattern, y->len));
		assert_true(streq_opt(x->comment, y->comment));
		assert_int_equal(x->name_m, y->name_m);
		assert_int_equal(x->value_m, y->value_m);
		assert_int_equal(x->full, y->full);
		assert_int_equal(x->value != NULL, y->value != NULL);
		assert_true(memeq(x->value, x->vlen, y->value, y->vlen));
		assert_int_equal(x->rx != NULL, y->rx != NULL);
		assert_int_equal(x->vrx != NULL, y->vrx != NULL);
	}
}

#define V1 "version: 1\n"

static struct recipe *load_str(const char *text, char *err)
{
	return recipe_load_mem(text, strlen(text), "t.yaml", err, ERR_LEN);
}

/* The emitter promises plain or double-quoted scalars (and | for notes): never single quotes. */
static void assert_no_single_quotes(const struct buf *yaml)
{
	yaml_parser_t p;
	yaml_event_t ev;
	bool done = false;

	assert_true(yaml_parser_initialize(&p));
	yaml_parser_set_input_string(&p, yaml->data, yaml->len);
	while (!done) {
		assert_true(yaml_parser_parse(&p, &ev));
		if (ev.type == YAML_SCALAR_EVENT && ev.data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE)
			fail_msg("single-quoted scalar '%s' in:\n%.*s", (const char *)ev.data.scalar.value,
				 (int)yaml->len, (const char *)yaml->data);
		done = ev.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
}

/*
 * save(x) -> load -> y; y must equal x and save(y) must be byte-identical to save(x). Returns y, which
 * the caller frees, so that a test can check what changed on purpose (text saved as binary).
 */
static struct recipe *roundtrip(const struct recipe *x, bool expect_equal)
{
	char err[ERR_LEN];
	struct buf a, b;
	struct recipe *y;

	buf_init(&a, RECIPE_YAML_MAX_FILE);
	buf_init(&b, RECIPE_YAML_MAX_FILE);
	if (recipe_emit_yaml(x, &a, err, sizeof(err)) == -1)
		fail_msg("emit: %s", err);
	y = recipe_load_mem((const char *)a.data, a.len, "rt.yaml", err, sizeof(err));
	if (!y)
		fail_msg("reload: %s\n---\n%.*s", err, (int)a.len, (const char *)a.data);
	if (expect_equal)
		assert_recipe_equal(x, y);
	if (recipe_emit_yaml(y, &b, err, sizeof(err)) == -1)
		fail_msg("emit again: %s", err);
	assert_no_single_quotes(&a);
	if (!memeq(a.data, a.len, b.data, b.len))
		fail_msg("second save differs:\n%.*s\n---\n%.*s", (int)a.len, (const char *)a.data, (int)b.len,
			 (const char *)b.data);
	buf_free(&a);
	buf_free(&b);
	return y;
}

static struct recipe *compiled(struct recipe *r)
{
	char err[ERR_LEN];

	if (recipe_compile(r, err, sizeof(err)) == -1)
		fail_msg("compile: %s", err);
	return r;
}

static void add_send(struct recipe *r, const void *p, size_t n, bool binary)
{
	struct step *s = recipe_add_step(r, STEP_SEND);

	assert_non_null(s);
	s->binary = binary;
	assert_int_equal(step_set_data(s, p, n), 0);
}

static struct step *add_expect(struct recipe *r, enum expect_match m, const void *p, size_t n)
{
	struct step *s = recipe_add_step(r, STEP_EXPECT);

	assert_non_null(s);
	s->match = m;
	assert_int_equal(step_set_data(s, p, n), 0);
	return s;
}

/* Saves r and asserts that the YAML holds want (and also, when not NULL, want2). */
static void assert_emits(const struct recipe *r, const char *want, const char *want2)
{
	char err[ERR_LEN];
	struct buf out;

	buf_init(&out, 1 << 20);
	assert_int_equal(recipe_emit_yaml(r, &out, err, sizeof(err)), 0);
	assert_non_null(strstr(buf_cstr(&out), want));
	if (want2)
		assert_non_null(strstr(buf_cstr(&out), want2));
	buf_free(&out);
}

static void samples_roundtrip(void **state)
{
	static const char *const files[] = {
		"samples/seed-socks5-generate-204.yaml", "samples/seed-http-generate-204.yaml",
		"samples/socks5-generate-204.yaml", "samples/http-proxy-generate-204.yaml",
		"samples/local/socks5-local-204.yaml", "samples/local/http-proxy-local-204.yaml",
		"samples/local/http-local-204.yaml",
	};
	const char *src = getenv("RECHECK_SOURCE_DIR");
	char path[4096], err[ERR_LEN];
	size_t i;

	if (!src)
		src = ".";
	for (i = 0; i < ARRAY_SIZE(files); i++) {
		struct recipe *r, *y;

		snprintf(path, sizeof(path), "%s/%s", src, files[i]);
		r = recipe_load_file(path, err, sizeof(err));
		if (!r)
			fail_msg("%s", err);
		assert_string_equal(r->file, path);
		y = roundtrip(r, true);
		recipe_free(y);
		recipe_free(r);
	}
}

static void seed_socks5_is_faithful(void **state)
{
	const char *src = getenv("RECHECK_SOURCE_DIR");
	char path[4096], err[ERR_LEN];
	struct recipe *r;

	snprintf(path, sizeof(path), "%s/samples/seed-socks5-generate-204.yaml", src ? src : ".");
	r = recipe_load_file(path, err, sizeof(err));
	if (!r)
		fail_msg("%s", err);
	assert_int_equal(r->nsteps, 11);
	assert_int_equal(r->steps[0].type, STEP_CONNECT);
	assert_true(r->steps[1].binary);
	assert_memory_equal(r->steps[1].data, "\x05\x02\x00\x01", 4);
	assert_int_equal(r->steps[4].match, EXPECT_BINARY);
	assert_int_equal(r->steps[4].len, 10);
	assert_memory_equal(r->steps[4].data, "\x05\x00\x00\x01\x00\x00\x00\x00\x06\xb5", 10);
	assert_false(r->steps[5].binary);
	assert_string_equal((const char *)r->steps[5].data, "GET /generate_204 HTTP/1.1\r\n");
	assert_string_equal((const char *)r->steps[9].data, "\r\n");
	assert_int_equal(r->steps[10].match, EXPECT_RSTRING);
	assert_string_equal((const char *)r->steps[10].data, "^HTTP/1.1 204");
	assert_int_equal(r->steps[5].line, 27);
	recipe_free(r);
}

static void all_bytes_binary(void **state)
{
	unsigned char all[256];
	struct recipe *r = recipe_new(RECIPE_TCP), *y;
	struct step *s;
	size_t i;

	for (i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	s = recipe_add_step(r, STEP_CONNECT);
	s->port = 65535;
	s->linger = true;
	add_send(r, all, sizeof(all), true);
	add_expect(r, EXPECT_BINARY, all, sizeof(all));
	for (i = 0; i < 256; i++) {
		unsigned char one = (unsigned char)i;

		add_send(r, &one, 1, true);
		s = add_expect(r, EXPECT_BINARY, &one, 1);
		s->min_recv = (int)i;
		s->negate = i & 1;
	}
	y = roundtrip(compiled(r), true);
	recipe_free(y);
	recipe_free(r);
}

#define T(s) {s, sizeof(s) - 1}

static void text_payloads(void **state)
{
	static const struct {
		const char *p;
		size_t n;
	} texts[] = {
		T("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
		T("a\0b\0"),                            /* NUL in text */
		T("\t\v\f\a\b\x1b\x7f end"),
		T("h\xc3\xa9llo w\xc3\xb6rld \xe2\x82\xac \xf0\x9f\x98\x80"), /* unicode */
		T("\xc2\x85 \xc2\xa0 \xe2\x80\xa8 \xe2\x80\xa9 \xef\xbb\xbf"), /* NEL, NBSP, LS, PS, BOM */
		T(" leading and trailing "),
		T("- not: a list"),
		T("'\"\\"),
		T("null"),
		T("~"),
		T("true"),
		T("123"),
		T("#x"),
		T("${USER} and $HOME and ${"),
	};
	struct recipe *r = recipe_new(RECIPE_TCP), *y;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(texts); i++) {
		struct step *s;

		add_send(r, texts[i].p, texts[i].n, false);
		s = add_expect(r, i % 2 ? EXPECT_STRING : EXPECT_BINARY, texts[i].p, texts[i].n);
		assert_int_equal(recipe_set_str(&s->comment, texts[i].n == strlen(texts[i].p) ? texts[i].p : "x"), 0);
	}
	y = roundtrip(compiled(r), true);
	recipe_free(y);
	recipe_free(r);
}

static void regexes_with_backslashes(void **state)
{
	static const char *const res[] = {
		"^HTTP/1\\.[01] 204", "\\x00\\xff", "a\\\\b", "\\d+\\s*\\r\\n", "^050000(?:01[0-9A-F]{12}|04)",
		"[\\]\"']", "\\Q*\\E",
	};
	struct recipe *r = recipe_new(RECIPE_TCP), *y;
	size_t i;

	add_send(r, "x", 1, false);
	for (i = 0; i < ARRAY_SIZE(res); i++)
		add_expect(r, i % 2 ? EXPECT_RSTRING : EXPECT_RBINARY, res[i], strlen(res[i]));
	y = roundtrip(compiled(r), true);
	recipe_free(y);
	/* the file shows a regex as YAML escapes it: one backslash becomes two */
	assert_emits(r, "- expect: {rbinary: \"^HTTP/1\\\\.[01] 204\"}\n", NULL);
	recipe_free(r);
}

static void env_secret_flags(void **state)
{
	struct recipe *r = recipe_new(RECIPE_TCP), *y;

	assert_int_equal(recipe_set_str(&r->name, "env"), 0);
	add_send(r, "\x05\x01\x00", 3, true);
	add_send(r, "user ${RC_USER} pass ${RC_PASS}", 31, false);
	r->steps[1].env = true;
	r->steps[1].secret = true;
	r->steps[0].secret = true;
	y = roundtrip(compiled(r), true);
	assert_true(y->steps[1].env);
	assert_true(y->steps[1].secret);
	assert_true(y->steps[0].secret);
	assert_false(y->steps[0].env);
	recipe_free(y);
	assert_emits(r, "  env: true\n  secret: true\n", NULL);
	recipe_free(r);
}

static void http_recipes(void **state)
{
	struct recipe *r = recipe_new(RECIPE_HTTP), *y;
	char why[ERR_LEN];
	struct http_expect *e;

	/* everything default: no request keys, no expects */
	y = roundtrip(compiled(r), true);
	recipe_free(y);

	assert_int_equal(recipe_set_str(&r->req.method, "GET"), 0);
	assert_int_equal(recipe_set_str(&r->req.uri, "http://client3.google.com/generate_204"), 0);
	assert_int_equal(recipe_set_str(&r->req.version, "HTTP/1.1"), 0);
	assert_int_equal(recipe_set_str(&r->req.comment, "probe: the proxy"), 0);
	assert_non_null(recipe_add_hdr(r, "Host", "client3.google.com"));
	assert_non_null(recipe_add_hdr(r, "Proxy-Authorization", "Basic ${PROXY_AUTH}"));
	assert_non_null(recipe_add_hdr(r, "X-Empty", ""));
	r->req.env = true;
	r->req.secret = true;
	r->req.send_state = true;
	r->req.body = (unsigned char *)xstrndup("a=1\r\nb\0c", 8);
	r->req.bodylen = 8;
	e = recipe_add_hexpect(r, HEXP_STATUS);
	e->pattern = xstrndup("204", 3);
	e->len = 3;
	e->comment = xstrndup("no content", 10);
	e = recipe_add_hexpect(r, HEXP_RSTATUS);
	e->pattern = xstrndup("^2\\d\\d$", 7);
	e->len = 7;
	e->negate = true;
	e = recipe_add_hexpect(r, HEXP_RSTRING);
	e->pattern = xstrndup("ok|OK", 5);
	e->len = 5;
	e->min_recv = 0;
	e = recipe_add_hexpect(r, HEXP_STRING);
	e->pattern = xstrndup("\"quoted\"", 8);
	e->len = 8;
	e = recipe_add_hexpect(r, HEXP_HDR);
	e->pattern = xstrndup("x-test1", 7);
	e->len = 7;
	e = recipe_add_hexpect(r, HEXP_HDR);
	e->pattern = xstrndup("^x-[a-z]+$", 10);
	e->len = 10;
	e->name_m = HDRM_REG;
	e->value = xstrndup("^v[0-9]", 7);
	e->vlen = 7;
	e->value_m = HDRM_REG;
	e->negate = true;
	e = recipe_add_hexpect(r, HEXP_HDR);
	e->pattern = xstrndup("X-", 2);
	e->len = 2;
	e->name_m = HDRM_BEG;
	e->value = xstrndup("a, b", 4);
	e->vlen = 4;
	e->value_m = HDRM_SUB;
	e->full = true;
	y = roundtrip(compiled(r), true);
	recipe_free(y);
	recipe_free(r);

	/* the connection settings: emitted as 'connect: {...}', read back the same, copied by recipe_dup */
	r = load_str(V1 "kind: http\nconnect: {port: 8081, linger: true, addr: \"[::1]:8082\", socks4: \"127.0.0.1:1080\", "
		     "send_proxy: v2}\n", why);
	if (!r)
		fail_msg("%s", why);
	assert_non_null(r->conn);
	assert_int_equal(r->conn->type, STEP_CONNECT);
	assert_int_equal(r->conn->port, 8081);
	assert_true(r->conn->linger);
	assert_int_equal(net_port_of(&r->conn->addr), 8082);
	assert_int_equal(r->conn->addr.ss_family, AF_INET6);
	assert_int_equal(net_port_of(&r->conn->socks4), 1080);
	assert_int_equal(r->conn->send_proxy, 2);
	y = roundtrip(r, true);
	recipe_free(y);
	y = recipe_dup(r);
	assert_non_null(y);
	assert_recipe_equal(r, y);
	recipe_free(y);
	recipe_free(r);
	/* "connect:" alone, like a bare connect step: the server itself */
	r = load_str(V1 "kind: http\nconnect:\n", why);
	if (!r)
		fail_msg("%s", why);
	assert_non_null(r->conn);
	assert_int_equal(r->conn->port, 0);
	assert_int_equal(r->conn->addrlen, 0);
	recipe_free(r);
}

/* A text payload that is not UTF-8 is saved as send-binary: the same bytes go on the wire. */
static void non_utf8_text_saved_as_binary(void **state)
{
	struct recipe *r = recipe_new(RECIPE_TCP), *y;
	char err[ERR_LEN];
	struct buf out;

	add_send(r, "ab\xff\xfe", 4, false);
	add_expect(r, EXPECT_STRING, "\xc0\x80", 2); /* overlong NUL: not UTF-8 */
	add_send(r, "\xed\xa0\x80", 3, false);        /* a surrogate: not UTF-8 either */
	compiled(r);
	assert_emits(r, "- send-binary: \"6162fffe\"\n", "- expect: {binary: \"c080\"}\n");
	y = roundtrip(r, false);
	assert_true(y->steps[0].binary);
	assert_memory_equal(y->steps[0].data, "ab\xff\xfe", 4);
	assert_int_equal(y->steps[1].match, EXPECT_BINARY);
	assert_memory_equal(y->steps[1].data, "\xc0\x80", 2);
	assert_true(y->steps[2].binary);
	recipe_free(y);

	/* free text that is not UTF-8 gets U+FFFD for each bad byte rather than failing the save */
	recipe_free(r);
	r = recipe_new(RECIPE_TCP);
	assert_int_equal(recipe_set_str(&r->name, "n\xff"), 0);
	assert_int_equal(recipe_set_str(&r->notes, "line\xc3\nline2\n"), 0);
	add_send(r, "x", 1, false);
	assert_int_equal(recipe_set_str(&r->steps[0].comment, "a\xe2\x82" "b"), 0);
	y = roundtrip(compiled(r), false);
	assert_string_equal(y->name, "n\xef\xbf\xbd");
	assert_string_equal(y->notes, "line\xef\xbf\xbd\nline2\n");
	assert_string_equal(y->steps[0].comment, "a\xef\xbf\xbd\xef\xbf\xbd" "b");
	recipe_free(y);

	/* a regex cannot change kind: that is a clear error, and out is left as it was */
	recipe_free(r);
	r = recipe_new(RECIPE_TCP);
	add_send(r, "x", 1, false);
	add_expect(r, EXPECT_RSTRING, "a\xff", 2);
	compiled(r);
	buf_init(&out, 1 << 20);
	assert_int_equal(buf_append_str(&out, "keep"), 0);
	assert_int_equal(recipe_emit_yaml(r, &out, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "step 2: the rstring pattern is not valid UTF-8"));
	assert_int_equal(out.len, 4);
	buf_free(&out);
	recipe_free(r);
}

static void emitted_layout(void **state)
{
	struct recipe *r = recipe_new(RECIPE_TCP);
	char err[ERR_LEN];
	struct buf out;
	struct step *s;

	assert_int_equal(recipe_set_str(&r->name, "layout"), 0);
	assert_int_equal(recipe_set_str(&r->notes, "line one\n\nline three\n"), 0);
	recipe_add_step(r, STEP_CONNECT);
	add_send(r, "\x05\x01\x00", 3, true);
	s = add_expect(r, EXPECT_BINARY, "\x05\x00", 2);
	assert_int_equal(recipe_set_str(&s->comment, "method: no auth"), 0);
	add_send(r, "GET / HTTP/1.1\r\n\r\n", 18, false);
	s = add_expect(r, EXPECT_RSTRING, "^HTTP", 5);
	s->min_recv = 12;
	s->negate = true;
	compiled(r);
	buf_init(&out, 1 << 20);
	assert_int_equal(recipe_emit_yaml(r, &out, err, sizeof(err)), 0);
	assert_string_equal(buf_cstr(&out), "version: 1\n"
					    "name: layout\n"
					    "notes: |\n"
					    "  line one\n"
					    "\n"
					    "  line three\n"
					    "kind: tcp\n"
					    "steps:\n"
					    "- connect: {}\n"
					    "- send-binary: \"050100\"\n"
					    "- expect: {binary: \"0500\"}\n"
					    "  comment: \"method: no auth\"\n"
					    "- send: \"GET / HTTP/1.1\\r\\n\\r\\n\"\n"
					    "- expect: {rstring: \"^HTTP\", min-recv: 12, negate: true}\n");
	/* the output cap is an error, not a truncated file */
	buf_free(&out);
	buf_init(&out, 40);
	assert_int_equal(recipe_emit_yaml(r, &out, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "limit"));
	assert_int_equal(out.len, 0);
	buf_free(&out);
	recipe_free(r);
}

/* xorshift: a fixed sequence, so a failure reproduces. */
static uint32_t rnd_state = 2463534242u;
static uint32_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state;
}

/* Random UTF-8 text that favours the characters YAML cares about. */
static size_t rnd_text(char *out, size_t max, bool allow_nul)
{
	static const char *const pieces[] = {
		"\r", "\n", "\t", " ", ":", ": ", "#", " #", "-", "- ", "'", "\"", "\\", "{", "}", "[", "]", ",",
		"&", "*", "!", "|", ">", "%", "@", "`", "?", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
		"\xc2\x85", "\xef\xbb\xbf", "\x7f", "\x01", "\x1b", "a", "b", "Z", "0", "9", "true", "null", "~",
		"---", "...", "\n\n", "  ", "\xe2\x80\xa8",
	};
	size_t n = 0, want = rnd() % max;

	while (n < want) {
		const char *p = pieces[rnd() % ARRAY_SIZE(pieces)];
		size_t k = strlen(p);

		if (allow_nul && rnd() % 20 == 0) {
			p = "\0";
			k = 1;
		}
		if (n + k >= max)
			break;
		memcpy(out + n, p, k);
		n += k;
	}
	out[n] = '\0';
	return n;
}

static void random_roundtrips(void **state)
{
	char text[200];
	int iter;

	for (iter = 0; iter < 400; iter++) {
		struct recipe *r = recipe_new(RECIPE_TCP), *y;
		size_t n, i;

		rnd_text(text, sizeof(text), false);
		assert_int_equal(recipe_set_str(&r->name, text), 0);
		rnd_text(text, sizeof(text), false);
		assert_int_equal(recipe_set_str(&r->notes, text), 0);
		rnd_text(text, sizeof(text), false);
		assert_int_equal(recipe_set_str(&r->recorded_from, text), 0);
		for (i = 0; i < 4; i++) {
			struct step *s;

			n = rnd_text(text, sizeof(text), true);
			if (n == 0)
				text[n++] = 'x';
			add_send(r, text, n, rnd() % 4 == 0);
			s = add_expect(r, rnd() % 2 ? EXPECT_STRING : EXPECT_BINARY, text, n);
			rnd_text(text, sizeof(text), false);
			if (text[0])
				assert_int_equal(recipe_set_str(&s->comment, text), 0);
		}
		y = roundtrip(compiled(r), true);
		recipe_free(y);
		recipe_free(r);
	}
}

/* Any bytes as a text payload: UTF-8 stays text, anything else comes back as the same bytes in binary. */
static void random_byte_payloads(void **state)
{
	unsigned char p[64];
	int iter;

	for (iter = 0; iter < 300; iter++) {
		struct recipe *r = recipe_new(RECIPE_TCP), *y;
		size_t n = 1 + rnd() % sizeof(p), i;
		bool utf8;

		for (i = 0; i < n; i++)
			p[i] = (unsigned char)(iter % 2 ? rnd() : rnd() % 0x80 + (rnd() % 8 == 0 ? 0x80 : 0));
		utf8 = utf8_valid(p, n);
		add_send(r, p, n, false);
		add_expect(r, EXPECT_STRING, p, n);
		y = roundtrip(compiled(r), utf8);
		assert_int_equal(y->steps[0].binary, !utf8);
		assert_int_equal(y->steps[1].match, utf8 ? EXPECT_STRING : EXPECT_BINARY);
		assert_true(memeq(y->steps[0].data, y->steps[0].len, p, n));
		assert_true(memeq(y->steps[1].data, y->steps[1].len, p, n));
		recipe_free(y);
		recipe_free(r);
	}
}

/* Every prefix of each sample, and random byte flips, load or fail cleanly with a positioned error. */
static void truncations_and_mutations(void **state)
{
	static const char *const files[] = {
		"samples/seed-socks5-generate-204.yaml", "samples/seed-http-generate-204.yaml",
	};
	static const char flips[] = "\"'{}[]:,-#&*!|>\\\n\t \x00\xff" "0aZ";
	const char *src = getenv("RECHECK_SOURCE_DIR");
	char path[4096], err[ERR_LEN];
	size_t f, n, len;
	char *text;

	for (f = 0; f < ARRAY_SIZE(files); f++) {
		snprintf(path, sizeof(path), "%s/%s", src ? src : ".", files[f]);
		assert_int_equal(read_file(path, RECIPE_YAML_MAX_FILE, &text, &len, err, sizeof(err)), 0);
		for (n = 0; n <= len; n += n < 600 ? 1 : 5) { /* every prefix of the head, then a sample */
			struct recipe *r = recipe_load_mem(text, n, "t.yaml", err, sizeof(err));

			if (!r && strncmp(err, "t.yaml:", 7))
				fail_msg("prefix %zu: unpositioned error '%s'", n, err);
			recipe_free(r);
		}
		for (n = 0; n < 1000; n++) {
			char *m = malloc(len);
			struct recipe *r;
			int k;

			assert_non_null(m);
			memcpy(m, text, len);
			for (k = 0; k < 1 + (int)(rnd() % 4); k++)
				m[rnd() % len] = flips[rnd() % (sizeof(flips) - 1)];
			r = recipe_load_mem(m, len, "t.yaml", err, sizeof(err));
			if (!r && strncmp(err, "t.yaml:", 7))
				fail_msg("mutation %zu: unpositioned error '%s'", n, err);
			recipe_free(r);
			free(m);
		}
		free(text);
	}
}

/* ---- errors ---------------------------------------------------------------------------------------- */

static int nbad; /* mismatches in the current test: all are printed before the test fails */

static void check_error(const char *text, const char *want)
{
	char err[ERR_LEN];
	struct recipe *r = load_str(text, err);

	if (r) {
		recipe_free(r);
		print_error("loaded, but expected: %s\n---\n%s\n", want, text);
		nbad++;
	} else if (strncmp(err, want, strlen(want))) {
		print_error("got:  %s\nwant: %s\n---\n%s\n", err, want, text);
		nbad++;
	}
}

struct errcase {
	const char *text, *want;
};

/* check_error() for each case, in order. */
static void check_errors(const struct errcase *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		check_error(c[i].text, c[i].want);
}

static void schema_errors(void **state)
{
	nbad = 0;
	{
		static const struct errcase cases[] = {
			{V1 "steps:\n  - connect: {}\nfoo: 1\n", "t.yaml:4:1: recipe: unknown key 'foo' (expected one of: version,"},
			{V1 "steps:\n  - sned: x\n", "t.yaml:3:5: step 1: unknown key 'sned'"},
			{V1 "steps:\n  - connect: {prot: 1}\n", "t.yaml:3:15: step 1: unknown key 'prot' (expected one of: port, linger, addr, socks4, send_proxy)"},
			{V1 "steps:\n  - connect: {send_proxy: v3}\n", "t.yaml:3:27: step 1: 'send_proxy' must be v1 or v2 (the PROXY protocol version)"},
			{V1 "kind: http\nconnect: {send_proxy: [v1]}\n", "t.yaml:3:23: connect: 'send_proxy' must be v1 or v2 (the PROXY protocol version)"},
			{V1 "steps:\n  - connect: {addr: host.example}\n", "t.yaml:3:21: step 1: 'addr': 'host.example': not an IP address (a host name is not resolved here)"},
			{V1 "steps:\n  - connect: {socks4: \"127.0.0.1\"}\n", "t.yaml:3:23: step 1: 'socks4': '127.0.0.1': expected IP:PORT"},
			{V1 "steps:\n  - send: x\n  - expect: {strin: x}\n", "t.yaml:4:14: step 2: unknown key 'strin'"},
			{V1 "steps:\n  - connect: {port: abc}\n", "t.yaml:3:21: step 1: 'port' must be an integer from 1 to 65535 (got 'abc')"},
			{V1 "steps:\n  - connect: {port: 0}\n", "t.yaml:3:21: step 1: 'port' must be an integer from 1 to 65535 (got '0')"},
			{V1 "steps:\n  - connect: {port: 70000}\n", "t.yaml:3:21: step 1: 'port' must be an integer from 1 to 65535"},
			{V1 "steps:\n  - connect: {port: \"80\"}\n", "t.yaml:3:21: step 1: 'port' must be an integer from 1 to 65535 (got the quoted string \"80\""},
			{V1 "steps:\n  - connect: {linger: 1}\n", "t.yaml:3:23: step 1: 'linger' must be true or false (got '1')"},
			{V1 "steps:\n  - send: x\n  - expect: {string: x, min-recv: -2}\n", "t.yaml:4:35: step 2: 'min-recv' must be an integer from -1 to 2147483647 (got '-2')"},
			{V1 "steps:\n  - send: x\n  - expect: {string: x, negate: \"true\"}\n", "t.yaml:4:33: step 2: 'negate' must be true or false (got the quoted string \"true\"; write it without quotes)"},
			{V1 "steps:\n  - send: x\n    env: yes\n", "t.yaml:4:10: step 1: 'env' must be true or false (got 'yes')"},
			{V1 "steps: {a: 1}\n", "t.yaml:2:8: 'steps' must be a list, not a mapping"},
			{V1 "steps:\n  - expect: x\n", "t.yaml:3:13: step 1: 'expect' must be a mapping ({key: value, ...}), not a scalar"},
			{V1 "steps:\n  - connect: [1]\n", "t.yaml:3:14: step 1: 'connect' must be a mapping ({key: value, ...}), not a list"},
			{V1 "steps:\n  - send: [x]\n", "t.yaml:3:11: step 1: 'send' must be a string, not a list"},
			{V1 "steps:\n  - send: ~\n", "t.yaml:3:11: step 1: 'send' must be a string, not nothing (null)"},
			{V1 "steps:\n  - send-binary: {a: b}\n", "t.yaml:3:18: step 1: 'send-binary' must be a string of hex digits, not a mapping"},
			{V1 "steps:\n  - x\n", "t.yaml:3:5: step 1: a step is a mapping with one of connect, send, send-binary, expect, tls (got a scalar)"},
			{V1 "steps:\n  - send: x\n    expect: {string: y}\n", "t.yaml:4:5: step 1: a step has exactly one action, but has both 'send' and 'expect'"},
			{V1 "steps:\n  - comment: x\n", "t.yaml:3:5: step 1: no action: a step needs one of connect, send, send-binary, expect"},
			{V1 "steps:\n  - expect: {string: x, binary: \"00\"}\n", "t.yaml:3:25: step 1: expect has both 'string' and 'binary' (one match per expect)"},
			{V1 "steps:\n  - expect: {min-recv: 3}\n", "t.yaml:3:13: step 1: expect needs one of string, binary, rstring, rbinary"},
			{V1 "steps:\n  - expect: {string: x}\n    env: true\n", "t.yaml:4:5: step 1: 'env' only applies to send and send-binary steps"},
			{V1 "steps:\n  - connect: {}\n    secret: true\n", "t.yaml:4:5: step 1: 'secret' only applies to send and send-binary steps"},
			{V1 "steps:\n  - send: x\n    comment: \"a\\0b\"\n", "t.yaml:4:14: step 1: 'comment' cannot contain a NUL byte"},
			{V1 "steps:\n  - send: x\n    comment: [a]\n", "t.yaml:4:14: step 1: 'comment' must be a string, not a list"},
			{V1 V1 "steps:\n  - send: x\n", "t.yaml:2:1: recipe: duplicate key 'version' (first at line 1)"},
			{V1 "steps:\n  - connect: {port: 1, port: 2}\n", "t.yaml:3:24: step 1: duplicate key 'port' (first at line 3)"},
			{V1 "steps:\n  - {? [a] : b}\n", "t.yaml:3:8: step 1: keys must be plain names"},
			{V1 "name: [a]\nsteps:\n  - send: x\n", "t.yaml:2:7: recipe: 'name' must be a string, not a list"},
		};

		check_errors(cases, ARRAY_SIZE(cases));
	}
	assert_int_equal(nbad, 0);
}

static void value_errors(void **state)
{
	nbad = 0;
	{
		static const struct errcase cases[] = {
			{V1 "steps:\n  - send-binary: \"abc\"\n", "t.yaml:3:18: step 1: 'send-binary': an even number of hex digits is expected (got 3)"},
			{V1 "steps:\n  - send-binary: \"0g\"\n", "t.yaml:3:18: step 1: 'send-binary': a hex digit is expected at offset 1 (found 'g')"},
			{V1 "steps:\n  - send: x\n  - expect: {binary: \"0 11\"}\n", "t.yaml:4:22: step 2: 'binary': a hex digit is expected at offset 1 (found ' ')"},
			{V1 "steps:\n  - send: x\n  - expect: {rstring: \"(\"}\n", "t.yaml:4:5: step 2: expect rstring '(': invalid regex at offset 1: missing closing parenthesis"},
			{V1 "steps:\n  - send: x\n  - expect: {rbinary: \"^05[\"}\n", "t.yaml:4:5: step 2: expect rbinary '^05[': invalid regex at offset 4:"},
			{V1 "steps:\n  - send: x\n  - expect: {string: \"\"}\n", "t.yaml:4:5: step 2: expect string has an empty pattern"},
			{V1 "steps:\n  - send-binary: \"\"\n", "t.yaml:3:5: step 1: send has an empty payload"},
			{V1 "steps:\n  - send: x\n  - connect: {}\n", "t.yaml:3:5: step 1: the first step must be 'connect' when the recipe has any 'connect' step"},
			{V1 "steps:\n  - send: \"${1X}\"\n    env: true\n", "t.yaml:3:5: step 1: environment reference at offset 0 is not ${NAME}"},
			{V1 "steps:\n  - send: \"a ${X\"\n    env: true\n", "t.yaml:3:5: step 1: environment reference at offset 2 is not ${NAME}"},
			{V1 "steps:\n", "t.yaml:2:1: the recipe has no steps"},
			{V1 "steps: []\n", "t.yaml:2:1: the recipe has no steps"},
			{V1 "name: x\n", "t.yaml:1:1: 'steps' is missing"},
			{"steps:\n  - send: x\n", "t.yaml:1:1: 'version' is missing: this is not a recipe (a recipe starts with 'version: 1')"},
			{"version: 2\nsteps:\n  - send: x\n", "t.yaml:1:10: 'version' must be 1, the only recipe version this recheck reads (got '2')"},
			{"version: \"1\"\nsteps:\n  - send: x\n", "t.yaml:1:10: 'version' must be 1, the only recipe version this recheck reads (got the quoted string \"1\""},
			{V1 "kind: udp\nsteps:\n  - send: x\n", "t.yaml:2:7: 'kind' must be tcp or http (got 'udp')"},
			{V1 "kind: http\nsteps:\n  - send: x\n", "t.yaml:3:1: 'steps' belongs to tcp recipes; HTTP recipes use 'request' and 'expect'"},
			{V1 "request: {}\nsteps:\n  - send: x\n", "t.yaml:2:1: 'request' belongs to HTTP recipes (add 'kind: http')"},
			{V1 "steps:\n  - send: x\nexpect: []\n", "t.yaml:4:1: 'expect' belongs to HTTP recipes (add 'kind: http')"},
			{V1 "steps:\n  - send: x\nconnect: {port: 1}\n", "t.yaml:4:1: 'connect' at the top level belongs to HTTP recipes (add 'kind: http')"},
		};

		check_errors(cases, ARRAY_SIZE(cases));
	}
	assert_int_equal(nbad, 0);
}

static void http_errors(void **state)
{
	/* an HTTP recipe's connect: the connect step's keys and checks */
	{
		static const struct errcase cases[] = {
			{V1 "kind: http\nconnect: {prot: 1}\n", "t.yaml:3:11: connect: unknown key 'prot' (expected one of: port, linger, addr, socks4, send_proxy)"},
			{V1 "kind: http\nconnect: {port: 0}\n", "t.yaml:3:17: connect: 'port' must be an integer from 1 to 65535"},
			{V1 "kind: http\nconnect: {socks4: \"127.0.0.1\"}\n", "t.yaml:3:19: connect: 'socks4': '127.0.0.1': expected IP:PORT"},
			{V1 "kind: http\nconnect: {addr: db.example}\n", "t.yaml:3:17: connect: 'addr': "},
			{V1 "kind: http\nconnect: 80\n", "t.yaml:3:10: connect: 'connect' must be a mapping"},
		};

		check_errors(cases, ARRAY_SIZE(cases));
	}
	{
		static const struct errcase cases[] = {
			{V1 "kind: http\nrequest:\n  headers:\n    - {name: Host}\n", "t.yaml:5:7: request header 1: a header needs both 'name' and 'value'"},
			{V1 "kind: http\nrequest:\n  headers:\n    - {name: Host, value: x, x: y}\n", "t.yaml:5:30: request header 1: unknown key 'x' (expected one of: name, value)"},
			{V1 "kind: http\nrequest:\n  headers: {Host: x}\n", "t.yaml:4:12: request: 'headers' must be a list of {name: ..., value: ...}, not a mapping"},
			{V1 "kind: http\nrequest:\n  headers:\n    - {name: \"Bad Name\", value: x}\n", "t.yaml:4:3: request: header name 'Bad Name' is not an HTTP token"},
			{V1 "kind: http\nrequest:\n  headers:\n    - {name: X, value: \"a\\r\\nb\"}\n", "t.yaml:4:3: request: header 'X' has a CR or LF in its value"},
			{V1 "kind: http\nrequest: {method: \"G T\"}\n", "t.yaml:3:10: request: method 'G T' is not an HTTP token"},
			{V1 "kind: http\nrequest: {version: HTTP/2}\n", "t.yaml:3:10: request: version must be HTTP/1.0 or HTTP/1.1 (got 'HTTP/2')"},
			{V1 "kind: http\nrequest: {uri: \"/a b\"}\n", "t.yaml:3:10: request: uri must be non-empty and contain no spaces or control bytes"},
			{V1 "kind: http\nrequest: {methd: GET}\n", "t.yaml:3:11: request: unknown key 'methd'"},
			{V1 "kind: http\nrequest: GET\n", "t.yaml:3:10: recipe: 'request' must be a mapping"},
			{V1 "kind: http\nexpect:\n  - {status: \"2x4\"}\n", "t.yaml:4:5: expect 1: status '2x4' is not a list of codes or ranges like 200-399,401"},
			{V1 "kind: http\nexpect:\n  - {status: 204}\n  - {rstring: \"[\"}\n", "t.yaml:5:5: expect 2: rstring '[': invalid regex at offset 1:"},
			{V1 "kind: http\nexpect:\n  - {status: 204, rstatus: x}\n", "t.yaml:4:19: expect 1: expect has both 'status' and 'rstatus'"},
			{V1 "kind: http\nexpect:\n  - {negate: true}\n", "t.yaml:4:5: expect 1: expect needs one of status, rstatus, string, rstring, hdr"},
			{V1 "kind: http\nexpect:\n  - {hdr: x, name-match: glob}\n", "t.yaml:4:26: expect 1: name-match must be str, beg, end, sub or reg, not 'glob'"},
			{V1 "kind: http\nexpect:\n  - {hdr: x, value-match: sub}\n", "t.yaml:4:27: expect 1: value-match needs a 'value'"},
			{V1 "kind: http\nexpect:\n  - {status: 204, value: x}\n", "t.yaml:4:19: expect 1: 'value' goes with 'hdr' only"},
			{V1 "kind: http\nexpect:\n  - {hdr: x, value: \"\"}\n", "t.yaml:4:5: expect 1: hdr has an empty value pattern"},
			{V1 "kind: http\nexpect:\n  - {hdr: x, value: \"(\", value-match: reg}\n", "t.yaml:4:5: expect 1: hdr value '(':"},
			{V1 "kind: http\nexpect:\n  - {string: \"\"}\n", "t.yaml:4:5: expect 1: string has an empty pattern"},
			{V1 "kind: http\nexpect: {status: 204}\n", "t.yaml:3:9: 'expect' must be a list of {status: ...} / {rstring: ...} mappings, not a mapping"},
			{V1 "kind: http\nrequest:\n  env: true\n  headers:\n    - {name: A, value: \"${}\"}\n", "t.yaml:4:3: request: environment reference at offset 0 is not ${NAME}"},
		};

		check_errors(cases, ARRAY_SIZE(cases));
	}
	assert_int_equal(nbad, 0);
}

static void syntax_and_hostile_input(void **state)
{
	char err[ERR_LEN];
	struct recipe *r;
	char *big;
	size_t i, n;

	{
		static const struct errcase cases[] = {
			{V1 "steps: [\n", "t.yaml:3:1: YAML syntax error: did not find expected node content (while parsing a flow node at line 3, column 1)"},
			{V1 "steps:\n\t- send: x\n", "t.yaml:3:1: YAML syntax error: found character that cannot start any token"},
			{V1 "steps:\n  - send: \"x\n", "t.yaml:4:1: YAML syntax error: found unexpected end of stream (while scanning a quoted scalar at line 3, column 11)"},
			{V1 "steps:\n  - send: \"\\q\"\n", "t.yaml:3:12: YAML syntax error: found unknown escape character"},
			{V1 "name: &a x\nsteps:\n  - send: *a\n", "t.yaml:2:7: anchors (&a) are not supported in recipes"},
			{V1 "steps:\n  - send: *a\n", "t.yaml:3:11: aliases (*a) are not supported in recipes"},
			{V1 "steps:\n  - send: !!binary x\n", "t.yaml:3:11: tags (tag:yaml.org,2002:binary) are not supported in recipes"},
			{V1 "steps:\n  - send: x\n---\nversion: 1\n", "t.yaml:4:1: a recipe file holds one YAML document (found a second '---')"},
			{"", "t.yaml:1:1: the file is empty (a recipe starts with 'version: 1')"},
			{"# only a comment\n", "t.yaml:1:1: the file is empty"},
			{"- a\n", "t.yaml:1:1: a recipe is a YAML mapping (starting with 'version: 1')"},
			{"just text\n", "t.yaml:1:1: a recipe is a YAML mapping"},
			{V1 "name: \"a\xff\"\nsteps:\n  - send: x\n", "t.yaml:2:9: invalid leading UTF-8 octet (byte 0xff); recipes are UTF-8 text"},
			{V1 "name: \xc3\n", "t.yaml:2:8: invalid trailing UTF-8 octet (byte 0x0a); recipes are UTF-8 text"},
			{V1 "name: a\x01\nsteps:\n  - send: x\n", "t.yaml:2:8: control characters are not allowed (byte 0x01); recipes are UTF-8 text"},
		};

		check_errors(cases, ARRAY_SIZE(cases));
	}

	/* NUL in the input (not a YAML escape): libyaml refuses it as a control character */
	r = recipe_load_mem(V1 "name: a\0b\n", 20, "t.yaml", err, sizeof(err));
	assert_null(r);
	assert_string_equal(err, "t.yaml:2:8: control characters are not allowed (byte 0x00); recipes are UTF-8 text");

	/* deep nesting: refused at the cap, long before memory or stack matter */
	n = 200000;
	big = malloc(2 * n + 32);
	assert_non_null(big);
	memcpy(big, "version: 1\nsteps: ", 18);
	for (i = 0; i < n; i++)
		big[18 + i] = '[';
	for (i = 0; i < n; i++)
		big[18 + n + i] = ']';
	r = recipe_load_mem(big, 18 + 2 * n, "t.yaml", err, sizeof(err));
	assert_null(r);
	assert_string_equal(err, "t.yaml:2:39: nesting deeper than 32 levels: this is not a recipe");
	for (i = 0; i < n; i++) /* block style nesting too */
		big[18 + i] = '{';
	memcpy(big + 18 + n, "a: 1", 4);
	r = recipe_load_mem(big, 18 + n + 4, "t.yaml", err, sizeof(err));
	assert_null(r);
	assert_non_null(strstr(err, "nesting deeper than 32 levels"));
	free(big);

	/* a 1 MB line: loads (a send far over HAProxy's buffer is then refused by the model) */
	n = 1 << 20;
	big = malloc(n + 64);
	assert_non_null(big);
	i = (size_t)snprintf(big, 64, V1 "steps:\n  - send: \"");
	memset(big + i, 'A', n);
	memcpy(big + i + n, "\"\n", 2);
	r = recipe_load_mem(big, i + n + 2, "t.yaml", err, sizeof(err));
	assert_null(r);
	assert_string_equal(err, "t.yaml:3:5: step 1: send payload is 1048576 bytes, more than HAProxy's 16384-byte buffer");
	/* a 1 MB key: libyaml's simple-key limit gives a syntax error */
	memset(big, 'k', n);
	memcpy(big + n, ": 1\n", 4);
	r = recipe_load_mem(big, n + 4, "t.yaml", err, sizeof(err));
	assert_null(r);
	assert_non_null(strstr(err, "t.yaml:1:"));
	assert_non_null(strstr(err, "YAML syntax error"));
	free(big);

	/* over the file cap */
	n = RECIPE_YAML_MAX_FILE + 1;
	big = malloc(n);
	assert_non_null(big);
	memset(big, '#', n);
	r = recipe_load_mem(big, n, "t.yaml", err, sizeof(err));
	assert_null(r);
	assert_string_equal(err, "t.yaml: 4194305 bytes is more than the 4194304-byte limit for a recipe");
	free(big);
}

static void step_cap(void **state)
{
	struct buf b;
	char err[ERR_LEN];
	struct recipe *r;
	int i;

	buf_init(&b, RECIPE_YAML_MAX_FILE);
	assert_int_equal(buf_append_str(&b, V1 "steps:\n"), 0);
	for (i = 0; i < RECIPE_MAX_STEPS; i++)
		assert_int_equal(buf_append_str(&b, "  - send: x\n"), 0);
	r = recipe_load_mem((const char *)b.data, b.len, "t.yaml", err, sizeof(err));
	if (!r)
		fail_msg("%s", err);
	assert_int_equal(r->nsteps, RECIPE_MAX_STEPS);
	assert_int_equal(r->steps[RECIPE_MAX_STEPS - 1].line, RECIPE_MAX_STEPS + 2);
	recipe_free(r);
	assert_int_equal(buf_append_str(&b, "  - send: x\n"), 0);
	r = recipe_load_mem((const char *)b.data, b.len, "t.yaml", err, sizeof(err));
	assert_null(r);
	assert_string_equal(err, "t.yaml:1027:5: more than 1024 steps");
	/* and a flood of nodes that is not a list of steps */
	buf_reset(&b);
	assert_int_equal(buf_append_str(&b, V1 "notes: ["), 0);
	for (i = 0; i < 120000; i++)
		assert_int_equal(buf_append_str(&b, "1,"), 0);
	assert_int_equal(buf_append_str(&b, "]\n"), 0);
	r = recipe_load_mem((const char *)b.data, b.len, "t.yaml", err, sizeof(err));
	assert_null(r);
	assert_non_null(strstr(err, "more than 100000 YAML nodes"));
	buf_free(&b);
}

static void load_file_errors(void **state)
{
	char err[ERR_LEN];

	assert_null(recipe_load_file("/nonexistent/r.yaml", err, sizeof(err)));
	assert_string_equal(err, "/nonexistent/r.yaml: No such file or directory");
}

static void lenient_forms(void **state)
{
	char err[ERR_LEN];
	struct recipe *r;

	/* "- connect:" with nothing is an empty connect; hex in any case; plain and quoted strings alike */
	r = load_str(V1 "kind: tcp\nsteps:\n  - connect:\n  - send-binary: 0aFf\n  - expect: {string: 'it''s'}\n"
			 "  - send: plain text\n  - expect: {rbinary: ^0A, min-recv: 0, negate: false}\n", err);
	if (!r)
		fail_msg("%s", err);
	assert_int_equal(r->steps[0].type, STEP_CONNECT);
	assert_int_equal(r->steps[0].port, 0);
	assert_memory_equal(r->steps[1].data, "\x0a\xff", 2);
	assert_string_equal((const char *)r->steps[2].data, "it's");
	assert_string_equal((const char *)r->steps[3].data, "plain text");
	assert_int_equal(r->steps[4].min_recv, 0);
	assert_false(r->steps[4].negate);
	assert_non_null(r->steps[4].rx);
	assert_int_equal(r->steps[4].line, 8);
	recipe_free(r);
	/* YAML \xNN is a Unicode code point: "\xe9" is U+00E9, the two bytes c3 a9 */
	r = load_str(V1 "steps:\n  - send: \"caf\\xe9\\x00\"\n", err);
	if (!r)
		fail_msg("%s", err);
	assert_int_equal(r->steps[0].len, 6);
	assert_memory_equal(r->steps[0].data, "caf\xc3\xa9\0", 6);
	recipe_free(r);
}

static void utf8_validator(void **state)
{
	assert_true(utf8_valid((const unsigned char *)"", 0));
	assert_true(utf8_valid((const unsigned char *)"a\0b", 3));
	assert_true(utf8_valid((const unsigned char *)"\xf4\x8f\xbf\xbf", 4));
	assert_false(utf8_valid((const unsigned char *)"\xf4\x90\x80\x80", 4)); /* past U+10FFFF */
	assert_false(utf8_valid((const unsigned char *)"\xe0\x80\x80", 3));     /* overlong */
	assert_false(utf8_valid((const unsigned char *)"\xed\xbf\xbf", 3));     /* surrogate */
	assert_false(utf8_valid((const unsigned char *)"\xc3", 1));             /* truncated */
	assert_false(utf8_valid((const unsigned char *)"\x80", 1));
	assert_false(utf8_valid((const unsigned char *)"\xff", 1));
}

int main(void)
{
	const char *seed = getenv("RECHECK_TEST_SEED"); /* to explore other random sequences */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(samples_roundtrip),
		cmocka_unit_test(seed_socks5_is_faithful),
		cmocka_unit_test(all_bytes_binary),
		cmocka_unit_test(text_payloads),
		cmocka_unit_test(regexes_with_backslashes),
		cmocka_unit_test(env_secret_flags),
		cmocka_unit_test(http_recipes),
		cmocka_unit_test(non_utf8_text_saved_as_binary),
		cmocka_unit_test(emitted_layout),
		cmocka_unit_test(random_roundtrips),
		cmocka_unit_test(random_byte_payloads),
		cmocka_unit_test(truncations_and_mutations),
		cmocka_unit_test(schema_errors),
		cmocka_unit_test(value_errors),
		cmocka_unit_test(http_errors),
		cmocka_unit_test(syntax_and_hostile_input),
		cmocka_unit_test(step_cap),
		cmocka_unit_test(load_file_errors),
		cmocka_unit_test(lenient_forms),
		cmocka_unit_test(utf8_validator),
	};

	if (seed && strtoul(seed, NULL, 10))
		rnd_state = (uint32_t)strtoul(seed, NULL, 10);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

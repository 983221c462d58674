/*
 * recipe: validation (recipe_compile), ${NAME} references and their resolution, deep copies, the
 * http-check status list.
 */
#include "api.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "recipe.h"
#include "recipe_yaml.h"
#include "regex.h"
#include "util.h"

static struct step *add(struct recipe *r, enum step_type t, const char *data)
{
	struct step *s = recipe_add_step(r, t);

	assert_non_null(s);
	if (data)
		assert_int_equal(step_set_data(s, data, strlen(data)), 0);
	return s;
}

static void compile_fails(struct recipe *r, const char *want)
{
	char err[ERR_LEN];

	assert_int_equal(recipe_compile(r, err, sizeof(err)), -1);
	if (!strstr(err, want))
		fail_msg("got '%s', want '%s'", err, want);
}

static void compile_ok(struct recipe *r)
{
	char err[ERR_LEN];

	if (recipe_compile(r, err, sizeof(err)) == -1)
		fail_msg("%s", err);
}

static void odd_hex_caught_at_load(void **state)
{
	char err[ERR_LEN];
	const char *y = "version: 1\nsteps:\n  - send-binary: \"050\"\n";

	assert_null(recipe_load_mem(y, strlen(y), "odd.yaml", err, sizeof(err)));
	assert_string_equal(err, "odd.yaml:3:18: step 1: 'send-binary': an even number of hex digits is expected (got 3)");
}

static void bad_regex_has_offset(void **state)
{
	struct recipe *r = recipe_new(RECIPE_TCP);
	struct step *s;

	add(r, STEP_SEND, "x");
	s = add(r, STEP_EXPECT, "^HTTP/1\\.[01 204");
	s->match = EXPECT_RSTRING;
	s->line = 9;
	compile_fails(r, "step 2 (line 9): expect rstring '^HTTP/1\\.[01 204': invalid regex at offset 16: "
			 "missing terminating ] for character class");
	/* fixed, it compiles and the regex is there to run */
	assert_int_equal(step_set_data(s, "^HTTP/1\\.[01] 204", 17), 0);
	compile_ok(r);
	assert_non_null(s->rx);
	assert_int_equal(rx_match(s->rx, (const unsigned char *)"HTTP/1.1 204 No Content", 23), 1);
	assert_int_equal(rx_match(s->rx, (const unsigned char *)"HTTP/1.1 200 OK", 15), 0);
	recipe_free(r);

	r = recipe_new(RECIPE_HTTP);
	recipe_add_hexpect(r, HEXP_RSTATUS)->pattern = xstrndup("(2", 2);
	r->hexp[0].len = 2;
	r->hexp[0].line = 4;
	compile_fails(r, "expect 1 (line 4): rstatus '(2': invalid regex at offset 2");
	recipe_free(r);
}

static void empty_patterns_and_payloads(void **state)
{
	struct recipe *r = recipe_new(RECIPE_TCP);
	struct step *s;

	compile_fails(r, "the recipe has no steps");
	s = add(r, STEP_SEND, "");
	compile_fails(r, "step 1: send has an empty payload");
	assert_int_equal(step_set_data(s, "x", 1), 0);
	s = add(r, STEP_EXPECT, "");
	s->match = EXPECT_BINARY;
	compile_fails(r, "step 2: expect binary has an empty pattern");
	assert_int_equal(step_set_data(s, "\0", 1), 0); /* one NUL byte is a pattern */
	compile_ok(r);
	s->min_recv = -2;
	compile_fails(r, "step 2: min-recv must be -1 or more (got -2)");
	s->min_recv = 0;
	s = add(r, STEP_SEND, NULL);
	assert_null(s->data);
	compile_fails(r, "step 3: send has an empty payload");
	recipe_free(r);

	r = recipe_new(RECIPE_HTTP);
	recipe_add_hexpect(r, HEXP_STRING);
	compile_fails(r, "expect 1: string has an empty pattern");
	recipe_free(r);
}

static void payload_cap(void **state)
{
	struct recipe *r = recipe_new(RECIPE_TCP);
	char *big = malloc(RECIPE_MAX_PAYLOAD + 1);
	struct step *s;

	assert_non_null(big);
	memset(big, 'a', RECIPE_MAX_PAYLOAD + 1);
	s = add(r, STEP_SEND, NULL);
	assert_int_equal(step_set_data(s, big, RECIPE_MAX_PAYLOAD), 0);
	compile_ok(r);
	assert_int_equal(step_set_data(s, big, RECIPE_MAX_PAYLOAD + 1), 0);
	compile_fails(r, "step 1: send payload is 16385 bytes, more than HAProxy's 16384-byte buffer");
	free(big);
	recipe_free(r);
}

static void first_step_connect_rule(void **state)
{
	struct recipe *r = recipe_new(RECIPE_TCP);
	struct step *s;

	add(r, STEP_SEND, "x");
	compile_ok(r); /* no connect at all: HAProxy adds the implicit one */
	s = add(r, STEP_CONNECT, NULL);
	compile_fails(r, "step 1: the first step must be 'connect' when the recipe has any 'connect' step");
	recipe_free(r);

	r = recipe_new(RECIPE_TCP);
	add(r, STEP_CONNECT, NULL);
	add(r, STEP_SEND, "x");
	s = add(r, STEP_CONNECT, NULL); /* later connects are fine: a new connection */
	s->port = 8080;
	compile_ok(r);
	s->port = 65536;
	compile_fails(r, "step 3: connect port 65536 is out of range 1-65535");
	s->port = -1;
	compile_fails(r, "step 3: connect port -1 is out of range");
	recipe_free(r);

	/* the step cap */
	r = recipe_new(RECIPE_TCP);
	for (int i = 0; i < RECIPE_MAX_STEPS; i++)
		assert_non_null(recipe_add_step(r, STEP_CONNECT));
	assert_null(recipe_add_step(r, STEP_CONNECT));
	assert_int_equal(r->nsteps, RECIPE_MAX_STEPS);
	recipe_free(r);
}

static void env_refs(void **state)
{
	static const struct {
		const char *payload;
		bool ok;
	} cases[] = {
		{"${A}", true}, {"x ${USER_1} y ${B}", true}, {"$A and $ {B} and $$", true}, {"${_X}", true},
		{"${}", false}, {"${1A}", false}, {"${A-B}", false}, {"${A", false}, {"tail ${", false},
		{"${A B}", false},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct recipe *r = recipe_new(RECIPE_TCP);
		struct step *s = add(r, STEP_SEND, cases[i].payload);
		char err[ERR_LEN];

		s->env = true;
		if ((recipe_compile(r, err, sizeof(err)) == 0) != cases[i].ok)
			fail_msg("'%s': expected %s (%s)", cases[i].payload, cases[i].ok ? "ok" : "an error", err);
		if (!cases[i].ok)
			assert_non_null(strstr(err, "is not ${NAME}"));
		/* without env: true the same bytes are plain text */
		s->env = false;
		compile_ok(r);
		recipe_free(r);
	}
}

static void resolve_env(void **state)
{
	struct recipe *r = recipe_new(RECIPE_TCP), *d;
	char err[ERR_LEN];
	struct step *s;

	add(r, STEP_CONNECT, NULL);
	s = add(r, STEP_SEND, "user ${RC_T_USER} pass ${RC_T_PASS}!");
	s->env = true;
	s->secret = true;
	s = add(r, STEP_SEND, "${RC_T_USER} stays");
	s = add(r, STEP_EXPECT, "^OK");
	s->match = EXPECT_RSTRING;
	compile_ok(r);

	unsetenv("RC_T_USER");
	unsetenv("RC_T_PASS");
	assert_null(recipe_resolve_env(r, err, sizeof(err)));
	assert_string_equal(err, "step 2: environment variable RC_T_USER is not set");
	setenv("RC_T_USER", "alice", 1);
	assert_null(recipe_resolve_env(r, err, sizeof(err)));
	assert_string_equal(err, "step 2: environment variable RC_T_PASS is not set");
	setenv("RC_T_PASS", "", 1); /* set but empty is a value */
	d = recipe_resolve_env(r, err, sizeof(err));
	assert_non_null(d);
	assert_string_equal((const char *)d->steps[1].data, "user alice pass !");
	assert_int_equal(d->steps[1].len, 17);
	assert_false(d->steps[1].env);
	assert_true(d->steps[1].secret);
	assert_string_equal((const char *)d->steps[2].data, "${RC_T_USER} stays");
	assert_non_null(d->steps[3].rx);
	/* the original is untouched */
	assert_string_equal((const char *)r->steps[1].data, "user ${RC_T_USER} pass ${RC_T_PASS}!");
	assert_true(r->steps[1].env);
	recipe_free(d);

	/* a payload that is only references to empty variables would send nothing */
	{
		struct recipe *e = recipe_new(RECIPE_TCP);

		s = add(e, STEP_SEND, "${RC_T_PASS}");
		s->env = true;
		compile_ok(e);
		assert_null(recipe_resolve_env(e, err, sizeof(err)));
		assert_string_equal(err, "step 1: the payload is empty once ${NAME} references are filled");
		recipe_free(e);
	}

	/* a value that would overflow HAProxy's buffer */
	{
		char *big = malloc(RECIPE_MAX_PAYLOAD + 1);

		assert_non_null(big);
		memset(big, 'v', RECIPE_MAX_PAYLOAD);
		big[RECIPE_MAX_PAYLOAD] = '\0';
		setenv("RC_T_PASS", big, 1);
		free(big);
		assert_null(recipe_resolve_env(r, err, sizeof(err)));
		assert_string_equal(err, "step 2: payload too large after filling ${NAME} references");
	}
	recipe_free(r);

	/* HTTP headers */
	r = recipe_new(RECIPE_HTTP);
	assert_non_null(recipe_add_hdr(r, "Host", "h"));
	assert_non_null(recipe_add_hdr(r, "Proxy-Authorization", "Basic ${RC_T_AUTH}"));
	r->req.env = true;
	compile_ok(r);
	unsetenv("RC_T_AUTH");
	assert_null(recipe_resolve_env(r, err, sizeof(err)));
	assert_string_equal(err, "request header: environment variable RC_T_AUTH is not set");
	setenv("RC_T_AUTH", "YWxpY2U6czNjcmV0", 1);
	d = recipe_resolve_env(r, err, sizeof(err));
	assert_non_null(d);
	assert_string_equal(d->req.hdrs[1].value, "Basic YWxpY2U6czNjcmV0");
	assert_string_equal(d->req.hdrs[0].value, "h");
	assert_false(d->req.env);
	recipe_free(d);
	recipe_free(r);
	unsetenv("RC_T_USER");
	unsetenv("RC_T_PASS");
	unsetenv("RC_T_AUTH");
}

static void dup_is_deep(void **state)
{
	const char *y = "version: 1\nname: n\nprotocol: socks5\nrecorded_from: f\nrecorded_at: t\nnotes: |\n  a\n"
			"steps:\n  - connect: {port: 1080, linger: true}\n    comment: c\n"
			"  - send: \"a\\0b\"\n    env: true\n    secret: true\n"
			"  - expect: {rbinary: \"^05\", min-recv: 2, negate: true}\n";
	const char *h = "version: 1\nkind: http\nrequest: {method: GET, uri: /x, version: HTTP/1.1, body: \"b\\0dy\","
			" headers: [{name: A, value: B}], comment: q}\nexpect:\n  - {rstatus: \"^2\", comment: e}\n"
			"  - {status: \"204\"}\n";
	char err[ERR_LEN];
	struct recipe *r, *d;
	struct buf a, b;

	r = recipe_load_mem(y, strlen(y), "d.yaml", err, sizeof(err));
	if (!r)
		fail_msg("%s", err);
	d = recipe_dup(r);
	assert_non_null(d);
	assert_ptr_not_equal(d->steps, r->steps);
	assert_ptr_not_equal(d->steps[1].data, r->steps[1].data);
	assert_ptr_not_equal(d->steps[2].rx, r->steps[2].rx);
	assert_non_null(d->steps[2].rx);
	assert_string_equal(d->file, "d.yaml");
	assert_int_equal(d->steps[1].len, 3);
	assert_memory_equal(d->steps[1].data, "a\0b", 3);
	assert_int_equal(d->steps[0].port, 1080);
	assert_int_equal(d->steps[2].line, r->steps[2].line);
	buf_init(&a, 1 << 20);
	buf_init(&b, 1 << 20);
	assert_int_equal(recipe_emit_yaml(r, &a, err, sizeof(err)), 0);
	recipe_free(r); /* the copy must not share anything with it */
	assert_int_equal(recipe_emit_yaml(d, &b, err, sizeof(err)), 0);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.data, b.data, a.len);
	recipe_free(d);

	r = recipe_load_mem(h, strlen(h), "h.yaml", err, sizeof(err));
	if (!r)
		fail_msg("%s", err);
	d = recipe_dup(r);
	assert_non_null(d);
	assert_ptr_not_equal(d->hexp[0].rx, r->hexp[0].rx);
	assert_non_null(d->hexp[0].rx);
	assert_null(d->hexp[1].rx);
	assert_int_equal(d->req.bodylen, 4);
	assert_memory_equal(d->req.body, "b\0dy", 4);
	buf_reset(&a);
	buf_reset(&b);
	assert_int_equal(recipe_emit_yaml(r, &a, err, sizeof(err)), 0);
	recipe_free(r);
	assert_int_equal(recipe_emit_yaml(d, &b, err, sizeof(err)), 0);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.data, b.data, a.len);
	recipe_free(d);
	buf_free(&a);
	buf_free(&b);
}

static void status_list(void **state)
{
	assert_int_equal(http_status_in_list("204", 204), 1);
	assert_int_equal(http_status_in_list("204", 200), 0);
	assert_int_equal(http_status_in_list("200-399", 200), 1);
	assert_int_equal(http_status_in_list("200-399", 399), 1);
	assert_int_equal(http_status_in_list("200-399", 400), 0);
	assert_int_equal(http_status_in_list("200-399", 199), 0);
	assert_int_equal(http_status_in_list("200,201,300-310", 305), 1);
	assert_int_equal(http_status_in_list("200,201,300-310", 202), 0);
	assert_int_equal(http_status_in_list("401,200-299", 401), 1);
	assert_int_equal(http_status_in_list("", 200), -1);
	assert_int_equal(http_status_in_list("2xx", 200), -1);
	assert_int_equal(http_status_in_list("200-", 200), -1);
	assert_int_equal(http_status_in_list("-200", 200), -1);
	assert_int_equal(http_status_in_list("200,", 200), -1);
	assert_int_equal(http_status_in_list("300-200", 250), -1);
	assert_int_equal(http_status_in_list("99", 99), -1);
	assert_int_equal(http_status_in_list("1000", 1000), -1);
	assert_int_equal(http_status_in_list("200 ", 200), -1);
	assert_int_equal(http_status_in_list("99999999999999999999999", 200), -1);
}

static void http_request_rules(void **state)
{
	struct recipe *r = recipe_new(RECIPE_HTTP);
	struct http_expect *e;

	compile_ok(r); /* all defaults: OPTIONS / HTTP/1.0, implicit status 200-399 */
	r->req.line = 3;
	assert_int_equal(recipe_set_str(&r->req.method, "GET"), 0);
	assert_int_equal(recipe_set_str(&r->req.version, "HTTP/1.2"), 0);
	compile_fails(r, "request (line 3): version must be HTTP/1.0 or HTTP/1.1 (got 'HTTP/1.2')");
	assert_int_equal(recipe_set_str(&r->req.version, "HTTP/1.1"), 0);
	assert_int_equal(recipe_set_str(&r->req.uri, ""), 0);
	compile_fails(r, "request (line 3): uri must be non-empty and contain no spaces or control bytes");
	assert_int_equal(recipe_set_str(&r->req.uri, "/a\x01"), 0);
	compile_fails(r, "request (line 3): uri must be non-empty and contain no spaces or control bytes");
	assert_int_equal(recipe_set_str(&r->req.uri, "/generate_204"), 0);
	assert_non_null(recipe_add_hdr(r, "X:Y", "v"));
	compile_fails(r, "request (line 3): header name 'X:Y' is not an HTTP token");
	free(r->req.hdrs[0].name);
	r->req.hdrs[0].name = strdup("X-Y");
	compile_ok(r);
	e = recipe_add_hexpect(r, HEXP_STATUS);
	e->pattern = xstrndup("20x", 3);
	e->len = 3;
	e->line = 7;
	compile_fails(r, "expect 1 (line 7): status '20x' is not a list of codes or ranges like 200-399,401");
	free(e->pattern);
	e->pattern = xstrndup("204", 3);
	compile_ok(r);
	add(r, STEP_SEND, "x");
	compile_fails(r, "an HTTP recipe cannot also have tcp-check steps");
	recipe_free(r);
}

static void secrets_and_names(void **state)
{
	struct recipe *r = recipe_new(RECIPE_HTTP);

	assert_false(recipe_has_secret(r));
	assert_non_null(recipe_add_hdr(r, "proxy-authorization", "Basic x"));
	assert_true(recipe_has_secret(r));
	recipe_free(r);
	r = recipe_new(RECIPE_TCP);
	add(r, STEP_SEND, "x");
	assert_false(recipe_has_secret(r));
	r->steps[0].secret = true;
	assert_true(recipe_has_secret(r));
	recipe_free(r);
	assert_string_equal(step_type_str(STEP_CONNECT), "connect");
	assert_string_equal(expect_match_str(EXPECT_RBINARY), "rbinary");
	assert_string_equal(http_expect_match_str(HEXP_RSTATUS), "rstatus");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(odd_hex_caught_at_load),
		cmocka_unit_test(bad_regex_has_offset),
		cmocka_unit_test(empty_patterns_and_payloads),
		cmocka_unit_test(payload_cap),
		cmocka_unit_test(first_step_connect_rule),
		cmocka_unit_test(env_refs),
		cmocka_unit_test(resolve_env),
		cmocka_unit_test(dup_is_deep),
		cmocka_unit_test(status_list),
		cmocka_unit_test(http_request_rules),
		cmocka_unit_test(secrets_and_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

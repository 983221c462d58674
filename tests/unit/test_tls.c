/*
 * test_tls: the tls step end to end without a network: its YAML (defaults, round trip, errors), the
 * engine's TLS action and verdicts (L6OK, L6RSP with the reason, L6TOUT, the delay split), the HAProxy
 * export (connect ssl, check-ssl, the refusal of TLS inside a tunnel) and import, and tls_prepare().
 * The handshake itself runs against real peers in tests/integration/test_tls.py.
 */
#include "api.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"
#include "check.h"
#include "recipe.h"
#include "recipe_haproxy.h"
#include "recipe_yaml.h"
#include "tls.h"

#include "check_fixture.h"

static struct recipe *load(const char *text)
{
	char err[ERR_LEN];
	struct recipe *r = recipe_load_mem(text, strlen(text), "t.yaml", err, sizeof(err));

	if (!r)
		fail_msg("load: %s", err);
	return r;
}

static void load_fails(const char *text, const char *want)
{
	char err[ERR_LEN];
	struct recipe *r = recipe_load_mem(text, strlen(text), "t.yaml", err, sizeof(err));

	if (r) {
		recipe_free(r);
		fail_msg("loaded, expected: %s", want);
	}
	if (!strstr(err, want))
		fail_msg("got '%s', expected it to contain '%s'", err, want);
}

#define SOCKS_TLS                                                                                          \
	"version: 1\n"                                                                                     \
	"protocol: socks5+https\n"                                                                         \
	"steps:\n"                                                                                         \
	"  - send-binary: \"050100\"\n"                                                                    \
	"  - expect: {binary: \"0500\"}\n"                                                                 \
	"  - tls: {sni: origin.test, alpn: [h2, http/1.1], ca: /tmp/ca.pem}\n"                              \
	"  - send: \"GET / HTTP/1.1\\r\\n\\r\\n\"\n"                                                         \
	"  - expect: {rstring: \"^HTTP/1\\\\.[01] 204\"}\n"

static void yaml_step(void **state)
{
	struct recipe *r = load(SOCKS_TLS), *back;
	const struct step *s = &r->steps[2];
	char err[ERR_LEN];
	struct buf out;

	(void)state;
	assert_int_equal(s->type, STEP_TLS);
	assert_string_equal(s->tls.sni, "origin.test");
	assert_string_equal(s->tls.alpn, "h2,http/1.1");
	assert_string_equal(s->tls.ca, "/tmp/ca.pem");
	assert_true(s->tls.verify);
	buf_init(&out, 1 << 16);
	assert_int_equal(recipe_emit_yaml(r, &out, err, sizeof(err)), 0);
	assert_non_null(strstr(buf_cstr(&out), "- tls: {sni: origin.test, alpn: [h2, http/1.1], ca: /tmp/ca.pem}\n"));
	back = recipe_load_mem((const char *)out.data, out.len, "back.yaml", err, sizeof(err));
	assert_non_null(back);
	assert_string_equal(back->steps[2].tls.alpn, "h2,http/1.1");
	assert_true(back->steps[2].tls.verify);
	recipe_free(back);
	recipe_free(r);
	buf_free(&out);

	/* defaults, verify: false, and a dup keeps everything */
	r = load("version: 1\nsteps:\n  - connect: {}\n  - tls:\n  - connect: {}\n  - tls: {verify: false}\n");
	assert_true(r->steps[1].tls.verify);
	assert_null(r->steps[1].tls.sni);
	back = recipe_dup(r);
	assert_non_null(back);
	assert_false(back->steps[3].tls.verify);
	recipe_free(back);
	buf_init(&out, 1 << 16);
	assert_int_equal(recipe_emit_yaml(r, &out, err, sizeof(err)), 0);
	assert_non_null(strstr(buf_cstr(&out), "- tls: {}\n"));
	assert_non_null(strstr(buf_cstr(&out), "- tls: {verify: false}\n"));
	buf_free(&out);
	recipe_free(r);

	/* an HTTP recipe's tls */
	r = load("version: 1\nkind: http\ntls: {sni: a.example}\nrequest: {uri: /generate_204}\n"
		 "expect:\n  - {status: \"204\"}\n");
	assert_non_null(r->tls);
	assert_string_equal(r->tls->sni, "a.example");
	buf_init(&out, 1 << 16);
	assert_int_equal(recipe_emit_yaml(r, &out, err, sizeof(err)), 0);
	assert_non_null(strstr(buf_cstr(&out), "tls: {sni: a.example}\n"));
	buf_free(&out);
	recipe_free(r);
}

static void yaml_errors(void **state)
{
	(void)state;
	load_fails("version: 1\nsteps:\n  - tls: {snI: x}\n", "t.yaml:3:11: step 1: unknown key 'snI' (expected one of: sni, verify, alpn, ca)");
	load_fails("version: 1\nsteps:\n  - tls: {verify: maybe}\n", "step 1: 'verify' must be true or false");
	load_fails("version: 1\nsteps:\n  - tls: {alpn: {a: b}}\n", "'alpn' must be a list of protocol names");
	load_fails("version: 1\nsteps:\n  - tls: {alpn: []}\n", "an empty list");
	load_fails("version: 1\nsteps:\n  - tls: {alpn: [\"\"]}\n", "a protocol name cannot be empty");
	load_fails("version: 1\nsteps:\n  - tls: {alpn: [\"a,b\"]}\n", "cannot contain a comma");
	load_fails("version: 1\nsteps:\n  - tls: {sni: \"a b\"}\n", "step 1: tls: sni 'a b' is not a host name");
	load_fails("version: 1\nsteps:\n  - tls: {verify: false, ca: x.pem}\n", "ca is only used with verify: true");
	load_fails("version: 1\nsteps:\n  - tls: {}\n  - tls: {}\n", "step 2: tls: TLS is already started");
	load_fails("version: 1\nsteps:\n  - tls: [a]\n", "'tls' must be a mapping");
	load_fails("version: 1\nsteps:\n  - tls: {}\n    send: x\n", "a step has exactly one action");
	load_fails("version: 1\ntls: {}\nsteps:\n  - send: x\n", "'tls' at the top level belongs to HTTP recipes");
	/* a second TLS on a new connection is fine */
	recipe_free(load("version: 1\nsteps:\n  - connect: {}\n  - tls: {}\n  - connect: {}\n  - tls: {}\n"));
}

/* ---- the engine ---- */

/* Starts r and connects: returns the TLS action the engine asks for next. */
static struct check_action to_tls(struct check_run *run, const struct recipe *r)
{
	start(run, r);
	next_is(run, CHECK_ACT_CONNECT);
	check_on_connected(run);
	return next_is(run, CHECK_ACT_TLS);
}

#define DIRECT_TLS "version: 1\nsteps:\n  - connect: {}\n  - tls: {sni: origin.test}\n"

static void engine_pass(void **state)
{
	struct recipe *r = load(DIRECT_TLS "  - send: \"GET /\"\n  - expect: {string: \"HTTP/1.1 204\"}\n");
	struct check_run run;
	struct check_action a;

	(void)state;
	a = to_tls(&run, r);
	assert_ptr_equal(a.tls, &r->steps[1].tls);
	next_is(&run, CHECK_ACT_WAIT);
	check_on_tls_ok(&run);
	next_is(&run, CHECK_ACT_SEND);
	check_on_sent(&run);
	next_is(&run, CHECK_ACT_WANT_READ);
	check_on_data(&run, "HTTP/1.1 204 No Content\r\n", 25);
	next_is(&run, CHECK_ACT_DONE);
	assert_int_equal(run.res.status, CHECK_L7OK);
	assert_true(run.res.connect_us > 0);
	assert_true(run.res.tls_us > 0);
	assert_true(run.res.ttfb_us > 0);
	check_run_free(&run);
	recipe_free(r);

	/* a recipe that ends with the handshake: L6OK, as HAProxy's check-ssl without more rules */
	r = load(DIRECT_TLS);
	to_tls(&run, r);
	check_on_tls_ok(&run);
	next_is(&run, CHECK_ACT_DONE);
	assert_int_equal(run.res.status, CHECK_L6OK);
	assert_int_equal(check_status_verdict(run.res.status), CHECK_RES_PASSED);
	assert_int_equal(run.res.ttfb_us, -1);
	check_run_free(&run);
	recipe_free(r);
}

static void engine_failures(void **state)
{
	struct recipe *r = load(DIRECT_TLS "  - send: x\n");
	struct check_run run;

	(void)state;
	to_tls(&run, r);
	check_on_tls_error(&run, TLS_R_EXPIRED, "certificate has expired");
	next_is(&run, CHECK_ACT_DONE);
	assert_int_equal(run.res.status, CHECK_L6RSP);
	assert_int_equal(run.res.tls_reason, TLS_R_EXPIRED);
	assert_string_equal(run.res.desc, "SSL handshake failure: expired (certificate has expired) at step 2 of "
					  "tcp-check (tls sni origin.test)");
	assert_string_equal(run.res.kind, "tls");
	assert_int_equal(run.res.step, 2);
	check_run_free(&run);

	/* the deadline during the handshake */
	to_tls(&run, r);
	check_on_timeout(&run);
	next_is(&run, CHECK_ACT_DONE);
	assert_int_equal(run.res.status, CHECK_L6TOUT);
	assert_string_equal(run.res.desc, "SSL handshake timeout at step 2 of tcp-check (tls sni origin.test)");
	check_run_free(&run);

	/* a driver that only reports a socket error: still L6RSP, handshake failure */
	to_tls(&run, r);
	check_on_error(&run, ECONNRESET);
	next_is(&run, CHECK_ACT_DONE);
	assert_int_equal(run.res.status, CHECK_L6RSP);
	assert_int_equal(run.res.tls_reason, TLS_R_HANDSHAKE);
	assert_non_null(strstr(run.res.desc, "handshake failure"));
	check_run_free(&run);

	/* a refused connect before TLS stays L4CON */
	start(&run, r);
	next_is(&run, CHECK_ACT_CONNECT);
	check_on_error(&run, ECONNREFUSED);
	next_is(&run, CHECK_ACT_DONE);
	assert_int_equal(run.res.status, CHECK_L4CON);
	check_run_free(&run);
	recipe_free(r);
}

static void engine_http(void **state)
{
	struct recipe *r = load("version: 1\nkind: http\ntls: {sni: a.example}\nrequest: {method: GET, uri: /g}\n"
				"expect:\n  - {status: \"204\"}\n");
	struct check_run run;
	struct check_action a;

	(void)state;
	a = to_tls(&run, r);
	assert_ptr_equal(a.tls, r->tls);
	check_on_tls_ok(&run);
	a = next_is(&run, CHECK_ACT_SEND);
	assert_memory_equal(a.data, "GET /g HTTP/1.0\r\n", 17);
	check_on_sent(&run);
	next_is(&run, CHECK_ACT_WANT_READ);
	check_on_data(&run, "HTTP/1.0 204 No Content\r\n\r\n", 27);
	check_on_eof(&run);
	next_is(&run, CHECK_ACT_DONE);
	assert_int_equal(run.res.status, CHECK_L7OK);
	assert_true(run.res.tls_us > 0);
	check_run_free(&run);

	to_tls(&run, r);
	check_on_tls_error(&run, TLS_R_NAME, "hostname mismatch");
	next_is(&run, CHECK_ACT_DONE);
	assert_int_equal(run.res.status, CHECK_L6RSP);
	assert_string_equal(run.res.desc, "SSL handshake failure: name mismatch (hostname mismatch) at initial "
					  "connection step of tcp-check (check-ssl)");
	check_run_free(&run);
	recipe_free(r);
}

/* ---- HAProxy ---- */

static const char *export(const struct recipe *r, const struct haproxy_export_opts *o, struct buf *out, char *err)
{
	buf_reset(out);
	if (haproxy_export(r, o, out, err, ERR_LEN) == -1)
		return NULL;
	return buf_cstr(out);
}

static void haproxy(void **state)
{
	struct haproxy_export_opts o = {0};
	struct recipe *r;
	char err[ERR_LEN];
	const char *txt;
	struct buf out;

	(void)state;
	buf_init(&out, 1 << 16);
	r = load(DIRECT_TLS "  - send: x\n");
	txt = export(r, &o, &out, err);
	assert_non_null(txt);
	assert_non_null(strstr(txt, "tcp-check connect ssl sni origin.test\ntcp-check send x\n"));
	assert_non_null(strstr(txt, "# TLS check: add to each server line: verify required ca-file @system-ca "
				    "verifyhost origin.test\n"));
	recipe_free(r);

	/* TLS first: the implicit connect becomes "connect ssl" */
	r = load("version: 1\nsteps:\n  - tls: {verify: false, alpn: [h2]}\n  - send: x\n");
	o.listen = "l";
	o.bind = "127.0.0.1:1";
	o.servers[0].name = "s";
	o.servers[0].addr = "127.0.0.1:2";
	o.nservers = 1;
	txt = export(r, &o, &out, err);
	assert_non_null(txt);
	assert_non_null(strstr(txt, "    tcp-check connect ssl alpn h2\n"));
	assert_non_null(strstr(txt, "    server s 127.0.0.1:2 check verify none\n"));
	recipe_free(r);

	/* HTTP: check-ssl, check-sni, check-alpn on the server lines */
	r = load("version: 1\nkind: http\ntls: {sni: a.example, alpn: [http/1.1]}\nrequest: {uri: /g}\n");
	txt = export(r, &o, &out, err);
	assert_non_null(txt);
	assert_non_null(strstr(txt, "    server s 127.0.0.1:2 check check-ssl check-sni a.example check-alpn http/1.1 "
				    "verify required ca-file @system-ca verifyhost a.example\n"));
	recipe_free(r);

	/* inside a tunnel: refused, naming the step */
	r = load(SOCKS_TLS);
	assert_null(export(r, &o, &out, err));
	assert_non_null(strstr(err, "step 3: tls inside the tunnel (after step 2, expect) cannot be expressed"));
	recipe_free(r);
	buf_free(&out);

	/* import: connect ssl sni alpn -> connect + tls */
	{
		static const char cfg[] = "backend b\n  option tcp-check\n  tcp-check connect ssl sni o.example alpn h2\n"
					  "  tcp-check send x\n";

		r = haproxy_import_mem(cfg, sizeof(cfg) - 1, "h.cfg", NULL, err, sizeof(err));
		if (!r)
			fail_msg("import: %s", err);
		assert_int_equal(r->nsteps, 3);
		assert_int_equal(r->steps[1].type, STEP_TLS);
		assert_string_equal(r->steps[1].tls.sni, "o.example");
		assert_string_equal(r->steps[1].tls.alpn, "h2");
		assert_true(r->steps[1].tls.verify);
		recipe_free(r);
	}
	{
		static const char cfg[] = "backend b\n  option tcp-check\n  tcp-check connect sni o.example\n";

		assert_null(haproxy_import_mem(cfg, sizeof(cfg) - 1, "h.cfg", NULL, err, sizeof(err)));
		assert_non_null(strstr(err, "sni and alpn only apply with ssl"));
	}
}

static void prepare(void **state)
{
	struct recipe *r;
	char err[ERR_LEN];

	(void)state;
	r = load("version: 1\nsteps:\n  - send: x\n  - tls: {ca: /nonexistent/ca.pem}\n");
	assert_int_equal(tls_prepare(r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "step 2 (line 4): tls: cannot load the ca file /nonexistent/ca.pem"));
	recipe_free(r);
	r = load("version: 1\nsteps:\n  - tls: {verify: false}\n");
	assert_int_equal(tls_prepare(r, err, sizeof(err)), 0);
	assert_non_null(r->steps[0].tls.ctx);
	assert_int_equal(tls_prepare(r, err, sizeof(err)), 0); /* idempotent */
	recipe_free(r);
	assert_string_equal(tls_reason_str(TLS_R_UNTRUSTED), "untrusted");
	assert_string_equal(tls_reason_str(TLS_R_NAME), "name mismatch");
	assert_string_equal(tls_reason_str(TLS_R_VERSION), "protocol version");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(yaml_step),       cmocka_unit_test(yaml_errors), cmocka_unit_test(engine_pass),
		cmocka_unit_test(engine_failures), cmocka_unit_test(engine_http), cmocka_unit_test(haproxy),
		cmocka_unit_test(prepare),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

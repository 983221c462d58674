/*
 * Recipes built by the dissectors survive the YAML round trip unchanged (binary payloads with NULs,
 * text sends with control bytes and ${} references, regexes), and a redacted recipe, once its references
 * are filled from the environment, writes exactly the bytes curl wrote.
 */
#include "api.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "dissect_fixture.h"
#include "recipe_yaml.h"

#define GREET_UP "\x05\x02\x00\x02"
#define AUTH     "\x01\x05" "alice" "\x07" "s3cr3t!"
#define CONNECT  "\x05\x01\x00\x03\x09localhost\x1f\x90"
#define REPLY6   "\x05\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\xa1\x2c"
#define GET      "GET /generate_204 HTTP/1.1\r\nHost: localhost:8080\r\nAccept: */*\r\n\r\n"
#define R204     "HTTP/1.1 204 No Content\r\nDate: Wed, 25 Nov 2026 01:00:00 GMT\r\n\r\n"
#define FWD      "GET http://127.0.0.1:8080/generate_204 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n" \
		 "Proxy-Authorization: Basic dXNlcjpwYXNz\r\n\r\n"

static void socks5_auth_turns(struct turns *t)
{
	C(t, GREET_UP);
	S(t, "\x05\x02");
	C(t, AUTH);
	S(t, "\x01\x00");
	C(t, CONNECT);
	S(t, REPLY6);
	C(t, GET);
	S(t, R204);
}

static void assert_same(const struct recipe *a, const struct recipe *b)
{
	size_t i;

	assert_string_equal(a->protocol, b->protocol);
	assert_int_equal(a->nsteps, b->nsteps);
	for (i = 0; i < a->nsteps; i++) {
		const struct step *x = &a->steps[i], *y = &b->steps[i];

		assert_int_equal(x->type, y->type);
		assert_int_equal(x->len, y->len);
		assert_memory_equal(x->data, y->data, x->len);
		assert_int_equal(x->binary, y->binary);
		assert_int_equal(x->env, y->env);
		assert_int_equal(x->secret, y->secret);
		if (x->type == STEP_EXPECT) {
			assert_int_equal(x->match, y->match);
			assert_int_equal(x->min_recv, y->min_recv);
			assert_int_equal(x->negate, y->negate);
		}
		if (x->comment)
			assert_string_equal(x->comment, y->comment);
	}
}

static void roundtrip_one(const struct turns *t, bool raw, bool redact)
{
	char err[ERR_LEN];
	struct buf sum, yaml;
	struct recipe *r, *back;

	r = build(t, raw, redact, &sum);
	buf_init(&yaml, 1 << 20);
	if (recipe_emit_yaml(r, &yaml, err, sizeof(err)) == -1)
		fail_msg("emit: %s", err);
	back = recipe_load_mem((const char *)yaml.data, yaml.len, "built.yaml", err, sizeof(err));
	if (!back)
		fail_msg("load: %s\n%s", err, buf_cstr(&yaml));
	assert_same(r, back);
	recipe_free(back);
	recipe_free(r);
	buf_free(&yaml);
	buf_free(&sum);
}

static void yaml_roundtrip(void **state)
{
	struct dcase *d = *state;
	int raw, redact;

	socks5_auth_turns(&d->t);
	for (raw = 0; raw < 2; raw++)
		for (redact = 0; redact < 2; redact++)
			roundtrip_one(&d->t, raw, redact);
	tb_free(&d->t);
	C(&d->t, FWD);
	S(&d->t, R204);
	roundtrip_one(&d->t, false, false);
	roundtrip_one(&d->t, false, true);
	tb_free(&d->t);
	C(&d->t, "\x00\x01hello");
	S(&d->t, "\x00+OK ready 0123456789abcdefghij");
	roundtrip_one(&d->t, false, false);
}

/* Redacted, then resolved from the environment: the check writes curl's bytes and passes. */
static void redact_resolve_replay(void **state)
{
	struct dcase *d = *state;
	const char *replies[] = {"\x05\x02", "\x01\x00", REPLY6, R204};
	const size_t lens[] = {2, 2, sizeof(REPLY6) - 1, sizeof(R204) - 1};
	char err[ERR_LEN];
	struct buf wrote;
	struct recipe *res;

	socks5_auth_turns(&d->t);
	d->r = build(&d->t, false, true, &d->sum);
	unsetenv("RECHECK_SOCKS_PASS");
	setenv("RECHECK_SOCKS_USER", "alice", 1);
	assert_null(recipe_resolve_env(d->r, err, sizeof(err)));
	assert_non_null(strstr(err, "RECHECK_SOCKS_PASS"));
	setenv("RECHECK_SOCKS_PASS", "s3cr3t!", 1);
	res = recipe_resolve_env(d->r, err, sizeof(err));
	if (!res)
		fail_msg("resolve: %s", err);
	buf_init(&wrote, 4096);
	assert_int_equal(replay(res, replies, lens, 4, &wrote), 1);
	assert_int_equal(wrote.len, sizeof(GREET_UP AUTH CONNECT GET) - 1);
	assert_memory_equal(wrote.data, GREET_UP AUTH CONNECT GET, wrote.len);
	buf_free(&wrote);
	recipe_free(res);
	dx_reset(d);

	C(&d->t, FWD);
	S(&d->t, R204);
	d->r = build(&d->t, false, true, &d->sum);
	setenv("RECHECK_PROXY_AUTH", "dXNlcjpwYXNz", 1);
	res = recipe_resolve_env(d->r, err, sizeof(err));
	if (!res)
		fail_msg("resolve: %s", err);
	assert_int_equal(res->steps[0].len, sizeof(FWD) - 1);
	assert_memory_equal(res->steps[0].data, FWD, sizeof(FWD) - 1);
	recipe_free(res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		DX_TEST(yaml_roundtrip),
		DX_TEST(redact_resolve_replay),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

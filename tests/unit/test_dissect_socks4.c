/*
 * SOCKS4/4a dissector: synthetic turns with the bytes curl exchanges with dante (socks4://, socks4a://).
 */
#include "api.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "dissect_fixture.h"

#define REQ4     "\x04\x01\x1f\x90\x7f\x00\x00\x01" "curl\x00"
#define REQ4A    "\x04\x01\x1f\x90\x00\x00\x00\x01" "\x00" "localhost\x00"
#define GRANTED  "\x00\x5a\x00\x00\x00\x00\x00\x00"
#define GET      "GET /generate_204 HTTP/1.1\r\nHost: localhost:8080\r\nAccept: */*\r\n\r\n"
#define R204     "HTTP/1.1 204 No Content\r\nDate: Wed, 25 Nov 2026 01:00:00 GMT\r\n\r\n"

static void socks4(void **state)
{
	struct turns t = {0};
	struct buf sum, ann;
	struct recipe *r;
	size_t i;

	(void)state;
	C(&t, REQ4);
	S(&t, GRANTED);
	C(&t, GET);
	S(&t, R204);
	r = build(&t, false, false, &sum);
	assert_string_equal(r->protocol, "socks4+http");
	assert_int_equal(r->nsteps, 4);
	assert_send_hex(&r->steps[0], "04011f907f0000016375726c00", true);
	assert_expect(&r->steps[1], EXPECT_RBINARY, "^005A", 8);
	assert_expect(&r->steps[3], EXPECT_RSTRING, "^HTTP/1\\.[01] 204[ \\r]", 13);
	buf_init(&ann, 4096);
	for (i = 0; i < r->nsteps; i++) {
		dissect_annotate(r->protocol, r, i, &ann);
		buf_putc(&ann, '\n');
	}
	assert_true(contains(&ann, "SOCKS4 request: CONNECT 127.0.0.1:8080, user-id 'curl'\n"));
	assert_true(contains(&ann, "SOCKS4 reply: request granted"));
	assert_true(contains(&ann, "HTTP response: status 204"));
	buf_free(&ann);
	recipe_free(r);
	buf_free(&sum);
	tb_free(&t);
}

/* 4a: the host name after the user-id, the request split at every turn boundary we could think of. */
static void socks4a_split(void **state)
{
	struct turns t = {0};
	struct buf sum, ann;
	struct recipe *r;

	(void)state;
	C(&t, "\x04\x01\x1f");
	C(&t, "\x90\x00\x00\x00\x01\x00local");
	C(&t, "host\x00GET /generate_204 HTTP/1.1\r\n");
	S(&t, "\x00\x5a\x1f\x90");
	S(&t, "\x7f\x00\x00\x01HTTP/1.1 204 No Content\r\n\r\n");
	C(&t, "Host: localhost:8080\r\nAccept: */*\r\n\r\n");
	r = build(&t, false, false, &sum);
	assert_string_equal(r->protocol, "socks4a+http");
	assert_int_equal(r->nsteps, 4);
	assert_int_equal(r->steps[0].len, sizeof(REQ4A) - 1);
	assert_memory_equal(r->steps[0].data, REQ4A, sizeof(REQ4A) - 1);
	assert_int_equal(r->steps[2].len, sizeof(GET) - 1);
	buf_init(&ann, 4096);
	dissect_annotate(r->protocol, r, 0, &ann);
	assert_string_equal(buf_cstr(&ann), "SOCKS4a request: CONNECT localhost:8080, user-id ''");
	buf_free(&ann);
	recipe_free(r);
	buf_free(&sum);
	tb_free(&t);
}

static void rejected(void **state)
{
	struct turns t = {0};

	(void)state;
	C(&t, REQ4);
	S(&t, "\x00\x5b\x00\x00\x00\x00\x00\x00");
	assert_refused(&t, "CD 5B", "rejected or failed");
	tb_free(&t);
}

static void truncated(void **state)
{
	struct dissect_opts o = {0};
	char err[ERR_LEN];
	struct turns t = {0};
	struct buf sum;
	struct recipe *r;

	(void)state;
	/* user-id without its NUL */
	C(&t, "\x04\x01\x1f\x90\x7f\x00\x00\x01" "cu");
	assert_null(dissect_build(&t, &o, NULL, err, sizeof(err)));
	tb_free(&t);
	/* a 5-byte reply: the request stays unanswered */
	C(&t, REQ4);
	S(&t, "\x00\x5a\x00\x00\x00");
	C(&t, GET);
	assert_null(dissect_build(&t, &o, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "no complete"));
	tb_free(&t);
	/* granted but nothing sent through the tunnel: the recipe ends at the grant */
	C(&t, REQ4);
	S(&t, GRANTED);
	r = build(&t, false, false, &sum);
	assert_int_equal(r->nsteps, 2);
	assert_true(contains(&sum, "nothing was sent through the tunnel"));
	recipe_free(r);
	buf_free(&sum);
	tb_free(&t);
}

/* A user-id longer than any client sends is not a SOCKS4 request: raw, with a warning. */
static void overlong_userid(void **state)
{
	unsigned char req[8 + 400];
	struct turns t = {0};
	struct buf sum;
	struct recipe *r;

	(void)state;
	memcpy(req, "\x04\x01\x1f\x90\x7f\x00\x00\x01", 8);
	memset(req + 8, 'a', 400);
	tb_add(&t, TURN_C2S, req, sizeof(req));
	S(&t, GRANTED);
	r = build(&t, false, false, &sum);
	assert_string_equal(r->protocol, "raw");
	assert_true(contains(&sum, "warning"));
	recipe_free(r);
	buf_free(&sum);
	tb_free(&t);
}

static void portable(void **state)
{
	const char *rec[] = {GRANTED, R204};
	const size_t len[] = {8, sizeof(R204) - 1};
	const char *other[] = {"\x00\x5a\x1f\x90\x7f\x00\x00\x01", "HTTP/1.0 204 Empty\r\nDate: x\r\n\r\n"};
	const size_t olen[] = {8, strlen(other[1])};
	const char *bad[] = {"\x00\x5b\x00\x00\x00\x00\x00\x00", R204};
	const char *code[] = {GRANTED, "HTTP/1.1 502 Bad Gateway\r\n\r\n"};
	const size_t clen[] = {8, strlen(code[1])};
	struct turns t = {0};
	struct buf sum;
	struct recipe *r;

	(void)state;
	C(&t, REQ4);
	S(&t, GRANTED);
	C(&t, GET);
	S(&t, R204);
	r = build(&t, false, false, &sum);
	assert_int_equal(replay(r, rec, len, 2, NULL), 1);
	assert_int_equal(replay(r, other, olen, 2, NULL), 1);
	assert_int_equal(replay(r, bad, len, 2, NULL), 0);
	assert_int_equal(replay(r, code, clen, 2, NULL), 0);
	recipe_free(r);
	buf_free(&sum);
	tb_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(socks4),
		cmocka_unit_test(socks4a_split),
		cmocka_unit_test(rejected),
		cmocka_unit_test(truncated),
		cmocka_unit_test(overlong_userid),
		cmocka_unit_test(portable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

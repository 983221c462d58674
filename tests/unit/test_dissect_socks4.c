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
	struct dcase *d = *state;
	struct buf ann;
	size_t i;

	C(&d->t, REQ4);
	S(&d->t, GRANTED);
	C(&d->t, GET);
	S(&d->t, R204);
	d->r = build(&d->t, false, false, &d->sum);
	assert_string_equal(d->r->protocol, "socks4+http");
	assert_int_equal(d->r->nsteps, 4);
	assert_send_hex(&d->r->steps[0], "04011f907f0000016375726c00", true);
	assert_expect(&d->r->steps[1], EXPECT_RBINARY, "^005A", 8);
	assert_expect(&d->r->steps[3], EXPECT_RSTRING, "^HTTP/1\\.[01] 204[ \\r]", 13);
	buf_init(&ann, 4096);
	for (i = 0; i < d->r->nsteps; i++) {
		dissect_annotate(d->r->protocol, d->r, i, &ann);
		buf_putc(&ann, '\n');
	}
	assert_true(contains(&ann, "SOCKS4 request: CONNECT 127.0.0.1:8080, user-id 'curl'\n"));
	assert_true(contains(&ann, "SOCKS4 reply: request granted"));
	assert_true(contains(&ann, "HTTP response: status 204"));
	buf_free(&ann);
}

/* 4a: the host name after the user-id, the request split at every turn boundary we could think of. */
static void socks4a_split(void **state)
{
	struct dcase *d = *state;
	struct buf ann;

	C(&d->t, "\x04\x01\x1f");
	C(&d->t, "\x90\x00\x00\x00\x01\x00local");
	C(&d->t, "host\x00GET /generate_204 HTTP/1.1\r\n");
	S(&d->t, "\x00\x5a\x1f\x90");
	S(&d->t, "\x7f\x00\x00\x01HTTP/1.1 204 No Content\r\n\r\n");
	C(&d->t, "Host: localhost:8080\r\nAccept: */*\r\n\r\n");
	d->r = build(&d->t, false, false, &d->sum);
	assert_string_equal(d->r->protocol, "socks4a+http");
	assert_int_equal(d->r->nsteps, 4);
	assert_int_equal(d->r->steps[0].len, sizeof(REQ4A) - 1);
	assert_memory_equal(d->r->steps[0].data, REQ4A, sizeof(REQ4A) - 1);
	assert_int_equal(d->r->steps[2].len, sizeof(GET) - 1);
	buf_init(&ann, 4096);
	dissect_annotate(d->r->protocol, d->r, 0, &ann);
	assert_string_equal(buf_cstr(&ann), "SOCKS4a request: CONNECT localhost:8080, user-id ''");
	buf_free(&ann);
}

static void rejected(void **state)
{
	struct dcase *d = *state;

	C(&d->t, REQ4);
	S(&d->t, "\x00\x5b\x00\x00\x00\x00\x00\x00");
	assert_refused(&d->t, "CD 5B", "rejected or failed");
}

static void truncated(void **state)
{
	struct dcase *d = *state;
	struct dissect_opts o = {0};
	char err[ERR_LEN];

	/* user-id without its NUL */
	C(&d->t, "\x04\x01\x1f\x90\x7f\x00\x00\x01" "cu");
	assert_null(dissect_build(&d->t, &o, NULL, err, sizeof(err)));
	tb_free(&d->t);
	/* a 5-byte reply: the request stays unanswered */
	C(&d->t, REQ4);
	S(&d->t, "\x00\x5a\x00\x00\x00");
	C(&d->t, GET);
	assert_null(dissect_build(&d->t, &o, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "no complete"));
	tb_free(&d->t);
	/* granted but nothing sent through the tunnel: the recipe ends at the grant */
	C(&d->t, REQ4);
	S(&d->t, GRANTED);
	d->r = build(&d->t, false, false, &d->sum);
	assert_int_equal(d->r->nsteps, 2);
	assert_true(contains(&d->sum, "nothing was sent through the tunnel"));
}

/* A user-id longer than any client sends is not a SOCKS4 request: raw, with a warning. */
static void overlong_userid(void **state)
{
	struct dcase *d = *state;
	unsigned char req[8 + 400];

	memcpy(req, "\x04\x01\x1f\x90\x7f\x00\x00\x01", 8);
	memset(req + 8, 'a', 400);
	tb_add(&d->t, TURN_C2S, req, sizeof(req));
	S(&d->t, GRANTED);
	d->r = build(&d->t, false, false, &d->sum);
	assert_string_equal(d->r->protocol, "raw");
	assert_true(contains(&d->sum, "warning"));
}

static void portable(void **state)
{
	struct dcase *d = *state;
	const char *rec[] = {GRANTED, R204};
	const size_t len[] = {8, sizeof(R204) - 1};
	const char *other[] = {"\x00\x5a\x1f\x90\x7f\x00\x00\x01", "HTTP/1.0 204 Empty\r\nDate: x\r\n\r\n"};
	const size_t olen[] = {8, strlen(other[1])};
	const char *bad[] = {"\x00\x5b\x00\x00\x00\x00\x00\x00", R204};
	const char *code[] = {GRANTED, "HTTP/1.1 502 Bad Gateway\r\n\r\n"};
	const size_t clen[] = {8, strlen(code[1])};

	C(&d->t, REQ4);
	S(&d->t, GRANTED);
	C(&d->t, GET);
	S(&d->t, R204);
	d->r = build(&d->t, false, false, &d->sum);
	assert_int_equal(replay(d->r, rec, len, 2, NULL), 1);
	assert_int_equal(replay(d->r, other, olen, 2, NULL), 1);
	assert_int_equal(replay(d->r, bad, len, 2, NULL), 0);
	assert_int_equal(replay(d->r, code, clen, 2, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		DX_TEST(socks4),
		DX_TEST(socks4a_split),
		DX_TEST(rejected),
		DX_TEST(truncated),
		DX_TEST(overlong_userid),
		DX_TEST(portable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

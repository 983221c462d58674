/*
 * HTTP forward-proxy and CONNECT dissector, and the raw fallback: synthetic turns with the bytes curl
 * exchanges with tinyproxy (forward, CONNECT, BasicAuth).
 */
#include "api.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "dissect_fixture.h"

#define FWD      "GET http://127.0.0.1:8080/generate_204 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n" \
		 "Proxy-Authorization: Basic dXNlcjpwYXNz\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n" \
		 "Proxy-Connection: Keep-Alive\r\n\r\n"
#define FWD_RED  "GET http://127.0.0.1:8080/generate_204 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n" \
		 "Proxy-Authorization: Basic ${RECHECK_PROXY_AUTH}\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n" \
		 "Proxy-Connection: Keep-Alive\r\n\r\n"
#define R204     "HTTP/1.1 204 No Content\r\nVia: 1.1 tinyproxy (tinyproxy/1.11.1)\r\n" \
		 "Date: Wed, 25 Nov 2026 01:00:00 GMT\r\nServer: origin\r\nX-Request-Id: 42\r\n\r\n"
#define CONN     "CONNECT 127.0.0.1:8080 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: curl/7.88.1\r\n" \
		 "Proxy-Connection: Keep-Alive\r\n\r\n"
#define R200     "HTTP/1.0 200 Connection established\r\nProxy-agent: tinyproxy/1.11.1\r\n\r\n"
#define GET      "GET /generate_204 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n"

#define RE204    "^HTTP/1\\.[01] 204[ \\r]"
#define RE200    "^HTTP/1\\.[01] 200[ \\r]"

static void forward(void **state)
{
	struct dcase *d = *state;
	struct buf ann;

	C(&d->t, FWD);
	S(&d->t, R204);
	d->r = build(&d->t, false, false, &d->sum);
	assert_string_equal(d->r->protocol, "http-proxy");
	assert_int_equal(d->r->nsteps, 2);
	assert_int_equal(d->r->steps[0].type, STEP_SEND);
	assert_false(d->r->steps[0].binary);
	assert_true(d->r->steps[0].secret);
	assert_false(d->r->steps[0].env);
	assert_int_equal(d->r->steps[0].len, sizeof(FWD) - 1);
	assert_memory_equal(d->r->steps[0].data, FWD, sizeof(FWD) - 1);
	assert_expect(&d->r->steps[1], EXPECT_RSTRING, RE204, 13);
	assert_true(recipe_has_secret(d->r));
	assert_true(contains(&d->sum, "volatile response headers never matched: Via, Date, Server, X-Request-Id"));
	assert_true(contains(&d->sum, "recorded credentials"));
	buf_init(&ann, 4096);
	dissect_annotate(d->r->protocol, d->r, 0, &ann);
	assert_string_equal(buf_cstr(&ann),
			    "HTTP request: GET http://127.0.0.1:8080/generate_204 HTTP/1.1 (carries credentials)");
	buf_reset(&ann);
	dissect_annotate(d->r->protocol, d->r, 1, &ann);
	assert_string_equal(buf_cstr(&ann), "HTTP response: status 204 (version, reason and headers not matched)");
	buf_free(&ann);
}

static void forward_redact(void **state)
{
	struct dcase *d = *state;

	C(&d->t, FWD);
	S(&d->t, R204);
	d->r = build(&d->t, false, true, &d->sum);
	assert_true(d->r->steps[0].env);
	assert_false(d->r->steps[0].secret);
	assert_false(recipe_has_secret(d->r));
	assert_int_equal(d->r->steps[0].len, sizeof(FWD_RED) - 1);
	assert_memory_equal(d->r->steps[0].data, FWD_RED, sizeof(FWD_RED) - 1);
	assert_true(contains(&d->sum, "RECHECK_PROXY_AUTH"));
	assert_false(contains(&d->sum, "dXNlcjpwYXNz"));
}

/* A request holding a literal "${" cannot carry references: it stays secret, with a warning. */
static void redact_refused(void **state)
{
	struct dcase *d = *state;

	C(&d->t, "GET http://a/?q=${x} HTTP/1.1\r\nHost: a\r\nProxy-Authorization: Basic dXNlcjpwYXNz\r\n\r\n");
	S(&d->t, "HTTP/1.1 204 No Content\r\n\r\n");
	d->r = build(&d->t, false, true, &d->sum);
	assert_false(d->r->steps[0].env);
	assert_true(d->r->steps[0].secret);
	assert_true(contains(&d->sum, "cannot be redacted"));
}

/* A head over HAProxy's buffer is cut into several sends, each flagged secret; it is never redacted. */
static void huge_head(void **state)
{
	struct dcase *d = *state;
	static const char pa[] = "GET http://a/ HTTP/1.1\r\nProxy-Authorization: Basic dXNlcjpwYXNz\r\nX-Pad: ";
	char *req;
	size_t n = 20000, k = sizeof(pa) - 1;

	req = malloc(n);
	assert_non_null(req);
	memcpy(req, pa, k);
	memset(req + k, 'p', n - k - 4);
	memcpy(req + n - 4, "\r\n\r\n", 4);
	tb_add(&d->t, TURN_C2S, req, n);
	S(&d->t, "HTTP/1.1 204 No Content\r\n\r\n");
	d->r = build(&d->t, false, true, &d->sum);
	assert_int_equal(d->r->nsteps, 3);
	assert_int_equal(d->r->steps[0].len + d->r->steps[1].len, n);
	assert_true(d->r->steps[0].secret);
	assert_true(d->r->steps[1].secret);
	assert_false(d->r->steps[0].env);
	assert_true(contains(&d->sum, "cannot be redacted"));
	free(req);
}

static void connect_inner(void **state)
{
	struct dcase *d = *state;
	struct buf ann;
	size_t i;

	C(&d->t, CONN);
	S(&d->t, "HTTP/1.0 200 Connection established\r\n");
	S(&d->t, "Proxy-agent: tinyproxy/1.11.1\r\n\r\n");
	C(&d->t, GET);
	S(&d->t, R204);
	d->r = build(&d->t, false, false, &d->sum);
	assert_string_equal(d->r->protocol, "http-connect");
	assert_int_equal(d->r->nsteps, 5);
	assert_memory_equal(d->r->steps[0].data, CONN, sizeof(CONN) - 1);
	assert_expect(&d->r->steps[1], EXPECT_RSTRING, RE200, 13);
	assert_expect(&d->r->steps[2], EXPECT_RSTRING, "\\n\\r?\\n", -1);
	assert_memory_equal(d->r->steps[3].data, GET, sizeof(GET) - 1);
	assert_expect(&d->r->steps[4], EXPECT_RSTRING, RE204, 13);
	assert_false(recipe_has_secret(d->r));
	buf_init(&ann, 4096);
	for (i = 0; i < d->r->nsteps; i++) {
		dissect_annotate(d->r->protocol, d->r, i, &ann);
		buf_putc(&ann, '\n');
	}
	assert_true(contains(&ann, "HTTP request: CONNECT 127.0.0.1:8080 HTTP/1.1\n"));
	assert_true(contains(&ann, "HTTP response: status 200"));
	assert_true(contains(&ann, "end of the response head"));
	assert_true(contains(&ann, "HTTP request: GET /generate_204 HTTP/1.1\n"));
	buf_free(&ann);
}

static void connect_tls(void **state)
{
	struct dcase *d = *state;

	C(&d->t, CONN);
	S(&d->t, R200);
	C(&d->t, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03");
	S(&d->t, "\x16\x03\x03\x00\x7a");
	d->r = build(&d->t, false, false, &d->sum);
	assert_string_equal(d->r->protocol, "http-connect");
	assert_int_equal(d->r->nsteps, 3);
	assert_true(contains(&d->sum, "TLS inside the tunnel"));
}

static void connect_refused(void **state)
{
	struct dcase *d = *state;

	C(&d->t, CONN);
	S(&d->t, "HTTP/1.0 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"tinyproxy\"\r\n\r\n");
	assert_refused(&d->t, "\"HTTP/1.0 407 Proxy Authentication Required\"", "requires credentials");
}

/* Two exchanges on one connection; the first response's body is skipped by its Content-Length. */
static void keep_alive(void **state)
{
	struct dcase *d = *state;

	C(&d->t, "GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n");
	S(&d->t, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
	C(&d->t, "GET http://a/generate_204 HTTP/1.1\r\nHost: a\r\n\r\n");
	S(&d->t, "HTTP/1.1 204 No Content\r\n\r\n");
	/* By default only the first exchange: later ones depend on it. */
	d->r = build(&d->t, false, false, &d->sum);
	assert_int_equal(d->r->nsteps, 2);
	assert_expect(&d->r->steps[1], EXPECT_RSTRING, RE200, 13);
	assert_true(contains(&d->sum, "--all-exchanges keeps them"));
	recipe_free(d->r);
	{
		struct dissect_opts o = {.all_exchanges = true};
		char err[ERR_LEN];

		d->r = dissect_build(&d->t, &o, NULL, err, sizeof(err));
		assert_non_null(d->r);
		assert_int_equal(d->r->nsteps, 4);
		assert_expect(&d->r->steps[1], EXPECT_RSTRING, RE200, 13);
		assert_expect(&d->r->steps[3], EXPECT_RSTRING, "HTTP/1\\.[01] 204[ \\r]", -1);
	}
}

static void error_status_kept(void **state)
{
	struct dcase *d = *state;

	C(&d->t, "GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n");
	S(&d->t, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
	d->r = build(&d->t, false, false, &d->sum);
	assert_expect(&d->r->steps[1], EXPECT_RSTRING, "^HTTP/1\\.[01] 502[ \\r]", 13);
	assert_true(contains(&d->sum, "warning: the recorded response is 502 Bad Gateway"));
}

static void raw_fallback(void **state)
{
	struct dcase *d = *state;

	C(&d->t, "\x00\x01hello");
	S(&d->t, "+OK ready 0123456789abcdefghij");
	C(&d->t, "QUIT\r\n");
	S(&d->t, "\x00\x00\x00\x01\x02");
	d->r = build(&d->t, false, false, &d->sum);
	assert_string_equal(d->r->protocol, "raw");
	assert_int_equal(d->r->nsteps, 4);
	assert_send_hex(&d->r->steps[0], "000168656c6c6f", true);
	assert_expect(&d->r->steps[1], EXPECT_RSTRING, "^\\+OK", -1);      /* a banner: its status only */
	assert_false(d->r->steps[2].binary);
	assert_int_equal(d->r->steps[3].match, EXPECT_BINARY);
	assert_int_equal(d->r->steps[3].len, 5);
	assert_true(contains(&d->sum, "warning: no known protocol"));
}

/* A request that starts like HTTP and turns into garbage falls back to raw as a whole. */
static void not_really_http(void **state)
{
	struct dcase *d = *state;

	C(&d->t, "GET \x01\x02\x03 junk\r\n\r\n");
	S(&d->t, "nope");
	d->r = build(&d->t, false, false, &d->sum);
	assert_string_equal(d->r->protocol, "raw");
	assert_int_equal(d->r->nsteps, 2);
	assert_true(d->r->steps[0].binary);
	assert_true(contains(&d->sum, "starts like http-proxy"));
	assert_true(contains(&d->sum, "do not parse as http-proxy"));
}

static void portable(void **state)
{
	struct dcase *d = *state;
	const char *rec[] = {R200, R204};
	const size_t len[] = {sizeof(R200) - 1, sizeof(R204) - 1};
	const char *other[] = {"HTTP/1.1 200 OK\r\n\r\n", "HTTP/1.0 204 Nada\r\nDate: Thu, 26 Nov 2026 09:09:09 GMT\r\n\r\n"};
	const size_t olen[] = {strlen(other[0]), strlen(other[1])};
	const char *head_cut[] = {"HTTP/1.0 200 Connection established\r\n", R204};
	const size_t hlen[] = {strlen(head_cut[0]), sizeof(R204) - 1};
	const char *code[] = {R200, "HTTP/1.1 200 OK\r\n\r\n"};
	const size_t clen[] = {sizeof(R200) - 1, strlen(code[1])};

	C(&d->t, CONN);
	S(&d->t, R200);
	C(&d->t, GET);
	S(&d->t, R204);
	d->r = build(&d->t, false, false, &d->sum);
	assert_int_equal(replay(d->r, rec, len, 2, NULL), 1);
	assert_int_equal(replay(d->r, other, olen, 2, NULL), 1);
	/* the tunnel head without its empty line: the check must not send through it yet */
	assert_int_equal(replay(d->r, head_cut, hlen, 2, NULL), 0);
	assert_int_equal(replay(d->r, code, clen, 2, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		DX_TEST(forward),
		DX_TEST(forward_redact),
		DX_TEST(redact_refused),
		DX_TEST(huge_head),
		DX_TEST(connect_inner),
		DX_TEST(connect_tls),
		DX_TEST(connect_refused),
		DX_TEST(keep_alive),
		DX_TEST(error_status_kept),
		DX_TEST(raw_fallback),
		DX_TEST(not_really_http),
		DX_TEST(portable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_secret: the one credential detector: RFC 1929 at a message start or after a greeting, the four
 * header fields (scheme kept), URL userinfo, references and look-alikes left alone.
 */
#include "api.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "secret.h"

#define FIND(s, v) secret_find((const unsigned char *)(s), sizeof(s) - 1, (v), SECRET_MAX_SPANS)

static void span_is(const char *buf, const struct secret_span *s, enum secret_kind k, const char *text)
{
	assert_int_equal(s->kind, k);
	assert_int_equal(s->len, strlen(text));
	assert_memory_equal(buf + s->off, text, s->len);
}

static void rfc1929(void **state)
{
	static const char a[] = "\x01\x04user\x06s3cret";
	static const char b[] = "\x05\x02\x00\x02\x01\x03" "bob\x02pw\x05\x01\x00\x01";
	static const char c[] = "\x01\x04us\x01r\x06s3cret";        /* not printable: not a password */
	static const char d[] = "\x01\x04user\x06s3cretTRAILING";   /* more than one message, not SOCKS */
	struct secret_span v[SECRET_MAX_SPANS];

	assert_int_equal(FIND(a, v), 1);
	span_is(a, &v[0], SECRET_RFC1929, "user");
	assert_int_equal(v[0].len2, 6);
	assert_memory_equal(a + v[0].off2, "s3cret", 6);
	assert_int_equal(FIND(b, v), 1);
	span_is(b, &v[0], SECRET_RFC1929, "bob");
	assert_int_equal(FIND(c, v), 0);
	assert_int_equal(FIND(d, v), 0);
}

static void headers_and_userinfo(void **state)
{
	static const char r[] = "GET http://al:pw@h.test/ HTTP/1.1\r\nHost: h.test\r\n"
				"proxy-authorization: Basic YWw6cHc=\r\nCookie: sid=42; x=1\r\n"
				"Authorization: Bearer tok\r\nX-Cookie: no\r\n\r\n";
	static const char s[] = "HTTP/1.1 200 OK\r\nSet-Cookie: sid=43; Path=/\r\n\r\n";
	static const char e[] = "GET / HTTP/1.1\r\nProxy-Authorization: Basic ${RECHECK_PROXY_AUTH}\r\n\r\n";
	struct secret_span v[SECRET_MAX_SPANS];

	assert_int_equal(FIND(r, v), 4);
	span_is(r, &v[0], SECRET_USERINFO, "al:pw");
	span_is(r, &v[1], SECRET_PROXY_AUTHORIZATION, "YWw6cHc=");
	span_is(r, &v[2], SECRET_COOKIE, "sid=42; x=1");
	span_is(r, &v[3], SECRET_AUTHORIZATION, "tok");
	assert_int_equal(FIND(s, v), 1);
	span_is(s, &v[0], SECRET_SET_COOKIE, "sid=43; Path=/");
	assert_int_equal(FIND(e, v), 0);
	assert_int_equal(secret_find(NULL, 0, v, 4), 0);
	assert_string_equal(secret_var(SECRET_COOKIE), "RECHECK_COOKIE");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rfc1929),
		cmocka_unit_test(headers_and_userinfo),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

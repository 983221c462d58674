/*
 * explain: the meaning of failing bytes — every SOCKS5 REP, the method choice, RFC 1929, SOCKS4 CD,
 * HTTP status lines; hostile and short inputs.
 */
#include "api.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "explain.h"

static const char *ex(const char *proto, const void *p, size_t n)
{
	static char out[EXPLAIN_LEN];

	explain_reply(proto, p, n, out, sizeof(out));
	return out;
}

static void socks5_rep(void **state)
{
	static const char *const want[] = {"REP 00: succeeded", "REP 01: general SOCKS server failure",
					   "REP 02: connection not allowed by ruleset", "REP 03: network unreachable",
					   "REP 04: host unreachable", "REP 05: connection refused", "REP 06: TTL expired",
					   "REP 07: command not supported", "REP 08: address type not supported"};
	unsigned char r[10] = {0x05, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(want); i++) {
		r[1] = (unsigned char)i;
		assert_non_null(strstr(ex("socks5+http", r, sizeof(r)), want[i]));
	}
	r[1] = 5;
	assert_non_null(strstr(ex("socks5", r, sizeof(r)), "the proxy is up, the site behind it refused"));
	r[1] = 1;
	assert_non_null(strstr(ex("socks5", r, sizeof(r)), "the proxy itself failed"));
	r[1] = 0x42;
	assert_non_null(strstr(ex("socks5", r, sizeof(r)), "REP 42: unassigned"));
	/* a partial reply is enough: VER REP RSV */
	assert_non_null(strstr(ex("socks5", "\x05\x04\x00", 3), "REP 04: host unreachable"));
	assert_non_null(strstr(ex("socks5", "\x05\x04\x07", 3), "reserved byte"));
}

/* What ex() says for each reply must hold want. */
struct excase {
	const char *proto, *reply;
	size_t n;
	const char *want;
};

static void check_cases(const struct excase *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		assert_non_null(strstr(ex(c[i].proto, c[i].reply, c[i].n), c[i].want));
}

static void socks5_methods_and_auth(void **state)
{
	static const struct excase cases[] = {
		{"socks5", "\x05\xff", 2, "method FF: no acceptable method"},
		{"socks5", "\x05\x02", 2, "username/password"},
		{"socks5", "\x05\x00", 2, "method 00"},
		{"socks5", "\x01\x01", 2, "RFC 1929 status 01: authentication failed"},
		{"socks5", "\x01\x00", 2, "RFC 1929 status 00"},
		{"socks5", "\x04\x5a", 2, "not a SOCKS5 reply: version byte 04"},
	};

	(void)state;
	check_cases(cases, ARRAY_SIZE(cases));
	assert_string_equal(ex("socks5", "\x05", 1), "");
}

static void socks4_cd(void **state)
{
	static const struct excase cases[] = {
		{"socks4", "\x00\x5a\0\0\0\0\0\0", 8, "CD 5A: request granted"},
		{"socks4", "\x00\x5b\0\0\0\0\0\0", 8, "CD 5B: request rejected or failed"},
		{"socks4", "\x00\x5c", 2, "CD 5C"},
		{"socks4+http", "\x00\x5d", 2, "CD 5D"},
		{"socks4", "\x00\x10", 2, "not a SOCKS4 reply code"},
		{"socks4", "\x04\x5a", 2, "VN byte 04"},
	};

	(void)state;
	check_cases(cases, ARRAY_SIZE(cases));
}

static void http_status(void **state)
{
	static const char r407[] = "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n";
	static const char r502[] = "HTTP/1.0 502 Bad Gateway\r\n\r\n";

	(void)state;
	assert_string_equal(ex("http-proxy", r407, sizeof(r407) - 1),
			    "HTTP 407 Proxy Authentication Required \xe2\x80\x94 the proxy wants credentials (Proxy-Authorization)");
	assert_non_null(strstr(ex("http-connect", r502, sizeof(r502) - 1), "HTTP 502 Bad Gateway"));
	assert_non_null(strstr(ex("http-connect", r502, sizeof(r502) - 1), "site behind it failed"));
	/* an HTTP answer through a SOCKS tunnel is decoded as HTTP */
	assert_non_null(strstr(ex("socks5+http", "HTTP/1.1 503 x\r\n", 16), "HTTP 503 x"));
	assert_non_null(strstr(ex("http-proxy", "HTTP/1.1 2x4 OK\r\n", 17), "without a three-digit"));
	assert_non_null(strstr(ex("http-proxy", "SSH-2.0-OpenSSH\r\n", 17), "not an HTTP response"));
	/* control bytes in the reason are not copied */
	assert_null(strchr(ex("http-proxy", "HTTP/1.1 404 \x1b[31m\r\n", 20), 0x1b));
}

static void nothing_to_say(void **state)
{
	char out[8] = "x";

	(void)state;
	assert_int_equal(explain_reply("raw", (const unsigned char *)"\x05\x05\x00", 3, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(explain_reply(NULL, (const unsigned char *)"\x05\x05\x00", 3, out, sizeof(out)), 0);
	assert_int_equal(explain_reply("socks5", NULL, 0, out, sizeof(out)), 0);
	/* a small buffer truncates, never overflows */
	assert_true(explain_reply("socks5", (const unsigned char *)"\x05\x05\x00\x01", 4, out, sizeof(out)) < sizeof(out));
	assert_int_equal(strlen(out), sizeof(out) - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(socks5_rep),
		cmocka_unit_test(socks5_methods_and_auth),
		cmocka_unit_test(socks4_cd),
		cmocka_unit_test(http_status),
		cmocka_unit_test(nothing_to_say),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

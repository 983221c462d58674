/*
 * Unit tests for proxy_url.c: the proxy URLs curl accepts, those refused with their reason, and the
 * target URLs.
 */
#include "api.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "proxy_url.h"

static void accepts_curl_spellings(void **state)
{
	struct proxy_url p;
	char err[ERR_LEN], out[PROXY_URL_MAX];

	assert_int_equal(proxy_url_parse("socks5h://127.0.0.1:1080", &p, err, sizeof(err)), 0);
	assert_int_equal(p.scheme, PROXY_SOCKS5H);
	assert_string_equal(p.host, "127.0.0.1");
	assert_int_equal(p.port, 1080);
	assert_false(p.has_user);

	assert_int_equal(proxy_url_parse("SOCKS5://alice:s3cret@proxy.example:9050/", &p, err, sizeof(err)), 0);
	assert_int_equal(p.scheme, PROXY_SOCKS5);
	assert_string_equal(p.host, "proxy.example");
	assert_int_equal(p.port, 9050);
	assert_true(p.has_user);
	assert_true(p.has_password);
	assert_string_equal(p.userinfo, "alice:s3cret");
	assert_int_equal(proxy_url_format(&p, "10.0.0.1", true, out, sizeof(out)), 0);
	assert_string_equal(out, "socks5://alice:s3cret@10.0.0.1:9050");
	assert_int_equal(proxy_url_format(&p, "proxy.example", false, out, sizeof(out)), 0);
	assert_string_equal(out, "socks5://proxy.example:9050");

	/* curl takes the last '@': the password may hold one */
	assert_int_equal(proxy_url_parse("http://u:p@ss@h:3128", &p, err, sizeof(err)), 0);
	assert_string_equal(p.userinfo, "u:p@ss");
	assert_string_equal(p.host, "h");

	assert_int_equal(proxy_url_parse("socks4a://[::1]:1081", &p, err, sizeof(err)), 0);
	assert_int_equal(p.scheme, PROXY_SOCKS4A);
	assert_true(p.ipv6_literal);
	assert_string_equal(p.host, "::1");
	assert_int_equal(proxy_url_format(&p, "::1", false, out, sizeof(out)), 0);
	assert_string_equal(out, "socks4a://[::1]:1081");

	/* no port: curl's 1080 */
	assert_int_equal(proxy_url_parse("socks4://h", &p, err, sizeof(err)), 0);
	assert_int_equal(p.port, 1080);
	assert_false(p.port_given);
}

static void refuses_with_reasons(void **state)
{
	static const struct {
		const char *url;
		const char *why;
	} bad[] = {
		{"127.0.0.1:1080", "no scheme"},
		{"https://h:443", "not supported"},
		{"ftp://h:21", "unsupported proxy scheme"},
		{"socks5://h:0", "bad port"},
		{"socks5://h:65536", "bad port"},
		{"socks5://h:12x", "bad port"},
		{"socks5://h:", "empty port"},
		{"socks5://h:1080/path", "path"},
		{"socks5://h:1080?q", "path"},
		{"socks5://[::1:1080", "unclosed"},
		{"socks5://[::1]x", "unexpected"},
		{"socks5://[zz]:1", "bad IPv6"},
		{"socks5://::1:1080", "brackets"},
		{"socks5://h_%:1", "bad character"},
		{"socks5://@h:1", "empty user"},
		{"socks5://:pw@h:1", "empty user"},
		{"socks5://", "no host"},
		{"socks5://h 1", "space"},
		{"", "1 to"},
	};
	struct proxy_url p;
	char err[ERR_LEN];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		err[0] = '\0';
		assert_int_equal(proxy_url_parse(bad[i].url, &p, err, sizeof(err)), -1);
		if (!strstr(err, bad[i].why))
			fail_msg("'%s': got '%s', wanted '%s'", bad[i].url, err, bad[i].why);
	}
}

static void checks_targets(void **state)
{
	char err[ERR_LEN];
	bool https = true;

	assert_int_equal(proxy_url_check_target("http://127.0.0.1:8080/generate_204", &https, err, sizeof(err)), 0);
	assert_false(https);
	assert_int_equal(proxy_url_check_target("HTTPS://example.com/", &https, err, sizeof(err)), 0);
	assert_true(https);
	assert_int_equal(proxy_url_check_target("ftp://example.com/", &https, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "http://"));
	assert_int_equal(proxy_url_check_target("http:///x", &https, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no host"));
	assert_int_equal(proxy_url_check_target("http://a b/", &https, err, sizeof(err)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(accepts_curl_spellings),
		cmocka_unit_test(refuses_with_reasons),
		cmocka_unit_test(checks_targets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

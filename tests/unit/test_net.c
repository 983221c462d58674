/*
 * Unit tests for net.c's one HOST:PORT parser, one name lookup and one address formatter, which
 * recheckd's configuration and resolver thread, `recheck replay --server`, `recheck from-pcap --server`
 * and `recheck record`'s proxy share.
 */
#include "api.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "checknet.h"
#include "net.h"

static void split_accepts(void **state)
{
	static const struct {
		const char *text;
		int flags;
		const char *host;
		unsigned port;
	} ok[] = {
		{"127.0.0.1:80", 0, "127.0.0.1", 80},
		{"[::1]:65535", 0, "::1", 65535},
		{"proxy.example:1080", 0, "proxy.example", 1080},
		{":8404", NET_HOST_ANY, "", 8404},
		{"127.0.0.1:0", NET_PORT_ZERO, "127.0.0.1", 0},
		{"[fe80::1%lo]:1", 0, "fe80::1%lo", 1},
	};
	char host[64], err[ERR_LEN];
	uint16_t port;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ok); i++) {
		if (net_split_hostport(ok[i].text, ok[i].flags, host, sizeof(host), &port, err, sizeof(err)) == -1)
			fail_msg("%s: %s", ok[i].text, err);
		assert_string_equal(host, ok[i].host);
		assert_int_equal(port, ok[i].port);
	}
}

static void split_refuses(void **state)
{
	static const struct {
		const char *text;
		int flags;
		const char *want;
	} bad[] = {
		{"1.2.3.4", 0, "'1.2.3.4': expected HOST:PORT, [IPV6]:PORT"},
		{"1.2.3.4", NET_HOST_ANY, "'1.2.3.4': expected HOST:PORT, [IPV6]:PORT or :PORT"},
		{"::1:80", 0, "'::1:80': write IPv6 addresses in brackets: [ADDR]:PORT"},
		{"[::1]80", 0, "'[::1]80': an IPv6 address is written [ADDR]:PORT"},
		{"[::1", 0, "an IPv6 address is written"},
		{":80", 0, "':80': the host is missing"},
		{"h:0", 0, "'h:0': the port must be a number from 1 to 65535"},
		{"h:0x10", NET_PORT_ZERO, "the port must be a number from 0 to 65535"},
		{"h:65536", 0, "the port must be a number"},
		{"h:-1", NET_PORT_ZERO, "the port must be a number"},
		{"h:+1", 0, "the port must be a number"},
		{"h:", 0, "the port must be a number"},
		{"h: 1", 0, "the port must be a number"},
		{"0123456789012345678901234567890123456789012345678901234567890123456789:1", 0, "host name too long"},
	};
	char host[64], err[ERR_LEN];
	uint16_t port;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		err[0] = '\0';
		if (net_split_hostport(bad[i].text, bad[i].flags, host, sizeof(host), &port, err, sizeof(err)) != -1 ||
		    !strstr(err, bad[i].want))
			fail_msg("%s: want \"%s\", got \"%s\"", bad[i].text, bad[i].want, err);
	}
}

/* Literal addresses only: no test depends on DNS. */
static void parse_and_format_round_trip(void **state)
{
	static const struct {
		const char *text, *fmt;
	} cases[] = {
		{"127.0.0.1:80", "127.0.0.1:80"},
		{"[::1]:1080", "[::1]:1080"},
		{":8404", "0.0.0.0:8404"},
		{"[2001:db8::1]:0", "[2001:db8::1]:0"},
	};
	struct sockaddr_storage ss;
	socklen_t len;
	char err[ERR_LEN], out[NET_ADDRSTRLEN];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		if (net_parse_addr(cases[i].text, &ss, &len, err, sizeof(err)) == -1)
			fail_msg("%s: %s", cases[i].text, err);
		assert_string_equal(net_fmt_addr((struct sockaddr *)&ss, out, sizeof(out)), cases[i].fmt);
	}
	assert_int_equal(net_parse_addr("h:99999", &ss, &len, err, sizeof(err)), -1);
	assert_string_equal(err, "'h:99999': the port must be a number from 0 to 65535");
}

/* replay's --server goes through the same parser: a bad text is not a resolution failure. */
static void checknet_uses_the_parser(void **state)
{
	struct checknet_addr a;
	char err[ERR_LEN], out[NET_ADDRSTRLEN];
	bool resolve_failed;

	assert_int_equal(checknet_resolve("[::1]:7", &a, &resolve_failed, err, sizeof(err)), 0);
	assert_string_equal(a.host, "::1");
	assert_int_equal(a.port, 7);
	assert_string_equal(net_fmt_addr((struct sockaddr *)&a.ss, out, sizeof(out)), "[::1]:7");
	assert_int_equal(checknet_resolve(":7", &a, &resolve_failed, err, sizeof(err)), -1);
	assert_false(resolve_failed);
	assert_string_equal(err, "':7': the host is missing");
	assert_int_equal(checknet_resolve("no-such-host.invalid:7", &a, &resolve_failed, err, sizeof(err)), -1);
	assert_true(resolve_failed);
	assert_non_null(strstr(err, "cannot resolve 'no-such-host.invalid'"));
}

static bool is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_LOOPBACK);
	return ss->ss_family == AF_INET6 && IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

/* The one lookup: every address with the port, families filtered, literals only when asked, bare reasons. */
static void resolve_all(void **state)
{
	struct net_addr a[8];
	struct sockaddr_storage ss;
	socklen_t len;
	char err[ERR_LEN], out[NET_ADDRSTRLEN];
	int i, n;

	assert_int_equal(net_resolve_all("127.0.0.1", 80, AF_UNSPEC, 0, a, ARRAY_SIZE(a), err, sizeof(err)), 1);
	assert_string_equal(net_fmt_addr((struct sockaddr *)&a[0].ss, out, sizeof(out)), "127.0.0.1:80");
	assert_int_equal(a[0].len, sizeof(struct sockaddr_in));
	assert_int_equal(net_resolve_all("::1", 7, AF_INET6, NET_RES_NUMERIC, a, ARRAY_SIZE(a), err, sizeof(err)), 1);
	assert_string_equal(net_fmt_addr((struct sockaddr *)&a[0].ss, out, sizeof(out)), "[::1]:7");
	assert_int_equal(a[0].len, sizeof(struct sockaddr_in6));
	/* A family hint that the literal does not have, and a name where a literal is required. */
	assert_int_equal(net_resolve_all("::1", 7, AF_INET, 0, a, ARRAY_SIZE(a), err, sizeof(err)), -1);
	assert_int_equal(net_resolve_all("localhost", 7, AF_UNSPEC, NET_RES_NUMERIC, a, ARRAY_SIZE(a), err,
					 sizeof(err)), -1);
	/* A name: every address (localhost has one or two here), each a loopback with the port. */
	n = net_resolve_all("localhost", 7, AF_UNSPEC, 0, a, ARRAY_SIZE(a), err, sizeof(err));
	assert_true(n >= 1 && n <= (int)ARRAY_SIZE(a));
	for (i = 0; i < n; i++) {
		assert_true(is_loopback(&a[i].ss));
		assert_int_equal(ntohs(a[i].ss.ss_family == AF_INET ? ((struct sockaddr_in *)&a[i].ss)->sin_port
								     : ((struct sockaddr_in6 *)&a[i].ss)->sin6_port), 7);
	}
	assert_int_equal(net_resolve_all("localhost", 7, AF_UNSPEC, 0, a, 1, err, sizeof(err)), 1);
	/* The reason alone (the caller names the host); net_resolve() names it. */
	assert_int_equal(net_resolve_all("no-such-host.invalid", 7, AF_UNSPEC, 0, a, ARRAY_SIZE(a), err,
					 sizeof(err)), -1);
	assert_true(err[0] != '\0');
	assert_null(strstr(err, "no-such-host"));
	assert_int_equal(net_resolve("no-such-host.invalid", 7, &ss, &len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot resolve 'no-such-host.invalid': "));
	assert_int_equal(net_resolve("", 9, &ss, &len, err, sizeof(err)), 0);
	assert_string_equal(net_fmt_addr((struct sockaddr *)&ss, out, sizeof(out)), "0.0.0.0:9");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(split_accepts),
		cmocka_unit_test(split_refuses),
		cmocka_unit_test(parse_and_format_round_trip),
		cmocka_unit_test(checknet_uses_the_parser),
		cmocka_unit_test(resolve_all),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

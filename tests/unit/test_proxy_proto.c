/*
 * proxy_proto: v1/v2 headers parsed and built as HAProxy does; every prefix of a valid header needs
 * more (-2); malformed ones are -1; bytes after the header are never consumed.
 */
#include "api.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "proxy_proto.h"

/* A socket address of family af (AF_INET or AF_INET6) from its text and port. */
static struct sockaddr_storage sa(int af, const char *a, uint16_t port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	ss.ss_family = (sa_family_t)af;
	if (af == AF_INET)
		s4->sin_port = htons(port);
	else
		s6->sin6_port = htons(port);
	assert_int_equal(inet_pton(af, a, af == AF_INET ? (void *)&s4->sin_addr : (void *)&s6->sin6_addr), 1);
	return ss;
}

static struct sockaddr_storage v4(const char *a, uint16_t port)
{
	return sa(AF_INET, a, port);
}

static struct sockaddr_storage v6(const char *a, uint16_t port)
{
	return sa(AF_INET6, a, port);
}

/* Every strict prefix needs more; the whole parses to len; trailing bytes are left alone. */
static void prefixes_then_whole(const unsigned char *h, size_t n, struct pp_addrs *out)
{
	unsigned char buf[PP_HDR_MAX + 8];
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char *p = malloc(i ? i : 1); /* exact size: ASan catches a read past the prefix */

		memcpy(p, h, i);
		assert_int_equal(pp_parse(p, i, out), -2);
		free(p);
	}
	memcpy(buf, h, n);
	memcpy(buf + n, "GET /", 5);
	assert_int_equal(pp_parse(buf, n + 5, out), (int)n);
	assert_int_equal(pp_parse(h, n, out), (int)n);
}

static void v1_round_trip(void **state)
{
	struct sockaddr_storage s = v4("192.0.2.7", 40000), d = v4("127.0.0.1", 1080);
	struct sockaddr_storage s6 = v6("2001:db8::1", 1), d6 = v6("::1", 65535);
	unsigned char b[PP_HDR_MAX];
	struct pp_addrs a;
	size_t n;

	n = pp_build(1, (struct sockaddr *)&s, (struct sockaddr *)&d, b, sizeof(b));
	assert_int_equal(n, strlen("PROXY TCP4 192.0.2.7 127.0.0.1 40000 1080\r\n"));
	assert_memory_equal(b, "PROXY TCP4 192.0.2.7 127.0.0.1 40000 1080\r\n", n);
	prefixes_then_whole(b, n, &a);
	assert_true(a.known);
	assert_memory_equal(&a.src, &s, sizeof(struct sockaddr_in));
	assert_memory_equal(&a.dst, &d, sizeof(struct sockaddr_in));

	n = pp_build(1, (struct sockaddr *)&s6, (struct sockaddr *)&d6, b, sizeof(b));
	assert_memory_equal(b, "PROXY TCP6 2001:db8::1 ::1 1 65535\r\n", n);
	prefixes_then_whole(b, n, &a);
	assert_true(a.known);
	assert_memory_equal(&a.src, &s6, sizeof(struct sockaddr_in6));

	n = pp_build(1, NULL, NULL, b, sizeof(b));
	assert_memory_equal(b, "PROXY UNKNOWN\r\n", n);
	prefixes_then_whole(b, n, &a);
	assert_false(a.known);
	/* mixed families cannot be said in one header */
	n = pp_build(1, (struct sockaddr *)&s, (struct sockaddr *)&d6, b, sizeof(b));
	assert_memory_equal(b, "PROXY UNKNOWN\r\n", n);
	assert_int_equal(pp_build(1, (struct sockaddr *)&s6, (struct sockaddr *)&d6, b, 20), 0);
}

static void v2_round_trip(void **state)
{
	struct sockaddr_storage s = v4("10.1.2.3", 1234), d = v4("10.9.9.9", 80);
	struct sockaddr_storage s6 = v6("2001:db8::42", 5555), d6 = v6("2001:db8::1", 443);
	unsigned char b[PP_HDR_MAX];
	struct pp_addrs a;
	size_t n;

	n = pp_build(2, (struct sockaddr *)&s, (struct sockaddr *)&d, b, sizeof(b));
	assert_int_equal(n, 28);
	assert_int_equal(b[12], 0x21);
	assert_int_equal(b[13], 0x11);
	prefixes_then_whole(b, n, &a);
	assert_true(a.known);
	assert_memory_equal(&a.src, &s, sizeof(struct sockaddr_in));
	assert_memory_equal(&a.dst, &d, sizeof(struct sockaddr_in));

	n = pp_build(2, (struct sockaddr *)&s6, (struct sockaddr *)&d6, b, sizeof(b));
	assert_int_equal(n, 52);
	prefixes_then_whole(b, n, &a);
	assert_true(a.known);
	assert_memory_equal(&a.src, &s6, sizeof(struct sockaddr_in6));
	assert_memory_equal(&a.dst, &d6, sizeof(struct sockaddr_in6));

	n = pp_build(2, NULL, NULL, b, sizeof(b)); /* LOCAL, as check-send-proxy sends */
	assert_int_equal(n, 16);
	assert_int_equal(b[12], 0x20);
	prefixes_then_whole(b, n, &a);
	assert_false(a.known);
}

static void v2_tlvs_and_families(void **state)
{
	struct sockaddr_storage s = v4("10.1.2.3", 1234), d = v4("10.9.9.9", 80);
	unsigned char b[PP_HDR_MAX + 16];
	struct pp_addrs a;
	size_t n;

	/* TLVs after the addresses are skipped (len covers them) */
	n = pp_build(2, (struct sockaddr *)&s, (struct sockaddr *)&d, b, sizeof(b));
	memcpy(b + n, "\x04\x00\x03" "abc", 6);
	b[15] = (unsigned char)(b[15] + 6);
	prefixes_then_whole(b, n + 6, &a);
	assert_true(a.known);
	/* UNIX family with the PROXY command: accepted, addresses unknown */
	b[13] = 0x31;
	b[14] = 0;
	b[15] = 216;
	memset(b + 16, 0, 216);
	assert_int_equal(pp_parse(b, 232, &a), 232);
	assert_false(a.known);
	/* a TCP4 header too short for its addresses */
	n = pp_build(2, (struct sockaddr *)&s, (struct sockaddr *)&d, b, sizeof(b));
	b[15] = 8;
	assert_int_equal(pp_parse(b, 24, &a), -1);
	/* wrong version, unknown command, oversized */
	n = pp_build(2, (struct sockaddr *)&s, (struct sockaddr *)&d, b, sizeof(b));
	b[12] = 0x11;
	assert_int_equal(pp_parse(b, n, &a), -1);
	b[12] = 0x22;
	assert_int_equal(pp_parse(b, n, &a), -1);
	b[12] = 0x21;
	b[14] = 0xff;
	assert_int_equal(pp_parse(b, n, &a), -1);
}

static void malformed(void **state)
{
	static const char *const bad[] = {
		"GET / HTTP/1.1\r\n",
		"PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",
		"PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n",
		"PROXY TCP4 ::1 ::1 1 2\r\n",
		"PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r",
		"PROXY UNKNOWN extra\r\n",
		"proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n",
	};
	static const unsigned char v2_version1[16] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51,
						      0x55, 0x49, 0x54, 0x0A, 0x11, 0x11, 0x00, 0x00};
	char longline[200];
	struct pp_addrs a;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++)
		if (pp_parse((const unsigned char *)bad[i], strlen(bad[i]), &a) != -1)
			fail_msg("accepted: %s", bad[i]);
	assert_int_equal(pp_parse(v2_version1, sizeof(v2_version1), &a), -1);
	/* no CRLF within 107 bytes */
	memset(longline, '1', sizeof(longline));
	memcpy(longline, "PROXY TCP4 ", 11);
	assert_int_equal(pp_parse((const unsigned char *)longline, 106, &a), -2);
	assert_int_equal(pp_parse((const unsigned char *)longline, sizeof(longline), &a), -1);
	assert_int_equal(pp_parse((const unsigned char *)"", 0, &a), -2);
	assert_int_equal(pp_parse((const unsigned char *)"PRO", 3, &a), -2);
	assert_int_equal(pp_parse((const unsigned char *)"PRX", 3, &a), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(v1_round_trip),
		cmocka_unit_test(v2_round_trip),
		cmocka_unit_test(v2_tlvs_and_families),
		cmocka_unit_test(malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Unit tests for hash.c: HAProxy 2.6's full_hash() on known vectors, `balance source` keys of IPv4 and
 * IPv6 clients, and the hash-type words.
 */
#include "api.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <cmocka.h>

#include "hash.h"

static void full_hash_vectors(void **state)
{
	/* docs/haproxy-semantics.md §5.1 */
	assert_int_equal(hash_full(0), 0xab4ed927u);
	assert_int_equal(hash_full(1), 0x348681b6u);
	assert_int_equal(hash_full(4096), 0x49c2008bu);
	assert_int_equal(hash_full(4097), 0xa4972c87u);
	assert_int_equal(hash_full(0x7f000001), 0x8a1b584bu);
}

static void full_hash_is_injective_on_a_sample(void **state)
{
	/* A bijection: the ring points of 64 servers x 4096 points never collide. */
	static uint32_t seen[1 << 12];
	uint32_t i, j;
	size_t n = 0;

	for (i = 1; i <= 64; i++)
		for (j = 0; j < 64; j++)
			seen[n++] = hash_full(i * 4096 + j);
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			assert_true(seen[i] != seen[j]);
}

static uint32_t key_of(int af, const char *addr)
{
	struct sockaddr_storage ss;
	uint32_t k = 0xdeadbeef;

	memset(&ss, 0, sizeof(ss));
	ss.ss_family = (sa_family_t)af;
	if (af == AF_INET)
		assert_int_equal(inet_pton(AF_INET, addr, &((struct sockaddr_in *)&ss)->sin_addr), 1);
	else
		assert_int_equal(inet_pton(AF_INET6, addr, &((struct sockaddr_in6 *)&ss)->sin6_addr), 1);
	assert_int_equal(hash_source_key((struct sockaddr *)&ss, &k), 0);
	return k;
}

static void source_keys(void **state)
{
	struct sockaddr_in in;
	struct sockaddr_un un;
	uint32_t k;

	assert_int_equal(key_of(AF_INET, "10.0.0.1"), 0x0A000001u);
	assert_int_equal(key_of(AF_INET, "127.0.0.1"), 0x7f000001u);
	/* the port never counts */
	memset(&in, 0, sizeof(in));
	in.sin_family = AF_INET;
	in.sin_port = htons(4242);
	in.sin_addr.s_addr = htonl(0x7f010203);
	assert_int_equal(hash_source_key((struct sockaddr *)&in, &k), 0);
	assert_int_equal(k, 0x7f010203u);
	/* IPv6: XOR of the four big-endian words */
	assert_int_equal(key_of(AF_INET6, "2001:db8::1"), 0x20010db8u ^ 1u);
	assert_int_equal(key_of(AF_INET6, "::"), 0);
	assert_int_equal(key_of(AF_INET6, "1:2:3:4:5:6:7:8"), 0x00010002u ^ 0x00030004u ^ 0x00050006u ^ 0x00070008u);
	/* v4-mapped: not unmapped, so the key differs from the IPv4 one */
	assert_int_equal(key_of(AF_INET6, "::ffff:127.0.0.1"), 0x0000FFFFu ^ 0x7f000001u);
	assert_int_equal(key_of(AF_INET6, "::ffff:10.0.0.1"), 0x0A00FFFEu);
	/* other families: no key */
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	assert_int_equal(hash_source_key((struct sockaddr *)&un, &k), -1);
	assert_int_equal(hash_source_key(NULL, &k), -1);
}

static void hash_type_words(void **state)
{
	char err[ERR_LEN];
	bool cons, aval;

	assert_int_equal(hash_type_parse("", &cons, &aval, err, sizeof(err)), 0);
	assert_false(cons);
	assert_false(aval);
	assert_int_equal(hash_type_parse("map-based", &cons, &aval, err, sizeof(err)), 0);
	assert_false(cons);
	assert_false(aval);
	assert_int_equal(hash_type_parse("map-based sdbm avalanche", &cons, &aval, err, sizeof(err)), 0);
	assert_false(cons);
	assert_true(aval);
	/* a bare consistent means sdbm + avalanche ... */
	assert_int_equal(hash_type_parse("consistent", &cons, &aval, err, sizeof(err)), 0);
	assert_true(cons);
	assert_true(aval);
	/* ... but naming the function drops the default modifier */
	assert_int_equal(hash_type_parse("  consistent\tdjb2 ", &cons, &aval, err, sizeof(err)), 0);
	assert_true(cons);
	assert_false(aval);
	assert_int_equal(hash_type_parse("consistent crc32 avalanche", &cons, &aval, err, sizeof(err)), 0);
	assert_true(aval);
	assert_int_equal(hash_type_parse("ring", &cons, &aval, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "'ring'"));
	assert_int_equal(hash_type_parse("consistent md5", &cons, &aval, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "'md5'"));
	assert_int_equal(hash_type_parse("consistent sdbm fast", &cons, &aval, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "avalanche"));
	assert_int_equal(hash_type_parse("consistent sdbm avalanche x", &cons, &aval, err, sizeof(err)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(full_hash_vectors),
		cmocka_unit_test(full_hash_is_injective_on_a_sample),
		cmocka_unit_test(source_keys),
		cmocka_unit_test(hash_type_words),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * hash: `balance source` keys and the avalanche mix, exactly as HAProxy 2.6 (see hash.h).
 */
#include "api.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "hash.h"
#include "util.h"

uint32_t hash_full(uint32_t a)
{
	/* Six rounds of a <- (a OP1 K) OP2 (a SHIFT n), all on the value before the round, then a
	 * multiply by 0xC0000001. docs/haproxy-semantics.md §5.1 gives the table and the test values. */
	a = (a + 0x7ed55d16u) + (a << 12);
	a = (a ^ 0xc761c23cu) ^ (a >> 19);
	a = (a + 0x165667b1u) + (a << 5);
	a = (a + 0xd3a2646cu) ^ (a << 9);
	a = (a + 0xfd7046c5u) + (a << 3);
	a = (a ^ 0xb55a4f09u) ^ (a >> 16);
	return a * 3221225473u;
}

int hash_source_key(const struct sockaddr *sa, uint32_t *key)
{
	if (sa == NULL)
		return -1;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		*key = ntohl(in->sin_addr.s_addr);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		uint32_t h = 0, w;
		size_t i;

		/* HAProxy XORs the address as four network-order words; a v4-mapped address is not
		 * unmapped, which changes the pick compared with the same client over IPv4. */
		for (i = 0; i < 16; i += 4) {
			memcpy(&w, &in6->sin6_addr.s6_addr[i], 4);
			h ^= ntohl(w);
		}
		*key = h;
		return 0;
	}
	return -1;
}

static bool is_hash_function(const char *w, size_t n)
{
	static const char *const fns[] = {"sdbm", "djb2", "wt6", "crc32"};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(fns); i++)
		if (strlen(fns[i]) == n && strncmp(fns[i], w, n) == 0)
			return true;
	return false;
}

int hash_type_parse(const char *words, bool *consistent, bool *avalanche, char *err, size_t errlen)
{
	const char *p = words ? words : "";
	const char *w[4];
	size_t wl[4], n = 0;
	bool cons, fn = false, aval = false;

	while (*p) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		if (n == ARRAY_SIZE(w)) {
			set_err(err, errlen, "hash-type '%s': too many words (expected <method> [<function>] [<modifier>])", words);
			return -1;
		}
		w[n] = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		wl[n] = (size_t)(p - w[n]);
		n++;
	}
	if (n == 0) {
		*consistent = false;
		*avalanche = false;
		return 0;
	}
	if (wl[0] == 9 && strncmp(w[0], "map-based", 9) == 0)
		cons = false;
	else if (wl[0] == 10 && strncmp(w[0], "consistent", 10) == 0)
		cons = true;
	else {
		set_err(err, errlen, "hash-type '%s': the method must be 'map-based' or 'consistent' (got '%.*s')",
			words, (int)wl[0], w[0]);
		return -1;
	}
	if (n >= 2) {
		if (!is_hash_function(w[1], wl[1])) {
			set_err(err, errlen, "hash-type '%s': unknown hash function '%.*s' (use sdbm, djb2, wt6 or crc32)",
				words, (int)wl[1], w[1]);
			return -1;
		}
		fn = true;
	}
	if (n >= 3) {
		if (wl[2] != 9 || strncmp(w[2], "avalanche", 9) != 0) {
			set_err(err, errlen, "hash-type '%s': the only modifier is 'avalanche' (got '%.*s')", words,
				(int)wl[2], w[2]);
			return -1;
		}
		aval = true;
	}
	if (n == 4) {
		set_err(err, errlen, "hash-type '%s': too many words (expected <method> [<function>] [<modifier>])", words);
		return -1;
	}
	/* cfgparse-listen.c: a consistent hash-type without a function defaults to sdbm + avalanche;
	 * naming a function drops the default modifier. */
	*consistent = cons;
	*avalanche = aval || (cons && !fn);
	return 0;
}

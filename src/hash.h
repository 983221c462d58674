/*
 * hash: the keys HAProxy 2.6's `balance source` derives from a client address, and the integer mix
 * (`full_hash`, Bob Jenkins' 32-bit mix followed by a multiply) that `avalanche` applies to them.
 * Reference: docs/haproxy-semantics.md §5.1; HAProxy src/hash.c, src/backend.c get_server_sh().
 */
#ifndef RECHECK_HASH_H
#define RECHECK_HASH_H

#include "api.h"

#include <sys/socket.h>

/*
 * full_hash(): a bijection on 32 bits. Used for the consistent-hash ring points
 * (hash_full(puid * 4096 + j)) and, when the backend has the avalanche modifier, on the source key.
 * hash_full(0) == 0xab4ed927.
 */
uint32_t hash_full(uint32_t a);

/*
 * The `balance source` key of a client address, as HAProxy 2.6 computes it before any avalanche:
 *   AF_INET:  the four address bytes as a big-endian u32 (10.0.0.1 -> 0x0A000001);
 *   AF_INET6: the XOR of the four big-endian 32-bit words (so a v4-mapped ::ffff:a.b.c.d gives
 *             0x0000FFFF ^ a.b.c.d, not a.b.c.d: HAProxy does not unmap).
 * The port never counts. Returns 0 and stores the key, or -1 for any other family (HAProxy then
 * returns no server).
 */
int hash_source_key(const struct sockaddr *sa, uint32_t *key);

/*
 * Parses the words of a HAProxy `hash-type` line (without the keyword), e.g. "consistent",
 * "map-based sdbm avalanche", "consistent djb2". Stores whether the method is consistent and whether
 * the avalanche modifier applies to `balance source` (the hash function itself is ignored by
 * `balance source`, but it changes the default modifier: a bare "consistent" means sdbm + avalanche,
 * "consistent <fn>" means no avalanche). An empty string means HAProxy's default (map-based, no
 * avalanche). Returns 0, or -1 with a reason in err.
 */
int hash_type_parse(const char *words, bool *consistent, bool *avalanche, char *err, size_t errlen);

#endif

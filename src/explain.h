/*
 * explain: what the bytes a failing check step received mean, when the recipe's protocol is known.
 * "first difference at offset 1" tells where; this tells what: a SOCKS5 reply 05 05 00 01 ... is
 * "SOCKS5 REP 05: connection refused — the proxy is up, the site behind it refused the connection".
 * An operator then sees at once whether the proxy or what lies behind it failed.
 *
 * Decoded: every SOCKS5 REP code (RFC 1928 §6), the SOCKS5 method choice including 05 FF (no acceptable
 * method), the RFC 1929 username/password status, every SOCKS4 CD code, and an HTTP status line with
 * its reason (RFC 9110 §15) from a proxy or from the site behind it.
 *
 * Used by `recheck replay`'s failure report, `check L/S` on recheckd's runtime API, the stats page,
 * /stats.json and the DOWN log line. Pure: no allocation, no I/O; every byte is treated as hostile.
 */
#ifndef RECHECK_EXPLAIN_H
#define RECHECK_EXPLAIN_H

#include "api.h"

#define EXPLAIN_LEN 192

/*
 * Writes into out (NUL-terminated, at most outlen bytes) what rx[0..n) means for a recipe whose
 * protocol is protocol ("socks5", "socks5+http", "socks4", "socks4+http", "http-proxy", "http-connect",
 * NULL or "raw" for unknown). Returns the length written, 0 (and out = "") when there is nothing to say.
 */
size_t explain_reply(const char *protocol, const unsigned char *rx, size_t n, char *out, size_t outlen);

#endif

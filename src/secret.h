/*
 * secret: the one detector of recorded credentials in payload bytes, used by every path that turns a
 * conversation into steps (the dissectors and the raw fallback alike), so that a credential makes its
 * recipe secret (mode 0600) and --redact replaces it, wherever it was found.
 *
 * What counts as a credential:
 *   RFC 1929 user/password request   VER 01, ULEN, UNAME, PLEN, PASSWD: at the start of a message or right
 *                                    after a SOCKS5 greeting that offers method 02 (clients pipeline them)
 *   Authorization, Proxy-Authorization   the credentials after the scheme (RFC 9110 §11.6.2, §11.7.2)
 *   Cookie, Set-Cookie               the whole field value (RFC 6265: session tokens)
 *   URL userinfo                     "user:password@" after "scheme://" (RFC 3986 §3.2.1)
 * Header fields are recognized at the start of a line, case-insensitively.
 */
#ifndef RECHECK_SECRET_H
#define RECHECK_SECRET_H

#include "api.h"

#define SECRET_MAX_SPANS 16

enum secret_kind {
	SECRET_RFC1929 = 0,     /* span: the user name; span2: the password */
	SECRET_AUTHORIZATION,
	SECRET_PROXY_AUTHORIZATION,
	SECRET_COOKIE,
	SECRET_SET_COOKIE,
	SECRET_USERINFO,
};

struct secret_span {
	enum secret_kind kind;
	size_t off, len;        /* the secret bytes */
	size_t off2, len2;      /* RFC 1929: the password (off/len is the user name); else 0 */
};

/*
 * Finds the credentials in the n bytes at p, in order of offset; at most max. Returns how many. A value
 * that is already an environment reference ("${NAME}") is not a credential.
 */
size_t secret_find(const unsigned char *p, size_t n, struct secret_span *v, size_t max);

/* The environment variable --redact writes for a kind ("RECHECK_PROXY_AUTH"); RFC 1929: the user's. */
const char *secret_var(enum secret_kind k);
/* "RFC 1929 user/password", "Cookie", ... for messages. */
const char *secret_kind_str(enum secret_kind k);

#endif

/*
 * proxy_url: the proxy URLs recheck record accepts, spelled as curl spells them
 * (scheme://[user[:password]@]host[:port][/]), and the target URLs it fetches through them.
 */
#ifndef RECHECK_PROXY_URL_H
#define RECHECK_PROXY_URL_H

#include "api.h"

#define PROXY_URL_MAX      2048
#define PROXY_URL_HOST_MAX 256

enum proxy_scheme {
	PROXY_SOCKS5 = 0,       /* socks5://: curl resolves the target name, sends an address */
	PROXY_SOCKS5H,          /* socks5h://: the proxy resolves the target name */
	PROXY_SOCKS4,           /* socks4://: IPv4 target only, resolved by curl */
	PROXY_SOCKS4A,          /* socks4a://: the proxy resolves the target name */
	PROXY_HTTP,             /* http://: forward proxy (CONNECT with --tunnel or an https target) */
};

struct proxy_url {
	enum proxy_scheme scheme;
	char host[PROXY_URL_HOST_MAX];  /* without the brackets of an IPv6 literal */
	bool ipv6_literal;              /* the host was written [addr] */
	int port;                       /* given, or curl's default 1080 */
	bool port_given;
	bool has_user;                  /* user[:password]@ was present */
	bool has_password;
	char userinfo[PROXY_URL_MAX];   /* "user:password" exactly as written (percent-encoding kept) */
};

/*
 * Parses and validates a proxy URL. Returns 0, or -1 with a reason a user can act on in err (unknown or
 * missing scheme, bad port, path or query after the host, unclosed IPv6 bracket, ...).
 */
int proxy_url_parse(const char *s, struct proxy_url *p, char *err, size_t errlen);

/* "socks5h" ... "http". */
const char *proxy_scheme_str(enum proxy_scheme s);

/*
 * Writes scheme://[userinfo@]host:port for libcurl, with host replaced by addr (a numeric address,
 * bracketed here when it is IPv6) so that curl connects to exactly the address the capture filters on.
 * with_userinfo false leaves the credentials out (for messages and the recipe's recorded-from).
 * Returns 0, or -1 when out is too small.
 */
int proxy_url_format(const struct proxy_url *p, const char *addr, bool with_userinfo, char *out, size_t outlen);

/*
 * Validates a target URL: http:// or https://, a host, no whitespace or control bytes. 0, or -1 with err.
 * *https is set for https:// targets.
 */
int proxy_url_check_target(const char *url, bool *https, char *err, size_t errlen);

#endif

/*
 * proxy_url: parse curl-style proxy URLs (see proxy_url.h). Only the shapes curl documents for
 * CURLOPT_PROXY are accepted; anything else is refused with the reason rather than guessed at, since a
 * wrong guess would record a conversation with the wrong server.
 */
#include "api.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "proxy_url.h"
#include "util.h"

static const struct {
	const char *name;
	enum proxy_scheme scheme;
} schemes[] = {
	{"socks5", PROXY_SOCKS5},
	{"socks5h", PROXY_SOCKS5H},
	{"socks4", PROXY_SOCKS4},
	{"socks4a", PROXY_SOCKS4A},
	{"http", PROXY_HTTP},
};

#define SCHEME_LIST "socks5://, socks5h://, socks4://, socks4a:// or http://"

const char *proxy_scheme_str(enum proxy_scheme s)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(schemes); i++)
		if (schemes[i].scheme == s)
			return schemes[i].name;
	return "?";
}

static bool host_char_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '.' || c == '_';
}

static int parse_port(const char *s, size_t n, int *port, char *err, size_t errlen)
{
	size_t i;
	long v = 0;

	if (n == 0) {
		set_err(err, errlen, "empty port after ':'");
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9' || v > 65535) {
			set_err(err, errlen, "bad port '%.*s': a number from 1 to 65535", (int)MIN(n, 16), s);
			return -1;
		}
		v = v * 10 + (s[i] - '0');
	}
	if (v < 1 || v > 65535) {
		set_err(err, errlen, "bad port '%.*s': a number from 1 to 65535", (int)MIN(n, 16), s);
		return -1;
	}
	*port = (int)v;
	return 0;
}

int proxy_url_parse(const char *s, struct proxy_url *p, char *err, size_t errlen)
{
	const char *sep, *auth, *at, *host, *end, *hend, *colon;
	size_t i, slen, n;
	bool found = false;

	memset(p, 0, sizeof(*p));
	slen = strlen(s);
	if (slen == 0 || slen >= PROXY_URL_MAX) {
		set_err(err, errlen, "proxy URL must be 1 to %d characters", PROXY_URL_MAX - 1);
		return -1;
	}
	for (i = 0; i < slen; i++) {
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f) {
			set_err(err, errlen, "proxy URL has a space or control byte at offset %zu", i);
			return -1;
		}
	}
	sep = strstr(s, "://");
	if (!sep) {
		set_err(err, errlen, "proxy URL '%s' has no scheme: write it as " SCHEME_LIST " followed by host:port",
			s);
		return -1;
	}
	for (i = 0; i < ARRAY_SIZE(schemes); i++) {
		if (strlen(schemes[i].name) == (size_t)(sep - s) && !strncasecmp(s, schemes[i].name, (size_t)(sep - s))) {
			p->scheme = schemes[i].scheme;
			found = true;
		}
	}
	if (!found) {
		if (sep - s == 5 && !strncasecmp(s, "https", 5))
			set_err(err, errlen, "https:// proxies are not supported: the conversation with the proxy is "
					     "encrypted, so there is nothing to replay; use " SCHEME_LIST);
		else
			set_err(err, errlen, "unsupported proxy scheme '%.*s': use " SCHEME_LIST, (int)MIN(sep - s, 32), s);
		return -1;
	}
	auth = sep + 3;
	end = auth + strcspn(auth, "/?#");
	if (*end == '/' && end[1] == '\0')
		; /* a trailing slash, as curl allows */
	else if (*end) {
		set_err(err, errlen, "proxy URL must not have a path, query or fragment ('%s')", end);
		return -1;
	}
	/* The credentials end at the last '@' before the host: a password may contain '@' only encoded,
	 * but curl takes the last one, and so do we. */
	at = NULL;
	for (host = auth; host < end; host++)
		if (*host == '@')
			at = host;
	if (at) {
		n = (size_t)(at - auth);
		if (n == 0) {
			set_err(err, errlen, "empty user name before '@' in proxy URL");
			return -1;
		}
		memcpy(p->userinfo, auth, n);
		p->userinfo[n] = '\0';
		p->has_user = true;
		p->has_password = memchr(auth, ':', n) != NULL;
		if (p->userinfo[0] == ':') {
			set_err(err, errlen, "empty user name before ':' in proxy URL credentials");
			return -1;
		}
		host = at + 1;
	} else {
		host = auth;
	}
	if (host == end) {
		set_err(err, errlen, "proxy URL has no host");
		return -1;
	}
	if (*host == '[') {
		hend = memchr(host, ']', (size_t)(end - host));
		if (!hend) {
			set_err(err, errlen, "unclosed '[' in the proxy's IPv6 address");
			return -1;
		}
		n = (size_t)(hend - host - 1);
		for (i = 0; i < n; i++) {
			char c = host[1 + i];
			if (!(c == ':' || c == '.' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
			      (c >= 'A' && c <= 'F'))) {
				set_err(err, errlen, "bad IPv6 address '[%.*s]'", (int)MIN(n, 64), host + 1);
				return -1;
			}
		}
		if (n == 0 || n >= sizeof(p->host)) {
			set_err(err, errlen, "bad IPv6 address '[%.*s]'", (int)MIN(n, 64), host + 1);
			return -1;
		}
		memcpy(p->host, host + 1, n);
		p->ipv6_literal = true;
		colon = hend + 1;
		if (colon != end && *colon != ':') {
			set_err(err, errlen, "unexpected '%c' after the proxy's IPv6 address", *colon);
			return -1;
		}
		if (colon == end)
			colon = NULL;
	} else {
		colon = memchr(host, ':', (size_t)(end - host));
		if (colon && memchr(colon + 1, ':', (size_t)(end - colon - 1))) {
			set_err(err, errlen, "an IPv6 proxy address goes in brackets, as in socks5://[::1]:1080");
			return -1;
		}
		hend = colon ? colon : end;
		n = (size_t)(hend - host);
		if (n == 0 || n >= sizeof(p->host)) {
			set_err(err, errlen, "proxy URL has an empty or too long host");
			return -1;
		}
		for (i = 0; i < n; i++) {
			if (!host_char_ok((unsigned char)host[i])) {
				set_err(err, errlen, "bad character '%c' in proxy host '%.*s' (IPv6 addresses go in [])",
					host[i], (int)MIN(n, 64), host);
				return -1;
			}
		}
		memcpy(p->host, host, n);
	}
	p->port = 1080; /* curl's default proxy port, for every scheme */
	if (colon) {
		if (parse_port(colon + 1, (size_t)(end - colon - 1), &p->port, err, errlen) == -1)
			return -1;
		p->port_given = true;
	}
	return 0;
}

int proxy_url_format(const struct proxy_url *p, const char *addr, bool with_userinfo, char *out, size_t outlen)
{
	bool v6 = strchr(addr, ':') != NULL;
	int n;

	n = snprintf(out, outlen, "%s://%s%s%s%s%s:%d", proxy_scheme_str(p->scheme),
		     with_userinfo && p->has_user ? p->userinfo : "", with_userinfo && p->has_user ? "@" : "",
		     v6 ? "[" : "", addr, v6 ? "]" : "", p->port);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

int proxy_url_check_target(const char *url, bool *https, char *err, size_t errlen)
{
	const char *host;
	size_t i, n = strlen(url);

	for (i = 0; i < n; i++) {
		if ((unsigned char)url[i] <= 0x20 || (unsigned char)url[i] == 0x7f) {
			set_err(err, errlen, "URL has a space or control byte at offset %zu", i);
			return -1;
		}
	}
	if (n >= PROXY_URL_MAX) {
		set_err(err, errlen, "URL longer than %d characters", PROXY_URL_MAX - 1);
		return -1;
	}
	if (!strncasecmp(url, "http://", 7)) {
		*https = false;
		host = url + 7;
	} else if (!strncasecmp(url, "https://", 8)) {
		*https = true;
		host = url + 8;
	} else {
		set_err(err, errlen, "URL '%s' must start with http:// or https://", url);
		return -1;
	}
	if (*host == '\0' || *host == '/' || *host == ':' || *host == '?' || *host == '#') {
		set_err(err, errlen, "URL '%s' has no host", url);
		return -1;
	}
	return 0;
}

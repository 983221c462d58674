/*
 * secret: finds recorded credentials in payload bytes (see secret.h). References: RFC 1929 §2, RFC 9110
 * §11.6.2 / §11.7.2, RFC 6265 §4.1-4.2, RFC 3986 §3.2.1.
 */
#include "api.h"

#include <string.h>
#include <strings.h>

#include "rd.h"
#include "secret.h"

static const struct {
	const char *name;
	enum secret_kind kind;
} hdrs[] = {
	{"Authorization", SECRET_AUTHORIZATION},
	{"Proxy-Authorization", SECRET_PROXY_AUTHORIZATION},
	{"Cookie", SECRET_COOKIE},
	{"Set-Cookie", SECRET_SET_COOKIE},
};

const char *secret_var(enum secret_kind k)
{
	switch (k) {
	case SECRET_RFC1929:
		return "RECHECK_SOCKS_USER";
	case SECRET_AUTHORIZATION:
		return "RECHECK_HTTP_AUTH";
	case SECRET_PROXY_AUTHORIZATION:
		return "RECHECK_PROXY_AUTH";
	case SECRET_COOKIE:
		return "RECHECK_COOKIE";
	case SECRET_SET_COOKIE:
		return "RECHECK_SET_COOKIE";
	case SECRET_USERINFO:
		return "RECHECK_URL_USERINFO";
	}
	return "RECHECK_SECRET";
}

const char *secret_kind_str(enum secret_kind k)
{
	switch (k) {
	case SECRET_RFC1929:
		return "RFC 1929 user/password";
	case SECRET_AUTHORIZATION:
		return "Authorization";
	case SECRET_PROXY_AUTHORIZATION:
		return "Proxy-Authorization";
	case SECRET_COOKIE:
		return "Cookie";
	case SECRET_SET_COOKIE:
		return "Set-Cookie";
	case SECRET_USERINFO:
		return "URL userinfo";
	}
	return "credential";
}

static bool printable(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] >= 0x7f)
			return false;
	return true;
}

static bool is_ref(const unsigned char *p, size_t n)
{
	return n >= 4 && p[0] == '$' && p[1] == '{' && p[n - 1] == '}' && !memchr(p + 2, '}', n - 3);
}

/*
 * An RFC 1929 request at off: VER 01, ULEN >= 1, printable user, PLEN >= 1, printable password, and the
 * message ends there or a SOCKS5 request (VER 05) follows. Printable because a binary look-alike is far
 * more likely to be something else than a password typed by someone.
 */
static bool rfc1929_at(const unsigned char *p, size_t n, size_t off, struct secret_span *s)
{
	uint8_t ver, ulen, plen, next;
	size_t end;

	if (rd_u8(p, n, off, &ver) == -1 || ver != 1 || rd_u8(p, n, off + 1, &ulen) == -1 || !ulen ||
	    rd_u8(p, n, off + 2 + ulen, &plen) == -1 || !plen || !rd_has(n, off + 3 + ulen, plen))
		return false;
	end = off + 3 + (size_t)ulen + plen;
	if (end < n && (rd_u8(p, n, end, &next) == -1 || next != 5))
		return false;
	if (!printable(p + off + 2, ulen) || !printable(p + off + 3 + ulen, plen) ||
	    memmem(p + off, end - off, "${", 2))
		return false;
	s->kind = SECRET_RFC1929;
	s->off = off + 2;
	s->len = ulen;
	s->off2 = off + 3 + ulen;
	s->len2 = plen;
	return true;
}

/* A SOCKS5 greeting at the start that offers method 02: the RFC 1929 request may follow it directly. */
static size_t after_greeting(const unsigned char *p, size_t n)
{
	uint8_t nm;

	if (n < 3 || p[0] != 5 || rd_u8(p, n, 1, &nm) == -1 || !nm || !rd_has(n, 2, nm) ||
	    !memchr(p + 2, 2, nm))
		return 0;
	return 2 + (size_t)nm;
}

static size_t add(struct secret_span *v, size_t k, size_t max, const struct secret_span *s)
{
	if (k < max)
		v[k] = *s;
	return k + 1;
}

size_t secret_find(const unsigned char *p, size_t n, struct secret_span *v, size_t max)
{
	struct secret_span s;
	size_t k = 0, line, i, g;

	if (!p || !n)
		return 0;
	memset(&s, 0, sizeof(s));
	if (rfc1929_at(p, n, 0, &s))
		k = add(v, k, max, &s);
	else if ((g = after_greeting(p, n)) && rfc1929_at(p, n, g, &s))
		k = add(v, k, max, &s);
	if (s.len)
		return MIN(k, max);    /* a SOCKS message holds no HTTP header */
	/* Header fields: at the start of each line. */
	for (line = 0; line < n; ) {
		const unsigned char *eol = memchr(p + line, '\n', n - line);
		size_t end = eol ? (size_t)(eol - p) : n;

		for (i = 0; i < ARRAY_SIZE(hdrs); i++) {
			size_t nl = strlen(hdrs[i].name), vs, ve;

			if (end - line <= nl || p[line + nl] != ':' ||
			    strncasecmp((const char *)p + line, hdrs[i].name, nl))
				continue;
			for (vs = line + nl + 1; vs < end && (p[vs] == ' ' || p[vs] == '\t'); vs++)
				;
			for (ve = end; ve > vs && (p[ve - 1] == '\r' || p[ve - 1] == ' ' || p[ve - 1] == '\t'); ve--)
				;
			if (hdrs[i].kind == SECRET_AUTHORIZATION || hdrs[i].kind == SECRET_PROXY_AUTHORIZATION) {
				const unsigned char *sp = memchr(p + vs, ' ', ve - vs);

				if (sp)    /* keep the scheme ("Basic"): only the credentials are secret */
					for (vs = (size_t)(sp - p); vs < ve && p[vs] == ' '; vs++)
						;
			}
			if (ve > vs && !is_ref(p + vs, ve - vs)) {
				memset(&s, 0, sizeof(s));
				s.kind = hdrs[i].kind;
				s.off = vs;
				s.len = ve - vs;
				k = add(v, k, max, &s);
			}
			break;
		}
		line = end + 1;
	}
	/* URL userinfo: "scheme://userinfo@host", in a request line or anywhere else. */
	for (i = 0; i + 3 < n; i++) {
		size_t j;

		if (memcmp(p + i, "://", 3))
			continue;
		for (j = i + 3; j < n && !strchr("/?#@ \r\n\t", p[j]) && p[j]; j++)
			;
		if (j < n && p[j] == '@' && j > i + 3 && !is_ref(p + i + 3, j - i - 3)) {
			memset(&s, 0, sizeof(s));
			s.kind = SECRET_USERINFO;
			s.off = i + 3;
			s.len = j - i - 3;
			k = add(v, k, max, &s);
		}
		i = j;
	}
	/* In order of offset (few spans: insertion sort). */
	k = MIN(k, max);
	for (i = 1; i < k; i++)
		for (g = i; g > 0 && v[g - 1].off > v[g].off; g--) {
			s = v[g];
			v[g] = v[g - 1];
			v[g - 1] = s;
		}
	return k;
}

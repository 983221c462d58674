/*
 * explain: see explain.h. References: RFC 1928 §3 and §6 (SOCKS5 method choice and REP), RFC 1929 §2
 * (username/password status), the SOCKS4 protocol note (CD 90..93), RFC 9110 §15 (status codes).
 */
#include "api.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "explain.h"

/* The dash written between a code's name and its meaning. */
#define DASH "\xe2\x80\x94"

static const char *const socks5_rep[] = {
	"succeeded",
	"general SOCKS server failure " DASH " the proxy itself failed",
	"connection not allowed by ruleset " DASH " the proxy's rules forbid this destination",
	"network unreachable " DASH " the proxy is up, the network of the site behind it is unreachable from it",
	"host unreachable " DASH " the proxy is up, the site behind it is unreachable from it",
	"connection refused " DASH " the proxy is up, the site behind it refused the connection",
	"TTL expired " DASH " the proxy is up, the site behind it could not be reached in time",
	"command not supported " DASH " the proxy does not support the CONNECT the check sent",
	"address type not supported " DASH " the proxy does not support the target's address type",
};

static size_t put(char *out, size_t outlen, const char *fmt, ...) PRINTF_FMT(3, 4);

static size_t put(char *out, size_t outlen, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!outlen)
		return 0;
	va_start(ap, fmt);
	n = vsnprintf(out, outlen, fmt, ap);
	va_end(ap);
	if (n < 0) {
		out[0] = '\0';
		return 0;
	}
	return (size_t)n < outlen ? (size_t)n : outlen - 1;
}

static size_t socks5(const unsigned char *rx, size_t n, char *out, size_t outlen)
{
	if (rx[0] == 0x01 && n == 2) {
		/* RFC 1929: VER 01, STATUS */
		if (rx[1] == 0x00)
			return put(out, outlen, "RFC 1929 status 00: username/password accepted");
		return put(out, outlen,
			   "RFC 1929 status %02X: authentication failed " DASH " the proxy refused the username/password",
			   rx[1]);
	}
	if (rx[0] != 0x05)
		return put(out, outlen, "not a SOCKS5 reply: version byte %02X, a SOCKS5 proxy answers 05", rx[0]);
	if (n == 1)
		return 0;
	if (n == 2) {
		/* the method choice: VER, METHOD */
		switch (rx[1]) {
		case 0x00:
			return put(out, outlen, "SOCKS5 method 00: no authentication required");
		case 0x01:
			return put(out, outlen, "SOCKS5 method 01: the proxy wants GSSAPI authentication");
		case 0x02:
			return put(out, outlen,
				   "SOCKS5 method 02: the proxy wants username/password authentication (RFC 1929)");
		case 0xFF:
			return put(out, outlen,
				   "SOCKS5 method FF: no acceptable method " DASH " the proxy refused every authentication "
				   "method the check offered");
		default:
			return put(out, outlen, "SOCKS5 method %02X: a method the check did not offer", rx[1]);
		}
	}
	/* the reply to CONNECT: VER, REP, RSV 00, ATYP, ... */
	if (rx[2] != 0x00)
		return put(out, outlen, "SOCKS5 reply with a non-zero reserved byte (%02X): not a SOCKS5 proxy's answer",
			   rx[2]);
	if (rx[1] < ARRAY_SIZE(socks5_rep))
		return put(out, outlen, "SOCKS5 REP %02X: %s", rx[1], socks5_rep[rx[1]]);
	return put(out, outlen, "SOCKS5 REP %02X: unassigned reply code " DASH " the proxy failed the request", rx[1]);
}

static size_t socks4(const unsigned char *rx, size_t n, char *out, size_t outlen)
{
	if (n < 2)
		return 0;
	if (rx[0] != 0x00)
		return put(out, outlen, "not a SOCKS4 reply: VN byte %02X, a SOCKS4 proxy answers 00", rx[0]);
	switch (rx[1]) {
	case 0x5A:
		return put(out, outlen, "SOCKS4 CD 5A: request granted");
	case 0x5B:
		return put(out, outlen, "SOCKS4 CD 5B: request rejected or failed " DASH " the proxy is up, it refused "
				       "the request or could not reach the site behind it");
	case 0x5C:
		return put(out, outlen, "SOCKS4 CD 5C: rejected, the proxy cannot reach identd on the client");
	case 0x5D:
		return put(out, outlen, "SOCKS4 CD 5D: rejected, identd reports a different user-id");
	default:
		return put(out, outlen, "SOCKS4 CD %02X: not a SOCKS4 reply code", rx[1]);
	}
}

static const char *http_meaning(int code)
{
	switch (code) {
	case 200: return "success";
	case 204: return "success, no content";
	case 301: case 302: case 303: case 307: case 308: return "a redirect";
	case 400: return "the request was refused as malformed";
	case 401: return "the site wants credentials";
	case 403: return "forbidden by the proxy or the site";
	case 404: return "the site has no such path";
	case 405: return "the method is not allowed there";
	case 407: return "the proxy wants credentials (Proxy-Authorization)";
	case 408: return "the request did not arrive in time";
	case 429: return "too many requests: rate-limited";
	case 500: return "the server failed internally";
	case 501: return "the method is not implemented there";
	case 502: return "the proxy is up, the site behind it failed or answered garbage";
	case 503: return "the proxy or the site is unavailable (overloaded or down)";
	case 504: return "the proxy is up, the site behind it did not answer in time";
	default: break;
	}
	if (code >= 100 && code < 200)
		return "an interim response";
	if (code >= 200 && code < 300)
		return "success";
	if (code >= 300 && code < 400)
		return "a redirect";
	if (code >= 400 && code < 500)
		return "the request was refused";
	if (code >= 500 && code < 600)
		return "the server side failed";
	return "not a valid status code";
}

static size_t http(const unsigned char *rx, size_t n, char *out, size_t outlen)
{
	char reason[64];
	size_t i, k = 0;
	int code;

	/* "HTTP/1.x NNN reason" */
	if (n < 12 || memcmp(rx, "HTTP/1.", 7) != 0 || rx[8] != ' ')
		return 0;
	for (i = 9; i < 12; i++)
		if (rx[i] < '0' || rx[i] > '9')
			return put(out, outlen, "HTTP status line without a three-digit status code");
	code = (rx[9] - '0') * 100 + (rx[10] - '0') * 10 + (rx[11] - '0');
	i = 12;
	if (i < n && rx[i] == ' ')
		i++;
	for (; i < n && rx[i] != '\r' && rx[i] != '\n' && k + 1 < sizeof(reason); i++)
		reason[k++] = rx[i] >= 0x20 && rx[i] < 0x7F ? (char)rx[i] : '?';
	reason[k] = '\0';
	return put(out, outlen, "HTTP %d%s%s " DASH " %s", code, k ? " " : "", reason, http_meaning(code));
}

size_t explain_reply(const char *protocol, const unsigned char *rx, size_t n, char *out, size_t outlen)
{
	if (outlen)
		out[0] = '\0';
	if (!rx || n == 0 || !protocol || !outlen)
		return 0;
	/* an HTTP answer, whatever tunnel it came through */
	if (n >= 7 && memcmp(rx, "HTTP/1.", 7) == 0)
		return http(rx, n, out, outlen);
	if (strncmp(protocol, "socks5", 6) == 0)
		return socks5(rx, n, out, outlen);
	if (strncmp(protocol, "socks4", 6) == 0)
		return socks4(rx, n, out, outlen);
	if (strncmp(protocol, "http", 4) == 0)
		return put(out, outlen, "not an HTTP response: it does not start with HTTP/1.x");
	return 0;
}

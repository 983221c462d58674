/*
 * dissect_https: the part of an https:// recording that the capture cannot show. Inside the tunnel the
 * client's bytes are a TLS handshake with fresh keys, so they are not replayed: the recipe starts TLS
 * itself (a tls step, verifying the chain and the URL's host as curl did) and sends the HTTP request curl
 * sent inside it, then expects the status curl got, generalized as for plain HTTP.
 */
#include "api.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "dissect.h"
#include "recipe.h"
#include "util.h"

/* Splits "https://[user@]host[:port][/path]" into host (no brackets), "host[:port]" and the target. */
static int split_url(const char *url, char *host, size_t hostlen, char *authority, size_t alen, char *target,
		     size_t tlen)
{
	const char *p = url + 8, *end, *at, *h, *hend;
	size_t n;

	if (strncasecmp(url, "https://", 8))
		return -1;
	end = p + strcspn(p, "/?#");
	at = memchr(p, '@', (size_t)(end - p));
	if (at)
		p = at + 1;
	n = (size_t)(end - p);
	if (n == 0 || n >= alen)
		return -1;
	memcpy(authority, p, n);
	authority[n] = '\0';
	if (*p == '[') {
		h = p + 1;
		hend = memchr(h, ']', n);
		if (!hend)
			return -1;
	} else {
		h = p;
		hend = memchr(p, ':', n);
		if (!hend)
			hend = end;
	}
	if (hend == h || (size_t)(hend - h) >= hostlen)
		return -1;
	memcpy(host, h, (size_t)(hend - h));
	host[hend - h] = '\0';
	/* curl drops the fragment and sends "/" for an empty path */
	n = strcspn(end, "#");
	if (n == 0)
		snprintf(target, tlen, "/");
	else if (*end == '?')
		snprintf(target, tlen, "/%.*s", (int)n, end);
	else
		snprintf(target, tlen, "%.*s", (int)n, end);
	return 0;
}

int dissect_https_tail(struct recipe *r, const char *url, bool verify, const char *ca, int status,
		       const char *user_agent, struct buf *summary, char *err, size_t errlen)
{
	char host[256], authority[300], target[2048], pat[64], why[ERR_LEN];
	struct step *s;
	struct buf req;
	const char *proto;

	if (split_url(url, host, sizeof(host), authority, sizeof(authority), target, sizeof(target)) == -1) {
		set_err(err, errlen, "cannot take the host and path from '%s'", url);
		return -1;
	}
	if (status < 100 || status > 999) {
		set_err(err, errlen, "curl got no HTTP status through TLS: nothing to expect");
		return -1;
	}
	s = recipe_add_step(r, STEP_TLS);
	if (!s)
		goto oom;
	s->tls.verify = verify;
	if (recipe_set_str(&s->tls.sni, host) || recipe_set_str(&s->tls.alpn, "http/1.1") ||
	    recipe_set_str(&s->tls.ca, verify ? ca : NULL) ||
	    recipe_set_str(&s->comment, !verify ? "TLS to the URL's host, certificate NOT verified (--insecure)"
					: ca ? "TLS to the URL's host: certificate chain (--cacert) and name verified, as "
					       "curl verified them"
					     : "TLS to the URL's host: certificate chain (system store) and name verified, "
					       "as curl verified them"))
		goto oom;

	buf_init(&req, RECIPE_MAX_PAYLOAD);
	if (buf_printf(&req, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\nAccept: */*\r\n\r\n", target,
		       authority, user_agent) == -1) {
		buf_free(&req);
		set_err(err, errlen, "the request for '%s' is larger than %d bytes", url, RECIPE_MAX_PAYLOAD);
		return -1;
	}
	s = recipe_add_step(r, STEP_SEND);
	if (!s || step_set_data(s, req.data, req.len) == -1 ||
	    recipe_set_str(&s->comment, "HTTP request inside TLS, as curl sent it (encrypted in the capture, so "
					"rebuilt from the URL)")) {
		buf_free(&req);
		goto oom;
	}
	buf_free(&req);

	snprintf(pat, sizeof(pat), "^HTTP/1\\.[01] %03d[ \\r]", status);
	s = recipe_add_step(r, STEP_EXPECT);
	if (!s)
		goto oom;
	s->match = EXPECT_RSTRING;
	s->min_recv = 13;
	if (step_set_data(s, pat, strlen(pat)) == -1 ||
	    recipe_set_str(&s->comment, "HTTP response inside TLS: status as curl got it; version, reason phrase and "
					"headers free (anchored, decided after 13 bytes)"))
		goto oom;

	proto = r->protocol ? r->protocol : "direct";
	snprintf(why, sizeof(why), "%.*s+https", (int)strcspn(proto, "+"), proto);
	if (recipe_set_str(&r->protocol, why) == -1)
		goto oom;
	if (recipe_compile(r, why, sizeof(why)) == -1) {
		set_err(err, errlen, "the built recipe is invalid: %s", why);
		return -1;
	}
	if (summary)
		buf_printf(summary, "  note: https: TLS inside the tunnel is started by the recipe (tls sni %s, %s), "
			   "then GET %s and status %d are checked inside it\n", host,
			   verify ? "chain and name verified" : "NOT verified: --insecure", target, status);
	return 0;
oom:
	set_err(err, errlen, "out of memory");
	return -1;
}

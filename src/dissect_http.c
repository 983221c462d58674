/*
 * dissect_http: HTTP/1.x through a forward proxy (absolute-form request-target) and through a CONNECT
 * tunnel. References: RFC 9110 (semantics: status codes §15, CONNECT §9.3.6, Proxy-Authorization §11.7.2),
 * RFC 9112 (message syntax, request-target forms §3.2, message body length §6.3), RFC 7617 (Basic).
 *
 * What is kept and what is generalized:
 *   request                kept as sent; Proxy-Authorization / Authorization make the step secret, and
 *                          --redact writes "<scheme> ${RECHECK_PROXY_AUTH}" ("${RECHECK_HTTP_AUTH}")
 *   response               the status code only, exact; the HTTP version (1.0/1.1), the reason phrase and
 *                          every header (Date, Via, Server, Set-Cookie, Age, Expires, Last-Modified,
 *                          ETag, X-*, ...) differ between servers and runs and are never matched
 *   CONNECT                the tunnel's 2xx and the end of its head; then the tunnel starts
 *                          (dx_tunnel_here) and the driver dissects the inner exchange, with
 *                          dissect_http_exchanges() when it is HTTP; TLS inside the tunnel cannot be
 *                          replayed, so the recipe stops once the tunnel is up
 */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "dissect_priv.h"
#include "dx.h"
#include "http1.h"
#include "rd.h"
#include "recipe.h"
#include "secret.h"

#define HTTP_MAX_EXCHANGES 16
#define STATUS_PREFIX_LEN  13 /* "HTTP/1.1 204 ": enough bytes to decide on the status line */
/* Longest SOCKS5 reply (ATYP 3, 255-byte name: 262 bytes) minus the 10 its expect waits for. */
#define SOCKS5_LATE_MAX    252

static const char *const volatile_hdrs[] = {
	"Date", "Via", "Server", "Set-Cookie", "Age", "Expires", "Last-Modified", "ETag", "Cache-Control",
	"Connection", "Keep-Alive", "Proxy-Connection", "Content-Length", "Proxy-Agent", "Alt-Svc",
};

static const struct dx_tok reasons[] = {
	{200, "OK"},
	{204, "No Content"},
	{301, "Moved Permanently"},
	{302, "Found"},
	{400, "Bad Request"},
	{403, "Forbidden"},
	{404, "Not Found"},
	{407, "Proxy Authentication Required"},
	{500, "Internal Server Error"},
	{502, "Bad Gateway"},
	{503, "Service Unavailable"},
	{504, "Gateway Timeout"},
	{0, NULL},
};

static int probe_connect(const unsigned char *p, size_t len)
{
	return len >= 8 && !memcmp(p, "CONNECT ", 8);
}

/* A method token (RFC 9110 §9.1) of 1-20 upper-case letters and a space. */
static int probe_proxy(const unsigned char *p, size_t len)
{
	size_t i;
	uint8_t c;

	for (i = 0; i <= 20; i++) {
		if (rd_u8(p, len, i, &c) == -1)
			return 0;
		if (c == ' ')
			return i > 0;
		if (c < 'A' || c > 'Z')
			return 0;
	}
	return 0;
}

static bool hdr_is(const struct http1_hdr *h, const char *name)
{
	return h->name_len == strlen(name) && !strncasecmp(h->name, name, h->name_len);
}

static bool is_volatile(const struct http1_hdr *h)
{
	size_t i;

	if (h->name_len >= 2 && !strncasecmp(h->name, "X-", 2))
		return true;
	for (i = 0; i < ARRAY_SIZE(volatile_hdrs); i++)
		if (hdr_is(h, volatile_hdrs[i]))
			return true;
	return false;
}

/* Content-Length value, 0 when absent, -1 when malformed or chunked (length not known from the head). */
static long long body_len(const struct http1_hdr *hdrs, size_t n)
{
	const struct http1_hdr *h;
	long long v = 0;
	size_t i;

	if (http1_find_hdr(hdrs, n, "Transfer-Encoding"))
		return -1;
	h = http1_find_hdr(hdrs, n, "Content-Length");
	if (!h)
		return 0;
	if (!h->value_len || h->value_len > 15)
		return -1;
	for (i = 0; i < h->value_len; i++) {
		if (h->value[i] < '0' || h->value[i] > '9')
			return -1;
		v = v * 10 + (h->value[i] - '0');
	}
	return v;
}

/*
 * Sends the request head (len bytes at head): as recorded, or with its credentials replaced by
 * environment references (--redact). Returns 0 or -1.
 */
static int send_head(struct dissect_ctx *x, const char *head, size_t len, const struct http1_req *req)
{
	struct buf b;
	struct secret_span spans[SECRET_MAX_SPANS];
	const char *last = head;
	bool secret = false, redacted = false, redactable;
	struct step *st;
	size_t i, first, nspan;
	int rc = -1;

	buf_init(&b, (size_t)RECIPE_MAX_PAYLOAD * 4);
	/* A recorded "${" would be read as a reference too: such a request cannot be redacted. */
	redactable = x->o->redact && !memmem(head, len, "${", 2);
	/* A head cut into several sends could cut a reference in two: keep such a (rare) head as recorded. */
	if (len > RECIPE_MAX_PAYLOAD - 64)
		redactable = false;
	/* The same detector as every other path (secret.h); Cookie and userinfo are left to dissect_secrets(). */
	nspan = secret_find((const unsigned char *)head, len, spans, ARRAY_SIZE(spans));
	for (i = 0; i < nspan; i++) {
		const struct secret_span *sp = &spans[i];

		if (sp->kind != SECRET_PROXY_AUTHORIZATION && sp->kind != SECRET_AUTHORIZATION)
			continue;
		secret = true;
		if (!redactable) {
			if (x->o->redact)
				dx_warn(x, "the request holds a literal \"${\" or is over %d bytes: its credentials "
					   "cannot be redacted and stay in the recipe", RECIPE_MAX_PAYLOAD - 64);
			continue;
		}
		/* The scheme ("Basic") stays, the credentials (RFC 7617: base64 of user:password) go. */
		if (buf_append(&b, last, (size_t)(head + sp->off - last)) == -1 ||
		    buf_printf(&b, "${%s}", secret_var(sp->kind)) == -1)
			goto out;
		last = head + sp->off + sp->len;
		redacted = true;
		dx_note(x, "%s redacted: set %s to the %s value when replaying", secret_kind_str(sp->kind),
			secret_var(sp->kind), head[sp->off - 1] == ' ' && head[sp->off - 2] != ':'
						  ? "credentials part of the" : "whole");
	}
	if (buf_append(&b, last, (size_t)(head + len - last)) == -1) {
		dx_oom(x);
		goto out;
	}
	first = x->r->nsteps;
	st = dx_send(x, b.data, b.len, false, "HTTP request %.*s %.*s, kept as sent%s", (int)req->method_len,
		     req->method, (int)MIN(req->target_len, 200), req->target,
		     redacted ? " (credentials from the environment)" : secret ? " (carries recorded credentials)" : "");
	if (!st)
		goto out;
	for (i = first; i < x->r->nsteps; i++) {
		x->r->steps[i].env = redacted;
		x->r->steps[i].secret = secret && !redacted;
		if (redacted)
			x->r->steps[i].binary = false;
	}
	if (secret && !redacted) {
		dx_note(x, "the request carries recorded credentials (Proxy-Authorization/Authorization): the "
			   "recipe is secret (use --redact to write environment references instead)");
	}
	rc = 0;
out:
	buf_free(&b);
	return rc;
}

/*
 * A proxy's refusal (CONNECT answered non-2xx, 407 to a forward request): the recorded failure rule. The
 * message quotes the status line and says what to do.
 */
static int refuse(struct dissect_ctx *x, const char *what, const struct http1_req *req,
		  const struct http1_resp *resp)
{
	bool creds = http1_find_hdr(req->hdrs, req->nhdrs, "Proxy-Authorization") != NULL;
	const char *todo;

	if (resp->status == 407 || resp->status == 401) /* tinyproxy answers a bad CONNECT login with 401 */
		todo = creds ? "the proxy refused the credentials that were given: check the user name and password "
			       "and record again"
			     : "the proxy requires credentials: give them (http://USER:PASS@HOST:PORT) and record again";
	else
		todo = "record again once the proxy accepts the request";
	return dx_refuse(x, "the proxy answered the %s %.*s with \"HTTP/1.%d %d %.*s\": %s", what,
			 (int)MIN(req->target_len, 200), req->target, resp->minor, resp->status,
			 (int)MIN(resp->reason_len, 80), resp->reason, todo);
}

/* The status-line expect; lead says which bytes may precede it. */
static int expect_status(struct dissect_ctx *x, int code, enum dissect_lead lead, bool first,
			 const struct http1_resp *resp)
{
	char re[96], why[160];
	int n, min_recv = STATUS_PREFIX_LEN;

	if (lead == LEAD_SOCKS5 && first) {
		/*
		 * Up to 252 late bytes of a longer SOCKS5 reply (IPv6 or domain BND.ADDR) may precede the
		 * response: a bounded lead keeps the match at the start of the buffer, not in some body.
		 */
		n = snprintf(re, sizeof(re), "^[\\s\\S]{0,%d}HTTP/1\\.[01] %03d[ \\r]", SOCKS5_LATE_MAX, code);
		snprintf(why, sizeof(why), "up to %d late bytes of the SOCKS5 reply may precede it", SOCKS5_LATE_MAX);
		min_recv = -1;
	} else if (!first) {
		/* Late bytes of the previous response's body may precede this one. */
		n = snprintf(re, sizeof(re), "HTTP/1\\.[01] %03d[ \\r]", code);
		snprintf(why, sizeof(why), "unanchored: the end of the previous response may precede it");
		min_recv = -1;
	} else {
		n = snprintf(re, sizeof(re), "^HTTP/1\\.[01] %03d[ \\r]", code);
		snprintf(why, sizeof(why), "anchored, decided after %d bytes", STATUS_PREFIX_LEN);
	}
	if (!dx_expect(x, EXPECT_RSTRING, re, (size_t)n, min_recv,
		       "HTTP response: status %03d exact; version, reason phrase and headers free (%s)", code, why))
		return -1;
	dx_note(x, "HTTP response checked by its status code %03d only (%s; recorded HTTP/1.%d '%.*s'); %s", code,
		re, resp->minor, (int)MIN(resp->reason_len, 80), resp->reason, why);
	return 0;
}

/* Lists the response headers that are not matched, the volatile ones first. */
static void note_headers(struct dissect_ctx *x, const struct http1_resp *resp)
{
	char vol[512] = "", other[512] = "";
	size_t i, kv = 0, ko = 0;

	for (i = 0; i < resp->nhdrs; i++) {
		const struct http1_hdr *h = &resp->hdrs[i];
		bool v = is_volatile(h);
		char *d = v ? vol : other;
		size_t *k = v ? &kv : &ko;

		if (*k < sizeof(vol) - 1)
			*k += (size_t)snprintf(d + *k, sizeof(vol) - *k, "%s%.*s", *k ? ", " : "",
					       (int)MIN(h->name_len, 64), h->name);
		if (*k >= sizeof(vol))
			*k = sizeof(vol) - 1;
	}
	if (kv)
		dx_note(x, "volatile response headers never matched: %s", vol);
	if (ko)
		dx_note(x, "other response headers not matched either: %s", other);
}

/* RFC 9110 §9.2.1: the methods that request nothing be changed. */
static bool safe_method(const struct http1_req *req)
{
	static const char *const safe[] = {"GET", "HEAD", "OPTIONS"};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(safe); i++)
		if (req->method_len == strlen(safe[i]) && !memcmp(req->method, safe[i], req->method_len))
			return true;
	return false;
}

/* Requests left in the client stream (a rough count of request lines, for the note). */
static int count_requests(const struct dissect_stream *c)
{
	struct http1_req req;
	size_t off = c->off;
	int n = 0, k;

	while (off < c->len && n < 1000) {
		k = http1_parse_request((const char *)c->p + off, c->len - off, &req);
		if (k <= 0)
			return n + 1;
		n++;
		off += (size_t)k;
		while (off < c->len && probe_proxy(c->p + off, c->len - off) == 0)
			off++;
	}
	return n;
}

/*
 * The response head at the server stream's offset: its length, or 0 when the recording has no complete,
 * well-formed one (then the request that got no answer is dropped, with a warning naming what).
 */
static int response_head(struct dissect_ctx *x, const char *what, struct http1_resp *resp)
{
	int n = http1_parse_response((const char *)x->s.p + x->s.off, x->s.len - x->s.off, resp);
	char missing[64];

	if (n > 0)
		return n;
	snprintf(missing, sizeof(missing), n == -2 ? "a complete %s response head" : "a well-formed %s response",
		 what);
	dx_unanswered(x, missing);
	return 0;
}

int dissect_http_exchanges(struct dissect_ctx *x, enum dissect_lead lead, int *is_http)
{
	struct dissect_stream *c = &x->c, *s = &x->s;
	struct http1_req req;
	struct http1_resp resp;
	long long blen;
	int i, n;

	*is_http = 0;
	for (i = 0; i < HTTP_MAX_EXCHANGES && c->off < c->len; i++) {
		n = http1_parse_request((const char *)c->p + c->off, c->len - c->off, &req);
		if (n == -1 || (n == -2 && i == 0 && !probe_proxy(c->p + c->off, c->len - c->off))) {
			if (i == 0)
				return 0;
			dx_warn(x, "the %zu client bytes after exchange %d are not an HTTP request: not included",
				c->len - c->off, i);
			return 0;
		}
		*is_http = 1;
		if (n == -2 && i == 0) {
			/* It begins like a request (a method), but nothing of HTTP reaches the recipe: no "+http". */
			size_t k = 0;

			while (k < 60 && c->off + k < c->len && c->p[c->off + k] >= 0x20 && c->p[c->off + k] < 0x7f)
				k++;
			*is_http = 2;
			dx_warn(x, "the HTTP request is cut in the recording: %zu byte%s (\"%.*s\"), its head never ends; "
				   "the recipe stops before it", c->len - c->off, DX_PL(c->len - c->off), (int)k,
				(const char *)c->p + c->off);
			return 0;
		}
		if (n == -2) {
			dx_warn(x, "the HTTP request is truncated in the recording");
			return 0;
		}
		if (req.method_len == 7 && !memcmp(req.method, "CONNECT", 7)) {
			dx_warn(x, "a CONNECT inside the exchange is not dissected: the recipe stops before it");
			return 0;
		}
		if (i > 0 && !x->o->all_exchanges) {
			dx_note(x, "the connection carried %d more request(s) after the first (keep-alive); only the first "
				   "exchange is checked, since later ones depend on the first (a 304 to If-Modified-Since, "
				   "a cookie); --all-exchanges keeps them", count_requests(c));
			c->off = c->len;
			return 0;
		}
		if (!safe_method(&req) && !x->o->allow_side_effects)
			return dx_side_effect(x, "the request %.*s %.*s has side effects (only GET, HEAD and OPTIONS are "
						 "safe, RFC 9110 §9.2.1): a check would repeat it on every interval; record "
						 "a GET, or pass --allow-side-effects to keep it", (int)req.method_len,
					      req.method, (int)MIN(req.target_len, 200), req.target);
		blen = body_len(req.hdrs, req.nhdrs);
		if (blen < 0 || (size_t)blen > c->len - c->off - (size_t)n) {
			dx_warn(x, "the request body has no usable length (chunked or truncated): the recipe stops "
				   "before it");
			return 0;
		}
		if (send_head(x, (const char *)c->p + c->off, (size_t)n, &req) == -1)
			return -1;
		c->off += (size_t)n;
		if (blen > 0) {
			if (!dx_send(x, c->p + c->off, (size_t)blen, false, "request body, %lld bytes as sent", blen))
				return -1;
			c->off += (size_t)blen;
		}
		n = response_head(x, "HTTP", &resp);
		if (n == 0)
			return 0;
		if (i == 0 && resp.status == 407 && lead == LEAD_NONE && !strcmp(x->proto, "http-proxy"))
			return refuse(x, "request", &req, &resp);
		if (expect_status(x, resp.status, lead, i == 0, &resp) == -1)
			return -1;
		note_headers(x, &resp);
		if (resp.status >= 400)
			dx_warn(x, "the recorded response is %d %s: the recipe expects that same code, so it checks "
				   "that the proxy keeps failing this way", resp.status,
				dx_tok_name(reasons, resp.status, "(an error)"));
		s->off += (size_t)n;
		if (c->off >= c->len)
			break;
		/* Another request follows: skip this response's body to find the next status line. */
		blen = (req.method_len == 4 && !memcmp(req.method, "HEAD", 4)) || resp.status == 204 ||
				       resp.status == 304 || resp.status < 200
			       ? 0
			       : body_len(resp.hdrs, resp.nhdrs);
		if (blen < 0 || (size_t)blen > s->len - s->off) {
			dx_warn(x, "the response body length is unknown (chunked or until close): the %zu client bytes "
				   "that follow are not included", c->len - c->off);
			return 0;
		}
		s->off += (size_t)blen;
	}
	if (c->off < c->len)
		dx_warn(x, "more than %d exchanges: the rest is not included", HTTP_MAX_EXCHANGES);
	return 0;
}

/*
 * The label follows the request-target form (RFC 9112 §3.2): absolute-form ("GET http://host/path") is
 * what a client sends to a forward proxy; origin-form ("GET /path") and asterisk-form ("OPTIONS *") go
 * to the origin itself, so the conversation is plain HTTP, not a proxy's.
 */
static int build_proxy(struct dissect_ctx *x)
{
	struct http1_req req;
	bool origin = false;
	int is_http = 0, n;

	memset(&req, 0, sizeof(req));
	n = http1_parse_request((const char *)x->c.p + x->c.off, x->c.len - x->c.off, &req);
	if (n != -1 && req.target && req.target_len)
		origin = req.target[0] == '/' || (req.target_len == 1 && req.target[0] == '*');
	snprintf(x->proto, sizeof(x->proto), "%s", origin ? "http" : "http-proxy");
	if (dissect_http_exchanges(x, LEAD_NONE, &is_http) == -1)
		return -1;
	if (is_http)
		dx_note(x, origin ? "origin-form request-target (%.*s): plain HTTP to the origin, no proxy"
				  : "absolute-form request-target (%.*s): a forward proxy request",
			(int)MIN(req.target_len, 80), req.target);
	return is_http ? 0 : 1;
}

static int build_connect(struct dissect_ctx *x)
{
	struct dissect_stream *c = &x->c, *s = &x->s;
	struct http1_req req;
	struct http1_resp resp;
	int n, code;

	snprintf(x->proto, sizeof(x->proto), "http-connect");
	n = http1_parse_request((const char *)c->p + c->off, c->len - c->off, &req);
	if (n == -1)
		return 1;
	if (n == -2) {
		dx_warn(x, "the CONNECT request is truncated in the recording");
		return 0;
	}
	if (send_head(x, (const char *)c->p + c->off, (size_t)n, &req) == -1)
		return -1;
	c->off += (size_t)n;
	n = response_head(x, "CONNECT", &resp);
	if (n == 0)
		return 0;
	code = resp.status;
	if (code < 200 || code > 299)
		return refuse(x, "CONNECT", &req, &resp);
	if (expect_status(x, code, LEAD_NONE, true, &resp) == -1)
		return -1;
	/* Read the whole tunnel head before sending through it, so none of it precedes the inner reply. */
	if (!dx_expect(x, EXPECT_RSTRING, "\\n\\r?\\n", 7, -1,
		       "end of the CONNECT response head: the tunnel is open"))
		return -1;
	note_headers(x, &resp);
	if (code != resp.status)
		return 0;
	s->off += (size_t)n;
	/* The recipe stays "http-connect" whatever runs inside. */
	return dx_tunnel_here(x, LEAD_NONE, false);
}

const struct dissector dissect_http_connect = {
	.name = "http-connect",
	.probe = probe_connect,
	.build = build_connect,
};

const struct dissector dissect_http_proxy = {
	.name = "http-proxy",
	.probe = probe_proxy,
	.build = build_proxy,
};

bool dissect_http_annotate(const struct step *s, struct buf *out)
{
	const char *p = (const char *)s->data, *h;
	struct http1_req req;
	struct http1_resp resp;
	size_t i;

	if (!p || !s->len)
		return false;
	if (s->type == STEP_SEND) {
		if (!probe_proxy(s->data, s->len))
			return false;
		http1_parse_request(p, s->len, &req);
		for (i = 0; i < s->len && i < 200 && p[i] != '\r' && p[i] != '\n'; i++)
			;
		if (!dx_is_text(s->data, i))
			return false;
		buf_printf(out, "HTTP request: %.*s%s", (int)i, p,
			   s->env ? " (credentials from the environment)" : s->secret ? " (carries credentials)" : "");
		return true;
	}
	if (s->match == EXPECT_RSTRING && !strcmp(p, "\\n\\r?\\n")) {
		buf_printf(out, "HTTP: the end of the response head");
		return true;
	}
	/* A status-line regex: "HTTP/1" then, after the first space, three digits ("^HTTP/1\\.[01] 204"). */
	if (s->match == EXPECT_RSTRING && (h = strstr(p, "HTTP/1")) != NULL && (h = strchr(h, ' ')) != NULL &&
	    h[1] >= '1' && h[1] <= '9' && h[2] >= '0' && h[2] <= '9' && h[3] >= '0' && h[3] <= '9') {
		buf_printf(out, "HTTP response: status %.3s (%s)", h + 1,
			   strstr(p, "[01]") ? "version, reason and headers not matched" : "reason and headers not matched");
		return true;
	}
	if ((s->match == EXPECT_STRING || s->match == EXPECT_BINARY) &&
	    http1_parse_response(p, s->len, &resp) != -1 && resp.status >= 100) {
		buf_printf(out, "HTTP response: HTTP/1.%d %d %.*s", resp.minor, resp.status,
			   (int)MIN(resp.reason_len, 80), resp.reason);
		return true;
	}
	return false;
}

/*
 * check_http: the HTTP side of the check engine (RECIPE_HTTP: option httpchk + http-check). It owns
 * check_http_next(): connect, send the request, read and evaluate the response. The request is written
 * the way HAProxy 2.6's H1 mux writes it; the response is parsed per RFC 9112 (status line, header
 * fields, message body by Content-Length, chunked transfer coding, or until close) and the expects are
 * evaluated as tcpcheck_eval_expect_http() does (docs/haproxy-semantics.md). Below it: check_run.c
 * only; above it: check.c, which dispatches HTTP recipes here and serialises the request at
 * check_run_init().
 */
#include "api.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include "buf.h"
#include "check_http.h"
#include "check_run.h"
#include "check_run_priv.h"
#include "recipe.h"
#include "regex.h"
#include "util.h"

/* Bounds against hostile responses (the whole response is at most CHECK_BUFSIZE anyway). */
#define HTTP_MAX_INTERIM 8   /* 1xx interim responses skipped before the final one */

static const struct http_hdr *find_hdr(const struct recipe *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->req.nhdrs; i++)
		if (!strcasecmp(r->req.hdrs[i].name, name))
			return &r->req.hdrs[i];
	return NULL;
}

int check_http_request(const struct recipe *r, const char *state, struct buf *out)
{
	const char *meth = r->req.method ? r->req.method : "OPTIONS";
	const char *uri = r->req.uri ? r->req.uri : "/";
	const char *ver = r->req.version ? r->req.version : "HTTP/1.0";
	const struct http_hdr *host = find_hdr(r, "host");
	const char *scheme_end = strstr(uri, "://");
	size_t i, j;

	if (buf_printf(out, "%s ", meth) == -1)
		return -1;
	/* An absolute URI gets its authority replaced by a configured Host header ([T] §3.2). */
	if (host && scheme_end && (!strncasecmp(uri, "http://", 7) || !strncasecmp(uri, "https://", 8))) {
		const char *path = strchr(scheme_end + 3, '/');

		if (buf_append(out, uri, (size_t)(scheme_end + 3 - uri)) == -1 ||
		    buf_append_str(out, host->value) == -1 || buf_append_str(out, path ? path : "") == -1)
			return -1;
	} else if (buf_append_str(out, uri) == -1) {
		return -1;
	}
	if (buf_printf(out, " %s\r\n", ver) == -1)
		return -1;
	for (i = 0; i < r->req.nhdrs; i++) {
		const char *n = r->req.hdrs[i].name;

		/* the H1 mux writes header names in lower case */
		for (j = 0; n[j]; j++)
			if (buf_putc(out, (unsigned char)tolower((unsigned char)n[j])) == -1)
				return -1;
		if (buf_printf(out, ": %s\r\n", r->req.hdrs[i].value) == -1)
			return -1;
	}
	/* http-check send-state: after the configured headers, as HAProxy 2.6 writes it */
	if (r->req.send_state && state && buf_printf(out, "x-haproxy-server-state: %s\r\n", state) == -1)
		return -1;
	if (r->req.body || !strcasecmp(meth, "CONNECT"))
		if (buf_printf(out, "content-length: %zu\r\n", r->req.body ? r->req.bodylen : (size_t)0) == -1)
			return -1;
	if (!strcmp(ver, "HTTP/1.1") && !find_hdr(r, "connection"))
		if (buf_append_str(out, "connection: close\r\n") == -1)
			return -1;
	if (buf_append_str(out, "\r\n") == -1)
		return -1;
	if (r->req.body && r->req.bodylen && buf_append(out, r->req.body, r->req.bodylen) == -1)
		return -1;
	return 0;
}

/* One line ending at LF (optionally preceded by CR). Returns the length without the EOL, or -1. */
static ssize_t line_len(const unsigned char *p, size_t n, size_t *eol)
{
	const unsigned char *lf = memchr(p, '\n', n);
	size_t l;

	if (!lf)
		return -1;
	l = (size_t)(lf - p);
	*eol = l + 1;
	if (l && p[l - 1] == '\r')
		l--;
	return (ssize_t)l;
}

static bool is_tchar(unsigned char c)
{
	return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Decodes a chunked body from p[0..n) into body. 1 complete, 0 need more, -1 malformed. */
static int dechunk(const unsigned char *p, size_t n, struct buf *body, const char **why)
{
	size_t off = 0, eol;
	ssize_t l;

	for (;;) {
		unsigned long long sz = 0;
		size_t i, digits = 0;

		l = line_len(p + off, n - off, &eol);
		if (l < 0)
			return 0;
		for (i = 0; i < (size_t)l && isxdigit(p[off + i]); i++, digits++) {
			if (sz > (1ull << 40)) {
				*why = "chunk size too large";
				return -1;
			}
			sz = sz * 16 + (unsigned)(isdigit(p[off + i]) ? p[off + i] - '0' : (tolower(p[off + i]) - 'a' + 10));
		}
		if (!digits || (i < (size_t)l && p[off + i] != ';' && p[off + i] != ' ' && p[off + i] != '\t')) {
			*why = "malformed chunk size";
			return -1;
		}
		off += eol;
		if (sz == 0) {
			/* trailer section, ended by an empty line */
			for (;;) {
				l = line_len(p + off, n - off, &eol);
				if (l < 0)
					return 0;
				off += eol;
				if (l == 0)
					return 1;
			}
		}
		if (n - off < sz) {
			buf_append(body, p + off, n - off); /* partial chunk: what is there so far */
			return 0;
		}
		if (buf_append(body, p + off, (size_t)sz) == -1) {
			*why = "body larger than the check buffer";
			return -1;
		}
		off += (size_t)sz;
		l = line_len(p + off, n - off, &eol);
		if (l < 0)
			return 0;
		if (l != 0) {
			*why = "missing CRLF after chunk data";
			return -1;
		}
		off += eol;
	}
}

int check_http_parse(const unsigned char *p, size_t n, bool head_request, bool eof, struct buf *body,
		     struct check_http_resp *resp, const char **why)
{
	size_t off = 0, eol, interim;
	long long clen = -1;
	ssize_t l;

	memset(resp, 0, sizeof(*resp));
	buf_reset(body);
	for (interim = 0;; interim++) {
		const unsigned char *sl = p + off;
		bool chunked = false;
		size_t i;

		clen = -1;
		l = line_len(sl, n - off, &eol);
		if (l < 0) {
			if (n - off >= 5 && memcmp(sl, "HTTP/", 5)) {
				*why = "not an HTTP/1.x status line";
				return -1;
			}
			return 0;
		}
		/* HTTP/1.x SP 3DIGIT [SP reason] */
		if (l < 12 || memcmp(sl, "HTTP/1.", 7) || !isdigit(sl[7]) || sl[8] != ' ' || !isdigit(sl[9]) ||
		    !isdigit(sl[10]) || !isdigit(sl[11]) || (l > 12 && sl[12] != ' ')) {
			*why = "not an HTTP/1.x status line";
			return -1;
		}
		resp->code = (sl[9] - '0') * 100 + (sl[10] - '0') * 10 + (sl[11] - '0');
		if (resp->code < 100) {
			*why = "status code below 100";
			return -1;
		}
		resp->reason = l > 13 ? (const char *)sl + 13 : "";
		resp->reasonlen = l > 13 ? (size_t)l - 13 : 0;
		off += eol;
		resp->hdrs = p + off;
		resp->hdrslen = 0;
		for (;;) {
			const unsigned char *h = p + off;
			const unsigned char *colon, *v, *ve;

			l = line_len(h, n - off, &eol);
			if (l < 0)
				return 0;
			off += eol;
			if (l == 0)
				break;
			resp->hdrslen = (size_t)(p + off - resp->hdrs);
			colon = memchr(h, ':', (size_t)l);
			if (!colon || colon == h) {
				*why = "malformed header line";
				return -1;
			}
			for (i = 0; h + i < colon; i++) {
				if (!is_tchar(h[i])) {
					*why = "invalid character in a header name";
					return -1;
				}
			}
			v = colon + 1;
			ve = h + l;
			while (v < ve && (*v == ' ' || *v == '\t'))
				v++;
			while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			if (colon - h == 14 && !strncasecmp((const char *)h, "content-length", 14)) {
				long long c = 0;

				if (v == ve) {
					*why = "empty content-length";
					return -1;
				}
				for (; v < ve; v++) {
					if (!isdigit(*v) || c > (1ll << 40)) {
						*why = "invalid content-length";
						return -1;
					}
					c = c * 10 + (*v - '0');
				}
				if (clen != -1 && clen != c) {
					*why = "conflicting content-length headers";
					return -1;
				}
				clen = c;
			} else if (colon - h == 17 && !strncasecmp((const char *)h, "transfer-encoding", 17)) {
				chunked = ve - v >= 7 && !strncasecmp((const char *)ve - 7, "chunked", 7);
			}
		}
		if (resp->code >= 100 && resp->code < 200 && resp->code != 101) {
			if (interim >= HTTP_MAX_INTERIM) {
				*why = "too many interim responses";
				return -1;
			}
			continue;
		}
		resp->chunked = chunked;
		if (head_request || resp->code == 204 || resp->code == 304 || resp->code == 101) {
			resp->body_done = true;
		} else if (chunked) {
			int rc = dechunk(p + off, n - off, body, why);

			if (rc == -1)
				return -1;
			resp->body_done = rc == 1;
		} else if (clen >= 0) {
			size_t have = MIN(n - off, (size_t)clen);

			buf_append(body, p + off, have);
			resp->body_done = have == (size_t)clen;
		} else {
			buf_append(body, p + off, n - off);
			resp->body_done = eof; /* delimited by the close */
		}
		resp->body = body->data ? body->data : (const unsigned char *)"";
		resp->bodylen = body->len;
		return 1;
	}
}

static bool hdr_cmp(enum hdr_match m, const struct rx *rx, const char *pat, size_t plen, const unsigned char *s,
		    size_t n, bool icase)
{
	int (*cmp)(const char *, const char *, size_t) = icase ? strncasecmp : strncmp;
	size_t i;

	switch (m) {
	case HDRM_STR:
		return n == plen && !cmp((const char *)s, pat, n);
	case HDRM_BEG:
		return n >= plen && !cmp((const char *)s, pat, plen);
	case HDRM_END:
		return n >= plen && !cmp((const char *)s + n - plen, pat, plen);
	case HDRM_SUB:
		for (i = 0; i + plen <= n; i++)
			if (!cmp((const char *)s + i, pat, plen))
				return true;
		return false;
	case HDRM_REG:
		return rx_match(rx, s, n) == 1;
	}
	return false;
}

static bool is_ows(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/*
 * HAProxy's http-check expect hdr: true when a header of the response matches e's name pattern and, when
 * e has one, a value matches its value pattern. Names compare case-insensitively (a regex sees the name in
 * lower case, as HTX stores it). Unless e->full, a value is a comma-separated list and each element,
 * trimmed of spaces, is tested on its own (http_find_header()).
 */
static bool hdr_expect_match(const struct http_expect *e, const struct check_http_resp *resp)
{
	const unsigned char *p = resp->hdrs, *end = resp->hdrs + resp->hdrslen;
	unsigned char lname[256];

	while (p && p < end) {
		const unsigned char *eol = memchr(p, '\n', (size_t)(end - p));
		const unsigned char *line = p, *le = eol ? eol : end, *colon, *v, *ve;
		bool name_ok;
		size_t nlen, i;

		p = le + 1;
		if (le > line && le[-1] == '\r')
			le--;
		colon = memchr(line, ':', (size_t)(le - line));
		if (!colon)
			continue;
		nlen = (size_t)(colon - line);
		if (e->name_m == HDRM_REG) {
			if (nlen >= sizeof(lname))
				continue;
			for (i = 0; i < nlen; i++)
				lname[i] = (unsigned char)tolower(line[i]);
			name_ok = rx_match(e->rx, lname, nlen) == 1;
		} else {
			name_ok = hdr_cmp(e->name_m, NULL, e->pattern, e->len, line, nlen, true);
		}
		if (!name_ok)
			continue;
		if (!e->value)
			return true;
		v = colon + 1;
		for (;;) {
			const unsigned char *c = e->full ? NULL : memchr(v, ',', (size_t)(le - v));

			ve = c ? c : le;
			while (v < ve && is_ows(*v))
				v++;
			while (ve > v && is_ows(ve[-1]))
				ve--;
			if (hdr_cmp(e->value_m, e->vrx, e->value, e->vlen, v, (size_t)(ve - v), false))
				return true;
			if (!c)
				break;
			v = c + 1;
		}
	}
	return false;
}

/* Concludes an expect failure of rule i (step i + 2). */
static void fail_expect(struct check_run *run, size_t i, const struct http_expect *e, enum check_status st,
			const char *desc, size_t desclen)
{
	run->res.kind = e->match == HEXP_STATUS ? "http-check expect status" :
			e->match == HEXP_RSTATUS ? "http-check expect rstatus" :
			e->match == HEXP_STRING ? "http-check expect string" :
			e->match == HEXP_HDR ? "http-check expect hdr" : "http-check expect rstring";
	run->res.comment = e->comment;
	run->res.expected = (const unsigned char *)e->pattern;
	run->res.explen = e->len;
	run->res.negate = e->negate;
	check_keep_rx(run, run->in.data, run->in.len);
	if (e->comment)
		check_conclude(run, st, (int)i + 2, (int)i, "%.*s comment: '%s'", (int)desclen, desc, e->comment);
	else
		check_conclude(run, st, (int)i + 2, (int)i, "%.*s", (int)desclen, desc);
}

/* Evaluates the response expects of run's recipe on run->in (HAProxy's tcpcheck_eval_expect_http()). */
static enum check_eval http_eval(struct check_run *run)
{
	static const struct http_expect implicit = {
		.match = HEXP_STATUS, .min_recv = -1, .pattern = (char *)"200-399", .len = 7,
	};
	const struct recipe *r = run->recipe;
	const char *why = "malformed response";
	struct check_http_resp resp;
	bool head = r->req.method && !strcasecmp(r->req.method, "HEAD");
	char code[8];
	size_t i, n;
	int rc;

	rc = check_http_parse(run->in.data ? run->in.data : (const unsigned char *)"", run->in.len, head,
			      run->last_read, &run->out, &resp, &why);
	if (rc == 0 && !run->last_read)
		return CHECK_EVAL_WAIT;
	if (rc != 1) {
		run->res.kind = "http response";
		check_keep_rx(run, run->in.data, run->in.len);
		check_conclude(run, CHECK_L7RSP, 2, -1, "TCPCHK got an invalid HTTP response at step 2 (%s)",
			       rc == 0 ? "incomplete response head" : why);
		return CHECK_EVAL_STOP;
	}
	run->res.http_code = resp.code;
	snprintf(code, sizeof(code), "%d", resp.code);
	n = r->nhexp ? r->nhexp : 1;
	for (i = 0; i < n; i++) {
		const struct http_expect *e = r->nhexp ? &r->hexp[i] : &implicit;
		bool match = false;

		switch (e->match) {
		case HEXP_STATUS:
			match = http_status_in_list(e->pattern, resp.code) == 1;
			break;
		case HEXP_RSTATUS:
			match = rx_match(e->rx, (const unsigned char *)code, strlen(code)) == 1;
			break;
		case HEXP_HDR:
			match = hdr_expect_match(e, &resp);
			break;
		case HEXP_STRING:
		case HEXP_RSTRING:
			/* body matches wait for the whole body, unless min-recv makes a shorter one conclusive */
			if (!resp.body_done && !run->last_read) {
				if (e->min_recv == -1 || resp.bodylen < (size_t)e->min_recv)
					return CHECK_EVAL_WAIT;
				if (e->match == HEXP_STRING && resp.bodylen < e->len)
					return CHECK_EVAL_WAIT;
			}
			if (e->match == HEXP_STRING)
				match = memmem(resp.body, resp.bodylen, e->pattern, e->len) != NULL;
			else
				match = rx_match(e->rx, resp.body, MIN(resp.bodylen, (size_t)CHECK_BUFSIZE - 1)) == 1;
			break;
		}
		if (match ^ e->negate)
			continue;
		if (e->match == HEXP_STATUS || e->match == HEXP_RSTATUS || e->match == HEXP_HDR)
			fail_expect(run, i, e, CHECK_L7STS, resp.reason, resp.reasonlen);
		else if (match)
			fail_expect(run, i, e, CHECK_L7RSP, "HTTP check matched unwanted content", 35);
		else
			fail_expect(run, i, e, CHECK_L7RSP, "HTTP content check did not match", 32);
		return CHECK_EVAL_STOP;
	}
	run->res.kind = "http response";
	check_conclude(run, CHECK_L7OK, (int)n + 1, -1, "%.*s", (int)resp.reasonlen, resp.reason);
	return CHECK_EVAL_STOP;
}

/* ---- HTTP recipes: connect, send the request, read and evaluate the response --------------------- */

/* The request goes out once connected (and TLS is up). */
static struct check_action http_send(struct check_run *run)
{
	struct check_action a = {.type = CHECK_ACT_SEND};

	run->cur = 0;
	run->sent = false;
	check_time_start(run, 0);
	check_trace(run, "step 1: http request %zu bytes", run->out.len);
	SET_PHASE(run, CHECK_PH_SENDING);
	a.data = run->out.data;
	a.len = run->out.len;
	return a;
}

struct check_action check_http_next(struct check_run *run)
{
	struct check_action a = {.type = CHECK_ACT_WAIT};
	enum check_eval ev;

	for (;;) {
		if (run->expired && run->phase != CHECK_PH_DONE && run->phase != CHECK_PH_START) {
			run->res.kind = run->phase == CHECK_PH_CONNECTING ? "connect" : run->cur == 0 ? "send" : "http response";
			run->res.err = 0;
			if (run->phase == CHECK_PH_CONNECTING) {
				check_conclude(run, CHECK_L4TOUT, 0, -1, "at initial connection step of tcp-check");
			} else if (run->phase == CHECK_PH_TLS) {
				check_fail_tls(run, -1, 0, "at initial connection step of tcp-check (check-ssl)");
			} else {
				check_keep_rx(run, run->in.data, run->in.len);
				check_conclude(run, CHECK_L7TOUT, run->cur + 1, -1, "at step %d of tcp-check (%s)",
					       run->cur + 1, run->cur == 0 ? "send" : "expect HTTP response");
			}
		}
		switch (run->phase) {
		case CHECK_PH_START:
			run->res.start_us = run->clock();
			return check_start_connect(run, -1);
		case CHECK_PH_CONNECTING:
			if (run->sock_err) {
				check_fail_conn(run, CHECK_L4CON, -1);
				break;
			}
			if (!run->connected)
				return a;
			check_step_passed(run, -1);
			if (run->recipe->tls)
				return check_start_tls(run, 2, run->recipe->tls);
			return http_send(run);
		case CHECK_PH_TLS:
			if (run->tls_err || run->sock_err) {
				check_fail_tls(run, -1, 0, "at initial connection step of tcp-check (check-ssl)");
				break;
			}
			if (!run->tls_ok)
				return a;
			check_time_end(run, 2);
			check_trace(run, "tls passed in %.1fms", (double)check_timing_us(&run->times[3]) / 1000.0);
			return http_send(run);
		case CHECK_PH_SENDING:
			if (run->sock_err) {
				run->res.kind = "send";
				run->res.err = run->sock_err;
				check_conclude(run, CHECK_SOCKERR, 1, -1, "%s at step 1 of tcp-check (send)",
					       strerror(run->sock_err));
				break;
			}
			if (!run->sent)
				return a;
			check_time_end(run, 0);
			check_trace(run, "step 1: http request passed in %.1fms", (double)check_timing_us(&run->times[1]) / 1000.0);
			run->cur = 1;
			check_time_start(run, 1);
			run->got_data = false;
			SET_PHASE(run, CHECK_PH_READING);
			break;
		case CHECK_PH_READING:
			if (check_read_pending(run)) {
				a.type = CHECK_ACT_WANT_READ;
				return a;
			}
			if (run->in.len == 0 && (run->peer_closed || run->sock_err)) {
				run->res.kind = "http response";
				if (run->sock_err) {
					run->res.err = run->sock_err;
					check_conclude(run, CHECK_SOCKERR, 2, -1,
						       "%s at step 2 of tcp-check (expect HTTP response)",
						       strerror(run->sock_err));
				} else {
					check_conclude(run, CHECK_L7RSP, 2, -1, "TCPCHK got an empty response at step 2");
				}
				break;
			}
			check_read_done(run);
			SET_PHASE(run, CHECK_PH_EVAL);
			break;
		case CHECK_PH_EVAL:
			ev = http_eval(run);
			if (ev == CHECK_EVAL_WAIT)
				SET_PHASE(run, CHECK_PH_READING);
			else
				check_time_end(run, 1);
			break;
		case CHECK_PH_DONE:
		default:
			return check_done_action(run);
		}
	}
}

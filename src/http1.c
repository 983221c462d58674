/*
 * http1: HTTP/1.x message head parser. References: RFC 9112 (HTTP/1.1 message syntax: request-line §3,
 * status-line §4, field lines §5, line endings §2.2), RFC 9110 §5.6.2 (token characters).
 * Every read is checked against the end of the buffer; the end of the input is "need more" (-2), never a
 * decision, so that every strict prefix of a valid head gives -2.
 */
#include "api.h"

#include <string.h>
#include <strings.h>

#include "http1.h"

/* Needs one more byte: at the end of what we have, the caller must wait. */
#define NEED(p, end) do { if ((p) == (end)) return -2; } while (0)

static bool is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* VCHAR / obs-text (RFC 9110 §5.5): what a field value or reason phrase may hold, besides SP / HTAB. */
static bool is_vchar(unsigned char c)
{
	return (c >= 0x21 && c != 0x7f);
}

/*
 * Consumes a line end (CRLF or LF) at *pp. 1 when consumed, -2 when more bytes are needed, -1 when the
 * byte there is not a line end.
 */
static int eol(const unsigned char **pp, const unsigned char *end)
{
	const unsigned char *p = *pp;

	NEED(p, end);
	if (*p == '\r') {
		p++;
		NEED(p, end);
		if (*p != '\n')
			return -1;
	} else if (*p != '\n') {
		return -1;
	}
	*pp = p + 1;
	return 1;
}

/* "HTTP/1.x": the minor version digit in *minor. */
static int version(const unsigned char **pp, const unsigned char *end, int *minor)
{
	static const char pfx[] = "HTTP/1.";
	const unsigned char *p = *pp;
	size_t i;

	for (i = 0; i < sizeof(pfx) - 1; i++, p++) {
		NEED(p, end);
		if (*p != (unsigned char)pfx[i])
			return -1;
	}
	NEED(p, end);
	if (*p < '0' || *p > '9')
		return -1;
	*minor = *p - '0';
	*pp = p + 1;
	return 1;
}

/* Field lines up to and including the empty line. Returns the offset after the head, -2 or -1. */
static int headers(const unsigned char *start, const unsigned char *p, const unsigned char *end,
		   struct http1_hdr *hdrs, size_t *nhdrs)
{
	int rc;

	*nhdrs = 0;
	for (;;) {
		const unsigned char *name, *val, *vend;

		NEED(p, end);
		if (*p == '\r' || *p == '\n') {
			rc = eol(&p, end);
			if (rc != 1)
				return rc;
			if (p - start > INT32_MAX)
				return -1;
			return (int)(p - start);
		}
		/* A line starting with whitespace is obs-fold (or a smuggling attempt): refuse it. */
		name = p;
		while (p < end && is_tchar(*p))
			p++;
		NEED(p, end);
		if (*p != ':' || p == name)
			return -1;
		if (*nhdrs >= HTTP1_MAX_HDRS)
			return -1;
		hdrs[*nhdrs].name = (const char *)name;
		hdrs[*nhdrs].name_len = (size_t)(p - name);
		p++;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		val = p;
		vend = p;
		while (p < end && (is_vchar(*p) || *p == ' ' || *p == '\t')) {
			if (*p != ' ' && *p != '\t')
				vend = p + 1;
			p++;
		}
		rc = eol(&p, end);
		if (rc != 1)
			return rc;
		hdrs[*nhdrs].value = (const char *)val;
		hdrs[*nhdrs].value_len = (size_t)(vend - val);
		(*nhdrs)++;
	}
}

int http1_parse_request(const char *buf, size_t len, struct http1_req *req)
{
	const unsigned char *start = (const unsigned char *)buf, *p = start, *end = start + len;
	int rc;

	memset(req, 0, sizeof(*req));
	/* RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the request-line. */
	while (p < end && (*p == '\r' || *p == '\n'))
		p++;
	req->method = (const char *)p;
	while (p < end && is_tchar(*p))
		p++;
	NEED(p, end);
	if (*p != ' ' || (const char *)p == req->method)
		return -1;
	req->method_len = (size_t)((const char *)p - req->method);
	p++;
	req->target = (const char *)p;
	while (p < end && is_vchar(*p) && *p < 0x7f)
		p++;
	NEED(p, end);
	if (*p != ' ' || (const char *)p == req->target)
		return -1;
	req->target_len = (size_t)((const char *)p - req->target);
	p++;
	rc = version(&p, end, &req->minor);
	if (rc != 1)
		return rc;
	rc = eol(&p, end);
	if (rc != 1)
		return rc;
	return headers(start, p, end, req->hdrs, &req->nhdrs);
}

int http1_parse_response(const char *buf, size_t len, struct http1_resp *resp)
{
	const unsigned char *start = (const unsigned char *)buf, *p = start, *end = start + len;
	const unsigned char *rend;
	int rc, i;

	memset(resp, 0, sizeof(*resp));
	rc = version(&p, end, &resp->minor);
	if (rc != 1)
		return rc;
	NEED(p, end);
	if (*p != ' ')
		return -1;
	p++;
	for (i = 0; i < 3; i++, p++) {
		NEED(p, end);
		if (*p < '0' || *p > '9')
			return -1;
		resp->status = resp->status * 10 + (*p - '0');
	}
	if (resp->status < 100)
		return -1;
	NEED(p, end);
	/* The SP before an empty reason phrase is required by RFC 9112 §4, but servers omit it. */
	if (*p == ' ')
		p++;
	else if (*p != '\r' && *p != '\n')
		return -1;
	resp->reason = (const char *)p;
	rend = p;
	while (p < end && (is_vchar(*p) || *p == ' ' || *p == '\t')) {
		if (*p != ' ' && *p != '\t')
			rend = p + 1;
		p++;
	}
	resp->reason_len = (size_t)(rend - (const unsigned char *)resp->reason);
	rc = eol(&p, end);
	if (rc != 1)
		return rc;
	return headers(start, p, end, resp->hdrs, &resp->nhdrs);
}

const struct http1_hdr *http1_find_hdr(const struct http1_hdr *hdrs, size_t n, const char *name)
{
	size_t i, l = strlen(name);

	for (i = 0; i < n; i++)
		if (hdrs[i].name_len == l && strncasecmp(hdrs[i].name, name, l) == 0)
			return &hdrs[i];
	return NULL;
}

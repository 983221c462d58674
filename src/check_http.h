/*
 * check_http: the HTTP side of the check engine (RECIPE_HTTP): serialise the request as HAProxy 2.6's
 * H1 mux does, parse the response (RFC 9112: status line, headers, body by content-length, chunked or
 * close) and evaluate http-check expects (docs/haproxy-semantics.md). check.c's check_next() calls
 * check_http_next(); the request and parser functions are also unit-tested on their own.
 */
#ifndef RECHECK_CHECK_HTTP_H
#define RECHECK_CHECK_HTTP_H

#include "check-t.h"

/* A parsed response head and body, pointing into the caller's buffers. */
struct check_http_resp {
	int code;               /* status code */
	const char *reason;     /* reason phrase (not NUL-terminated) */
	size_t reasonlen;
	bool body_done;         /* the whole body is here (or there is none) */
	bool chunked;
	const unsigned char *body; /* decoded body so far */
	size_t bodylen;
	const unsigned char *hdrs; /* the final response's header lines, CRLF or LF ended */
	size_t hdrslen;
};

/* Appends the request of r, serialised as HAProxy 2.6 writes it, to out. -1 when the cap is hit. */
int check_http_request(const struct recipe *r, const char *state, struct buf *out);
/*
 * Parses the response in p[0..n). Decoded chunked bodies go to body (reset first). Returns 1 when the
 * head is complete (resp filled, body_done tells about the body), 0 when more data is needed, -1 when
 * malformed with a reason in why.
 */
int check_http_parse(const unsigned char *p, size_t n, bool head_request, bool eof, struct buf *body,
		     struct check_http_resp *resp, const char **why);
/* Connects, sends the request, reads and evaluates the response; returns what the driver must do next. */
struct check_action check_http_next(struct check_run *run);

#endif

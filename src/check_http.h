/*
 * check_http: the HTTP side of the check engine (RECIPE_HTTP): serialise the request as HAProxy 2.6's
 * H1 mux does, parse the response (RFC 9112: status line, headers, body by content-length, chunked or
 * close) and evaluate http-check expects (HAPROXY-SEMANTICS.md §3). Internal to check.c.
 */
#ifndef RECHECK_CHECK_HTTP_H
#define RECHECK_CHECK_HTTP_H

#include "check-t.h"

/* What an evaluation step returns, as HAProxy's TCPCHK_EVAL_*. */
enum check_eval {
	CHECK_EVAL_WAIT = 0, /* need more data: keep reading */
	CHECK_EVAL_CONTINUE, /* passed: go on with the next rule */
	CHECK_EVAL_STOP,     /* concluded: run->res holds the result */
};

/* A parsed response head and body, pointing into the caller's buffers. */
struct check_http_resp {
	int code;               /* status code */
	const char *reason;     /* reason phrase (not NUL-terminated) */
	size_t reasonlen;
	bool body_done;         /* the whole body is here (or there is none) */
	bool chunked;
	const unsigned char *body; /* decoded body so far */
	size_t bodylen;
};

/* Appends the request of r, serialised as HAProxy 2.6 writes it, to out. -1 when the cap is hit. */
int check_http_request(const struct recipe *r, struct buf *out);
/*
 * Parses the response in p[0..n). Decoded chunked bodies go to body (reset first). Returns 1 when the
 * head is complete (resp filled, body_done tells about the body), 0 when more data is needed, -1 when
 * malformed with a reason in why.
 */
int check_http_parse(const unsigned char *p, size_t n, bool head_request, bool eof, struct buf *body,
		     struct check_http_resp *resp, const char **why);
/* Evaluates the response expects of run's recipe on run->in. */
enum check_eval check_http_eval(struct check_run *run);

/* Shared with check.c: conclude the run with a status, the rule (step number, index) and a description. */
void check_conclude(struct check_run *run, enum check_status st, int step, int idx, const char *fmt, ...)
	PRINTF_FMT(5, 6);
/* Keeps a capped copy of the input buffer in run->res as "what the failing step received". */
void check_keep_rx(struct check_run *run, const unsigned char *p, size_t n);

#endif

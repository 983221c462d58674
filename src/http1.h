/*
 * http1: a zero-copy, allocation-free incremental parser for HTTP/1.x message heads (RFC 9112 §2-5,
 * field syntax RFC 9110 §5), in the manner of picohttpparser but written for recheck.
 *
 * Contract of both parsers: given the first len bytes of a message,
 *   n > 0  the head is complete and is n bytes long (through the empty line); the outputs are set;
 *   -2     every byte so far is valid but the head is not complete yet: call again with more bytes;
 *   -1     malformed (or more than HTTP1_MAX_HDRS header fields): more bytes cannot fix it.
 * Outputs point into the caller's buffer and are valid as long as it is. CRLF and bare LF line ends are
 * both accepted (RFC 9112 §2.2); obsolete line folding is rejected as malformed (RFC 9112 §5.2 allows it).
 */
#ifndef RECHECK_HTTP1_H
#define RECHECK_HTTP1_H

#include "api.h"

#define HTTP1_MAX_HDRS 64

struct http1_hdr {
	const char *name;       /* field name (not NUL-terminated), into the caller's buffer */
	size_t name_len;
	const char *value;      /* field value without leading/trailing whitespace */
	size_t value_len;
};

struct http1_req {
	const char *method;     /* request method token */
	size_t method_len;
	const char *target;     /* request-target as sent: origin, absolute or authority form */
	size_t target_len;
	int minor;              /* HTTP/1.<minor> */
	struct http1_hdr hdrs[HTTP1_MAX_HDRS];
	size_t nhdrs;
};

struct http1_resp {
	int minor;              /* HTTP/1.<minor> */
	int status;             /* 100-999 */
	const char *reason;     /* reason phrase, possibly empty */
	size_t reason_len;
	struct http1_hdr hdrs[HTTP1_MAX_HDRS];
	size_t nhdrs;
};

int http1_parse_request(const char *buf, size_t len, struct http1_req *req);
int http1_parse_response(const char *buf, size_t len, struct http1_resp *resp);

/* The first header named name (case-insensitive), or NULL. */
const struct http1_hdr *http1_find_hdr(const struct http1_hdr *hdrs, size_t n, const char *name);

#endif

/*
 * httpd: a minimal HTTP/1.1 server (RFC 9112) on an ev loop, for recheckd's stats pages. One request per
 * connection (every response says Connection: close), GET and HEAD only, a bounded request head
 * (HTTPD_MAX_REQUEST bytes), a bounded number of clients (when full, the oldest connection that has not
 * sent a whole request yet makes room), and one deadline per connection
 * (HTTPD_TIMEOUT_MS) for reading the request and writing the response.
 *
 * The listening socket belongs to the caller (bound before privileges were dropped); httpd only
 * registers it on the loop. A handler turns a path into a response body.
 */
#ifndef RECHECKD_HTTPD_H
#define RECHECKD_HTTPD_H

#include "api.h"

#include "buf.h"
#include "ev-t.h"

#define HTTPD_MAX_REQUEST  8192       /* bytes of a request head */
#define HTTPD_MAX_CLIENTS  512        /* connections at once; past it the oldest one still sending its
				       * request is closed to make room (slowloris), else the new one */
#define HTTPD_MAX_BODY     (8u << 20) /* bytes of a response body */
#define HTTPD_TIMEOUT_MS   10000

struct httpd_reply {
	int status;                   /* 200, 404, ... */
	const char *content_type;     /* static string */
	struct buf body;              /* capped at HTTPD_MAX_BODY, freed by httpd */
};

/*
 * Fills r for path (the request target without its query string; method is "GET" or "HEAD").
 * r->body is initialised empty; the handler sets status (default 200) and content_type.
 */
typedef void (*httpd_handler)(void *arg, const char *path, struct httpd_reply *r);

struct httpd;

/* Serves lfd (listening, non-blocking) on ev. NULL with a reason in err. */
struct httpd *httpd_new(struct ev *ev, int lfd, httpd_handler handler, void *arg, char *err, size_t errlen);
/* Closes every client connection and stops watching lfd (which stays open: the caller owns it). */
void httpd_free(struct httpd *h);
/* Client connections open now (at most HTTPD_MAX_CLIENTS). */
unsigned httpd_nclients(const struct httpd *h);

/*
 * Parses a request head (up to and including the empty line). Returns the head's length, -2 when more
 * bytes are needed, -1 when malformed. On success method and path point into p, NUL-terminated in
 * place; the path loses its "?query" part.
 */
int httpd_parse_request(char *p, size_t n, const char **method, const char **path);

#endif

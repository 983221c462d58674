/*
 * drive: makes the real request that recheck record captures, with libcurl's multi interface so that the
 * caller keeps servicing the capture between curl's steps (one thread, no packet lost to a full ring).
 * Proxy settings come only from the caller: environment proxies and NO_PROXY are ignored.
 */
#ifndef RECHECK_DRIVE_H
#define RECHECK_DRIVE_H

#include "api.h"

struct drive;

struct drive_opts {
	const char *proxy;      /* scheme://[user:pass@]host:port, host numeric (the address captured) */
	const char *url;        /* the target, http:// or https:// */
	bool tunnel;            /* CURLOPT_HTTPPROXYTUNNEL: CONNECT through an http:// proxy */
	uint64_t timeout_ms;    /* CURLOPT_TIMEOUT_MS for the whole transfer */
	bool curl_verbose;      /* CURLOPT_VERBOSE: curl's own trace on stderr */
	bool insecure;          /* https targets: do not verify the certificate (curl -k) */
	const char *cacert;     /* https targets: CA bundle (curl --cacert), NULL: the system store */
	/* Called with the local port of each socket curl opens, before it connects: the socket is bound to
	 * an ephemeral port first so that the capture can narrow its filter to this one flow. NULL: none. */
	void (*on_socket)(void *arg, int local_port);
	void *arg;
};

struct drive_result {
	int curl_code;          /* CURLcode; 0 is success */
	char curl_msg[256];     /* curl's error message, or its strerror when it gave none */
	long http_status;       /* the target's status (or the proxy's, for a forward proxy); 0: none */
	long connect_status;    /* the proxy's answer to CONNECT; 0: no CONNECT */
	int local_port;         /* the local port of curl's connection to the proxy; 0: never connected */
	int nconnections;       /* sockets curl opened (more than one: the flow picked is the last) */
	uint64_t body_bytes;    /* response body bytes (discarded) */
	uint64_t elapsed_us;
};

/* Starts the request (nothing is sent until drive_step). NULL with a reason in err. */
struct drive *drive_start(const struct drive_opts *o, char *err, size_t errlen);

/*
 * Lets curl progress, waiting at most wait_ms for its sockets or for extra_fd (-1: none) to become
 * readable. Returns 1 while the transfer runs, 0 once it is over (then call drive_result), -1 on a
 * multi-interface failure (err filled).
 */
int drive_step(struct drive *d, int extra_fd, int wait_ms, char *err, size_t errlen);

/* The status seen so far (0 until the response's status line has arrived). */
long drive_status_now(struct drive *d);

/* The outcome, once drive_step returned 0. */
void drive_result(struct drive *d, struct drive_result *r);

/* Frees everything; the connection is already closed when the transfer ended. NULL is a no-op. */
void drive_free(struct drive *d);

#endif

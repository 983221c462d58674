/*
 * drive: the libcurl side of recheck record (see drive.h). The connection is never reused
 * (CURLOPT_FORBID_REUSE), so it is closed as soon as the transfer ends and the capture sees the FIN.
 */
#include "api.h"

#include <curl/curl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "drive.h"
#include "util.h"

struct drive {
	CURLM *multi;
	CURL *easy;
	bool attached;          /* easy is in multi */
	bool done;
	CURLcode code;
	char errbuf[CURL_ERROR_SIZE];
	int nsockets;
	void (*on_socket)(void *arg, int local_port);
	void *arg;
	uint64_t body_bytes;
	uint64_t start_us;
	uint64_t end_us;
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct drive *d = arg;

	(void)p;
	d->body_bytes += (uint64_t)size * n;
	return size * n;
}

/*
 * Opens curl's socket. Counts the connections (one is expected; more means the capture holds several
 * flows) and, when asked, binds the socket to an ephemeral port before curl connects it, so that the
 * local port is known before the SYN leaves (the way CURLOPT_LOCALPORT binds).
 */
static curl_socket_t on_open(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct drive *d = arg;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd;

	(void)purpose;
	fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
	if (fd == -1)
		return CURL_SOCKET_BAD;
	d->nsockets++;
	if (!d->on_socket || (a->family != AF_INET && a->family != AF_INET6))
		return fd;
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = (sa_family_t)a->family;
	if (bind(fd, (struct sockaddr *)&ss, a->family == AF_INET ? sizeof(struct sockaddr_in)
								   : sizeof(struct sockaddr_in6)) == -1 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) == -1)
		return fd; /* the flow is then picked by CURLINFO_LOCAL_PORT alone */
	d->on_socket(d->arg, ntohs(a->family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
							 : ((struct sockaddr_in6 *)&ss)->sin6_port));
	return fd;
}

#define SETOPT(opt, val)                                                                                   \
	do {                                                                                               \
		CURLcode c_ = curl_easy_setopt(d->easy, opt, val);                                         \
		if (c_ != CURLE_OK) {                                                                      \
			set_err(err, errlen, "libcurl refused %s: %s", #opt, curl_easy_strerror(c_));      \
			goto fail;                                                                         \
		}                                                                                          \
	} while (0)

struct drive *drive_start(const struct drive_opts *o, char *err, size_t errlen)
{
	struct drive *d;
	CURLMcode mc;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		set_err(err, errlen, "libcurl: global initialisation failed");
		return NULL;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		set_err(err, errlen, "out of memory");
		curl_global_cleanup();
		return NULL;
	}
	d->on_socket = o->on_socket;
	d->arg = o->arg;
	d->multi = curl_multi_init();
	d->easy = curl_easy_init();
	if (!d->multi || !d->easy) {
		set_err(err, errlen, "libcurl: cannot create a handle");
		goto fail;
	}
	SETOPT(CURLOPT_URL, o->url);
	/* The proxy is exactly the one captured: set explicitly (the environment's http_proxy, ALL_PROXY
	 * and NO_PROXY would otherwise apply) and never bypassed. */
	SETOPT(CURLOPT_PROXY, o->proxy);
	SETOPT(CURLOPT_NOPROXY, "");
	SETOPT(CURLOPT_HTTPPROXYTUNNEL, o->tunnel ? 1L : 0L);
	SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
	/* the recipe sends an HTTP/1.1 request inside TLS (ALPN http/1.1): record the same, never h2 */
	SETOPT(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
	SETOPT(CURLOPT_FORBID_REUSE, 1L);
	SETOPT(CURLOPT_NOSIGNAL, 1L);
	SETOPT(CURLOPT_TIMEOUT_MS, (long)MIN(o->timeout_ms, (uint64_t)0x7fffffff));
	SETOPT(CURLOPT_USERAGENT, "recheck/" RECHECK_VERSION);
	SETOPT(CURLOPT_ERRORBUFFER, d->errbuf);
	SETOPT(CURLOPT_WRITEFUNCTION, on_body);
	SETOPT(CURLOPT_WRITEDATA, d);
	SETOPT(CURLOPT_OPENSOCKETFUNCTION, on_open);
	SETOPT(CURLOPT_OPENSOCKETDATA, d);
	SETOPT(CURLOPT_VERBOSE, o->curl_verbose ? 1L : 0L);
	if (o->cacert)
		SETOPT(CURLOPT_CAINFO, o->cacert);
	if (o->insecure) {
		SETOPT(CURLOPT_SSL_VERIFYPEER, 0L);
		SETOPT(CURLOPT_SSL_VERIFYHOST, 0L);
	}
	mc = curl_multi_add_handle(d->multi, d->easy);
	if (mc != CURLM_OK) {
		set_err(err, errlen, "libcurl: %s", curl_multi_strerror(mc));
		goto fail;
	}
	d->attached = true;
	d->start_us = now_us();
	return d;
fail:
	drive_free(d);
	return NULL;
}

int drive_step(struct drive *d, int extra_fd, int wait_ms, char *err, size_t errlen)
{
	struct curl_waitfd wfd = {.fd = extra_fd, .events = CURL_WAIT_POLLIN, .revents = 0};
	CURLMcode mc;
	CURLMsg *m;
	int running = 0, left;

	if (d->done)
		return 0;
	mc = curl_multi_perform(d->multi, &running);
	if (mc != CURLM_OK) {
		set_err(err, errlen, "libcurl: %s", curl_multi_strerror(mc));
		return -1;
	}
	while ((m = curl_multi_info_read(d->multi, &left))) {
		if (m->msg == CURLMSG_DONE && m->easy_handle == d->easy) {
			d->done = true;
			d->code = m->data.result;
			d->end_us = now_us();
		}
	}
	if (d->done)
		return 0;
	mc = curl_multi_poll(d->multi, extra_fd == -1 ? NULL : &wfd, extra_fd == -1 ? 0 : 1, wait_ms, NULL);
	if (mc != CURLM_OK) {
		set_err(err, errlen, "libcurl: %s", curl_multi_strerror(mc));
		return -1;
	}
	return 1;
}

long drive_status_now(struct drive *d)
{
	long code = 0;

	curl_easy_getinfo(d->easy, CURLINFO_RESPONSE_CODE, &code);
	return code;
}

void drive_result(struct drive *d, struct drive_result *r)
{
	long v;

	memset(r, 0, sizeof(*r));
	r->curl_code = (int)d->code;
	if (d->code != CURLE_OK)
		snprintf(r->curl_msg, sizeof(r->curl_msg), "%s", d->errbuf[0] ? d->errbuf : curl_easy_strerror(d->code));
	v = 0;
	curl_easy_getinfo(d->easy, CURLINFO_RESPONSE_CODE, &v);
	r->http_status = v;
	v = 0;
	curl_easy_getinfo(d->easy, CURLINFO_HTTP_CONNECTCODE, &v);
	r->connect_status = v;
	v = 0;
	curl_easy_getinfo(d->easy, CURLINFO_LOCAL_PORT, &v);
	r->local_port = (int)v;
	r->nconnections = d->nsockets;
	r->body_bytes = d->body_bytes;
	r->elapsed_us = d->end_us > d->start_us ? d->end_us - d->start_us : 0;
}

void drive_free(struct drive *d)
{
	if (!d)
		return;
	if (d->attached)
		curl_multi_remove_handle(d->multi, d->easy);
	if (d->easy)
		curl_easy_cleanup(d->easy);
	if (d->multi)
		curl_multi_cleanup(d->multi);
	free(d);
	curl_global_cleanup();
}

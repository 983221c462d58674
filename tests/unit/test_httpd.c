/*
 * Unit tests for recheckd's stats HTTP server (runner/httpd.c, from the recheckd_core_ut library): the request-head
 * parser (every prefix needs more, malformed heads are refused, the query is cut) and a real round trip
 * on an ev loop over loopback TCP, including a client that never sends anything.
 */
#include "api.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "ev.h"
#include "httpd.h"
#include "net.h"

static void parse_ok(void **state)
{
	static const char req[] = "GET /stats.json?refresh=1 HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\nextra";
	char copy[sizeof(req)];
	const char *m, *p;
	size_t n, head = strlen(req) - strlen("extra");

	(void)state;
	for (n = 1; n < head; n++) {
		memcpy(copy, req, n);
		copy[n] = '\0';
		assert_int_equal(httpd_parse_request(copy, n, &m, &p), -2);
	}
	memcpy(copy, req, sizeof(req));
	assert_int_equal(httpd_parse_request(copy, strlen(copy), &m, &p), (int)head);
	assert_string_equal(m, "GET");
	assert_string_equal(p, "/stats.json");
	strcpy(copy, "HEAD / HTTP/1.0\n\n");
	assert_int_equal(httpd_parse_request(copy, strlen(copy), &m, &p), (int)strlen("HEAD / HTTP/1.0\n\n"));
	assert_string_equal(m, "HEAD");
	assert_string_equal(p, "/");
}

static void parse_malformed(void **state)
{
	static const char *const bad[] = {
		"\r\n\r\n", "GET\r\n\r\n", "GET /\r\n\r\n", "get / HTTP/1.1\r\n\r\n", "GET x HTTP/1.1\r\n\r\n",
		"GET / HTTP/2.0\r\n\r\n", "GET / HTTP/1.1 x\r\n\r\n", "GET /a\x01 HTTP/1.1\r\n\r\n",
		" GET / HTTP/1.1\r\n\r\n", "GET  / HTTP/1.1\r\n\r\n", "GET / HTTP/1.12\r\n\r\n",
	};
	char copy[64];
	const char *m, *p;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(copy, sizeof(copy), "%s", bad[i]);
		if (httpd_parse_request(copy, strlen(copy), &m, &p) != -1)
			fail_msg("accepted: %s", bad[i]);
	}
}

static int calls;

static void handler(void *arg, const char *path, struct httpd_reply *r)
{
	(void)arg;
	calls++;
	if (strcmp(path, "/hello") == 0) {
		r->content_type = "text/plain";
		buf_append_str(&r->body, "hello <world>\n");
	} else {
		r->status = 404;
	}
}

/* Runs the loop until fd has a complete response (the server closes) or 200 iterations passed. */
static size_t exchange(struct ev *ev, int fd, char *out, size_t outlen)
{
	size_t got = 0;
	int i;

	for (i = 0; i < 200; i++) {
		ssize_t r;

		ev_run_once(ev, 10);
		r = recv(fd, out + got, outlen - 1 - got, MSG_DONTWAIT);
		if (r == 0)
			break;
		if (r > 0)
			got += (size_t)r;
	}
	out[got] = '\0';
	return got;
}

static int client(const struct sockaddr_storage *ss, socklen_t len)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_int_not_equal(fd, -1);
	assert_int_equal(connect(fd, (const struct sockaddr *)ss, len), 0);
	return fd;
}

static void round_trip(void **state)
{
	struct sockaddr_storage ss;
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = 0};
	socklen_t len = sizeof(ss);
	char err[ERR_LEN], out[4096];
	struct httpd *h;
	struct ev *ev;
	int lfd, fd, idle;

	(void)state;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ev = ev_new(64, err, sizeof(err));
	assert_non_null(ev);
	lfd = net_listen((struct sockaddr *)&sin, sizeof(sin), 16, false, err, sizeof(err));
	assert_int_not_equal(lfd, -1);
	assert_int_equal(net_local_addr(lfd, &ss, &len), 0);
	h = httpd_new(ev, lfd, handler, NULL, err, sizeof(err));
	assert_non_null(h);

	idle = client(&ss, len); /* never sends: must not block the others */
	fd = client(&ss, len);
	assert_int_equal(send(fd, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", 32, 0), 32);
	exchange(ev, fd, out, sizeof(out));
	close(fd);
	assert_non_null(strstr(out, "HTTP/1.1 200 OK\r\n"));
	assert_non_null(strstr(out, "Content-Length: 14\r\n"));
	assert_non_null(strstr(out, "Connection: close\r\n"));
	assert_non_null(strstr(out, "\r\n\r\nhello <world>\n"));

	fd = client(&ss, len);
	assert_int_equal(send(fd, "GET /x HTTP/1.1\r\n\r\n", 19, 0), 19);
	exchange(ev, fd, out, sizeof(out));
	close(fd);
	assert_non_null(strstr(out, "HTTP/1.1 404 Not Found\r\n"));
	assert_int_equal(calls, 2);

	/* a request split in two writes */
	fd = client(&ss, len);
	assert_int_equal(send(fd, "GET /hel", 8, 0), 8);
	ev_run_once(ev, 10);
	assert_int_equal(send(fd, "lo HTTP/1.0\r\n\r\n", 15, 0), 15);
	exchange(ev, fd, out, sizeof(out));
	close(fd);
	assert_non_null(strstr(out, "hello <world>"));

	/* the server sees each client's close in its lingering phase */
	for (fd = 0; fd < 100 && httpd_nclients(h) > 1; fd++)
		ev_run_once(ev, 10);
	assert_int_equal(httpd_nclients(h), 1); /* only the idle one */
	httpd_free(h);                    /* closes it */
	assert_int_equal(recv(idle, out, sizeof(out), 0), 0);
	close(idle);
	close(lfd);
	ev_free(ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_ok),
		cmocka_unit_test(parse_malformed),
		cmocka_unit_test(round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

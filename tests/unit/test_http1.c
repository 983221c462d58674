/*
 * http1 parser: picohttpparser-style tests. Inputs are placed at the very end of a page followed by a
 * PROT_NONE page, so any read past the given length faults; every strict prefix of a valid head must give
 * -2 and malformed heads -1.
 */
#include "api.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "http1.h"

static unsigned char *guard;
static size_t pagesz;

static int setup(void **state)
{
	(void)state;
	pagesz = (size_t)sysconf(_SC_PAGESIZE);
	guard = mmap(NULL, 2 * pagesz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (guard == MAP_FAILED)
		return -1;
	return mprotect(guard + pagesz, pagesz, PROT_NONE);
}

static int teardown(void **state)
{
	(void)state;
	munmap(guard, 2 * pagesz);
	return 0;
}

/* Copies n bytes so that they end exactly at the guard page. */
static const char *at_guard(const char *s, size_t n)
{
	assert_true(n <= pagesz);
	memcpy(guard + pagesz - n, s, n);
	return (const char *)guard + pagesz - n;
}

static int req(const char *s, size_t n, struct http1_req *r)
{
	return http1_parse_request(at_guard(s, n), n, r);
}

static int resp(const char *s, size_t n, struct http1_resp *r)
{
	return http1_parse_response(at_guard(s, n), n, r);
}

static const char curl_get[] = "GET http://127.0.0.1:8080/generate_204 HTTP/1.1\r\n"
			       "Host: 127.0.0.1:8080\r\n"
			       "Proxy-Authorization: Basic dXNlcjpwYXNz\r\n"
			       "User-Agent: curl/7.88.1\r\n"
			       "Accept: */*\r\n"
			       "Proxy-Connection: Keep-Alive\r\n"
			       "\r\n";

static const char tinyproxy_204[] = "HTTP/1.1 204 No Content\r\n"
				    "Via: 1.1 tinyproxy (tinyproxy/1.11.1)\r\n"
				    "Date: Wed, 25 Nov 2026 01:00:00 GMT\r\n"
				    "Content-Length:   0  \r\n"
				    "\r\n";

static void request_fields(void **state)
{
	struct http1_req r;
	size_t n = sizeof(curl_get) - 1;
	const struct http1_hdr *h;

	(void)state;
	assert_int_equal(req(curl_get, n, &r), (int)n);
	assert_int_equal(r.method_len, 3);
	assert_memory_equal(r.method, "GET", 3);
	assert_int_equal(r.target_len, strlen("http://127.0.0.1:8080/generate_204"));
	assert_memory_equal(r.target, "http://127.0.0.1:8080/generate_204", r.target_len);
	assert_int_equal(r.minor, 1);
	assert_int_equal(r.nhdrs, 5);
	h = http1_find_hdr(r.hdrs, r.nhdrs, "proxy-authorization");
	assert_non_null(h);
	assert_int_equal(h->value_len, strlen("Basic dXNlcjpwYXNz"));
	assert_memory_equal(h->value, "Basic dXNlcjpwYXNz", h->value_len);
	assert_null(http1_find_hdr(r.hdrs, r.nhdrs, "Cookie"));
}

static void response_fields(void **state)
{
	struct http1_resp r;
	size_t n = sizeof(tinyproxy_204) - 1;
	const struct http1_hdr *h;

	(void)state;
	assert_int_equal(resp(tinyproxy_204, n, &r), (int)n);
	assert_int_equal(r.minor, 1);
	assert_int_equal(r.status, 204);
	assert_int_equal(r.reason_len, 10);
	assert_memory_equal(r.reason, "No Content", 10);
	assert_int_equal(r.nhdrs, 3);
	h = http1_find_hdr(r.hdrs, r.nhdrs, "content-length");
	assert_non_null(h);
	assert_int_equal(h->value_len, 1); /* surrounding whitespace trimmed */
	assert_memory_equal(h->value, "0", 1);
}

/* The head length excludes what follows it (a body or the next message). */
static void trailing_bytes_not_consumed(void **state)
{
	struct http1_resp r;
	static const char s[] = "HTTP/1.0 200 Connection established\r\n\r\n\x16\x03\x01";

	(void)state;
	assert_int_equal(resp(s, sizeof(s) - 1, &r), (int)(sizeof(s) - 1 - 3));
	assert_int_equal(r.minor, 0);
	assert_int_equal(r.status, 200);
}

static void every_prefix_needs_more(void **state)
{
	struct http1_req rq;
	struct http1_resp rs;
	static const char lf[] = "HTTP/1.1 204\n\n";
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(curl_get) - 1; i++)
		assert_int_equal(req(curl_get, i, &rq), -2);
	for (i = 0; i < sizeof(tinyproxy_204) - 1; i++)
		assert_int_equal(resp(tinyproxy_204, i, &rs), -2);
	/* bare LF line ends and an absent reason phrase are accepted */
	for (i = 0; i < sizeof(lf) - 1; i++)
		assert_int_equal(resp(lf, i, &rs), -2);
	assert_int_equal(resp(lf, sizeof(lf) - 1, &rs), (int)(sizeof(lf) - 1));
	assert_int_equal(rs.status, 204);
	assert_int_equal(rs.reason_len, 0);
}

static void malformed(void **state)
{
	static const char *const bad_req[] = {
		"GET  / HTTP/1.1\r\n\r\n",          /* empty target */
		"G(T / HTTP/1.1\r\n\r\n",           /* not a token */
		" GET / HTTP/1.1\r\n\r\n",          /* leading space */
		"GET / HTTP/2.0\r\n\r\n",           /* not HTTP/1 */
		"GET / HTTP/1.x\r\n\r\n",
		"GET / HTTP/1.1\rX\r\n\r\n",        /* CR not followed by LF */
		"GET / HTTP/1.1\r\nHost : x\r\n\r\n", /* space before the colon */
		"GET / HTTP/1.1\r\n: x\r\n\r\n",    /* empty name */
		"GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", /* obs-fold */
		"GET / HTTP/1.1\r\nA: b\x01\r\n\r\n", /* control byte in a value */
		"GET /\x7f HTTP/1.1\r\n\r\n",
	};
	static const char *const bad_resp[] = {
		"HTTP/1.1 20 OK\r\n\r\n",
		"HTTP/1.1 2004 OK\r\n\r\n",
		"HTTP/1.1 099 x\r\n\r\n",
		"HTTP/1.1  204 x\r\n\r\n",
		"HTTX/1.1 204 x\r\n\r\n",
		"\x05\x00\x00\x01",
		"HTTP/1.1 204 x\x01\r\n\r\n",
	};
	struct http1_req rq;
	struct http1_resp rs;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad_req); i++) {
		if (req(bad_req[i], strlen(bad_req[i]), &rq) != -1)
			fail_msg("request %zu accepted: %s", i, bad_req[i]);
	}
	for (i = 0; i < ARRAY_SIZE(bad_resp); i++) {
		if (resp(bad_resp[i], strlen(bad_resp[i]), &rs) != -1)
			fail_msg("response %zu accepted: %s", i, bad_resp[i]);
	}
}

static void too_many_headers(void **state)
{
	char s[4096];
	struct http1_resp rs;
	size_t k;
	int i;

	(void)state;
	k = (size_t)snprintf(s, sizeof(s), "HTTP/1.1 200 OK\r\n");
	for (i = 0; i < HTTP1_MAX_HDRS; i++)
		k += (size_t)snprintf(s + k, sizeof(s) - k, "X-%d: v\r\n", i);
	memcpy(s + k, "\r\n", 2);
	assert_int_equal(resp(s, k + 2, &rs), (int)(k + 2));
	assert_int_equal(rs.nhdrs, HTTP1_MAX_HDRS);
	k += (size_t)snprintf(s + k, sizeof(s) - k, "X-last: v\r\n\r\n");
	assert_int_equal(resp(s, k, &rs), -1);
}

/* Random bytes never crash it or make it read past the end (the guard page would fault). */
static void random_bytes(void **state)
{
	char s[64];
	struct http1_req rq;
	struct http1_resp rs;
	unsigned seed = 12345;
	int i, rc;
	size_t j;

	(void)state;
	for (i = 0; i < 20000; i++) {
		size_t n = (size_t)(rand_r(&seed) % (int)sizeof(s));

		memcpy(s, i % 2 ? "HTTP/1.1 200 OK\r\nA: b\r\n" : "GET / HTTP/1.1\r\nA: b\r\n", 20);
		for (j = (size_t)(i % 20); j < n; j++)
			s[j] = (char)(rand_r(&seed) % 4 ? "HTTP/1. \r\n:Ab0"[rand_r(&seed) % 15] : rand_r(&seed));
		rc = req(s, n, &rq);
		assert_true(rc == -1 || rc == -2 || (rc > 0 && (size_t)rc <= n));
		rc = resp(s, n, &rs);
		assert_true(rc == -1 || rc == -2 || (rc > 0 && (size_t)rc <= n));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(request_fields),
		cmocka_unit_test(response_fields),
		cmocka_unit_test(trailing_bytes_not_consumed),
		cmocka_unit_test(every_prefix_needs_more),
		cmocka_unit_test(malformed),
		cmocka_unit_test(too_many_headers),
		cmocka_unit_test(random_bytes),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

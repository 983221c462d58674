/*
 * fuzz_http1: the HTTP/1 head parsers (http1.h). Besides memory safety, checks the documented contract:
 * a complete head of n bytes has every output inside the buffer, its (n-1)-byte prefix is "incomplete"
 * (-2), and a parse is deterministic.
 */
#include "api.h"

#include <string.h>

#include "fuzz.h"
#include "http1.h"

static bool inside(const char *base, size_t len, const char *p, size_t n)
{
	return n == 0 || (p >= base && p <= base + len && n <= (size_t)(base + len - p));
}

static void check_hdrs(const char *buf, size_t n, const struct http1_hdr *h, size_t nh)
{
	size_t i;

	FUZZ_CHECK(nh <= HTTP1_MAX_HDRS, "%zu headers", nh);
	for (i = 0; i < nh; i++) {
		FUZZ_CHECK(inside(buf, n, h[i].name, h[i].name_len), "header %zu name outside the head", i);
		FUZZ_CHECK(inside(buf, n, h[i].value, h[i].value_len), "header %zu value outside the head", i);
	}
	(void)http1_find_hdr(h, nh, "content-length");
}

/* The contract both parsers share: n (the whole input's result) is in range; for a complete head, its
 * (n-1)-byte prefix gave prefix == -2 and parsing the head again gave again == n with the same result. */
static void check_result(const char *what, int n, size_t size)
{
	FUZZ_CHECK(n == -1 || n == -2 || (n > 0 && (size_t)n <= size), "%s: %d of %zu", what, n, size);
}

static void check_again(const char *what, int n, int prefix, int again, bool same)
{
	FUZZ_CHECK(prefix == -2, "%s complete at %d but its prefix gives %d", what, n, prefix);
	FUZZ_CHECK(again == n && same, "%s: not deterministic (%d, %d)", what, n, again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct http1_req req, req2;
	struct http1_resp resp, resp2;
	int n, m, m2;

	n = http1_parse_request(buf, size, &req);
	check_result("request", n, size);
	if (n > 0) {
		FUZZ_CHECK(inside(buf, (size_t)n, req.method, req.method_len), "method outside the head");
		FUZZ_CHECK(inside(buf, (size_t)n, req.target, req.target_len), "target outside the head");
		check_hdrs(buf, (size_t)n, req.hdrs, req.nhdrs);
		m = http1_parse_request(buf, (size_t)n - 1, &req2);
		m2 = http1_parse_request(buf, (size_t)n, &req2);
		check_again("request", n, m, m2, req2.nhdrs == req.nhdrs);
	}
	n = http1_parse_response(buf, size, &resp);
	check_result("response", n, size);
	if (n > 0) {
		FUZZ_CHECK(resp.status >= 100 && resp.status <= 999, "status %d", resp.status);
		FUZZ_CHECK(inside(buf, (size_t)n, resp.reason, resp.reason_len), "reason outside the head");
		check_hdrs(buf, (size_t)n, resp.hdrs, resp.nhdrs);
		m = http1_parse_response(buf, (size_t)n - 1, &resp2);
		m2 = http1_parse_response(buf, (size_t)n, &resp2);
		check_again("response", n, m, m2, resp2.status == resp.status);
	}
	return 0;
}

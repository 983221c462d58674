/*
 * Every dissector against hostile conversations: random bytes after each protocol's first bytes, cut at
 * random turn boundaries. dissect_build must either fail with a reason or return a compiled recipe, never
 * read out of bounds (ASan) or leak; annotation of whatever it built must not crash either.
 */
#include "api.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "dissect_fixture.h"

static const char *const starts[] = {
	"\x05\x01\x00", "\x05\x02\x00\x02", "\x04\x01\x00\x50\x00\x00\x00\x01", "CONNECT a:1 HTTP/1.1\r\n",
	"GET http://a/ HTTP/1.1\r\n", "\x16\x03\x01",
};

/* Server bytes that look like the answers, so that the dissectors go deep before the randomness bites. */
static const char *const answers[] = {
	"\x05\x00", "\x05\x02", "\x01\x00", "\x05\x00\x00\x01\x7f\x00\x00\x01\x00\x50", "\x00\x5a\x00\x00\x00\x00\x00\x00",
	"HTTP/1.1 200 OK\r\n\r\n", "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n",
};

static void random_conversations(void **state)
{
	unsigned seed = 4242;
	struct buf ann;
	int i;

	(void)state;
	buf_init(&ann, 1 << 16);
	for (i = 0; i < 3000; i++) {
		struct dissect_opts o = {.raw = i % 7 == 0, .redact = i % 3 == 0};
		struct turns t = {0};
		struct buf sum;
		struct recipe *r;
		char err[ERR_LEN];
		unsigned char b[600];
		int k, nt = 1 + rand_r(&seed) % 8;
		size_t j, n, s;

		s = (size_t)(rand_r(&seed) % (int)ARRAY_SIZE(starts));
		tb_add(&t, TURN_C2S, starts[s], strlen(starts[s]));
		for (k = 0; k < nt; k++) {
			enum turn_dir d = rand_r(&seed) % 2 ? TURN_S2C : TURN_C2S;

			if (d == TURN_S2C && rand_r(&seed) % 2) {
				s = (size_t)(rand_r(&seed) % (int)ARRAY_SIZE(answers));
				n = s == 0 || s == 1 || s == 2 ? 2 : s == 3 ? 10 : s == 4 ? 8 : strlen(answers[s]);
				tb_add(&t, d, answers[s], n);
				continue;
			}
			n = (size_t)(rand_r(&seed) % (int)sizeof(b));
			for (j = 0; j < n; j++)
				b[j] = (unsigned char)(rand_r(&seed) % 3 ? rand_r(&seed) % 8 : rand_r(&seed));
			tb_add(&t, d, b, n);
		}
		t.truncated = i % 5 == 0;
		buf_init(&sum, 1 << 16);
		r = dissect_build(&t, &o, &sum, err, sizeof(err));
		if (r) {
			assert_true(r->nsteps > 0);
			assert_non_null(r->protocol);
			for (j = 0; j < r->nsteps; j++) {
				buf_reset(&ann);
				dissect_annotate(r->protocol, r, j, &ann);
			}
			recipe_free(r);
		} else {
			assert_true(err[0] != '\0');
		}
		buf_free(&sum);
		tb_free(&t);
	}
	buf_free(&ann);
}

/* --raw recipes still annotate: full SOCKS5 replies are decoded with their bound address. */
static void annotate_raw(void **state)
{
	struct turns t = {0};
	struct buf sum, ann;
	struct recipe *r;
	size_t i;

	(void)state;
	C(&t, "\x05\x01\x00");
	S(&t, "\x05\x00");
	C(&t, "\x05\x01\x00\x01\x7f\x00\x00\x01\x1f\x90");
	S(&t, "\x05\x00\x00\x01\x0a\x00\x00\x02\x04\x38");
	C(&t, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
	S(&t, "HTTP/1.1 204 No Content\r\n\r\n");
	r = build(&t, true, false, &sum);
	assert_string_equal(r->protocol, "socks5");
	buf_init(&ann, 4096);
	for (i = 0; i < r->nsteps; i++) {
		dissect_annotate(r->protocol, r, i, &ann);
		buf_putc(&ann, '\n');
	}
	assert_true(contains(&ann, "SOCKS5 greeting: methods no-auth\n"));
	assert_true(contains(&ann, "SOCKS5 method choice: no-auth\n"));
	assert_true(contains(&ann, "SOCKS5 request: CONNECT 127.0.0.1:8080 (IPv4)\n"));
	assert_true(contains(&ann, "SOCKS5 reply: succeeded, bound 10.0.0.2:1080 (IPv4)\n"));
	assert_true(contains(&ann, "HTTP request: GET / HTTP/1.1\n"));
	assert_true(contains(&ann, "HTTP response: HTTP/1.1 204 No Content\n"));
	/* out of range and unknown protocols give nothing */
	buf_reset(&ann);
	dissect_annotate(r->protocol, r, r->nsteps, &ann);
	dissect_annotate("raw", r, 0, &ann);
	dissect_annotate(NULL, r, 0, &ann);
	assert_int_equal(ann.len, 0);
	buf_free(&ann);
	recipe_free(r);
	buf_free(&sum);
	tb_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(random_conversations),
		cmocka_unit_test(annotate_raw),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

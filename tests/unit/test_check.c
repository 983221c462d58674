/*
 * test_check: the check engine fed by scripted events. Every case mirrors a [T] case of
 * docs/haproxy-semantics.md §2.4-2.6 (checked against a real HAProxy 2.6.12) or §3 for HTTP.
 */
#include "api.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "check.h"
#include "check_http.h"
#include "recipe.h"

#include "check_fixture.h"

/* ---- recipe builders ---- */

static struct recipe *tcp_recipe(void)
{
	struct recipe *r = recipe_new(RECIPE_TCP);

	assert_non_null(r);
	return r;
}

static void add_connect(struct recipe *r, int port, bool linger)
{
	struct step *s = recipe_add_step(r, STEP_CONNECT);

	assert_non_null(s);
	s->port = port;
	s->linger = linger;
}

static void add_send(struct recipe *r, const char *p, size_t n)
{
	struct step *s = recipe_add_step(r, STEP_SEND);

	assert_non_null(s);
	assert_int_equal(step_set_data(s, p, n), 0);
}

static struct step *add_expect(struct recipe *r, enum expect_match m, bool neg, int min_recv, const char *p,
			       size_t n)
{
	struct step *s = recipe_add_step(r, STEP_EXPECT);

	assert_non_null(s);
	s->match = m;
	s->negate = neg;
	s->min_recv = min_recv;
	assert_int_equal(step_set_data(s, p, n), 0);
	return s;
}

#define SEND(r, lit)                         add_send((r), (lit), sizeof(lit) - 1)
#define EXPECT(r, m, neg, min, lit)          add_expect((r), (m), (neg), (min), (lit), sizeof(lit) - 1)

static void compile(struct recipe *r)
{
	char err[ERR_LEN];

	if (recipe_compile(r, err, sizeof(err)) != 0)
		fail_msg("compile: %s", err);
}

/* ---- driving ---- */

/* Implicit connect, then the given sends (their bytes checked), ending in WANT_READ. */
static void connect_ok(struct check_run *run)
{
	struct check_action a = next_is(run, CHECK_ACT_CONNECT);

	assert_int_equal(a.port, 0);
	check_on_connected(run);
}

static void send_ok(struct check_run *run, const char *lit)
{
	struct check_action a = next_is(run, CHECK_ACT_SEND);

	assert_int_equal(a.len, strlen(lit));
	assert_memory_equal(a.data, lit, a.len);
	check_on_sent(run);
}

static void data(struct check_run *run, const char *p, size_t n)
{
	check_on_data(run, p, n);
}
#define DATA(run, lit) data((run), (lit), sizeof(lit) - 1)

static void done_with(struct check_run *run, enum check_status st, const char *desc)
{
	next_is(run, CHECK_ACT_DONE);
	if (run->res.status != st)
		fail_msg("status %s, expected %s (%s)", check_status_str(run->res.status), check_status_str(st),
			 run->res.desc);
	if (desc)
		assert_string_equal(run->res.desc, desc);
}

/* send PING, then one expect; returns the run waiting for the answer */
static struct recipe *ping_then(enum expect_match m, bool neg, int min, const char *pat, size_t n)
{
	struct recipe *r = tcp_recipe();

	SEND(r, "PING");
	add_expect(r, m, neg, min, pat, n);
	compile(r);
	return r;
}

static void run_to_read(struct check_run *run, struct recipe *r)
{
	start(run, r);
	connect_ok(run);
	send_ok(run, "PING");
	next_is(run, CHECK_ACT_WANT_READ);
}

/* ---- §2.5 matching ---- */

static void substring_unanchored(void **state)
{
	struct recipe *r = ping_then(EXPECT_STRING, false, -1, "HELLO", 5);
	struct check_run run;

	run_to_read(&run, r);
	DATA(&run, "xxHELLOyy");
	done_with(&run, CHECK_L7OK, "(tcp-check)");
	assert_int_equal(run.res.step, 2);
	check_run_free(&run);
	recipe_free(r);
}

static void split_delivery(void **state)
{
	struct recipe *r = ping_then(EXPECT_STRING, false, -1, "HELLO", 5);
	struct check_run run;

	run_to_read(&run, r);
	DATA(&run, "HEL");
	next_is(&run, CHECK_ACT_WANT_READ);
	DATA(&run, "LO");
	done_with(&run, CHECK_L7OK, NULL);
	check_run_free(&run);
	recipe_free(r);
}

static void mismatch_then_close_is_l7rsp(void **state)
{
	struct recipe *r = ping_then(EXPECT_STRING, false, -1, "HELLO", 5);
	struct check_run run;

	run_to_read(&run, r);
	DATA(&run, "HEXYZ");
	next_is(&run, CHECK_ACT_WANT_READ); /* min-recv -1: a mismatch waits */
	check_on_eof(&run);
	done_with(&run, CHECK_L7RSP, "TCPCHK did not match content 'HELLO' at step 2");
	assert_int_equal(run.res.rxlen, 5);
	assert_memory_equal(run.res.rx, "HEXYZ", 5);
	assert_memory_equal(run.res.expected, "HELLO", 5);
	assert_string_equal(run.res.kind, "expect string");
	check_run_free(&run);
	recipe_free(r);
}

static void mismatch_then_deadline_is_l7tout(void **state)
{
	struct recipe *r = ping_then(EXPECT_STRING, false, -1, "HELLO", 5);
	struct check_run run;

	run_to_read(&run, r);
	DATA(&run, "HEXYZ");
	next_is(&run, CHECK_ACT_WANT_READ);
	check_on_timeout(&run);
	done_with(&run, CHECK_L7TOUT, "at step 2 of tcp-check (expect string 'HELLO')");
	assert_int_equal(run.res.rxlen, 5);
	check_run_free(&run);
	recipe_free(r);
}

static void min_recv_zero(void **state)
{
	struct recipe *r = ping_then(EXPECT_STRING, false, 0, "HELLO", 5);
	struct check_run run;

	run_to_read(&run, r);
	DATA(&run, "HEXYZ");
	done_with(&run, CHECK_L7RSP, "TCPCHK did not match content 'HELLO' at step 2");
	check_run_free(&run);

	/* still waits for len(pattern) bytes */
	run_to_read(&run, r);
	DATA(&run, "HE");
	next_is(&run, CHECK_ACT_WANT_READ);
	DATA(&run, "LLO");
	done_with(&run, CHECK_L7OK, NULL);
	check_run_free(&run);
	recipe_free(r);
}

static void min_recv_n(void **state)
{
	struct recipe *r = ping_then(EXPECT_STRING, false, 6, "AB", 2);
	struct check_run run;

	run_to_read(&run, r);
	DATA(&run, "xxAB");
	next_is(&run, CHECK_ACT_WANT_READ); /* pattern present, but fewer than 6 bytes */
	DATA(&run, "yy");
	done_with(&run, CHECK_L7OK, NULL);
	check_run_free(&run);

	/* short data is conclusive once the peer closes */
	run_to_read(&run, r);
	DATA(&run, "xxAB");
	next_is(&run, CHECK_ACT_WANT_READ);
	check_on_eof(&run);
	done_with(&run, CHECK_L7OK, NULL);
	check_run_free(&run);
	recipe_free(r);
}

static void negation(void **state)
{
	struct recipe *r = ping_then(EXPECT_STRING, true, -1, "ERR", 3);
	struct recipe *r0 = ping_then(EXPECT_STRING, true, 0, "ERR", 3);
	struct check_run run;

	/* "OK" and the connection kept open: 2 < 3 bytes, then no match with min-recv -1: L7TOUT */
	run_to_read(&run, r);
	DATA(&run, "OK");
	next_is(&run, CHECK_ACT_WANT_READ);
	DATA(&run, "AY");
	next_is(&run, CHECK_ACT_WANT_READ);
	check_on_timeout(&run);
	done_with(&run, CHECK_L7TOUT, "at step 2 of tcp-check (expect string 'ERR')");
	check_run_free(&run);

	/* min-recv 0 !string ERR against OKAY passes at once */
	run_to_read(&run, r0);
	DATA(&run, "OKAY");
	done_with(&run, CHECK_L7OK, NULL);
	check_run_free(&run);

	/* a negated expect against a server that closes without a byte: empty response */
	run_to_read(&run, r);
	check_on_eof(&run);
	done_with(&run, CHECK_L7RSP, "TCPCHK got an empty response at step 2");
	check_run_free(&run);

	/* the unwanted content is found */
	run_to_read(&run, r0);
	DATA(&run, "xERRx");
	done_with(&run, CHECK_L7RSP, "TCPCHK matched unwanted content 'ERR' at step 2");
	assert_true(run.res.negate);
	check_run_free(&run);
	recipe_free(r);
	recipe_free(r0);
}

static void consecutive_expects_share_buffer(void **state)
{
	struct recipe *r = tcp_recipe();
	struct check_run run;

	SEND(r, "PING");
	EXPECT(r, EXPECT_STRING, false, -1, "BBBB");
	EXPECT(r, EXPECT_STRING, false, -1, "AAAA");
	compile(r);
	run_to_read(&run, r);
	DATA(&run, "AAAABBBB");
	done_with(&run, CHECK_L7OK, NULL);
	assert_int_equal(run.res.step, 3);
	check_run_free(&run);
	recipe_free(r);
}

static int passes_of_step2;
static void count_trace(void *arg, const char *line)
{
	(void)arg;
	if (strstr(line, "step 2: expect string passed"))
		passes_of_step2++;
}

static void chain_head_reevaluated(void **state)
{
	struct recipe *r = tcp_recipe();
	struct check_run run;

	SEND(r, "PING");
	EXPECT(r, EXPECT_STRING, false, -1, "OK");  /* step 2 */
	EXPECT(r, EXPECT_STRING, true, -1, "ERR");  /* step 3: the chain head */
	EXPECT(r, EXPECT_STRING, false, -1, "END"); /* step 4 */
	compile(r);

	/* OK passes, !ERR waits (2 < 3 bytes); resuming at !ERR finds ERR in the grown buffer */
	passes_of_step2 = 0;
	run_to_read(&run, r);
	check_set_trace(&run, count_trace, NULL, true);
	DATA(&run, "OK");
	next_is(&run, CHECK_ACT_WANT_READ);
	assert_int_equal(run.cur, 2);
	DATA(&run, "ERR");
	done_with(&run, CHECK_L7RSP, "TCPCHK matched unwanted content 'ERR' at step 3");
	assert_int_equal(passes_of_step2, 1); /* the positive expect before the head is not re-run */
	check_run_free(&run);

	/* with min-recv -1 the negated expect only concludes when the peer closes */
	run_to_read(&run, r);
	DATA(&run, "OKxxEND");
	next_is(&run, CHECK_ACT_WANT_READ);
	check_on_eof(&run);
	done_with(&run, CHECK_L7OK, NULL);
	check_run_free(&run);
	recipe_free(r);

	/* min-recv 0 !ERR passes at once; a wait at step 4 then resumes at step 3, which re-checks ERR */
	r = tcp_recipe();
	SEND(r, "PING");
	EXPECT(r, EXPECT_STRING, false, -1, "OK");
	EXPECT(r, EXPECT_STRING, true, 0, "ERR");
	EXPECT(r, EXPECT_STRING, false, -1, "END");
	compile(r);
	run_to_read(&run, r);
	DATA(&run, "OKxxE");
	next_is(&run, CHECK_ACT_WANT_READ);
	assert_int_equal(run.cur, 2);
	DATA(&run, "ND");
	done_with(&run, CHECK_L7OK, NULL);
	check_run_free(&run);

	run_to_read(&run, r);
	DATA(&run, "OKxxE");
	next_is(&run, CHECK_ACT_WANT_READ);
	DATA(&run, "RR END");
	done_with(&run, CHECK_L7RSP, "TCPCHK matched unwanted content 'ERR' at step 3");
	check_run_free(&run);
	recipe_free(r);
}

static void send_clears_buffer(void **state)
{
	struct recipe *r = tcp_recipe();
	struct check_run run;

	SEND(r, "PING");
	EXPECT(r, EXPECT_STRING, false, -1, "AAAA");
	SEND(r, "X");
	EXPECT(r, EXPECT_STRING, false, -1, "AAAA");
	compile(r);
	run_to_read(&run, r);
	DATA(&run, "AAAA");
	send_ok(&run, "X");
	assert_int_equal(run.in.len, 0);
	next_is(&run, CHECK_ACT_WANT_READ);
	DATA(&run, "BBBB");
	next_is(&run, CHECK_ACT_WANT_READ);
	check_on_timeout(&run);
	done_with(&run, CHECK_L7TOUT, "at step 4 of tcp-check (expect string 'AAAA')");
	check_run_free(&run);
	recipe_free(r);
}

static void rbinary_uppercase(void **state)
{
	struct recipe *lower = ping_then(EXPECT_RBINARY, false, -1, "^05ff", 5);
	struct recipe *upper = ping_then(EXPECT_RBINARY, false, -1, "^05FF", 5);
	struct check_run run;

	run_to_read(&run, lower);
	DATA(&run, "\x05\xff\x00");
	next_is(&run, CHECK_ACT_WANT_READ);
	check_on_eof(&run);
	done_with(&run, CHECK_L7RSP, "TCPCHK did not match content (binary regex) at step 2");
	check_run_free(&run);

	run_to_read(&run, upper);
	DATA(&run, "\x05\xff\x00");
	done_with(&run, CHECK_L7OK, NULL);
	check_run_free(&run);
	recipe_free(lower);
	recipe_free(upper);
}

static void nul_bytes(void **state)
{
	struct recipe *bin = ping_then(EXPECT_BINARY, false, -1, "\x00\xff\x00", 3);
	struct recipe *rs = ping_then(EXPECT_RSTRING, false, -1, "HEL+O", 5);
	struct check_run run;

	run_to_read(&run, bin);
	DATA(&run, "a\x00\xff\x00z");
	done_with(&run, CHECK_L7OK, NULL);
	check_run_free(&run);

	run_to_read(&run, rs);
	DATA(&run, "x\x00y\x00HELLO");
	done_with(&run, CHECK_L7OK, NULL);
	check_run_free(&run);
	recipe_free(bin);
	recipe_free(rs);
}

static void buffer_cap_is_conclusive(void **state)
{
	struct recipe *r = ping_then(EXPECT_STRING, false, -1, "HELLO", 5);
	struct check_run run;
	char *junk = malloc(CHECK_BUFSIZE + 5);

	assert_non_null(junk);
	memset(junk, 'x', CHECK_BUFSIZE);
	memcpy(junk + CHECK_BUFSIZE, "HELLO", 5);
	run_to_read(&run, r);
	data(&run, junk, CHECK_BUFSIZE - 1);
	next_is(&run, CHECK_ACT_WANT_READ);
	assert_int_equal(check_rx_room(&run), 1);
	data(&run, junk + CHECK_BUFSIZE - 1, 6); /* only one byte fits: HELLO is never seen */
	assert_int_equal(check_rx_room(&run), 0);
	done_with(&run, CHECK_L7RSP, "TCPCHK did not match content 'HELLO' at step 2");
	assert_int_equal(run.res.rxtotal, CHECK_BUFSIZE);
	assert_int_equal(run.res.rxlen, CHECK_RX_KEEP);
	check_run_free(&run);
	free(junk);
	recipe_free(r);
}

/* [T] on 2.6.12 with 1 MiB of 'J': rbinary sees 16383 hex characters, rstring 16383 bytes */
static void regex_caps_on_a_full_buffer(void **state)
{
	static const struct {
		enum expect_match m;
		const char *re;
		enum check_status want;
	} cases[] = {
		{EXPECT_RBINARY, "4$", CHECK_L7OK},
		{EXPECT_RBINARY, "4A$", CHECK_L7RSP},
		{EXPECT_RBINARY, "^[0-9A-F]{16383}$", CHECK_L7OK},
		{EXPECT_RBINARY, "^[0-9A-F]{16382}$", CHECK_L7RSP},
		{EXPECT_RSTRING, "^J{16383}$", CHECK_L7OK},
		{EXPECT_RSTRING, "^J{16384}$", CHECK_L7RSP},
	};
	char *junk = malloc(CHECK_BUFSIZE);
	struct check_run run;
	size_t i;

	assert_non_null(junk);
	memset(junk, 'J', CHECK_BUFSIZE);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct recipe *r = ping_then(cases[i].m, false, -1, cases[i].re, strlen(cases[i].re));

		run_to_read(&run, r);
		data(&run, junk, CHECK_BUFSIZE);
		done_with(&run, cases[i].want, NULL);
		check_run_free(&run);
		recipe_free(r);
	}
	free(junk);
}

static void send_only_passes(void **state)
{
	struct recipe *r = tcp_recipe();
	struct check_run run;

	SEND(r, "PING");
	compile(r);
	start(&run, r);
	connect_ok(&run);
	send_ok(&run, "PING");
	done_with(&run, CHECK_L7OK, "(tcp-check)");
	check_run_free(&run);
	recipe_free(r);
}

static void connect_only(void **state)
{
	struct recipe *r = tcp_recipe();
	struct recipe *none = tcp_recipe();
	struct check_run run;

	add_connect(r, 0, false);
	compile(r);
	start(&run, r);
	connect_ok(&run);
	done_with(&run, CHECK_L4OK, "(tcp-check)");
	assert_int_equal(run.res.step, 1);
	check_run_free(&run);

	/* no rules at all: the implicit connect alone, L4OK without a description */
	start(&run, none);
	connect_ok(&run);
	done_with(&run, CHECK_L4OK, "");
	assert_int_equal(run.res.step, 0);
	check_run_free(&run);
	recipe_free(r);
	recipe_free(none);
}

static void connect_failures(void **state)
{
	struct recipe *r = ping_then(EXPECT_STRING, false, -1, "HELLO", 5);
	struct check_run run;

	start(&run, r);
	next_is(&run, CHECK_ACT_CONNECT);
	check_on_error(&run, ECONNREFUSED);
	done_with(&run, CHECK_L4CON, "Connection refused at initial connection step of tcp-check");
	assert_int_equal(run.res.err, ECONNREFUSED);
	assert_true(check_status_is_l4(run.res.status));
	check_run_free(&run);

	start(&run, r);
	next_is(&run, CHECK_ACT_CONNECT);
	next_is(&run, CHECK_ACT_WAIT);
	check_on_timeout(&run);
	done_with(&run, CHECK_L4TOUT, "at initial connection step of tcp-check");
	check_run_free(&run);
	recipe_free(r);
}

static void reset_before_and_after_data(void **state)
{
	struct recipe *r = ping_then(EXPECT_STRING, false, -1, "HELLO", 5);
	struct check_run run;

	/* RST with nothing read: a socket error, not a wrong answer */
	run_to_read(&run, r);
	check_on_error(&run, ECONNRESET);
	done_with(&run, CHECK_SOCKERR, "Connection reset by peer at step 2 of tcp-check (expect string 'HELLO')");
	check_run_free(&run);

	/* RST just after the data: the data is evaluated (last read) */
	run_to_read(&run, r);
	DATA(&run, "HELLO");
	check_on_error(&run, ECONNRESET);
	done_with(&run, CHECK_L7OK, NULL);
	check_run_free(&run);
	recipe_free(r);
}

static void connect_rules(void **state)
{
	struct recipe *r = tcp_recipe();
	struct check_run run;
	struct check_action a;
	struct step *s;

	add_connect(r, 0, false);
	SEND(r, "PING");
	EXPECT(r, EXPECT_STRING, false, -1, "ONE");
	add_connect(r, 2222, true);
	SEND(r, "PING");
	s = EXPECT(r, EXPECT_STRING, false, -1, "TWO");
	assert_int_equal(recipe_set_str(&s->comment, "second server"), 0);
	compile(r);
	start(&run, r);
	a = next_is(&run, CHECK_ACT_CONNECT);
	assert_int_equal(a.port, 0);
	assert_false(a.linger);
	check_on_connected(&run);
	send_ok(&run, "PING");
	next_is(&run, CHECK_ACT_WANT_READ);
	DATA(&run, "ONE...");
	check_on_eof(&run);
	a = next_is(&run, CHECK_ACT_CONNECT);
	assert_int_equal(a.port, 2222);
	assert_true(a.linger);
	assert_int_equal(run.in.len, 0);
	assert_false(run.peer_closed);
	check_on_connected(&run);
	send_ok(&run, "PING");
	next_is(&run, CHECK_ACT_WANT_READ);
	DATA(&run, "ONE");
	check_on_eof(&run);
	a = next_is(&run, CHECK_ACT_DONE);
	assert_true(a.linger);
	assert_int_equal(run.res.status, CHECK_L7RSP);
	assert_string_equal(run.res.desc, "TCPCHK did not match content 'TWO' at step 6 comment: 'second server'");
	assert_string_equal(run.res.comment, "second server");
	assert_int_equal(run.res.idx, 5);
	check_run_free(&run);

	/* a refused second connect names its port */
	start(&run, r);
	next_is(&run, CHECK_ACT_CONNECT);
	check_on_connected(&run);
	send_ok(&run, "PING");
	next_is(&run, CHECK_ACT_WANT_READ);
	DATA(&run, "ONE");
	next_is(&run, CHECK_ACT_CONNECT);
	check_on_error(&run, ECONNREFUSED);
	done_with(&run, CHECK_L4CON, "Connection refused at step 4 of tcp-check (connect port 2222)");
	check_run_free(&run);
	recipe_free(r);
}

static void timings_and_names(void **state)
{
	struct recipe *r = ping_then(EXPECT_STRING, false, -1, "OK", 2);
	struct check_run run;

	run_to_read(&run, r);
	DATA(&run, "OK");
	done_with(&run, CHECK_L7OK, NULL);
	assert_int_equal(run.ntimes, 3);
	assert_true(check_timing_us(&run.times[0]) > 0);
	assert_true(check_timing_us(&run.times[1]) > 0);
	assert_true(check_timing_us(&run.times[2]) > 0);
	assert_true(run.res.end_us > run.res.start_us);
	assert_string_equal(check_status_str(CHECK_L7STS), "L7STS");
	assert_string_equal(check_status_desc(CHECK_L4CON), "Layer4 connection problem");
	assert_int_equal(check_status_verdict(CHECK_L7OKC), CHECK_RES_CONDPASS);
	assert_int_equal(check_status_verdict(CHECK_L7TOUT), CHECK_RES_FAILED);
	check_run_free(&run);
	recipe_free(r);
}

/* ---- §3 HTTP ---- */

static struct recipe *http_recipe(const char *meth, const char *uri, const char *ver)
{
	struct recipe *r = recipe_new(RECIPE_HTTP);

	assert_non_null(r);
	assert_int_equal(recipe_set_str(&r->req.method, meth), 0);
	assert_int_equal(recipe_set_str(&r->req.uri, uri), 0);
	assert_int_equal(recipe_set_str(&r->req.version, ver), 0);
	return r;
}

static void add_hexp(struct recipe *r, enum http_expect_match m, bool neg, const char *pat)
{
	struct http_expect *e = recipe_add_hexpect(r, m);

	assert_non_null(e);
	e->negate = neg;
	assert_int_equal(recipe_set_str(&e->pattern, pat), 0);
	e->len = strlen(pat);
}

static void http_to_read(struct check_run *run, struct recipe *r, const char *req)
{
	start(run, r);
	connect_ok(run);
	send_ok(run, req);
	next_is(run, CHECK_ACT_WANT_READ);
}

#define REQ_204 "GET /generate_204 HTTP/1.1\r\nhost: www.gstatic.com\r\nuser-agent: x\r\nconnection: close\r\n\r\n"

static void http_request_bytes(void **state)
{
	struct recipe *r = http_recipe("GET", "/generate_204", "HTTP/1.1");
	struct recipe *d = recipe_new(RECIPE_HTTP);
	struct recipe *b = http_recipe("POST", "http://other.example/p", "HTTP/1.1");
	struct buf out;

	assert_non_null(recipe_add_hdr(r, "Host", "www.gstatic.com"));
	assert_non_null(recipe_add_hdr(r, "User-Agent", "x"));
	buf_init(&out, 4096);
	assert_int_equal(check_http_request(r, NULL, &out), 0);
	assert_string_equal(buf_cstr(&out), REQ_204);

	buf_reset(&out);
	assert_int_equal(check_http_request(d, NULL, &out), 0);
	assert_string_equal(buf_cstr(&out), "OPTIONS / HTTP/1.0\r\n\r\n");

	buf_reset(&out);
	assert_non_null(recipe_add_hdr(b, "Host", "h.example:81"));
	assert_non_null(recipe_add_hdr(b, "Connection", "keep-alive"));
	b->req.body = (unsigned char *)strdup("a=1");
	b->req.bodylen = 3;
	assert_int_equal(check_http_request(b, NULL, &out), 0);
	assert_string_equal(buf_cstr(&out), "POST http://h.example:81/p HTTP/1.1\r\nhost: h.example:81\r\n"
					    "connection: keep-alive\r\ncontent-length: 3\r\n\r\na=1");
	/* [T] 2.6.12: CONNECT gets content-length: 0; HEAD none */
	buf_reset(&out);
	recipe_free(d);
	d = http_recipe("CONNECT", "h:443", "HTTP/1.1");
	assert_non_null(recipe_add_hdr(d, "Host", "h:443"));
	assert_int_equal(check_http_request(d, NULL, &out), 0);
	assert_string_equal(buf_cstr(&out), "CONNECT h:443 HTTP/1.1\r\nhost: h:443\r\ncontent-length: 0\r\n"
					    "connection: close\r\n\r\n");
	buf_reset(&out);
	recipe_free(d);
	d = http_recipe("HEAD", "/x", "HTTP/1.1");
	assert_int_equal(check_http_request(d, NULL, &out), 0);
	assert_string_equal(buf_cstr(&out), "HEAD /x HTTP/1.1\r\nconnection: close\r\n\r\n");
	buf_free(&out);
	recipe_free(r);
	recipe_free(d);
	recipe_free(b);
}

static void http_status(void **state)
{
	struct recipe *r = http_recipe("GET", "/generate_204", "HTTP/1.1");
	struct check_run run;

	assert_non_null(recipe_add_hdr(r, "Host", "www.gstatic.com"));
	assert_non_null(recipe_add_hdr(r, "User-Agent", "x"));
	add_hexp(r, HEXP_STATUS, false, "200,204-205");
	compile(r);

	http_to_read(&run, r, REQ_204);
	DATA(&run, "HTTP/1.1 204 No");
	next_is(&run, CHECK_ACT_WANT_READ);
	DATA(&run, " Content\r\nContent-Length: 0\r\n\r\n");
	done_with(&run, CHECK_L7OK, "No Content");
	assert_int_equal(run.res.http_code, 204);
	check_run_free(&run);

	http_to_read(&run, r, REQ_204);
	DATA(&run, "HTTP/1.1 404 Not Found\r\ncontent-length: 10\r\n\r\nnot found\n");
	done_with(&run, CHECK_L7STS, "Not Found");
	assert_int_equal(run.res.http_code, 404);
	assert_int_equal(run.res.step, 2);
	check_run_free(&run);
	recipe_free(r);
}

static void http_implicit_status(void **state)
{
	struct recipe *r = http_recipe(NULL, NULL, NULL);
	struct check_run run;

	compile(r);
	http_to_read(&run, r, "OPTIONS / HTTP/1.0\r\n\r\n");
	DATA(&run, "HTTP/1.0 301 Moved\r\nLocation: /x\r\n\r\n");
	check_on_eof(&run);
	done_with(&run, CHECK_L7OK, "Moved");
	check_run_free(&run);

	http_to_read(&run, r, "OPTIONS / HTTP/1.0\r\n\r\n");
	DATA(&run, "HTTP/1.0 500 Oops\r\n\r\n");
	check_on_eof(&run);
	done_with(&run, CHECK_L7STS, "Oops");
	check_run_free(&run);
	recipe_free(r);
}

static void http_chunked_body(void **state)
{
	struct recipe *r = http_recipe("GET", "/", "HTTP/1.0");
	struct check_run run;

	add_hexp(r, HEXP_STATUS, false, "200");
	add_hexp(r, HEXP_STRING, false, "hello world");
	add_hexp(r, HEXP_RSTRING, true, "^error");
	compile(r);
	http_to_read(&run, r, "GET / HTTP/1.0\r\n\r\n");
	DATA(&run, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nhello \r\n");
	next_is(&run, CHECK_ACT_WANT_READ); /* body not complete yet */
	DATA(&run, "5;x=y\r\nworld\r\n0\r\n\r\n");
	done_with(&run, CHECK_L7OK, "OK");
	check_run_free(&run);

	http_to_read(&run, r, "GET / HTTP/1.0\r\n\r\n");
	DATA(&run, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
	done_with(&run, CHECK_L7RSP, "HTTP content check did not match");
	assert_int_equal(run.res.step, 3);
	check_run_free(&run);

	http_to_read(&run, r, "GET / HTTP/1.0\r\n\r\n");
	DATA(&run, "HTTP/1.1 200 OK\r\n\r\nerror: hello world");
	next_is(&run, CHECK_ACT_WANT_READ); /* body until close */
	check_on_eof(&run);
	done_with(&run, CHECK_L7RSP, "HTTP check matched unwanted content");
	assert_int_equal(run.res.step, 4);
	check_run_free(&run);
	recipe_free(r);
}

static void http_garbage_and_empty(void **state)
{
	struct recipe *r = http_recipe("GET", "/", "HTTP/1.0");
	struct check_run run;

	compile(r);
	http_to_read(&run, r, "GET / HTTP/1.0\r\n\r\n");
	DATA(&run, "SSH-2.0-OpenSSH_9.2\r\n");
	next_is(&run, CHECK_ACT_DONE);
	assert_int_equal(run.res.status, CHECK_L7RSP);
	assert_non_null(strstr(run.res.desc, "invalid HTTP response"));
	check_run_free(&run);

	http_to_read(&run, r, "GET / HTTP/1.0\r\n\r\n");
	check_on_eof(&run);
	done_with(&run, CHECK_L7RSP, "TCPCHK got an empty response at step 2");
	check_run_free(&run);

	http_to_read(&run, r, "GET / HTTP/1.0\r\n\r\n");
	DATA(&run, "HTTP/1.1 200 OK\r\nContent-Le");
	next_is(&run, CHECK_ACT_WANT_READ);
	check_on_timeout(&run);
	done_with(&run, CHECK_L7TOUT, NULL);
	check_run_free(&run);
	recipe_free(r);
}

static void http_parse_every_prefix(void **state)
{
	static const char resp[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX: y\r\n\r\n"
				   "3\r\nabc\r\n0\r\n\r\n";
	struct check_http_resp hr;
	const char *why;
	struct buf body;
	size_t i;

	buf_init(&body, CHECK_BUFSIZE);
	for (i = 0; i < sizeof(resp) - 1; i++) {
		int rc = check_http_parse((const unsigned char *)resp, i, false, false, &body, &hr, &why);

		assert_true(rc == 0 || (rc == 1 && !hr.body_done));
	}
	assert_int_equal(check_http_parse((const unsigned char *)resp, sizeof(resp) - 1, false, false, &body, &hr,
					  &why), 1);
	assert_true(hr.body_done);
	assert_int_equal(hr.bodylen, 3);
	assert_memory_equal(hr.body, "abc", 3);
	buf_free(&body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(substring_unanchored),
		cmocka_unit_test(split_delivery),
		cmocka_unit_test(mismatch_then_close_is_l7rsp),
		cmocka_unit_test(mismatch_then_deadline_is_l7tout),
		cmocka_unit_test(min_recv_zero),
		cmocka_unit_test(min_recv_n),
		cmocka_unit_test(negation),
		cmocka_unit_test(consecutive_expects_share_buffer),
		cmocka_unit_test(chain_head_reevaluated),
		cmocka_unit_test(send_clears_buffer),
		cmocka_unit_test(rbinary_uppercase),
		cmocka_unit_test(nul_bytes),
		cmocka_unit_test(buffer_cap_is_conclusive),
		cmocka_unit_test(regex_caps_on_a_full_buffer),
		cmocka_unit_test(send_only_passes),
		cmocka_unit_test(connect_only),
		cmocka_unit_test(connect_failures),
		cmocka_unit_test(reset_before_and_after_data),
		cmocka_unit_test(connect_rules),
		cmocka_unit_test(timings_and_names),
		cmocka_unit_test(http_request_bytes),
		cmocka_unit_test(http_status),
		cmocka_unit_test(http_implicit_status),
		cmocka_unit_test(http_chunked_body),
		cmocka_unit_test(http_garbage_and_empty),
		cmocka_unit_test(http_parse_every_prefix),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

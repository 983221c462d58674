/*
 * SOCKS5 dissector: synthetic turns with the bytes curl exchanges with microsocks and dante
 * (RFC 1928 / RFC 1929), re-segmented by message whatever the turn boundaries.
 */
#include "api.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "dissect_fixture.h"

/* curl --socks5-hostname to localhost:8080 through microsocks, no auth. */
#define GREET    "\x05\x01\x00"
#define CHOICE   "\x05\x00"
#define CONNECT  "\x05\x01\x00\x03\x09localhost\x1f\x90"
#define REPLY4   "\x05\x00\x00\x01\x7f\x00\x00\x01\xa1\x2c"
#define REPLY6   "\x05\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\xa1\x2c"
#define GET      "GET /generate_204 HTTP/1.1\r\nHost: localhost:8080\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n"
#define R204     "HTTP/1.1 204 No Content\r\nDate: Wed, 25 Nov 2026 01:00:00 GMT\r\nServer: origin\r\n\r\n"

#define HTTP_RE  "^[\\s\\S]{0,252}HTTP/1\\.[01] 204[ \\r]"

/* curl's conversation without authentication: greeting, choice, CONNECT, the given reply, GET, 204. */
static void noauth_turns(struct turns *t, const char *reply, size_t len)
{
	C(t, GREET);
	S(t, CHOICE);
	C(t, CONNECT);
	tb_add(t, TURN_S2C, reply, len);
	C(t, GET);
	S(t, R204);
}

/* The same with RFC 1929 username/password (alice / s3cr3t!) accepted, and an IPv4 reply. */
static void userpass_turns(struct turns *t)
{
	C(t, "\x05\x02\x00\x02");
	S(t, "\x05\x02");
	C(t, "\x01\x05" "alice" "\x07" "s3cr3t!");
	S(t, "\x05\x00");
	C(t, CONNECT);
	S(t, REPLY4);
	C(t, GET);
	S(t, R204);
}

static void assert_noauth_recipe(const struct recipe *r)
{
	assert_string_equal(r->protocol, "socks5+http");
	assert_int_equal(r->nsteps, 6);
	assert_send_hex(&r->steps[0], "050100", true);
	assert_expect(&r->steps[1], EXPECT_BINARY, CHOICE, -1);
	assert_int_equal(r->steps[1].len, 2);
	assert_send_hex(&r->steps[2], "050100030" "96c6f63616c686f7374" "1f90", true);
	assert_expect(&r->steps[3], EXPECT_RBINARY, "^0500", 10);
	assert_int_equal(r->steps[4].type, STEP_SEND);
	assert_false(r->steps[4].binary);
	assert_int_equal(r->steps[4].len, sizeof(GET) - 1);
	assert_memory_equal(r->steps[4].data, GET, sizeof(GET) - 1);
	assert_expect(&r->steps[5], EXPECT_RSTRING, HTTP_RE, -1);
	assert_non_null(r->steps[3].comment);
	assert_non_null(strstr(r->steps[3].comment, "BND.ADDR"));
	assert_false(recipe_has_secret(r));
}

static void no_auth(void **state)
{
	struct dcase *d = *state;

	noauth_turns(&d->t, REPLY4, sizeof(REPLY4) - 1);
	d->r = build(&d->t, false, false, &d->sum);
	assert_noauth_recipe(d->r);
	assert_true(contains(&d->sum, "detected socks5+http"));
	assert_true(contains(&d->sum, "not matched"));
	assert_true(contains(&d->sum, "Date"));
}

/* The greeting split over two turns, and merged with the CONNECT request: the same recipe. */
static void split_and_merged(void **state)
{
	struct dcase *d = *state;

	C(&d->t, "\x05");
	C(&d->t, "\x01");
	C(&d->t, "\x00\x05\x01");
	S(&d->t, "\x05");
	S(&d->t, "\x00\x05\x00\x00\x01\x7f");
	C(&d->t, "\x00\x03\x09localhost\x1f\x90GET /generate_204 HTTP/1.1\r\nHost: localhost:8080\r\n");
	S(&d->t, "\x00\x00\x01\xa1\x2c");
	C(&d->t, "User-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n");
	S(&d->t, R204);
	d->r = build(&d->t, false, false, &d->sum);
	assert_noauth_recipe(d->r);
}

/* ATYP 1, 4 and 3 replies: the tunnel is found after each, min-recv never exceeds the shortest reply. */
static void reply_atyps(void **state)
{
	struct dcase *d = *state;
	static const struct {
		const char *reply;
		size_t len;
		int min_recv;
	} cases[] = {
		{REPLY4, sizeof(REPLY4) - 1, 10},
		{REPLY6, sizeof(REPLY6) - 1, 10},
		{"\x05\x00\x00\x03\x0bproxy.local\x04\x38", 18, 10},
		{"\x05\x00\x00\x03\x01p\x04\x38", 8, 8},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		C(&d->t, GREET);
		S(&d->t, CHOICE);
		C(&d->t, CONNECT);
		tb_add(&d->t, TURN_S2C, cases[i].reply, cases[i].len);
		C(&d->t, GET);
		S(&d->t, R204);
		d->r = build(&d->t, false, false, &d->sum);
		assert_int_equal(d->r->nsteps, 6);
		assert_expect(&d->r->steps[3], EXPECT_RBINARY, "^0500", cases[i].min_recv);
		assert_expect(&d->r->steps[5], EXPECT_RSTRING, HTTP_RE, -1);
		dx_reset(d);
	}
}

/* IPv4 and IPv6 CONNECT targets are kept exact. */
static void ip_targets(void **state)
{
	struct dcase *d = *state;
	static const char v4[] = "\x05\x01\x00\x01\x7f\x00\x00\x01\x1f\x90";
	static const char v6[] = "\x05\x01\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x1f\x90";
	const char *req[] = {v4, v6};
	size_t len[] = {sizeof(v4) - 1, sizeof(v6) - 1}, i;
	struct buf ann;

	buf_init(&ann, 4096);
	for (i = 0; i < 2; i++) {
		C(&d->t, GREET);
		S(&d->t, CHOICE);
		tb_add(&d->t, TURN_C2S, req[i], len[i]);
		S(&d->t, REPLY4);
		C(&d->t, GET);
		S(&d->t, R204);
		d->r = build(&d->t, false, false, &d->sum);
		assert_int_equal(d->r->steps[2].len, len[i]);
		assert_memory_equal(d->r->steps[2].data, req[i], len[i]);
		dissect_annotate(d->r->protocol, d->r, 2, &ann);
		buf_putc(&ann, '\n');
		dx_reset(d);
	}
	assert_true(contains(&ann, "SOCKS5 request: CONNECT 127.0.0.1:8080 (IPv4)"));
	assert_true(contains(&ann, "SOCKS5 request: CONNECT [::1]:8080 (IPv6)"));
	buf_free(&ann);
}

/* RFC 1929 with the reply's version byte 01 (the RFC, dante) and 05 (some servers). */
static void user_pass(void **state)
{
	struct dcase *d = *state;
	static const char vers[] = {0x01, 0x05};
	size_t i;

	for (i = 0; i < 2; i++) {
					char rep[2] = {vers[i], 0};

		C(&d->t, "\x05\x02\x00\x02");
		S(&d->t, "\x05\x02");
		C(&d->t, "\x01\x05" "alice" "\x07" "s3cr3t!");
		tb_add(&d->t, TURN_S2C, rep, 2);
		C(&d->t, CONNECT);
		S(&d->t, REPLY4);
		C(&d->t, GET);
		S(&d->t, R204);
		d->r = build(&d->t, false, false, &d->sum);
		assert_int_equal(d->r->nsteps, 8);
		assert_send_hex(&d->r->steps[0], "05020002", true);
		assert_expect(&d->r->steps[1], EXPECT_BINARY, "\x05\x02", -1);
		assert_send_hex(&d->r->steps[2], "0105616c6963650773336372337421", true);
		dx_reset(d);
	}
}

static void user_pass_steps(void **state)
{
	struct dcase *d = *state;
	struct buf ann;
	size_t i;

	userpass_turns(&d->t);
	d->r = build(&d->t, false, false, &d->sum);
	assert_true(d->r->steps[2].secret);
	assert_false(d->r->steps[2].env);
	assert_true(recipe_has_secret(d->r));
	assert_expect(&d->r->steps[3], EXPECT_RBINARY, "^..00", 2);
	/* show prints comments and annotations and hides recorded credentials: no user name there */
	assert_null(strstr(d->r->steps[2].comment, "alice"));
	assert_null(strstr(d->r->steps[2].comment, "s3cr3t"));
	assert_true(contains(&d->sum, "user 'alice'"));
	assert_false(contains(&d->sum, "s3cr3t"));
	assert_true(contains(&d->sum, "recorded 0x05"));
	buf_init(&ann, 4096);
	for (i = 0; i < d->r->nsteps; i++) {
		dissect_annotate(d->r->protocol, d->r, i, &ann);
		buf_putc(&ann, '\n');
	}
	assert_true(contains(&ann, "SOCKS5 greeting: methods no-auth, user/pass\n"));
	assert_true(contains(&ann, "SOCKS5 method choice: user/pass\n"));
	assert_true(contains(&ann, "RFC 1929 auth: user (5 bytes) and password (7 bytes), recorded credential\n"));
	assert_false(contains(&ann, "alice"));
	assert_true(contains(&ann, "RFC 1929 auth reply: success"));
	assert_true(contains(&ann, "SOCKS5 request: CONNECT localhost:8080 (domain)\n"));
	assert_true(contains(&ann, "SOCKS5 reply: succeeded"));
	assert_true(contains(&ann, "HTTP request: GET /generate_204 HTTP/1.1\n"));
	assert_true(contains(&ann, "HTTP response: status 204"));
	assert_false(contains(&ann, "s3cr3t"));
	/* a hand-written auth step not flagged secret shows its user, never the password */
	d->r->steps[2].secret = false;
	buf_reset(&ann);
	dissect_annotate(d->r->protocol, d->r, 2, &ann);
	assert_string_equal(buf_cstr(&ann), "RFC 1929 auth: user 'alice' (password not shown)");
	buf_free(&ann);
}

/* --redact: a text send with ${} references, the recorded length bytes, no credential anywhere. */
static void redact(void **state)
{
	struct dcase *d = *state;
	static const char want[] = "\x01\x05${RECHECK_SOCKS_USER}\x07${RECHECK_SOCKS_PASS}";
	struct buf ann;
	size_t i;

	C(&d->t, "\x05\x02\x00\x02");
	S(&d->t, "\x05\x02");
	C(&d->t, "\x01\x05" "alice" "\x07" "s3cr3t!");
	S(&d->t, "\x01\x00");
	C(&d->t, CONNECT);
	S(&d->t, REPLY4);
	C(&d->t, GET);
	S(&d->t, R204);
	d->r = build(&d->t, false, true, &d->sum);
	assert_int_equal(d->r->steps[2].type, STEP_SEND);
	assert_false(d->r->steps[2].binary);
	assert_true(d->r->steps[2].env);
	assert_false(d->r->steps[2].secret);
	assert_false(recipe_has_secret(d->r));
	assert_int_equal(d->r->steps[2].len, sizeof(want) - 1);
	assert_memory_equal(d->r->steps[2].data, want, sizeof(want) - 1);
	assert_non_null(strstr(d->r->steps[2].comment, "length"));
	assert_true(contains(&d->sum, "RECHECK_SOCKS_PASS (7 bytes)"));
	buf_init(&ann, 4096);
	for (i = 0; i < d->r->nsteps; i++) {
		assert_null(memmem(d->r->steps[i].data, d->r->steps[i].len, "s3cr3t", 6));
		assert_null(memmem(d->r->steps[i].data, d->r->steps[i].len, "alice", 5));
		if (d->r->steps[i].comment) {
			assert_null(strstr(d->r->steps[i].comment, "s3cr3t"));
			assert_null(strstr(d->r->steps[i].comment, "alice"));
		}
		dissect_annotate(d->r->protocol, d->r, i, &ann);
	}
	assert_true(contains(&ann, "from the environment"));
	assert_false(contains(&d->sum, "s3cr3t"));
	assert_false(contains(&d->sum, "alice"));
	buf_free(&ann);
}

/* REP != 0 in the recording: the recipe still expects success and the summary says the recording failed. */
static void recorded_failure(void **state)
{
	struct dcase *d = *state;

	C(&d->t, GREET);
	S(&d->t, CHOICE);
	C(&d->t, CONNECT);
	S(&d->t, "\x05\x05\x00\x01\x00\x00\x00\x00\x00\x00");
	assert_refused(&d->t, "REP 05", "connection refused");
	/* A method rejection and a refused RFC 1929 login fall under the same rule. */
	tb_free(&d->t);
	C(&d->t, "\x05\x01\x00");
	S(&d->t, "\x05\xff");
	assert_refused(&d->t, "05 FF", "user name and password");
	tb_free(&d->t);
	C(&d->t, "\x05\x01\x02");
	S(&d->t, "\x05\x02");
	C(&d->t, "\x01\x04user\x05wrong");
	S(&d->t, "\x01\x01");
	assert_refused(&d->t, "user 'user'", "01 01");
}

static void truncated(void **state)
{
	struct dcase *d = *state;
	struct dissect_opts o = {0};
	char err[ERR_LEN];

	/* Ends after the CONNECT request: the unanswered request is dropped, with a warning. */
	C(&d->t, GREET);
	S(&d->t, CHOICE);
	C(&d->t, CONNECT);
	d->t.truncated = true;
	d->r = build(&d->t, false, false, &d->sum);
	assert_int_equal(d->r->nsteps, 2);
	assert_true(contains(&d->sum, "ends before the SOCKS5 reply"));
	assert_true(contains(&d->sum, "incomplete"));
	dx_reset(d);

	/* The reply cut inside BND.ADDR: the reply check is kept, the tunnel cannot be located. */
	C(&d->t, GREET);
	S(&d->t, CHOICE);
	C(&d->t, CONNECT);
	S(&d->t, "\x05\x00\x00\x04\x00\x00");
	d->r = build(&d->t, false, false, &d->sum);
	assert_int_equal(d->r->nsteps, 4);
	assert_true(contains(&d->sum, "truncated"));
	dx_reset(d);

	/* A greeting cut short: nothing to check, a clear error. */
	C(&d->t, "\x05\x02\x00");
	assert_null(dissect_build(&d->t, &o, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "no complete"));
	tb_free(&d->t);

	/* The HTTP response cut inside its head. */
	C(&d->t, GREET);
	S(&d->t, CHOICE);
	C(&d->t, CONNECT);
	S(&d->t, REPLY4);
	C(&d->t, GET);
	S(&d->t, "HTTP/1.1 204 No Con");
	d->r = build(&d->t, false, false, &d->sum);
	assert_int_equal(d->r->nsteps, 4);
	assert_true(contains(&d->sum, "complete HTTP response head"));
}

static void tls_in_tunnel(void **state)
{
	struct dcase *d = *state;

	C(&d->t, GREET);
	S(&d->t, CHOICE);
	C(&d->t, CONNECT);
	S(&d->t, REPLY4);
	C(&d->t, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03");
	S(&d->t, "\x16\x03\x03\x00\x7a\x02");
	d->r = build(&d->t, false, false, &d->sum);
	assert_string_equal(d->r->protocol, "socks5");
	assert_int_equal(d->r->nsteps, 4);
	assert_true(contains(&d->sum, "TLS"));
}

static void raw_mode(void **state)
{
	struct dcase *d = *state;

	noauth_turns(&d->t, REPLY6, sizeof(REPLY6) - 1);
	d->r = build(&d->t, true, false, &d->sum);
	assert_int_equal(d->r->nsteps, 6);
	assert_send_hex(&d->r->steps[0], "050100", true);
	assert_expect(&d->r->steps[3], EXPECT_BINARY, REPLY6, -1);
	assert_int_equal(d->r->steps[3].len, sizeof(REPLY6) - 1);
	assert_int_equal(d->r->steps[5].match, EXPECT_BINARY);
	assert_int_equal(d->r->steps[5].len, sizeof(R204) - 1);
	assert_true(d->r->steps[4].binary);
	assert_true(contains(&d->sum, "--raw"));
}

/*
 * Property: the recipe passes against the recorded server bytes and against a server that differs
 * only in volatile bytes (BND.ADDR type and value, Date, reason phrase, HTTP/1.0), and fails when the REP
 * byte or the HTTP status code changes.
 */
static void portable(void **state)
{
	struct dcase *d = *state;
	const char *rec[] = {CHOICE, REPLY4, R204};
	const size_t reclen[] = {2, sizeof(REPLY4) - 1, sizeof(R204) - 1};
	const char *other[] = {CHOICE, REPLY6,
			       "HTTP/1.0 204 Nothing\r\nDate: Thu, 26 Nov 2026 09:09:09 GMT\r\nVia: 1.0 x\r\n\r\n"};
	const size_t otherlen[] = {2, sizeof(REPLY6) - 1, strlen(other[2])};
	/* late bytes of the IPv6 reply ahead of the HTTP response (the 12 the 10-byte wait left unread) */
	const char late[] = "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\xa1\x2c" R204;
	const char *split[] = {CHOICE, REPLY4, late};
	const size_t splitlen[] = {2, 10, sizeof(late) - 1};
	const char *rep[] = {CHOICE, "\x05\x01\x00\x01\x7f\x00\x00\x01\xa1\x2c", R204};
	const char *code[] = {CHOICE, REPLY4, "HTTP/1.1 503 Service Unavailable\r\n\r\n"};
	const size_t codelen[] = {2, 10, strlen(code[2])};
	struct buf wrote;

	noauth_turns(&d->t, REPLY4, sizeof(REPLY4) - 1);
	d->r = build(&d->t, false, false, &d->sum);
	buf_init(&wrote, 4096);
	assert_int_equal(replay(d->r, rec, reclen, 3, &wrote), 1);
	/* the check writes exactly what curl wrote */
	assert_int_equal(wrote.len, sizeof(GREET CONNECT GET) - 1);
	assert_memory_equal(wrote.data, GREET CONNECT GET, wrote.len);
	assert_int_equal(replay(d->r, other, otherlen, 3, NULL), 1);
	assert_int_equal(replay(d->r, split, splitlen, 3, NULL), 1);
	assert_int_equal(replay(d->r, rep, reclen, 3, NULL), 0);
	assert_int_equal(replay(d->r, code, codelen, 3, NULL), 0);
	/* a reply shorter than the shortest whole reply is not enough */
	assert_int_equal(replay(d->r, (const char *[]){CHOICE, "\x05\x00\x00\x01", R204},
				(const size_t[]){2, 4, sizeof(R204) - 1}, 3, NULL), 0);
	buf_free(&wrote);
}


/*
 * Property, with the real check engine: for recipes recorded with each reply ATYP, with and without
 * RFC 1929, every server that differs only in volatile bytes passes (any BND ATYP/address, auth reply
 * version 01 or 05, HTTP/1.0 or 1.1, another Date and reason phrase, the reply split byte by byte or its
 * tail arriving late, after the HTTP request), and every server with another REP, auth status or HTTP
 * status code fails.
 */
static const char *const any_reply[] = {
	REPLY4, REPLY6, "\x05\x00\x00\x03\x0bproxy.local\x04\x38",
	"\x05\x00\x00\x03\xff" /* 255-byte name, filled below */,
};
static const size_t any_reply_len[] = {10, 22, 18, 262};
static const char *const any_204[] = {
	R204,
	"HTTP/1.0 204 Nothing here\r\nDate: Thu, 26 Nov 2026 09:09:09 GMT\r\nVia: 1.0 other\r\n\r\n",
	"HTTP/1.1 204\r\nServer: x\r\n\r\n",
};

static void record(struct turns *t, bool auth, const char *reply, size_t rlen)
{
	if (auth) {
		C(t, "\x05\x02\x00\x02");
		S(t, "\x05\x02");
		C(t, "\x01\x05" "alice" "\x07" "s3cr3t!");
		S(t, "\x01\x00");
	} else {
		C(t, GREET);
		S(t, CHOICE);
	}
	C(t, CONNECT);
	tb_add(t, TURN_S2C, reply, rlen);
	C(t, GET);
	S(t, R204);
}

/* Server pieces for one variant: choice, [auth reply], SOCKS reply (whole, split, or late tail), HTTP. */
static size_t script(struct piece *pc, bool auth, char authver, const char *reply, size_t rlen, int delivery,
		     const char *http)
{
	static char authrep[2];
	size_t n = 0, i;
	int slot = 1;

	pc[n++] = (struct piece){auth ? "\x05\x02" : CHOICE, 2, slot++};
	if (auth) {
		authrep[0] = authver;
		authrep[1] = 0;
		pc[n++] = (struct piece){authrep, 2, slot++};
	}
	if (delivery == 0) {
		pc[n++] = (struct piece){reply, rlen, slot};
	} else if (delivery == 1) {
		for (i = 0; i < rlen; i++)
			pc[n++] = (struct piece){reply + i, 1, slot};
	} else {
		/* the first 10 bytes now, the rest only after the check has sent the HTTP request */
		pc[n++] = (struct piece){reply, MIN(rlen, 10), slot};
		if (rlen > 10)
			pc[n++] = (struct piece){reply + 10, rlen - 10, slot + 1};
	}
	slot++;
	pc[n++] = (struct piece){http, strlen(http), slot};
	return n;
}

static void property_portable(void **state)
{
	struct dcase *d = *state;
	char long_reply[262];
	const char *replies[ARRAY_SIZE(any_reply)];
	size_t rec, v, h, dl, a, k, n;
	struct piece pc[300];
	int auth;

	memcpy(long_reply, "\x05\x00\x00\x03\xff", 5);
	memset(long_reply + 5, 'b', 255);
	memcpy(long_reply + 260, "\x04\x38", 2);
	for (k = 0; k < ARRAY_SIZE(any_reply); k++)
		replies[k] = k == 3 ? long_reply : any_reply[k];
	for (auth = 0; auth < 2; auth++) {
		for (rec = 0; rec < ARRAY_SIZE(any_reply); rec++) {
			record(&d->t, auth, replies[rec], any_reply_len[rec]);
			d->r = build(&d->t, false, false, &d->sum);
			for (v = 0; v < ARRAY_SIZE(any_reply); v++)
				for (h = 0; h < ARRAY_SIZE(any_204); h++)
					for (dl = 0; dl < 3; dl++)
						for (a = 0; a < 2; a++) {
							enum check_status st;

							n = script(pc, auth, a ? 0x05 : 0x01, replies[v], any_reply_len[v],
								   (int)dl, any_204[h]);
							st = replay_pieces(d->r, pc, n, false, NULL);
							if (st != CHECK_L7OK)
								fail_msg("auth %d recorded %zu: variant reply %zu http %zu "
									 "delivery %zu authver %zu gave %s", auth, rec, v, h,
									 dl, a, check_status_str(st));
						}
			dx_reset(d);
		}
	}
}

static void property_detects_failure(void **state)
{
	struct dcase *d = *state;
	static const char *const bad_http[] = {
		"HTTP/1.1 200 OK\r\n\r\n",
		"HTTP/1.1 503 Service Unavailable\r\n\r\n",
		"HTTP/1.1 2040 x\r\n\r\n",
		"HTTP/1.1 404 No Content\r\n\r\n",
	};
	char rep[10];
	struct piece pc[8];
	size_t rec, i, n;
	int auth, code;

	for (auth = 0; auth < 2; auth++) {
		for (rec = 0; rec < 3; rec++) {
			record(&d->t, auth, any_reply[rec], any_reply_len[rec]);
			d->r = build(&d->t, false, false, &d->sum);
			/* REP 01..08 and an unassigned code */
			for (code = 1; code <= 9; code++) {
				memcpy(rep, REPLY4, 10);
				rep[1] = (char)(code == 9 ? 0x7f : code);
				n = script(pc, auth, 0x01, rep, 10, 0, R204);
				assert_int_not_equal(replay_pieces(d->r, pc, n, true, NULL), CHECK_L7OK);
				assert_int_not_equal(replay_pieces(d->r, pc, n, false, NULL), CHECK_L7OK);
			}
			/* a reply whose version is not 05 */
			memcpy(rep, REPLY4, 10);
			rep[0] = 0x04;
			n = script(pc, auth, 0x01, rep, 10, 0, R204);
			assert_int_not_equal(replay_pieces(d->r, pc, n, true, NULL), CHECK_L7OK);
			for (i = 0; i < ARRAY_SIZE(bad_http); i++) {
				n = script(pc, auth, 0x01, REPLY4, 10, 0, bad_http[i]);
				assert_int_not_equal(replay_pieces(d->r, pc, n, true, NULL), CHECK_L7OK);
				assert_int_not_equal(replay_pieces(d->r, pc, n, false, NULL), CHECK_L7OK);
			}
			if (auth) {
				/* the proxy rejects the credentials (status 01), whatever the version byte */
				n = script(pc, auth, 0x01, REPLY4, 10, 0, R204);
				pc[1].p = "\x01\x01";
				assert_int_not_equal(replay_pieces(d->r, pc, n, true, NULL), CHECK_L7OK);
				pc[1].p = "\x05\x01";
				assert_int_not_equal(replay_pieces(d->r, pc, n, true, NULL), CHECK_L7OK);
			}
			dx_reset(d);
		}
	}
}

static void bad_input(void **state)
{
	struct dcase *d = *state;
	struct dissect_opts o = {0};
	char err[ERR_LEN];

	assert_null(dissect_build(&d->t, &o, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "empty"));
	S(&d->t, CHOICE);
	assert_null(dissect_build(&d->t, &o, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "no bytes"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		DX_TEST(no_auth),
		DX_TEST(split_and_merged),
		DX_TEST(reply_atyps),
		DX_TEST(ip_targets),
		DX_TEST(user_pass),
		DX_TEST(user_pass_steps),
		DX_TEST(redact),
		DX_TEST(recorded_failure),
		DX_TEST(truncated),
		DX_TEST(tls_in_tunnel),
		DX_TEST(raw_mode),
		DX_TEST(portable),
		DX_TEST(property_portable),
		DX_TEST(property_detects_failure),
		DX_TEST(bad_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

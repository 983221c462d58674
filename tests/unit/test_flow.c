/*
 * test_flow: reassembly (wrap-around, retransmission, overlap, out-of-order, missing SYN, RST, gaps,
 * snaplen cuts, caps) and the turns it produces.
 */
#include "api.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "flow.h"
#include "turn.h"

#define CPORT 40000
#define SPORT 1080

struct conv {
	struct flow_table *t;
	uint32_t cseq, sseq;    /* next sequence numbers */
	uint64_t ts;
	uint16_t cport;
};

static void feed(struct conv *c, bool from_client, uint8_t flags, uint32_t seq, const char *data, size_t len)
{
	struct pkt p;
	char err[ERR_LEN];

	memset(&p, 0, sizeof(p));
	p.family = AF_INET;
	p.src[0] = 127, p.src[3] = 1;
	p.dst[0] = 127, p.dst[3] = from_client ? 2 : 1;
	if (!from_client)
		p.src[3] = 2;
	p.sport = from_client ? c->cport : SPORT;
	p.dport = from_client ? SPORT : c->cport;
	p.seq = seq;
	p.ack = from_client ? c->sseq : c->cseq;
	p.flags = flags;
	p.payload = (const unsigned char *)data;
	p.len = p.wire_len = len;
	p.ts_us = c->ts++;
	assert_int_equal(flow_table_input(c->t, &p, err, sizeof(err)), 0);
}

static void handshake(struct conv *c, uint32_t cisn, uint32_t sisn)
{
	feed(c, true, PKT_SYN, cisn, NULL, 0);
	c->cseq = cisn + 1;
	feed(c, false, PKT_SYN | PKT_ACK, sisn, NULL, 0);
	c->sseq = sisn + 1;
	feed(c, true, PKT_ACK, c->cseq, NULL, 0);
}

static void send_msg(struct conv *c, bool from_client, const char *s)
{
	size_t n = strlen(s);
	uint32_t *seq = from_client ? &c->cseq : &c->sseq;

	feed(c, from_client, PKT_ACK | PKT_PSH, *seq, s, n);
	*seq += (uint32_t)n;
}

static void close_both(struct conv *c)
{
	feed(c, true, PKT_FIN | PKT_ACK, c->cseq++, NULL, 0);
	feed(c, false, PKT_FIN | PKT_ACK, c->sseq++, NULL, 0);
	feed(c, true, PKT_ACK, c->cseq, NULL, 0);
}

static void conv_init(struct conv *c, const struct flow_limits *lim)
{
	memset(c, 0, sizeof(*c));
	c->t = flow_table_new(lim, true);
	assert_non_null(c->t);
	c->ts = 1000;
	c->cport = CPORT;
}

/* Checks the turns of the only flow against dirs/texts (NULL-terminated). */
static void expect_turns(struct conv *c, const char *const *want)
{
	struct flow *f;
	struct turns tr;
	char err[ERR_LEN];
	size_t i;

	flow_table_finish(c->t);
	assert_int_equal(flow_table_count(c->t), 1);
	f = flow_table_get(c->t, 0);
	assert_string_equal(f->err, "");
	assert_int_equal(flow_turns(f, &tr, err, sizeof(err)), 0);
	for (i = 0; want[i]; i++) {
		assert_true(i < tr.n);
		assert_int_equal(tr.v[i].dir, want[i][0] == 'c' ? TURN_C2S : TURN_S2C);
		assert_int_equal(tr.v[i].len, strlen(want[i] + 1));
		assert_memory_equal(tr.v[i].data, want[i] + 1, tr.v[i].len);
	}
	assert_int_equal(tr.n, i);
	turns_free(&tr);
}

static void simple(void **state)
{
	struct conv c;
	static const char *const want[] = {"cHELLO", "sWORLD!", "cbye", NULL};
	struct flow *f;
	char d[200];

	conv_init(&c, NULL);
	handshake(&c, 100, 5000);
	send_msg(&c, true, "HEL");
	send_msg(&c, true, "LO");
	send_msg(&c, false, "WORLD!");
	send_msg(&c, true, "bye");
	close_both(&c);
	expect_turns(&c, want);
	f = flow_table_get(c.t, 0);
	assert_int_equal(flow_state(f), FLOW_COMPLETE);
	assert_string_equal(flow_state_str(flow_state(f)), "complete");
	assert_int_equal(f->d[TURN_C2S].bytes, 8);
	assert_int_equal(f->d[TURN_S2C].bytes, 6);
	assert_int_equal(f->pkts, 10);
	flow_describe(f, d, sizeof(d));
	assert_string_equal(d, "127.0.0.1:40000 -> 127.0.0.2:1080");
	flow_table_free(c.t);
}

static void wrap_around(void **state)
{
	struct conv c;
	static const char *const want[] = {"cABCDEFGH", "s0123456789", NULL};

	conv_init(&c, NULL);
	handshake(&c, 0xfffffffc, 0xfffffffa);
	send_msg(&c, true, "ABC");      /* seq fffffffd..ffffffff */
	send_msg(&c, true, "DEFGH");    /* wraps through 0 */
	send_msg(&c, false, "01234");
	send_msg(&c, false, "56789");
	close_both(&c);
	expect_turns(&c, want);
	flow_table_free(c.t);
}

static void retransmit_and_overlap(void **state)
{
	struct conv c;
	static const char *const want[] = {"cABCDEFGHIJ", "sok", NULL};
	uint32_t base;

	conv_init(&c, NULL);
	handshake(&c, 0xfffffff0, 7);
	base = c.cseq;
	feed(&c, true, PKT_ACK, base, "ABCD", 4);
	feed(&c, true, PKT_ACK, base, "ABCD", 4);               /* retransmission */
	feed(&c, true, PKT_ACK, base + 2, "CDEFG", 5);          /* overlaps 2 bytes, 3 new */
	feed(&c, true, PKT_ACK, base + 1, "BC", 2);             /* entirely old */
	feed(&c, true, PKT_ACK, base + 6, "GHIJ", 4);           /* 1 old byte */
	c.cseq = base + 10;
	send_msg(&c, false, "ok");
	close_both(&c);
	expect_turns(&c, want);
	assert_int_equal(flow_table_get(c.t, 0)->d[TURN_C2S].retrans, 4 + 2 + 2 + 1);
	flow_table_free(c.t);
}

static void out_of_order(void **state)
{
	struct conv c;
	static const char *const want[] = {"cABCDEFGHI", "sXYZ", NULL};
	uint32_t base;

	conv_init(&c, NULL);
	handshake(&c, 0xfffffffe, 1);
	base = c.cseq;
	feed(&c, true, PKT_ACK, base + 6, "GHI", 3);    /* ahead of a hole */
	feed(&c, true, PKT_ACK, base + 3, "DEFG", 4);   /* ahead, overlapping the queued one */
	feed(&c, true, PKT_ACK, base + 4, "EF", 2);     /* queued duplicate */
	feed(&c, true, PKT_ACK, base, "ABC", 3);        /* fills the hole: everything drains */
	c.cseq = base + 9;
	send_msg(&c, false, "XYZ");
	close_both(&c);
	expect_turns(&c, want);
	flow_table_free(c.t);
}

/* The server's bytes were captured before the segment that completed the client's: capture time
 * orders the turns, and the queued B stays in the turn of the A that released it. */
static void interleave_by_timestamp(void **state)
{
	struct conv c;
	static const char *const want[] = {"sR", "cAB", NULL};
	uint32_t base;

	conv_init(&c, NULL);
	handshake(&c, 10, 20);
	base = c.cseq;
	feed(&c, true, PKT_ACK, base + 1, "B", 1);      /* ts t: queued */
	send_msg(&c, false, "R");                       /* ts t+1 */
	feed(&c, true, PKT_ACK, base, "A", 1);          /* ts t+2: A delivered, then B (ts t) */
	expect_turns(&c, want);
	assert_int_equal(flow_state(flow_table_get(c.t, 0)), FLOW_OPEN);
	flow_table_free(c.t);
}

static void missing_syn(void **state)
{
	struct conv c;
	static const char *const want[] = {"cGET", "sHTTP", NULL};
	struct flow *f;
	uint8_t srv[16] = {127, 0, 0, 2};

	/* The heuristic: the higher port is the client, and a note says so. */
	conv_init(&c, NULL);
	c.cseq = 77, c.sseq = 99;
	send_msg(&c, false, "HTTP");    /* the server speaks first in the capture */
	send_msg(&c, true, "GET");
	f = flow_table_get(c.t, 0);
	assert_true(f->client_guessed);
	assert_non_null(strstr(f->note, "higher port"));
	assert_int_equal(flow_state(f), FLOW_MIDFLOW);
	assert_int_equal(f->d[TURN_C2S].port, CPORT);
	flow_table_free(c.t);

	/* With a server hint, a client on a higher port than... a lower port than the server. */
	conv_init(&c, NULL);
	c.cport = 80;
	flow_table_set_server(c.t, AF_INET, srv, SPORT);
	c.cseq = 0xffffffff, c.sseq = 5;
	send_msg(&c, true, "GET");
	send_msg(&c, false, "HTTP");
	f = flow_table_get(c.t, 0);
	assert_false(f->client_guessed);
	assert_non_null(strstr(f->note, "mid-flow"));
	assert_int_equal(f->d[TURN_C2S].port, 80);
	expect_turns(&c, want);
	flow_table_free(c.t);

	/* Only the SYN-ACK: its sender is the server. */
	conv_init(&c, NULL);
	c.cport = 80;
	feed(&c, false, PKT_SYN | PKT_ACK, 1000, NULL, 0);
	c.sseq = 1001;
	c.cseq = 50;
	send_msg(&c, true, "GET");
	send_msg(&c, false, "HTTP");
	f = flow_table_get(c.t, 0);
	assert_int_equal(f->d[TURN_C2S].port, 80);
	assert_int_equal(flow_state(f), FLOW_MIDFLOW);
	flow_table_free(c.t);
}

/* Mid-flow, the first captured segment is not the first sent: a segment captured later with a lower
 * sequence number moves the start back, until the other side answers. */
static void mid_flow_start_moves_back(void **state)
{
	struct conv c;
	static const char *const want[] = {"cABCDEF", "sOK", "cG", NULL};
	uint8_t srv[16] = {127, 0, 0, 2};

	conv_init(&c, NULL);
	flow_table_set_server(c.t, AF_INET, srv, SPORT);
	c.sseq = 500;
	feed(&c, true, PKT_ACK, 0xfffffffe + 3, "DEF", 3);    /* wraps: seq 1 */
	feed(&c, true, PKT_ACK, 0xfffffffe, "ABC", 3);        /* sent first, captured second */
	c.cseq = 0xfffffffe + 6;
	send_msg(&c, false, "OK");                             /* fixes the client's start */
	feed(&c, true, PKT_ACK, 0xfffffffe - 5, "zzzzz", 5);   /* before the fixed start: old, dropped */
	send_msg(&c, true, "G");
	expect_turns(&c, want);
	assert_int_equal(flow_table_get(c.t, 0)->d[TURN_C2S].retrans, 5);
	flow_table_free(c.t);

	/* One-sided: the end of the capture fixes the start. */
	conv_init(&c, NULL);
	flow_table_set_server(c.t, AF_INET, srv, SPORT);
	feed(&c, true, PKT_ACK, 103, "D", 1);
	feed(&c, true, PKT_ACK, 100, "ABC", 3);
	{
		static const char *const one[] = {"cABCD", NULL};

		expect_turns(&c, one);
	}
	flow_table_free(c.t);
}

static void rst_mid_stream(void **state)
{
	struct conv c;
	struct flow *f;
	struct turns tr;
	char err[ERR_LEN];

	conv_init(&c, NULL);
	handshake(&c, 1, 2);
	send_msg(&c, true, "\x05\x01\x00");
	send_msg(&c, false, "\x05\x00");
	feed(&c, false, PKT_RST | PKT_ACK, c.sseq, "junk", 4);
	send_msg(&c, true, "late");     /* after the RST: ignored */
	flow_table_finish(c.t);
	f = flow_table_get(c.t, 0);
	assert_int_equal(flow_state(f), FLOW_RESET);
	assert_int_equal(flow_turns(f, &tr, err, sizeof(err)), 0);
	assert_int_equal(tr.n, 2);
	assert_true(tr.reset);
	assert_false(tr.truncated);
	turns_free(&tr);
	flow_table_free(c.t);
}

static void gap_names_range(void **state)
{
	struct conv c;
	struct flow *f;
	struct turns tr;
	char err[ERR_LEN];

	conv_init(&c, NULL);
	handshake(&c, 0xfffffff0, 2);
	send_msg(&c, true, "0123456789");
	c.cseq += 5;                    /* bytes 10-14 never captured */
	send_msg(&c, true, "FGH");
	flow_table_finish(c.t);
	f = flow_table_get(c.t, 0);
	assert_int_equal(flow_state(f), FLOW_GAP);
	assert_string_equal(f->err, "gap in the client to server stream: bytes 10-14 (5 bytes) were never captured");
	assert_int_equal(flow_turns(f, &tr, err, sizeof(err)), 0);
	assert_true(tr.truncated);
	assert_int_equal(tr.n, 1);
	assert_int_equal(tr.v[0].len, 10);
	turns_free(&tr);
	flow_table_free(c.t);

	/* Bytes acknowledged by the peer but never captured (the last segment was lost). */
	conv_init(&c, NULL);
	handshake(&c, 100, 200);
	send_msg(&c, true, "abc");
	c.cseq += 4;
	feed(&c, false, PKT_ACK, c.sseq, NULL, 0);
	flow_table_finish(c.t);
	f = flow_table_get(c.t, 0);
	assert_string_equal(f->err, "gap in the client to server stream: bytes 3-6 (4 bytes) were acknowledged "
				    "by the peer but never captured");
	flow_table_free(c.t);

	/* Bytes before the FIN missing. */
	conv_init(&c, NULL);
	handshake(&c, 100, 200);
	send_msg(&c, false, "abc");
	feed(&c, false, PKT_FIN | PKT_ACK, c.sseq + 2, NULL, 0);
	flow_table_finish(c.t);
	assert_non_null(strstr(flow_table_get(c.t, 0)->err, "bytes 3-4 (2 bytes) before the FIN"));
	flow_table_free(c.t);
}

static void snaplen_cut(void **state)
{
	struct conv c;
	struct pkt p;
	char err[ERR_LEN];
	struct flow *f;

	conv_init(&c, NULL);
	handshake(&c, 1, 2);
	memset(&p, 0, sizeof(p));
	p.family = AF_INET;
	p.src[0] = 127, p.src[3] = 1;
	p.dst[0] = 127, p.dst[3] = 2;
	p.sport = CPORT, p.dport = SPORT;
	p.seq = 2;
	p.flags = PKT_ACK;
	p.payload = (const unsigned char *)"GET / HT";
	p.len = 8;
	p.wire_len = 100;
	p.cut = true;
	assert_int_equal(flow_table_input(c.t, &p, err, sizeof(err)), 0);
	f = flow_table_get(c.t, 0);
	assert_non_null(strstr(f->err, "bytes 8-99 (92 bytes) were cut by the capture's snaplen"));
	flow_table_free(c.t);
}

static void caps(void **state)
{
	struct flow_limits lim = {2, 16, 2, 1 << 20};
	struct conv c;
	struct pkt p;
	char err[ERR_LEN];
	struct flow *f;

	/* Per-direction byte cap. */
	conv_init(&c, &lim);
	handshake(&c, 1, 2);
	send_msg(&c, true, "0123456789");
	send_msg(&c, true, "0123456789");
	f = flow_table_get(c.t, 0);
	assert_non_null(strstr(f->err, "exceeds the 16-byte cap"));
	assert_int_equal(flow_state(f), FLOW_GAP);
	/* Flow cap: a third conversation fails the table. */
	c.cport = 1;
	handshake(&c, 1, 2);
	memset(&p, 0, sizeof(p));
	p.family = AF_INET;
	p.sport = 3, p.dport = 4;
	p.flags = PKT_SYN;
	assert_int_equal(flow_table_input(c.t, &p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "more than 2 TCP conversations"));
	flow_table_free(c.t);

	/* Queue cap: the third out-of-order segment ends the flow with the hole named. */
	conv_init(&c, &lim);
	handshake(&c, 1, 2);
	feed(&c, true, PKT_ACK, c.cseq + 1, "b", 1);
	feed(&c, true, PKT_ACK, c.cseq + 2, "c", 1);
	feed(&c, true, PKT_ACK, c.cseq + 3, "d", 1);
	f = flow_table_get(c.t, 0);
	assert_non_null(strstr(f->err, "bytes 0-0 (1 bytes)"));
	assert_non_null(strstr(f->err, "out-of-order"));
	flow_table_free(c.t);

	/* Total cap over the table. */
	lim.max_total_bytes = 5;
	conv_init(&c, &lim);
	handshake(&c, 1, 2);
	send_msg(&c, true, "0123456789");
	assert_non_null(strstr(flow_table_get(c.t, 0)->err, "more than 5 bytes"));
	flow_table_free(c.t);
}

static void port_reuse_and_counting_only(void **state)
{
	struct conv c;
	struct flow *f;

	conv_init(&c, NULL);
	handshake(&c, 1, 2);
	send_msg(&c, true, "x");
	feed(&c, true, PKT_SYN, 9999, NULL, 0);         /* a new SYN with another ISN */
	f = flow_table_get(c.t, 0);
	assert_non_null(strstr(f->err, "reused"));
	flow_table_free(c.t);

	/* A table that only counts still reassembles (bytes, state, first bytes) but keeps no turns. */
	memset(&c, 0, sizeof(c));
	c.t = flow_table_new(NULL, false);
	c.cport = CPORT;
	handshake(&c, 1, 2);
	send_msg(&c, true, "\x05\x01\x02");
	send_msg(&c, false, "\x05\x02");
	close_both(&c);
	flow_table_finish(c.t);
	f = flow_table_get(c.t, 0);
	assert_null(f->tb);
	assert_int_equal(f->d[TURN_C2S].bytes, 3);
	assert_string_equal(flow_guess_proto(f->d[TURN_C2S].head, f->d[TURN_C2S].nhead), "SOCKS5");
	{
		struct turns tr;
		char err[ERR_LEN];

		assert_int_equal(flow_turns(f, &tr, err, sizeof(err)), -1);
	}
	flow_table_free(c.t);
}

/* Random segments (sequence numbers near a few bases, all flag mixes, lengths up to 40) over a few
 * port pairs with small caps: no crash, no leak (ASan), and no direction ever holds more than its cap. */
static void random_segments(void **state)
{
	struct flow_limits lim = {8, 64, 4, 4096};
	static const char data[64] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!?";
	struct flow_table *t = flow_table_new(&lim, true);
	struct pkt p;
	char err[ERR_LEN];
	unsigned seed = 42;
	size_t i, k;

	assert_non_null(t);
	for (i = 0; i < 20000; i++) {
		seed = seed * 1103515245u + 12345u;
		memset(&p, 0, sizeof(p));
		p.family = AF_INET;
		p.src[0] = 127, p.src[3] = 1;
		p.dst[0] = 127, p.dst[3] = 1;
		p.sport = (seed >> 4) & 1 ? 1080 : (uint16_t)(40000 + ((seed >> 5) & 3));
		p.dport = p.sport == 1080 ? (uint16_t)(40000 + ((seed >> 7) & 3)) : 1080;
		p.seq = (((seed >> 9) & 1) ? 0xffffffc0u : 1000u) + ((seed >> 10) & 127);
		p.ack = seed;
		p.flags = (uint8_t)((seed >> 17) & 0x1f) | PKT_ACK;
		if ((seed >> 22) % 7 != 0)
			p.flags &= (uint8_t)~(PKT_SYN | PKT_RST);
		p.len = p.wire_len = (seed >> 24) % 41;
		p.payload = p.len ? (const unsigned char *)data : NULL;
		p.ts_us = i;
		assert_int_equal(flow_table_input(t, &p, err, sizeof(err)), 0);
	}
	flow_table_finish(t);
	assert_true(flow_table_count(t) <= 8);
	for (i = 0; i < flow_table_count(t); i++) {
		struct flow *f = flow_table_get(t, i);
		struct turns tr;
		size_t sum[2] = {0, 0};

		assert_int_equal(flow_turns(f, &tr, err, sizeof(err)), 0);
		for (k = 0; k < tr.n; k++)
			sum[tr.v[k].dir] += tr.v[k].len;
		assert_true(sum[0] <= 64 && sum[1] <= 64);
		turns_free(&tr);
	}
	flow_table_free(t);
}

static void guess_proto(void **state)
{
	assert_string_equal(flow_guess_proto((const unsigned char *)"\x05\x02\x00\x02", 4), "SOCKS5");
	assert_string_equal(flow_guess_proto((const unsigned char *)"\x04\x01\x00\x50", 4), "SOCKS4");
	assert_string_equal(flow_guess_proto((const unsigned char *)"CONNECT a:443", 13), "CONNECT");
	assert_string_equal(flow_guess_proto((const unsigned char *)"GET http://a/", 13), "HTTP");
	assert_string_equal(flow_guess_proto((const unsigned char *)"\x16\x03\x01", 3), "TLS");
	assert_string_equal(flow_guess_proto((const unsigned char *)"PING", 4), "?");
	assert_string_equal(flow_guess_proto((const unsigned char *)"", 0), "-");
	assert_string_equal(flow_guess_proto((const unsigned char *)"\x05\x00", 2), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(simple),
		cmocka_unit_test(wrap_around),
		cmocka_unit_test(retransmit_and_overlap),
		cmocka_unit_test(out_of_order),
		cmocka_unit_test(interleave_by_timestamp),
		cmocka_unit_test(missing_syn),
		cmocka_unit_test(mid_flow_start_moves_back),
		cmocka_unit_test(rst_mid_stream),
		cmocka_unit_test(gap_names_range),
		cmocka_unit_test(snaplen_cut),
		cmocka_unit_test(caps),
		cmocka_unit_test(port_reuse_and_counting_only),
		cmocka_unit_test(random_segments),
		cmocka_unit_test(guess_proto),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

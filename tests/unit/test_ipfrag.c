/*
 * test_ipfrag: IPv4 and IPv6 fragment reassembly: any order, duplicates ignored, overlaps drop the
 * datagram (RFC 5722), inconsistent lengths, caps, timeout, snaplen-cut fragments, non-TCP passes.
 */
#include "api.h"

#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "decode.h"
#include "ipfrag.h"

#define PAYLOAD 64

static unsigned char body[PAYLOAD];     /* the datagram's payload: a TCP header and data */

static void init_body(void)
{
	size_t i;

	memset(body, 0, sizeof(body));
	body[0] = 0x9c, body[1] = 0x40;         /* sport 40000 */
	body[2] = 0x04, body[3] = 0x38;         /* dport 1080 */
	body[12] = 5 << 4;                      /* data offset 20 */
	body[13] = 0x18;                        /* PSH ACK */
	for (i = 20; i < PAYLOAD; i++)
		body[i] = (unsigned char)('a' + i % 26);
}

/* An IPv4 fragment of body [off, off+len), id, MF as given. Returns the packet length. */
static size_t v4(unsigned char *p, uint16_t id, size_t off, size_t len, bool more, const unsigned char *data)
{
	size_t n = 20 + len;
	uint16_t fl = (uint16_t)((more ? 0x2000 : 0) | (off / 8));

	memset(p, 0, 20);
	p[0] = 0x45;
	p[2] = (unsigned char)(n >> 8), p[3] = (unsigned char)n;
	p[4] = (unsigned char)(id >> 8), p[5] = (unsigned char)id;
	p[6] = (unsigned char)(fl >> 8), p[7] = (unsigned char)fl;
	p[8] = 64, p[9] = 6;
	p[12] = 10, p[15] = 1;
	p[16] = 10, p[19] = 2;
	memcpy(p + 20, data ? data : body + off, len);
	return n;
}

/* An IPv6 fragment (base header + Fragment header). */
static size_t v6(unsigned char *p, uint32_t id, size_t off, size_t len, bool more, uint8_t inner)
{
	size_t n = 48 + len;
	uint16_t ol = (uint16_t)(off | (more ? 1 : 0));

	memset(p, 0, 48);
	p[0] = 0x60;
	p[4] = (unsigned char)((n - 40) >> 8), p[5] = (unsigned char)(n - 40);
	p[6] = 44, p[7] = 64;
	p[23] = 1, p[39] = 2;
	p[40] = inner;
	p[42] = (unsigned char)(ol >> 8), p[43] = (unsigned char)ol;
	p[44] = (unsigned char)(id >> 24), p[47] = (unsigned char)id;
	memcpy(p + 48, body + off, len);
	return n;
}

static enum ipfrag_rc in(struct ipfrag *t, const unsigned char *p, size_t n, uint64_t ts, const unsigned char **out,
			 size_t *outlen, char *note)
{
	return ipfrag_input(t, p, n, 0, ts, out, outlen, note, 200);
}

/* The rebuilt datagram decodes to the whole segment. */
static void check_whole(const unsigned char *out, size_t outlen, int family)
{
	struct pkt p;
	char note[200];

	assert_int_equal(decode_ip(out, outlen, 0, 0, &p, note, sizeof(note)), DECODE_OK);
	assert_int_equal(p.family, family);
	assert_int_equal(p.sport, 40000);
	assert_int_equal(p.dport, 1080);
	assert_int_equal(p.len, PAYLOAD - 20);
	assert_memory_equal(p.payload, body + 20, PAYLOAD - 20);
}

static void v4_any_order(void **state)
{
	static const size_t orders[][3] = {{0, 1, 2}, {2, 1, 0}, {1, 2, 0}, {2, 0, 1}};
	unsigned char p[3][128];
	size_t n[3], i, k;
	const unsigned char *out = NULL;
	size_t outlen = 0;
	char note[200];

	init_body();
	n[0] = v4(p[0], 7, 0, 24, true, NULL);
	n[1] = v4(p[1], 7, 24, 24, true, NULL);
	n[2] = v4(p[2], 7, 48, 16, false, NULL);
	for (k = 0; k < ARRAY_SIZE(orders); k++) {
		struct ipfrag *t = ipfrag_new();

		for (i = 0; i < 2; i++)
			assert_int_equal(in(t, p[orders[k][i]], n[orders[k][i]], 1, &out, &outlen, note), IPFRAG_HELD);
		assert_int_equal(ipfrag_pending(t), 1);
		assert_int_equal(in(t, p[orders[k][2]], n[orders[k][2]], 2, &out, &outlen, note), IPFRAG_DONE);
		assert_int_equal(outlen, 20 + PAYLOAD);
		assert_int_equal(out[6] | out[7], 0);
		check_whole(out, outlen, AF_INET);
		assert_int_equal(ipfrag_pending(t), 0);
		assert_int_equal(ipfrag_stats(t)->datagrams, 1);
		ipfrag_free(t);
	}
}

static void v6_reassembles(void **state)
{
	struct ipfrag *t = ipfrag_new();
	unsigned char a[128], b[128], c[128];
	size_t na, nb, nc;
	const unsigned char *out;
	size_t outlen;
	char note[200];

	init_body();
	na = v6(a, 99, 0, 32, true, 6);
	nb = v6(b, 99, 32, 32, false, 6);
	assert_int_equal(in(t, b, nb, 1, &out, &outlen, note), IPFRAG_HELD);
	assert_int_equal(in(t, a, na, 1, &out, &outlen, note), IPFRAG_DONE);
	assert_int_equal(outlen, 40 + PAYLOAD);
	assert_int_equal(out[6], 6);            /* next header: TCP, the Fragment header is gone */
	check_whole(out, outlen, AF_INET6);
	/* Another id is another datagram; a fragment of UDP is not ours. */
	nc = v6(c, 100, 0, 32, true, 17);
	assert_int_equal(in(t, c, nc, 1, &out, &outlen, note), IPFRAG_PASS);
	ipfrag_free(t);
}

static void duplicates_ignored_overlaps_drop(void **state)
{
	struct ipfrag *t = ipfrag_new();
	unsigned char a[128], b[128], c[128], x[128];
	unsigned char junk[16];
	size_t na, nb, nc, nx;
	const unsigned char *out;
	size_t outlen;
	char note[200];

	init_body();
	memset(junk, 'X', sizeof(junk));
	na = v4(a, 1, 0, 24, true, NULL);
	nb = v4(b, 1, 24, 24, true, NULL);
	nc = v4(c, 1, 48, 16, false, NULL);
	assert_int_equal(in(t, a, na, 1, &out, &outlen, note), IPFRAG_HELD);
	assert_int_equal(in(t, a, na, 1, &out, &outlen, note), IPFRAG_HELD);      /* exact duplicate */
	assert_non_null(strstr(note, "duplicate"));
	nx = v4(x, 1, 8, 8, true, junk);                                          /* inside held bytes */
	assert_int_equal(in(t, x, nx, 1, &out, &outlen, note), IPFRAG_HELD);
	assert_int_equal(in(t, b, nb, 1, &out, &outlen, note), IPFRAG_HELD);
	assert_int_equal(in(t, c, nc, 1, &out, &outlen, note), IPFRAG_DONE);
	check_whole(out, outlen, AF_INET);      /* the duplicate did not overwrite anything that matters */
	assert_int_equal(ipfrag_stats(t)->duplicates, 2);

	/* A fragment straddling two held ones with other bytes: the datagram is dropped, for good. */
	na = v4(a, 2, 0, 24, true, NULL);
	nc = v4(c, 2, 48, 16, false, NULL);
	nx = v4(x, 2, 16, 16, true, junk);
	assert_int_equal(in(t, a, na, 1, &out, &outlen, note), IPFRAG_HELD);
	assert_int_equal(in(t, c, nc, 1, &out, &outlen, note), IPFRAG_HELD);
	assert_int_equal(in(t, x, nx, 1, &out, &outlen, note), IPFRAG_DROP);
	assert_non_null(strstr(note, "overlaps"));
	nb = v4(b, 2, 24, 24, true, NULL);
	assert_int_equal(in(t, b, nb, 1, &out, &outlen, note), IPFRAG_DROP);
	assert_non_null(strstr(note, "already dropped"));
	assert_int_equal(ipfrag_stats(t)->dropped, 1);
	ipfrag_free(t);
}

static void v6_overlap_drops(void **state)
{
	struct ipfrag *t = ipfrag_new();
	unsigned char a[128], b[128];
	size_t na, nb;
	const unsigned char *out;
	size_t outlen;
	char note[200];

	init_body();
	na = v6(a, 5, 0, 32, true, 6);
	nb = v6(b, 5, 24, 40, false, 6);
	assert_int_equal(in(t, a, na, 1, &out, &outlen, note), IPFRAG_HELD);
	assert_int_equal(in(t, b, nb, 1, &out, &outlen, note), IPFRAG_DROP);
	assert_non_null(strstr(note, "RFC 5722"));
	/* Not a multiple of 8 and not the last: RFC 8200 discards it. */
	na = v6(a, 6, 0, 20, true, 6);
	assert_int_equal(in(t, a, na, 1, &out, &outlen, note), IPFRAG_DROP);
	ipfrag_free(t);
}

static void inconsistent_cut_timeout_caps(void **state)
{
	struct ipfrag *t = ipfrag_new();
	unsigned char a[128], b[128];
	size_t na, nb, i;
	const unsigned char *out;
	size_t outlen;
	char note[200];

	init_body();
	/* Data past the last fragment's end. */
	na = v4(a, 3, 48, 16, true, NULL);
	nb = v4(b, 3, 24, 8, false, NULL);
	assert_int_equal(in(t, a, na, 1, &out, &outlen, note), IPFRAG_HELD);
	assert_int_equal(in(t, b, nb, 1, &out, &outlen, note), IPFRAG_DROP);
	assert_non_null(strstr(note, "length"));
	/* Cut by the snaplen. */
	na = v4(a, 4, 0, 24, true, NULL);
	assert_int_equal(in(t, a, na - 1, 1, &out, &outlen, note), IPFRAG_DROP);
	assert_non_null(strstr(note, "snaplen"));
	/* A datagram whose rest never comes expires after 30 s of capture time. */
	na = v4(a, 5, 0, 24, true, NULL);
	assert_int_equal(in(t, a, na, 1000000, &out, &outlen, note), IPFRAG_HELD);
	assert_int_equal(ipfrag_pending(t), 1);
	nb = v4(b, 6, 0, 24, true, NULL);
	assert_int_equal(in(t, b, nb, 1000000 + IPFRAG_TIMEOUT_US + 1, &out, &outlen, note), IPFRAG_HELD);
	assert_int_equal(ipfrag_pending(t), 1);
	ipfrag_free(t);

	/* At most IPFRAG_MAX_DATAGRAMS pending. */
	t = ipfrag_new();
	for (i = 0; i < IPFRAG_MAX_DATAGRAMS; i++) {
		na = v4(a, (uint16_t)(100 + i), 0, 24, true, NULL);
		assert_int_equal(in(t, a, na, 1, &out, &outlen, note), IPFRAG_HELD);
	}
	na = v4(a, 999, 0, 24, true, NULL);
	assert_int_equal(in(t, a, na, 1, &out, &outlen, note), IPFRAG_DROP);
	assert_non_null(strstr(note, "pending"));
	ipfrag_free(t);
}

static void not_fragments_pass(void **state)
{
	struct ipfrag *t = ipfrag_new();
	unsigned char a[128];
	size_t na;
	const unsigned char *out;
	size_t outlen;
	char note[200];

	init_body();
	na = v4(a, 1, 0, PAYLOAD, false, NULL);
	assert_int_equal(in(t, a, na, 1, &out, &outlen, note), IPFRAG_PASS);
	na = v4(a, 1, 0, 24, true, NULL);
	a[9] = 17;
	assert_int_equal(in(t, a, na, 1, &out, &outlen, note), IPFRAG_PASS);
	assert_int_equal(in(t, a, 3, 1, &out, &outlen, note), IPFRAG_PASS);
	ipfrag_free(t);
	ipfrag_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(v4_any_order),
		cmocka_unit_test(v6_reassembles),
		cmocka_unit_test(duplicates_ignored_overlaps_drop),
		cmocka_unit_test(v6_overlap_drops),
		cmocka_unit_test(inconsistent_cut_timeout_caps),
		cmocka_unit_test(not_fragments_pass),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

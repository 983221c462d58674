/*
 * test_decode: link-type table, IPv4/IPv6/TCP decoding, every-prefix truncation of each frame.
 */
#include "api.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <pcap/dlt.h>
#include <cmocka.h>

#include "capture.h"
#include "decode.h"

static const unsigned char payload[] = "\x05\x01\x00hello";
#define PLEN 8

/* Writes a TCP header (with a 12-byte NOP,NOP,timestamp option) + payload at p; returns its length. */
static size_t put_tcp(unsigned char *p, uint16_t sport, uint16_t dport, uint32_t seq, uint8_t flags)
{
	memset(p, 0, 32);
	p[0] = sport >> 8, p[1] = sport & 0xff;
	p[2] = dport >> 8, p[3] = dport & 0xff;
	p[4] = seq >> 24, p[5] = (seq >> 16) & 0xff, p[6] = (seq >> 8) & 0xff, p[7] = seq & 0xff;
	p[11] = 7;              /* ack 7 */
	p[12] = 8 << 4;         /* 32-byte header */
	p[13] = flags;
	p[20] = 1, p[21] = 1, p[22] = 8, p[23] = 10;
	memcpy(p + 32, payload, PLEN);
	return 32 + PLEN;
}

static size_t put_ipv4(unsigned char *p, uint16_t frag)
{
	size_t tl = put_tcp(p + 24, 40000, 1080, 0xfffffffe, PKT_ACK | PKT_PSH);

	memset(p, 0, 24);
	p[0] = 0x46;            /* IHL 6: one 4-byte option (NOPs) */
	p[20] = 1, p[21] = 1, p[22] = 1, p[23] = 0;
	p[2] = (uint8_t)((24 + tl) >> 8), p[3] = (uint8_t)((24 + tl) & 0xff);
	p[6] = frag >> 8, p[7] = frag & 0xff;
	p[8] = 64, p[9] = 6;
	p[12] = 127, p[15] = 1;
	p[16] = 10, p[19] = 2;
	return 24 + tl;
}

static size_t put_ipv6(unsigned char *p, bool ext, bool frag)
{
	size_t off = 40, tl;

	memset(p, 0, 40);
	p[0] = 0x60;
	p[6] = ext ? 0 : frag ? 44 : 6;
	p[7] = 64;
	p[23] = 1;              /* ::1 */
	p[39] = 2;              /* ::2 */
	if (ext) {              /* hop-by-hop (8 bytes) then destination options (16 bytes) */
		memset(p + off, 0, 24);
		p[off] = 60, p[off + 1] = 0;
		off += 8;
		p[off] = frag ? 44 : 6, p[off + 1] = 1;
		off += 16;
	}
	if (frag) {
		memset(p + off, 0, 8);
		p[off] = 6;
		off += 8;
	}
	tl = put_tcp(p + off, 40000, 1080, 5, PKT_ACK);
	p[4] = (uint8_t)((off - 40 + tl) >> 8), p[5] = (uint8_t)((off - 40 + tl) & 0xff);
	return off + tl;
}

static void check_tcp(const struct pkt *p, int family)
{
	assert_int_equal(p->family, family);
	assert_int_equal(p->sport, 40000);
	assert_int_equal(p->dport, 1080);
	assert_int_equal(p->len, PLEN);
	assert_int_equal(p->wire_len, PLEN);
	assert_false(p->cut);
	assert_memory_equal(p->payload, payload, PLEN);
}

static void ipv4_fields(void **state)
{
	unsigned char f[256];
	size_t n = put_ipv4(f, 0x4000);
	struct pkt p;
	char note[160];

	assert_int_equal(decode_ip(f, n, 0, 42, &p, note, sizeof(note)), DECODE_OK);
	check_tcp(&p, AF_INET);
	assert_int_equal(p.seq, 0xfffffffe);
	assert_int_equal(p.ack, 7);
	assert_int_equal(p.flags, PKT_ACK | PKT_PSH);
	assert_int_equal(p.ts_us, 42);
	assert_memory_equal(p.src, "\x7f\0\0\x01", 4);
	assert_memory_equal(p.dst, "\x0a\0\0\x02", 4);
	/* Ethernet padding after the IP total length is not payload. */
	memset(f + n, 0xee, 10);
	assert_int_equal(decode_ip(f, n + 10, 0, 0, &p, note, sizeof(note)), DECODE_OK);
	assert_int_equal(p.len, PLEN);
	/* Total length 0 (segmentation offload): what was captured counts. */
	f[2] = f[3] = 0;
	assert_int_equal(decode_ip(f, n, 0, 0, &p, note, sizeof(note)), DECODE_OK);
	assert_int_equal(p.len, PLEN);
}

static void ipv4_fragments_rejected(void **state)
{
	unsigned char f[256];
	size_t n;
	struct pkt p;
	char note[160];

	n = put_ipv4(f, 0x2000);        /* more fragments */
	assert_int_equal(decode_ip(f, n, 0, 0, &p, note, sizeof(note)), DECODE_BAD);
	assert_non_null(strstr(note, "fragment"));
	n = put_ipv4(f, 0x00b9);        /* offset 1480 */
	assert_int_equal(decode_ip(f, n, 0, 0, &p, note, sizeof(note)), DECODE_BAD);
	assert_non_null(strstr(note, "offset 1480"));
}

static void ipv4_not_tcp(void **state)
{
	unsigned char f[256];
	size_t n = put_ipv4(f, 0);
	struct pkt p;
	char note[160];

	f[9] = 17;
	assert_int_equal(decode_ip(f, n, 0, 0, &p, note, sizeof(note)), DECODE_SKIP);
	assert_non_null(strstr(note, "17"));
}

static void ipv6_ext_headers(void **state)
{
	unsigned char f[256];
	size_t n;
	struct pkt p;
	char note[160];

	n = put_ipv6(f, false, false);
	assert_int_equal(decode_ip(f, n, 0, 0, &p, note, sizeof(note)), DECODE_OK);
	check_tcp(&p, AF_INET6);
	assert_int_equal(p.src[15], 1);
	assert_int_equal(p.dst[15], 2);
	n = put_ipv6(f, true, false);
	assert_int_equal(decode_ip(f, n, 0, 0, &p, note, sizeof(note)), DECODE_OK);
	check_tcp(&p, AF_INET6);
	n = put_ipv6(f, true, true);
	assert_int_equal(decode_ip(f, n, 0, 0, &p, note, sizeof(note)), DECODE_BAD);
	assert_non_null(strstr(note, "fragment"));
	n = put_ipv6(f, false, true);
	assert_int_equal(decode_ip(f, n, 0, 0, &p, note, sizeof(note)), DECODE_BAD);
	/* An extension header whose length runs past the packet. */
	n = put_ipv6(f, true, false);
	f[41] = 200;
	assert_int_equal(decode_ip(f, n, 0, 0, &p, note, sizeof(note)), DECODE_BAD);
}

static void tcp_header_checks(void **state)
{
	unsigned char f[256];
	size_t n;
	struct pkt p;
	char note[160];

	n = put_ipv4(f, 0);
	f[24 + 12] = 4 << 4;            /* data offset 16 < 20 */
	assert_int_equal(decode_ip(f, n, 0, 0, &p, note, sizeof(note)), DECODE_BAD);
	n = put_ipv4(f, 0);
	f[24 + 12] = 15 << 4;           /* 60-byte header longer than the segment */
	assert_int_equal(decode_ip(f, n, 0, 0, &p, note, sizeof(note)), DECODE_BAD);
	n = put_ipv4(f, 0);
	f[24 + 22] = 8, f[24 + 23] = 40; /* option length past the header */
	assert_int_equal(decode_ip(f, n, 0, 0, &p, note, sizeof(note)), DECODE_BAD);
	assert_non_null(strstr(note, "option"));
	n = put_ipv4(f, 0);
	f[24 + 22] = 8, f[24 + 23] = 1; /* option length 1 */
	assert_int_equal(decode_ip(f, n, 0, 0, &p, note, sizeof(note)), DECODE_BAD);
}

/* Frames of each link type around the same IPv4 packet (or IPv6 with v6). */
static size_t frame(int dlt, bool v6, bool swap_af, unsigned char *f)
{
	unsigned char ip[256];
	size_t n = v6 ? put_ipv6(ip, true, false) : put_ipv4(ip, 0), h = 0;
	uint16_t et = v6 ? 0x86dd : 0x0800;

	switch (dlt) {
	case DLT_EN10MB:
		memset(f, 0xaa, 12);
		f[12] = 0x81, f[13] = 0x00, f[14] = 0, f[15] = 42;      /* 802.1Q */
		f[16] = 0x88, f[17] = 0xa8, f[18] = 0, f[19] = 7;       /* 802.1ad */
		f[20] = et >> 8, f[21] = et & 0xff;
		h = 22;
		break;
	case DLT_NULL:
	case DLT_LOOP: {
		uint32_t af = v6 ? 30 : 2;

		if (swap_af)
			f[0] = af & 0xff, f[1] = 0, f[2] = 0, f[3] = 0;
		else
			f[0] = 0, f[1] = 0, f[2] = 0, f[3] = af & 0xff;
		h = 4;
		break;
	}
	case DLT_LINUX_SLL:
		memset(f, 0, 16);
		f[14] = et >> 8, f[15] = et & 0xff;
		h = 16;
		break;
	case DLT_LINUX_SLL2:
		memset(f, 0, 20);
		f[0] = et >> 8, f[1] = et & 0xff;
		h = 20;
		break;
	default:
		h = 0;
	}
	memcpy(f + h, ip, n);
	return h + n;
}

static const int dlts[] = {DLT_EN10MB, DLT_NULL, DLT_LOOP, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_RAW, 101,
			   DLT_IPV4, DLT_IPV6};

static void each_link_type(void **state)
{
	unsigned char f[512];
	struct pkt p;
	char note[160];
	size_t i, n;
	int v6, sw;

	for (i = 0; i < ARRAY_SIZE(dlts); i++) {
		for (v6 = 0; v6 < 2; v6++) {
			for (sw = 0; sw < 2; sw++) {
				n = frame(dlts[i], v6, sw, f);
				assert_true(decode_linktype_supported(dlts[i]));
				assert_int_equal(decode_frame(dlts[i], f, n, n, 9, &p, note, sizeof(note)),
						 DECODE_OK);
				check_tcp(&p, v6 ? AF_INET6 : AF_INET);
			}
		}
	}
}

static void non_ip_and_unsupported(void **state)
{
	unsigned char f[64] = {0};
	struct pkt p;
	char note[160];

	f[12] = 0x08, f[13] = 0x06;     /* ARP */
	assert_int_equal(decode_frame(DLT_EN10MB, f, 42, 42, 0, &p, note, sizeof(note)), DECODE_SKIP);
	assert_non_null(strstr(note, "0x0806"));
	f[3] = 7;                       /* AF 7 */
	assert_int_equal(decode_frame(DLT_NULL, f, 40, 40, 0, &p, note, sizeof(note)), DECODE_SKIP);
	assert_false(decode_linktype_supported(DLT_IEEE802_11));
	assert_int_equal(decode_frame(DLT_IEEE802_11, f, 40, 40, 0, &p, note, sizeof(note)), DECODE_BAD);
	assert_non_null(strstr(note, "not supported"));
	/* Ethertype says IPv4, the packet is IPv6. */
	{
		unsigned char g[512];
		size_t n = frame(DLT_LINUX_SLL, true, false, g);

		g[14] = 0x08, g[15] = 0x00;
		assert_int_equal(decode_frame(DLT_LINUX_SLL, g, n, n, 0, &p, note, sizeof(note)), DECODE_BAD);
	}
}

/*
 * Every prefix of every frame: a header cut is DECODE_BAD, a payload cut is DECODE_OK with cut set and
 * exactly the captured payload bytes. Each prefix is copied to a buffer of exactly its size so that
 * ASan catches any read past the captured bytes.
 */
static void every_prefix(void **state)
{
	unsigned char f[512], *g;
	struct pkt p;
	char note[160];
	size_t i, n, k;
	int v6;
	enum decode_rc rc;

	for (i = 0; i < ARRAY_SIZE(dlts); i++) {
		for (v6 = 0; v6 < 2; v6++) {
			n = frame(dlts[i], v6, false, f);
			for (k = 0; k < n; k++) {
				g = malloc(k ? k : 1);
				assert_non_null(g);
				memcpy(g, f, k);
				rc = decode_frame(dlts[i], g, k, n, 0, &p, note, sizeof(note));
				if (k >= n - PLEN) {
					assert_int_equal(rc, DECODE_OK);
					assert_true(p.cut);
					assert_int_equal(p.len, k - (n - PLEN));
					assert_int_equal(p.wire_len, PLEN);
				} else {
					assert_int_equal(rc, DECODE_BAD);
					assert_true(note[0] != 0);
				}
				free(g);
			}
		}
	}
}

/* Random byte flips of valid frames: whatever the bytes say, decoding stays inside the buffer (ASan)
 * and a decoded payload lies inside the frame. */
static void random_flips(void **state)
{
	unsigned char f[512], *g;
	struct pkt p;
	char note[160];
	size_t i, n, k;
	unsigned seed = 12345;
	int round;

	for (i = 0; i < ARRAY_SIZE(dlts); i++) {
		for (round = 0; round < 3000; round++) {
			n = frame(dlts[i], round & 1, false, f);
			g = malloc(n);
			assert_non_null(g);
			memcpy(g, f, n);
			for (k = 0; k < 3; k++) {
				seed = seed * 1103515245u + 12345u;
				g[(seed >> 8) % n] = (unsigned char)(seed >> 20);
			}
			if (decode_frame(dlts[i], g, n, n, 0, &p, note, sizeof(note)) == DECODE_OK && p.len) {
				assert_true(p.payload >= g);
				assert_true(p.payload + p.len <= g + n);
			}
			free(g);
		}
	}
}

static void addr_format(void **state)
{
	uint8_t a[16] = {0};
	char out[80];

	a[0] = 127, a[3] = 1;
	pkt_addr_fmt(AF_INET, a, 1080, out, sizeof(out));
	assert_string_equal(out, "127.0.0.1:1080");
	memset(a, 0, 16);
	a[15] = 1;
	pkt_addr_fmt(AF_INET6, a, 443, out, sizeof(out));
	assert_string_equal(out, "[::1]:443");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ipv4_fields),
		cmocka_unit_test(ipv4_fragments_rejected),
		cmocka_unit_test(ipv4_not_tcp),
		cmocka_unit_test(ipv6_ext_headers),
		cmocka_unit_test(tcp_header_checks),
		cmocka_unit_test(each_link_type),
		cmocka_unit_test(non_ip_and_unsupported),
		cmocka_unit_test(every_prefix),
		cmocka_unit_test(random_flips),
		cmocka_unit_test(addr_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

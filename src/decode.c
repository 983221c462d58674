/*
 * decode: a captured frame's link header (the link-type table below), then IPv4 (RFC 791), IPv6 (RFC 8200)
 * and TCP (RFC 9293) headers into a struct pkt. No libpcap: capture.c reads frames, this file parses them.
 *
 * Every field is read with rd.h's bounds-checked readers over the captured bytes only; a header that
 * the capture cut is DECODE_BAD with a note saying where, a payload that the snaplen cut is delivered as
 * far as it was captured and flagged (pkt.cut) so that reassembly reports the missing bytes.
 */
#include "api.h"

#include <arpa/inet.h>
#include <pcap/dlt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "decode.h"
#include "ipfrag.h"
#include "rd.h"
#include "util.h"

#define IPPROTO_TCP_NUM 6
#define IPV6_MAX_EXT    16      /* extension headers walked before giving up: hostile chains end here */
#define LINKTYPE_RAW_NUM 101    /* LINKTYPE_RAW in files; libpcap maps it to DLT_RAW, accept both */

/* ------------------------------------------------------------------------------------------------ */
/*
 * The link layer: the link-type dispatch table (https://www.tcpdump.org/linktypes.html): EN10MB (Ethernet,
 * 802.1Q/802.1ad VLAN tags), NULL and LOOP (BSD loopback: a 4-byte AF value, host byte order of the
 * capturing machine for NULL, network byte order for LOOP), LINUX_SLL (16-byte cooked header), LINUX_SLL2
 * (20-byte cooked header), RAW / IPV4 / IPV6 (the IP header first).
 */

static int ethertype_family(uint16_t et)
{
	if (et == 0x0800)
		return AF_INET;
	if (et == 0x86dd)
		return AF_INET6;
	return 0;
}

static int decap_en10mb(const unsigned char *f, size_t n, size_t *off, int *family, char *note, size_t nl)
{
	uint16_t et;
	size_t o = 12;
	int tags;

	if (rd_be16(f, n, o, &et) == -1) {
		set_err(note, nl, "Ethernet header cut at %zu of 14 bytes", n);
		return -1;
	}
	/* 802.1Q (0x8100), 802.1ad (0x88a8) and the old QinQ 0x9100: skip up to two tags. */
	for (tags = 0; (et == 0x8100 || et == 0x88a8 || et == 0x9100) && tags < 2; tags++) {
		o += 4;
		if (rd_be16(f, n, o, &et) == -1) {
			set_err(note, nl, "VLAN tag cut at %zu bytes", n);
			return -1;
		}
	}
	*off = o + 2;
	*family = ethertype_family(et);
	if (!*family) {
		set_err(note, nl, "ethertype 0x%04x is not IP", et);
		return 0;
	}
	return 1;
}

static int af_family(uint32_t af)
{
	/* BSD AF_INET is 2 everywhere; AF_INET6 is 24 (NetBSD/OpenBSD), 28 (FreeBSD), 30 (Darwin), 10 (Linux). */
	if (af == 2)
		return AF_INET;
	if (af == 10 || af == 24 || af == 28 || af == 30)
		return AF_INET6;
	return 0;
}

static int decap_null(const unsigned char *f, size_t n, size_t *off, int *family, char *note, size_t nl)
{
	uint32_t af;

	if (rd_be32(f, n, 0, &af) == -1) {
		set_err(note, nl, "loopback header cut at %zu of 4 bytes", n);
		return -1;
	}
	/* The writer's byte order is unknown (NULL is host order of the capturing machine): AF values are
	 * small, so a value with its low 16 bits clear is the other byte order. */
	if (!(af & 0xffff))
		af = __builtin_bswap32(af);
	*off = 4;
	*family = af_family(af);
	if (!*family) {
		set_err(note, nl, "loopback address family %u is not IP", af);
		return 0;
	}
	return 1;
}

/* Linux cooked captures: the protocol (an ethertype) at proto_off, the IP header at hdr_len. */
static int decap_cooked(const unsigned char *f, size_t n, size_t proto_off, size_t hdr_len, const char *what,
			size_t *off, int *family, char *note, size_t nl)
{
	uint16_t proto;

	if (rd_be16(f, n, proto_off, &proto) == -1 || n < hdr_len) {
		set_err(note, nl, "%s header cut at %zu of %zu bytes", what, n, hdr_len);
		return -1;
	}
	*off = hdr_len;
	*family = ethertype_family(proto);
	if (!*family) {
		set_err(note, nl, "cooked protocol 0x%04x is not IP", proto);
		return 0;
	}
	return 1;
}

static int decap_sll(const unsigned char *f, size_t n, size_t *off, int *family, char *note, size_t nl)
{
	return decap_cooked(f, n, 14, 16, "Linux cooked", off, family, note, nl);
}

static int decap_sll2(const unsigned char *f, size_t n, size_t *off, int *family, char *note, size_t nl)
{
	return decap_cooked(f, n, 0, 20, "Linux cooked v2", off, family, note, nl);
}

static int decap_raw(const unsigned char *f, size_t n, size_t *off, int *family, char *note, size_t nl)
{
	uint8_t v;

	if (rd_u8(f, n, 0, &v) == -1) {
		set_err(note, nl, "empty raw IP frame");
		return -1;
	}
	*off = 0;
	*family = (v >> 4) == 4 ? AF_INET : (v >> 4) == 6 ? AF_INET6 : 0;
	if (!*family) {
		set_err(note, nl, "IP version %u is neither 4 nor 6", v >> 4);
		return -1;
	}
	return 1;
}

static const struct {
	int dlt;
	const char *name;
	int (*decap)(const unsigned char *f, size_t n, size_t *off, int *family, char *note, size_t nl);
} linktypes[] = {
	{DLT_EN10MB,       "EN10MB",      decap_en10mb},
	{DLT_NULL,         "NULL",        decap_null},
	{DLT_LOOP,         "LOOP",        decap_null},
	{DLT_LINUX_SLL,    "LINUX_SLL",   decap_sll},
	{DLT_LINUX_SLL2,   "LINUX_SLL2",  decap_sll2},
	{DLT_RAW,          "RAW",         decap_raw},
	{LINKTYPE_RAW_NUM, "RAW",         decap_raw},
	{DLT_IPV4,         "IPV4",        decap_raw},
	{DLT_IPV6,         "IPV6",        decap_raw},
};

bool decode_linktype_supported(int dlt)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(linktypes); i++)
		if (linktypes[i].dlt == dlt)
			return true;
	return false;
}

const char *decode_linktype_name(int dlt)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(linktypes); i++)
		if (linktypes[i].dlt == dlt)
			return linktypes[i].name;
	return NULL;
}

int decode_link(int dlt, const unsigned char *frame, size_t caplen, const unsigned char **l3, size_t *l3len,
		int *family, char *note, size_t notelen)
{
	size_t i, off = 0;
	int rc;

	for (i = 0; i < ARRAY_SIZE(linktypes); i++) {
		if (linktypes[i].dlt != dlt)
			continue;
		rc = linktypes[i].decap(frame, caplen, &off, family, note, notelen);
		if (rc != 1)
			return rc;
		if (off > caplen) {
			set_err(note, notelen, "link header cut at %zu of %zu bytes", caplen, off);
			return -1;
		}
		*l3 = frame + off;
		*l3len = caplen - off;
		return 1;
	}
	set_err(note, notelen, "link type %d (%s) is not supported", dlt,
		decode_linktype_name(dlt) ? decode_linktype_name(dlt) : "unknown");
	return -1;
}


/* Walks the TCP options (RFC 9293 3.1): only to refuse a header whose option lengths are inconsistent. */
static int tcp_options_ok(const unsigned char *o, size_t n)
{
	size_t off = 0;
	uint8_t kind, len;

	while (off < n) {
		if (rd_u8(o, n, off, &kind) == -1)
			return -1;
		if (kind == 0)          /* end of option list */
			return 0;
		if (kind == 1) {        /* no-operation */
			off++;
			continue;
		}
		if (rd_u8(o, n, off + 1, &len) == -1 || len < 2 || !rd_has(n, off, len))
			return -1;
		off += len;
	}
	return 0;
}

/*
 * TCP header at t: avail bytes captured from there, wire_len bytes of TCP segment on the wire.
 */
static enum decode_rc decode_tcp(const unsigned char *t, size_t avail, size_t wire_len, struct pkt *p,
				 char *note, size_t notelen)
{
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t doff_b, flags;
	size_t hlen;

	if (rd_be16(t, avail, 0, &sport) == -1 || rd_be16(t, avail, 2, &dport) == -1 ||
	    rd_be32(t, avail, 4, &seq) == -1 || rd_be32(t, avail, 8, &ack) == -1 ||
	    rd_u8(t, avail, 12, &doff_b) == -1 || rd_u8(t, avail, 13, &flags) == -1 || avail < 20) {
		set_err(note, notelen, "TCP header cut at %zu of 20 bytes", avail);
		return DECODE_BAD;
	}
	hlen = (size_t)(doff_b >> 4) * 4;
	if (hlen < 20) {
		set_err(note, notelen, "TCP data offset %zu is shorter than the 20-byte header", hlen);
		return DECODE_BAD;
	}
	if (hlen > wire_len) {
		set_err(note, notelen, "TCP header (%zu bytes) longer than the segment (%zu bytes)", hlen, wire_len);
		return DECODE_BAD;
	}
	if (!rd_has(avail, 0, hlen)) {
		set_err(note, notelen, "TCP header cut at %zu of %zu bytes", avail, hlen);
		return DECODE_BAD;
	}
	if (tcp_options_ok(t + 20, hlen - 20) == -1) {
		set_err(note, notelen, "malformed TCP option list");
		return DECODE_BAD;
	}
	p->sport = sport;
	p->dport = dport;
	p->seq = seq;
	p->ack = ack;
	p->flags = flags & 0x3f;
	p->wire_len = wire_len - hlen;
	p->len = MIN(avail - hlen, p->wire_len);
	p->payload = p->len ? t + hlen : NULL;
	p->cut = p->len < p->wire_len;
	return DECODE_OK;
}

static enum decode_rc decode_ipv4(const unsigned char *ip, size_t caplen, size_t wire_extra, struct pkt *p,
				  char *note, size_t notelen)
{
	uint8_t vihl, proto;
	uint16_t total, frag;
	size_t hlen, wire_total, avail;

	if (rd_u8(ip, caplen, 0, &vihl) == -1 || rd_be16(ip, caplen, 2, &total) == -1 ||
	    rd_be16(ip, caplen, 6, &frag) == -1 || rd_u8(ip, caplen, 9, &proto) == -1 || caplen < 20) {
		set_err(note, notelen, "IPv4 header cut at %zu of 20 bytes", caplen);
		return DECODE_BAD;
	}
	hlen = (size_t)(vihl & 0x0f) * 4;
	if (hlen < 20) {
		set_err(note, notelen, "IPv4 header length %zu is shorter than 20 bytes", hlen);
		return DECODE_BAD;
	}
	if (!rd_has(caplen, 0, hlen)) {
		set_err(note, notelen, "IPv4 header cut at %zu of %zu bytes", caplen, hlen);
		return DECODE_BAD;
	}
	/* A total length of 0 is what Linux shows for segmentation-offloaded packets: use what was seen. */
	wire_total = total ? total : caplen + wire_extra;
	if (wire_total < hlen) {
		set_err(note, notelen, "IPv4 total length %zu is shorter than its header (%zu)", wire_total, hlen);
		return DECODE_BAD;
	}
	if (proto != IPPROTO_TCP_NUM) {
		set_err(note, notelen, "IPv4 protocol %u is not TCP", proto);
		return DECODE_SKIP;
	}
	if ((frag & 0x2000) || (frag & 0x1fff)) {
		/* decode_frame_defrag() reassembles them before calling us; alone, a fragment is no segment. */
		set_err(note, notelen, "IPv4 fragment (offset %u%s) without reassembly",
			(unsigned)(frag & 0x1fff) * 8, (frag & 0x2000) ? ", more fragments" : "");
		return DECODE_BAD;
	}
	p->family = AF_INET;
	memset(p->src, 0, sizeof(p->src));
	memset(p->dst, 0, sizeof(p->dst));
	memcpy(p->src, ip + 12, 4);
	memcpy(p->dst, ip + 16, 4);
	/* Ethernet pads short frames: bytes past the IP total length are not part of the segment. */
	avail = MIN(caplen, wire_total) - hlen;
	return decode_tcp(ip + hlen, avail, wire_total - hlen, p, note, notelen);
}

static enum decode_rc decode_ipv6(const unsigned char *ip, size_t caplen, size_t wire_extra, struct pkt *p,
				  char *note, size_t notelen)
{
	uint16_t plen;
	uint8_t nh, hdrlen;
	size_t off = 40, end, wire_end;
	int i;

	if (rd_be16(ip, caplen, 4, &plen) == -1 || rd_u8(ip, caplen, 6, &nh) == -1 || caplen < 40) {
		set_err(note, notelen, "IPv6 header cut at %zu of 40 bytes", caplen);
		return DECODE_BAD;
	}
	/* A payload length of 0 is a jumbogram or an offloaded segment: use what was seen. */
	wire_end = plen ? 40 + (size_t)plen : caplen + wire_extra;
	end = MIN(caplen, wire_end);
	for (i = 0; i < IPV6_MAX_EXT; i++) {
		switch (nh) {
		case IPPROTO_TCP_NUM:
			p->family = AF_INET6;
			memcpy(p->src, ip + 8, 16);
			memcpy(p->dst, ip + 24, 16);
			if (off > end) {
				set_err(note, notelen, "IPv6 extension headers run past the captured bytes");
				return DECODE_BAD;
			}
			return decode_tcp(ip + off, end - off, wire_end - off, p, note, notelen);
		case 0:  /* hop-by-hop options */
		case 43: /* routing */
		case 60: /* destination options */
		case 51: { /* authentication header (RFC 4302): length in 4-byte units minus 2 */
			uint8_t cur = nh;
			size_t elen;

			if (rd_u8(ip, end, off, &nh) == -1 || rd_u8(ip, end, off + 1, &hdrlen) == -1) {
				set_err(note, notelen, "IPv6 extension header cut at offset %zu", off);
				return DECODE_BAD;
			}
			elen = cur == 51 ? ((size_t)hdrlen + 2) * 4 : ((size_t)hdrlen + 1) * 8;
			if (!rd_has(end, off, elen)) {
				set_err(note, notelen, "IPv6 extension header (%zu bytes at offset %zu) cut", elen, off);
				return DECODE_BAD;
			}
			off += elen;
			break;
		}
		case 44: /* fragment */
			if (rd_u8(ip, end, off, &nh) == 0 && nh != IPPROTO_TCP_NUM) {
				set_err(note, notelen, "IPv6 fragment of next header %u, not TCP", nh);
				return DECODE_SKIP;
			}
			set_err(note, notelen, "IPv6 fragment without reassembly");
			return DECODE_BAD;
		case 59: /* no next header */
			set_err(note, notelen, "IPv6 packet without a payload");
			return DECODE_SKIP;
		default:
			set_err(note, notelen, "IPv6 next header %u is not TCP", nh);
			return DECODE_SKIP;
		}
	}
	set_err(note, notelen, "more than %d IPv6 extension headers", IPV6_MAX_EXT);
	return DECODE_BAD;
}

enum decode_rc decode_ip(const unsigned char *ip, size_t caplen, size_t wire_extra, uint64_t ts_us,
			 struct pkt *p, char *note, size_t notelen)
{
	uint8_t v;

	memset(p, 0, sizeof(*p));
	p->ts_us = ts_us;
	if (rd_u8(ip, caplen, 0, &v) == -1) {
		set_err(note, notelen, "no IP header captured");
		return DECODE_BAD;
	}
	switch (v >> 4) {
	case 4:
		return decode_ipv4(ip, caplen, wire_extra, p, note, notelen);
	case 6:
		return decode_ipv6(ip, caplen, wire_extra, p, note, notelen);
	default:
		set_err(note, notelen, "IP version %u is neither 4 nor 6", v >> 4);
		return DECODE_BAD;
	}
}

enum decode_rc decode_frame_defrag(struct ipfrag *fr, int linktype, const unsigned char *frame, size_t caplen,
				   size_t wirelen, uint64_t ts_us, struct pkt *p, char *note, size_t notelen)
{
	const unsigned char *l3 = NULL, *whole;
	size_t l3len = 0, wholelen, extra = wirelen > caplen ? wirelen - caplen : 0;
	int family, rc;
	enum decode_rc drc;

	memset(p, 0, sizeof(*p));
	p->ts_us = ts_us;
	rc = decode_link(linktype, frame, caplen, &l3, &l3len, &family, note, notelen);
	if (rc == -1)
		return DECODE_BAD;
	if (rc == 0)
		return DECODE_SKIP;
	/* without a table a fragment is decoded alone, so decode_ip() refuses it */
	switch (fr ? ipfrag_input(fr, l3, l3len, extra, ts_us, &whole, &wholelen, note, notelen) : IPFRAG_PASS) {
	case IPFRAG_PASS:
		drc = decode_ip(l3, l3len, extra, ts_us, p, note, notelen);
		break;
	case IPFRAG_HELD:
		return DECODE_HELD;
	case IPFRAG_DONE:
		drc = decode_ip(whole, wholelen, 0, ts_us, p, note, notelen);
		break;
	case IPFRAG_DROP:
	default:
		return DECODE_BAD;
	}
	if (drc == DECODE_OK && p->family != family) {
		set_err(note, notelen, "link header announces IPv%d but the packet is IPv%d",
			family == AF_INET ? 4 : 6, p->family == AF_INET ? 4 : 6);
		return DECODE_BAD;
	}
	return drc;
}

enum decode_rc decode_frame(int linktype, const unsigned char *frame, size_t caplen, size_t wirelen,
			    uint64_t ts_us, struct pkt *p, char *note, size_t notelen)
{
	return decode_frame_defrag(NULL, linktype, frame, caplen, wirelen, ts_us, p, note, notelen);
}

void pkt_addr_fmt(int family, const uint8_t *addr, uint16_t port, char *out, size_t outlen)
{
	char a[INET6_ADDRSTRLEN];

	if (!inet_ntop(family, addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	if (family == AF_INET6)
		snprintf(out, outlen, "[%s]:%u", a, port);
	else
		snprintf(out, outlen, "%s:%u", a, port);
}

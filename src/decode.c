/*
 * decode: IPv4 (RFC 791), IPv6 (RFC 8200) and TCP (RFC 9293) headers into a struct pkt.
 *
 * Every field is read with rd.h's bounds-checked readers over the captured bytes only; a header that
 * the capture cut is DECODE_BAD with a note saying where, a payload that the snaplen cut is delivered as
 * far as it was captured and flagged (pkt.cut) so that reassembly reports the missing bytes.
 */
#include "api.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "capture.h"
#include "decode.h"
#include "ipfrag.h"
#include "rd.h"
#include "util.h"

#define IPPROTO_TCP_NUM 6
#define IPV6_MAX_EXT    16      /* extension headers walked before giving up: hostile chains end here */

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

enum decode_rc decode_frame(int linktype, const unsigned char *frame, size_t caplen, size_t wirelen,
			    uint64_t ts_us, struct pkt *p, char *note, size_t notelen)
{
	const unsigned char *l3;
	size_t l3len;
	int family, rc;
	enum decode_rc drc;

	memset(p, 0, sizeof(*p));
	p->ts_us = ts_us;
	rc = capture_link_decap(linktype, frame, caplen, &l3, &l3len, &family, note, notelen);
	if (rc == -1)
		return DECODE_BAD;
	if (rc == 0)
		return DECODE_SKIP;
	drc = decode_ip(l3, l3len, wirelen > caplen ? wirelen - caplen : 0, ts_us, p, note, notelen);
	if (drc == DECODE_OK && p->family != family) {
		set_err(note, notelen, "link header announces IPv%d but the packet is IPv%d",
			family == AF_INET ? 4 : 6, p->family == AF_INET ? 4 : 6);
		return DECODE_BAD;
	}
	return drc;
}

enum decode_rc decode_frame_defrag(struct ipfrag *fr, int linktype, const unsigned char *frame, size_t caplen,
				   size_t wirelen, uint64_t ts_us, struct pkt *p, char *note, size_t notelen)
{
	const unsigned char *l3, *whole;
	size_t l3len, wholelen, extra = wirelen > caplen ? wirelen - caplen : 0;
	int family, rc;
	enum decode_rc drc;

	memset(p, 0, sizeof(*p));
	p->ts_us = ts_us;
	rc = capture_link_decap(linktype, frame, caplen, &l3, &l3len, &family, note, notelen);
	if (rc == -1)
		return DECODE_BAD;
	if (rc == 0)
		return DECODE_SKIP;
	switch (ipfrag_input(fr, l3, l3len, extra, ts_us, &whole, &wholelen, note, notelen)) {
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

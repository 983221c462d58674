/*
 * ipfrag: IP fragment reassembly (see ipfrag.h for the rules). References: RFC 791 §3.2 (IPv4
 * identification, flags, fragment offset in 8-byte units), RFC 8200 §4.5 (the IPv6 Fragment header and
 * the unfragmentable part), RFC 5722 §4 (overlapping IPv6 fragments drop the datagram), Linux
 * net/ipv4/inet_fragment.c inet_frag_queue_insert() (duplicates ignored, overlaps drop, for both).
 */
#include "api.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipfrag.h"
#include "rd.h"
#include "util.h"

#define IPV4_PROTO_TCP  6
#define IPV6_FRAG_HDR   44
#define IPV6_MAX_EXT    16
#define UNFRAG_MAX      512     /* IPv6 unfragmentable part kept (base header + extension headers) */
#define IP_MAX_TOTAL    65535u

struct range {
	uint32_t o, e;          /* [o, e): payload bytes held, merged with their neighbours */
};

struct dgram {
	bool used;
	bool dead;              /* dropped: later fragments of it are swallowed until it times out */
	int family;
	uint8_t src[16], dst[16];
	uint32_t id;
	uint8_t proto;          /* IPv4 only: part of the key */
	uint64_t t0;            /* capture time of its first fragment */
	unsigned char hdr[UNFRAG_MAX]; /* the offset-0 fragment's header (IPv6: the unfragmentable part) */
	size_t hlen;            /* 0 until the offset-0 fragment is in */
	size_t nh_pos;          /* IPv6: offset in hdr of the next-header byte that named the Fragment header */
	uint8_t inner;          /* IPv6: the protocol after the Fragment header */
	unsigned char *data;    /* payload, grown to the highest end seen */
	size_t cap;
	struct range *r;
	size_t nr, ar;
	size_t nfrags;
	bool have_last;
	uint32_t total;         /* payload length, once the last fragment is in */
};

struct ipfrag {
	struct dgram d[IPFRAG_MAX_DATAGRAMS];
	size_t held;            /* bytes of data buffers over all datagrams */
	unsigned char *out;     /* the datagram last handed out */
	struct ipfrag_stats st;
};

/* What one fragment says, parsed from its headers. */
struct frag {
	int family;
	const uint8_t *src, *dst;
	uint32_t id;
	uint8_t proto;
	uint32_t off;           /* payload offset in bytes */
	bool more;              /* MF: not the last fragment */
	const unsigned char *hdr; /* header to keep when off is 0 */
	size_t hlen;
	size_t nh_pos;
	const unsigned char *payload;
	size_t len;
};

struct ipfrag *ipfrag_new(void)
{
	return calloc(1, sizeof(struct ipfrag));
}

static void dgram_clear(struct ipfrag *t, struct dgram *d)
{
	t->held -= d->cap;
	free(d->data);
	free(d->r);
	memset(d, 0, sizeof(*d));
}

void ipfrag_free(struct ipfrag *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < IPFRAG_MAX_DATAGRAMS; i++)
		dgram_clear(t, &t->d[i]);
	free(t->out);
	free(t);
}

size_t ipfrag_pending(const struct ipfrag *t)
{
	size_t i, n = 0;

	for (i = 0; i < IPFRAG_MAX_DATAGRAMS; i++)
		n += t->d[i].used && !t->d[i].dead;
	return n;
}

const struct ipfrag_stats *ipfrag_stats(const struct ipfrag *t)
{
	return &t->st;
}

/* Drops a datagram for good: its buffers go, its key stays until it times out. */
static enum ipfrag_rc kill(struct ipfrag *t, struct dgram *d)
{
	t->held -= d->cap;
	free(d->data);
	free(d->r);
	d->data = NULL;
	d->r = NULL;
	d->cap = d->nr = d->ar = 0;
	d->dead = true;
	t->st.dropped++;
	return IPFRAG_DROP;
}

/* 1: a fragment to reassemble (f filled); 0: not a TCP fragment; -1: unusable (note set). */
static int parse_v4(const unsigned char *ip, size_t caplen, size_t wire_extra, struct frag *f, char *note,
		    size_t notelen)
{
	uint8_t vihl, proto;
	uint16_t total, id, fl;
	size_t hlen;

	if (rd_u8(ip, caplen, 0, &vihl) == -1 || rd_be16(ip, caplen, 2, &total) == -1 ||
	    rd_be16(ip, caplen, 4, &id) == -1 || rd_be16(ip, caplen, 6, &fl) == -1 ||
	    rd_u8(ip, caplen, 9, &proto) == -1 || caplen < 20)
		return 0; /* decode_ip says what is wrong with it */
	if (!(fl & 0x2000) && !(fl & 0x1fff))
		return 0;
	if (proto != IPV4_PROTO_TCP)
		return 0;
	hlen = (size_t)(vihl & 0x0f) * 4;
	if (hlen < 20 || total < hlen || !rd_has(caplen, 0, hlen))
		return 0;
	if (caplen < total) {
		set_err(note, notelen, "IPv4 fragment (offset %u) cut by the capture's snaplen: its datagram "
			"cannot be reassembled (capture again with tcpdump -s 0)", (unsigned)(fl & 0x1fff) * 8);
		return -1;
	}
	(void)wire_extra;
	f->family = AF_INET;
	f->src = ip + 12;
	f->dst = ip + 16;
	f->id = id;
	f->proto = proto;
	f->off = (uint32_t)(fl & 0x1fff) * 8;
	f->more = fl & 0x2000;
	f->hdr = ip;
	f->hlen = hlen;
	f->payload = ip + hlen;
	f->len = total - hlen;
	/* RFC 791: every fragment but the last carries a multiple of 8 bytes; Linux trims the excess. */
	if (f->more)
		f->len &= ~(size_t)7;
	return 1;
}

static int parse_v6(const unsigned char *ip, size_t caplen, size_t wire_extra, struct frag *f, char *note,
		    size_t notelen)
{
	uint16_t plen, offlg;
	uint32_t id;
	uint8_t nh, hdrlen, inner;
	size_t off = 40, nh_pos = 6, end;
	int i;

	if (rd_be16(ip, caplen, 4, &plen) == -1 || rd_u8(ip, caplen, 6, &nh) == -1 || caplen < 40)
		return 0;
	end = 40 + (size_t)plen;
	for (i = 0; i < IPV6_MAX_EXT && nh != IPV6_FRAG_HDR; i++) {
		uint8_t cur = nh;
		size_t elen;

		if (cur != 0 && cur != 43 && cur != 60 && cur != 51)
			return 0; /* TCP or anything else: not fragmented */
		if (rd_u8(ip, caplen, off, &nh) == -1 || rd_u8(ip, caplen, off + 1, &hdrlen) == -1)
			return 0;
		elen = cur == 51 ? ((size_t)hdrlen + 2) * 4 : ((size_t)hdrlen + 1) * 8;
		nh_pos = off;
		off += elen;
	}
	if (nh != IPV6_FRAG_HDR)
		return 0;
	if (rd_u8(ip, caplen, off, &inner) == -1 || rd_be16(ip, caplen, off + 2, &offlg) == -1 ||
	    rd_be32(ip, caplen, off + 4, &id) == -1)
		return 0;
	if (inner != IPV4_PROTO_TCP)
		return 0;
	if (!plen || end < off + 8) {
		set_err(note, notelen, "IPv6 fragment with a payload length of %u: cannot be reassembled", plen);
		return -1;
	}
	if (caplen < end || wire_extra) {
		set_err(note, notelen, "IPv6 fragment (offset %u) cut by the capture's snaplen: its datagram "
			"cannot be reassembled (capture again with tcpdump -s 0)", (unsigned)(offlg & 0xfff8));
		return -1;
	}
	if (off > UNFRAG_MAX) {
		set_err(note, notelen, "IPv6 fragment behind %zu bytes of extension headers: not reassembled", off);
		return -1;
	}
	f->family = AF_INET6;
	f->src = ip + 8;
	f->dst = ip + 24;
	f->id = id;
	f->proto = inner;
	f->off = offlg & 0xfff8;
	f->more = offlg & 1;
	f->hdr = ip;
	f->hlen = off;
	f->nh_pos = nh_pos;
	f->payload = ip + off + 8;
	f->len = end - off - 8;
	if (f->more && (f->len & 7)) {
		/* RFC 8200 §4.5: such a fragment is discarded (with an ICMP Parameter Problem). */
		set_err(note, notelen, "IPv6 fragment (offset %u) of %zu bytes is not the last yet not a multiple "
			"of 8 bytes: discarded as RFC 8200 says", f->off, f->len);
		return -1;
	}
	return 1;
}

static struct dgram *find(struct ipfrag *t, const struct frag *f)
{
	size_t i, alen = f->family == AF_INET ? 4 : 16;

	for (i = 0; i < IPFRAG_MAX_DATAGRAMS; i++) {
		struct dgram *d = &t->d[i];

		if (d->used && d->family == f->family && d->id == f->id && d->proto == f->proto &&
		    !memcmp(d->src, f->src, alen) && !memcmp(d->dst, f->dst, alen))
			return d;
	}
	return NULL;
}

static void expire(struct ipfrag *t, uint64_t now)
{
	size_t i;

	for (i = 0; i < IPFRAG_MAX_DATAGRAMS; i++) {
		struct dgram *d = &t->d[i];

		if (d->used && now > d->t0 && now - d->t0 > IPFRAG_TIMEOUT_US) {
			if (!d->dead)
				t->st.dropped++;
			dgram_clear(t, d);
		}
	}
}

/* 0 added, 1 duplicate (ignored), -1 overlap. Keeps the ranges sorted and merged. */
static int add_range(struct dgram *d, uint32_t o, uint32_t e)
{
	size_t i, j;

	for (i = 0; i < d->nr; i++) {
		if (o >= d->r[i].o && e <= d->r[i].e)
			return 1;
		if (o < d->r[i].e && e > d->r[i].o)
			return -1;
	}
	if (d->nr == d->ar) {
		size_t na = d->ar ? d->ar * 2 : 8;
		struct range *v = realloc(d->r, na * sizeof(*v));

		if (!v)
			return -2;
		d->r = v;
		d->ar = na;
	}
	for (i = 0; i < d->nr && d->r[i].o < o; i++)
		;
	memmove(&d->r[i + 1], &d->r[i], (d->nr - i) * sizeof(*d->r));
	d->r[i].o = o;
	d->r[i].e = e;
	d->nr++;
	/* Merge touching neighbours: a run of adjacent fragments is one range (Linux's "frag run"). */
	for (j = 0; j + 1 < d->nr;) {
		if (d->r[j].e == d->r[j + 1].o) {
			d->r[j].e = d->r[j + 1].e;
			memmove(&d->r[j + 1], &d->r[j + 2], (d->nr - j - 2) * sizeof(*d->r));
			d->nr--;
		} else {
			j++;
		}
	}
	return 0;
}

static enum ipfrag_rc rebuild(struct ipfrag *t, struct dgram *d, const unsigned char **out, size_t *outlen,
			      char *note, size_t notelen)
{
	size_t n = d->hlen + d->total;
	unsigned char *b;

	if ((d->family == AF_INET && n > IP_MAX_TOTAL) || (d->family == AF_INET6 && n - 40 > IP_MAX_TOTAL)) {
		set_err(note, notelen, "reassembled IPv%d datagram of %zu bytes is longer than IP allows: dropped",
			d->family == AF_INET ? 4 : 6, n);
		kill(t, d);
		return IPFRAG_DROP;
	}
	b = malloc(n);
	if (!b) {
		set_err(note, notelen, "out of memory while reassembling IP fragments");
		kill(t, d);
		return IPFRAG_DROP;
	}
	memcpy(b, d->hdr, d->hlen);
	memcpy(b + d->hlen, d->data, d->total);
	if (d->family == AF_INET) {
		b[2] = (unsigned char)(n >> 8);
		b[3] = (unsigned char)n;
		b[6] = b[7] = 0;        /* no more fragments, offset 0 */
	} else {
		b[d->nh_pos] = d->inner;
		b[4] = (unsigned char)((n - 40) >> 8);
		b[5] = (unsigned char)(n - 40);
	}
	free(t->out);
	t->out = b;
	*out = b;
	*outlen = n;
	t->st.datagrams++;
	dgram_clear(t, d);
	return IPFRAG_DONE;
}

enum ipfrag_rc ipfrag_input(struct ipfrag *t, const unsigned char *ip, size_t caplen, size_t wire_extra,
			    uint64_t ts_us, const unsigned char **out, size_t *outlen, char *note, size_t notelen)
{
	struct frag f;
	struct dgram *d;
	uint8_t v;
	uint32_t end;
	size_t i;
	int rc;

	memset(&f, 0, sizeof(f));
	if (rd_u8(ip, caplen, 0, &v) == -1)
		return IPFRAG_PASS;
	if (v >> 4 == 4)
		rc = parse_v4(ip, caplen, wire_extra, &f, note, notelen);
	else if (v >> 4 == 6)
		rc = parse_v6(ip, caplen, wire_extra, &f, note, notelen);
	else
		return IPFRAG_PASS;
	if (rc == 0)
		return IPFRAG_PASS;
	t->st.fragments++;
	if (rc == -1) {
		t->st.dropped++;
		return IPFRAG_DROP;
	}
	expire(t, ts_us);
	end = f.off + (uint32_t)f.len;
	d = find(t, &f);
	if (d && d->dead) {
		set_err(note, notelen, "IPv%d fragment (offset %u) of a datagram already dropped",
			f.family == AF_INET ? 4 : 6, f.off);
		return IPFRAG_DROP;
	}
	if (!d) {
		for (i = 0; i < IPFRAG_MAX_DATAGRAMS && t->d[i].used; i++)
			;
		if (i == IPFRAG_MAX_DATAGRAMS) {
			set_err(note, notelen, "more than %d fragmented IP datagrams pending at once: fragment "
				"dropped", IPFRAG_MAX_DATAGRAMS);
			t->st.dropped++;
			return IPFRAG_DROP;
		}
		d = &t->d[i];
		d->used = true;
		d->family = f.family;
		memcpy(d->src, f.src, f.family == AF_INET ? 4 : 16);
		memcpy(d->dst, f.dst, f.family == AF_INET ? 4 : 16);
		d->id = f.id;
		d->proto = f.proto;
		d->inner = f.proto;
		d->t0 = ts_us;
	}
	/* The last fragment fixes the length; nothing may lie past it, and it must not change (Linux). */
	if ((!f.more && ((d->have_last && end != d->total) || (d->nr && d->r[d->nr - 1].e > end))) ||
	    (f.more && d->have_last && end > d->total)) {
		set_err(note, notelen, "IPv%d fragment (offset %u, %zu bytes) disagrees with the datagram's "
			"length: datagram dropped", f.family == AF_INET ? 4 : 6, f.off, f.len);
		return kill(t, d);
	}
	if (!f.len) {
		if (!f.more && !d->have_last) {
			d->have_last = true;
			d->total = end;
		}
	} else {
		rc = add_range(d, f.off, end);
		if (rc == 1) {
			t->st.duplicates++;
			set_err(note, notelen, "IPv%d fragment (offset %u, %zu bytes) repeats bytes already held: "
				"ignored as a duplicate", f.family == AF_INET ? 4 : 6, f.off, f.len);
			return IPFRAG_HELD;
		}
		if (rc == -1) {
			set_err(note, notelen, "IPv%d fragment (offset %u, %zu bytes) overlaps another fragment "
				"of its datagram: the whole datagram is dropped (RFC 5722, as Linux does)",
				f.family == AF_INET ? 4 : 6, f.off, f.len);
			return kill(t, d);
		}
		if (rc == -2 || ++d->nfrags > IPFRAG_MAX_FRAGS) {
			set_err(note, notelen, "more than %d fragments (or out of memory) for one IP datagram: "
				"dropped", IPFRAG_MAX_FRAGS);
			return kill(t, d);
		}
		if (end > d->cap) {
			size_t ncap = end;
			unsigned char *nb;

			if (t->held - d->cap + ncap > IPFRAG_MAX_BYTES) {
				set_err(note, notelen, "IP fragments pending hold more than %u bytes: datagram "
					"dropped", IPFRAG_MAX_BYTES);
				return kill(t, d);
			}
			nb = realloc(d->data, ncap);
			if (!nb) {
				set_err(note, notelen, "out of memory while reassembling IP fragments");
				return kill(t, d);
			}
			t->held = t->held - d->cap + ncap;
			d->data = nb;
			d->cap = ncap;
		}
		memcpy(d->data + f.off, f.payload, f.len);
		if (!f.more) {
			d->have_last = true;
			d->total = end;
		}
	}
	if (f.off == 0) {
		memcpy(d->hdr, f.hdr, f.hlen);
		d->hlen = f.hlen;
		d->nh_pos = f.nh_pos;
	}
	if (d->hlen && d->have_last &&
	    (d->total == 0 || (d->nr == 1 && d->r[0].o == 0 && d->r[0].e == d->total)))
		return rebuild(t, d, out, outlen, note, notelen);
	return IPFRAG_HELD;
}

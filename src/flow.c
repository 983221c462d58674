/*
 * flow: the TCP conversations of a capture, reassembled (RFC 9293 sequence space).
 *
 * Sequence numbers are compared modulo 2^32 (seq_diff), so a stream whose ISN sits just below 2^32 wraps
 * like any other. A segment is trimmed against the next expected byte: what lies before it was already
 * delivered (a retransmission or an overlap) and is counted and dropped; a segment that starts beyond
 * it waits in a sorted, capped queue for the hole to be filled. A hole that is never filled becomes the
 * flow's error, naming the missing range as stream offsets (0 = the first byte after the SYN).
 */
#include "api.h"

#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "flow.h"
#include "turn.h"
#include "util.h"

#define FLOW_BUCKETS 1024

struct flow_table {
	struct flow_limits lim;
	bool keep_data;
	struct flow **v;        /* owned flows in order of appearance */
	size_t n, alloc;
	struct flow *bucket[FLOW_BUCKETS];
	size_t kept;            /* bytes held over all flows (turn builders and queues) */
	bool server_set;
	bool only_server;         /* flow_table_only_server(): ignore conversations without the server */
	int server_family;
	bool server_any_addr;
	uint8_t server_addr[16];
	uint16_t server_port;
};

/* Signed distance from b to a in sequence space: > 0 when a is after b. */
static int32_t seq_diff(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b);
}

void flow_table_only_server(struct flow_table *t)
{
	t->only_server = t->server_set;
}

bool flow_table_full(const struct flow_table *t)
{
	return t->n >= t->lim.max_flows;
}

struct flow_table *flow_table_new(const struct flow_limits *lim, bool keep_data)
{
	struct flow_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	if (lim) {
		t->lim = *lim;
	} else {
		t->lim.max_flows = FLOW_MAX_FLOWS;
		t->lim.max_dir_bytes = FLOW_MAX_DIR_BYTES;
		t->lim.max_queued = FLOW_MAX_QUEUED;
		t->lim.max_total_bytes = FLOW_MAX_TOTAL_BYTES;
	}
	t->keep_data = keep_data;
	return t;
}

static void dir_free_queue(struct flow_dir *d)
{
	struct flow_seg *s, *next;

	for (s = d->ooo; s; s = next) {
		next = s->next;
		free(s->data);
		free(s);
	}
	d->ooo = NULL;
	d->nooo = 0;
}

static void flow_free(struct flow *f)
{
	dir_free_queue(&f->d[0]);
	dir_free_queue(&f->d[1]);
	if (f->tb) {
		turn_builder_free(f->tb);
		free(f->tb);
	}
	free(f);
}

void flow_table_free(struct flow_table *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->n; i++)
		flow_free(t->v[i]);
	free(t->v);
	free(t);
}

void flow_table_set_server(struct flow_table *t, int family, const uint8_t *addr, uint16_t port)
{
	t->server_set = true;
	t->server_family = family;
	t->server_any_addr = !addr;
	if (addr)
		memcpy(t->server_addr, addr, 16);
	t->server_port = port;
}

size_t flow_table_count(const struct flow_table *t)
{
	return t->n;
}

struct flow *flow_table_get(const struct flow_table *t, size_t i)
{
	return i < t->n ? t->v[i] : NULL;
}

static bool is_server(const struct flow_table *t, int family, const uint8_t *addr, uint16_t port)
{
	if (!t->server_set || port != t->server_port)
		return false;
	if (t->server_any_addr)
		return true;
	return family == t->server_family && !memcmp(addr, t->server_addr, family == AF_INET ? 4 : 16);
}

static unsigned key_hash(int family, const uint8_t *a, uint16_t pa, const uint8_t *b, uint16_t pb)
{
	/* Order-independent: both directions of a conversation hash alike (FNV-1a of each end, summed). */
	unsigned h1 = 2166136261u, h2 = 2166136261u;
	size_t i, n = family == AF_INET ? 4 : 16;

	for (i = 0; i < n; i++) {
		h1 = (h1 ^ a[i]) * 16777619u;
		h2 = (h2 ^ b[i]) * 16777619u;
	}
	h1 = (h1 ^ (pa & 0xff)) * 16777619u;
	h1 = (h1 ^ (pa >> 8)) * 16777619u;
	h2 = (h2 ^ (pb & 0xff)) * 16777619u;
	h2 = (h2 ^ (pb >> 8)) * 16777619u;
	return (h1 + h2 + (unsigned)family) % FLOW_BUCKETS;
}

static bool dir_is(const struct flow_dir *d, const uint8_t *addr, uint16_t port)
{
	return d->port == port && !memcmp(d->addr, addr, 16);
}

/* The flow of p and the direction p travels in; NULL when it is new. */
static struct flow *lookup(struct flow_table *t, const struct pkt *p, unsigned h, enum turn_dir *dir)
{
	struct flow *f;

	for (f = t->bucket[h]; f; f = f->hnext) {
		if (f->family != p->family)
			continue;
		if (dir_is(&f->d[TURN_C2S], p->src, p->sport) && dir_is(&f->d[TURN_S2C], p->dst, p->dport)) {
			*dir = TURN_C2S;
			return f;
		}
		if (dir_is(&f->d[TURN_S2C], p->src, p->sport) && dir_is(&f->d[TURN_C2S], p->dst, p->dport)) {
			*dir = TURN_S2C;
			return f;
		}
	}
	return NULL;
}

static struct flow *create(struct flow_table *t, const struct pkt *p, unsigned h, enum turn_dir *dir,
			   char *err, size_t errlen)
{
	struct flow *f;
	char a[80];

	if (t->n >= t->lim.max_flows) {
		set_err(err, errlen, "more than %zu TCP conversations: the flow table is full", t->lim.max_flows);
		return NULL;
	}
	if (t->n == t->alloc) {
		size_t na = t->alloc ? t->alloc * 2 : 16;
		struct flow **v = realloc(t->v, na * sizeof(*v));

		if (!v)
			goto oom;
		t->v = v;
		t->alloc = na;
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		goto oom;
	/* With a known server, only its conversations can be picked: keep no bytes of the others. */
	if (t->keep_data && (!t->server_set || is_server(t, p->family, p->dst, p->dport) ||
			     is_server(t, p->family, p->src, p->sport))) {
		f->tb = malloc(sizeof(*f->tb));
		if (!f->tb) {
			free(f);
			goto oom;
		}
		turn_builder_init(f->tb, t->lim.max_dir_bytes);
	}
	f->family = p->family;
	f->index = t->n + 1;
	f->ts_first_us = p->ts_us;
	/* Who is the client: the SYN sender; else the side that is not --server; else the higher port. */
	if ((p->flags & PKT_SYN) && !(p->flags & PKT_ACK))
		*dir = TURN_C2S;
	else if (p->flags & PKT_SYN)
		*dir = TURN_S2C;
	else if (is_server(t, p->family, p->dst, p->dport))
		*dir = TURN_C2S;
	else if (is_server(t, p->family, p->src, p->sport))
		*dir = TURN_S2C;
	else {
		*dir = p->sport > p->dport ? TURN_C2S : TURN_S2C;
		f->client_guessed = true;
		pkt_addr_fmt(p->family, *dir == TURN_C2S ? p->src : p->dst,
			     *dir == TURN_C2S ? p->sport : p->dport, a, sizeof(a));
		snprintf(f->note, sizeof(f->note), "no handshake captured and no --server given: guessed the "
			 "client as the higher port (%s)", a);
	}
	memcpy(f->d[*dir].addr, p->src, 16);
	f->d[*dir].port = p->sport;
	memcpy(f->d[!*dir].addr, p->dst, 16);
	f->d[!*dir].port = p->dport;
	f->hnext = t->bucket[h];
	t->bucket[h] = f;
	t->v[t->n++] = f;
	return f;
oom:
	set_err(err, errlen, "out of memory");
	return NULL;
}

static void flow_fail(struct flow *f, const char *fmt, ...) PRINTF_FMT(2, 3);

static void flow_fail(struct flow *f, const char *fmt, ...)
{
	va_list ap;

	if (f->err[0])
		return;
	va_start(ap, fmt);
	vsnprintf(f->err, sizeof(f->err), fmt, ap);
	va_end(ap);
}

/* Stream offset of a sequence number: 0 is the first byte after the SYN (or the first byte seen). */
static uint32_t rel(const struct flow_dir *d, uint32_t seq)
{
	return seq - d->isn - 1;
}

static void gap_error(struct flow *f, enum turn_dir dir, uint32_t from, uint32_t to, const char *why)
{
	const struct flow_dir *d = &f->d[dir];

	flow_fail(f, "gap in the %s stream: bytes %u-%u (%u bytes) %s", turn_dir_str(dir), rel(d, from),
		  rel(d, to) - 1, to - from, why);
}

static void deliver(struct flow_table *t, struct flow *f, enum turn_dir dir, const unsigned char *p,
		    size_t n, uint64_t ts)
{
	struct flow_dir *d = &f->d[dir];
	char e[200];

	if (d->nhead < sizeof(d->head)) {
		size_t k = MIN(n, sizeof(d->head) - d->nhead);

		memcpy(d->head + d->nhead, p, k);
		d->nhead += k;
	}
	d->bytes += n;
	d->next_seq += (uint32_t)n;
	if (!f->tb || f->err[0])
		return;
	if (t->kept + n > t->lim.max_total_bytes) {
		flow_fail(f, "the capture holds more than %zu bytes of conversations (cap)",
			  t->lim.max_total_bytes);
		return;
	}
	if (turn_builder_add(f->tb, dir, p, n, ts, e, sizeof(e)) == -1) {
		flow_fail(f, "%s", e);
		return;
	}
	t->kept += n;
}

/* Delivers what the queue holds once the hole before its head is filled. */
static void drain(struct flow_table *t, struct flow *f, enum turn_dir dir)
{
	struct flow_dir *d = &f->d[dir];
	struct flow_seg *s;
	int32_t off;

	while ((s = d->ooo) && (off = seq_diff(s->seq, d->next_seq)) <= 0) {
		size_t skip = (size_t)-(int64_t)off;

		if (skip < s->len)
			deliver(t, f, dir, s->data + skip, s->len - skip, s->ts_us);
		d->retrans += MIN(skip, s->len);
		d->ooo = s->next;
		d->nooo--;
		t->kept -= s->len;
		free(s->data);
		free(s);
	}
}

static void enqueue(struct flow_table *t, struct flow *f, enum turn_dir dir, uint32_t seq,
		    const unsigned char *p, size_t n, uint64_t ts)
{
	struct flow_dir *d = &f->d[dir];
	struct flow_seg *s, **pp;

	if (d->nooo >= t->lim.max_queued) {
		gap_error(f, dir, d->next_seq, d->ooo ? d->ooo->seq : seq,
			  "never arrived while more out-of-order segments than the cap queued up");
		return;
	}
	if (t->kept + n > t->lim.max_total_bytes) {
		flow_fail(f, "the capture holds more than %zu bytes of conversations (cap)",
			  t->lim.max_total_bytes);
		return;
	}
	s = calloc(1, sizeof(*s));
	if (s)
		s->data = malloc(n);
	if (!s || !s->data) {
		free(s);
		flow_fail(f, "out of memory");
		return;
	}
	memcpy(s->data, p, n);
	s->seq = seq;
	s->len = n;
	s->ts_us = ts;
	/* Sorted by sequence number relative to next_seq; equal starts keep arrival order. */
	for (pp = &d->ooo; *pp && seq_diff((*pp)->seq, d->next_seq) <= seq_diff(seq, d->next_seq);
	     pp = &(*pp)->next)
		;
	s->next = *pp;
	*pp = s;
	d->nooo++;
	t->kept += n;
}

/*
 * Fixes the start of a mid-flow direction at the lowest sequence number captured so far and delivers
 * what waited in the queue. Called when the other side sends data (the bytes before it belong to an
 * earlier turn), on a FIN, when the queue is full, and at the end of the capture.
 */
static void commit(struct flow_table *t, struct flow *f, enum turn_dir dir)
{
	struct flow_dir *d = &f->d[dir];

	if (!d->provisional)
		return;
	d->provisional = false;
	drain(t, f, dir);
}

static void data(struct flow_table *t, struct flow *f, enum turn_dir dir, uint32_t seq,
		 const unsigned char *p, size_t n, uint64_t ts)
{
	struct flow_dir *d = &f->d[dir];
	int32_t off;
	size_t skip;

	commit(t, f, (enum turn_dir)!dir);
	if (d->provisional && d->nooo >= t->lim.max_queued)
		commit(t, f, dir);
	if (d->provisional) {
		if (seq_diff(seq, d->next_seq) < 0) {
			d->next_seq = seq;
			d->isn = seq - 1;
		}
		enqueue(t, f, dir, seq, p, n, ts);
		return;
	}
	off = seq_diff(seq, d->next_seq);
	if (off > 0) {
		enqueue(t, f, dir, seq, p, n, ts);
		return;
	}
	skip = (size_t)-(int64_t)off;
	d->retrans += MIN(skip, n);
	if (skip < n)
		deliver(t, f, dir, p + skip, n - skip, ts);
	drain(t, f, dir);
}

int flow_table_input(struct flow_table *t, const struct pkt *p, char *err, size_t errlen)
{
	struct flow *f;
	struct flow_dir *d, *peer;
	enum turn_dir dir;
	unsigned h;
	uint32_t dseq;

	/* A big capture holds many conversations; with only_server they cost neither memory nor a slot. */
	if (t->only_server && !is_server(t, p->family, p->dst, p->dport) && !is_server(t, p->family, p->src, p->sport))
		return 0;
	h = key_hash(p->family, p->src, p->sport, p->dst, p->dport);
	f = lookup(t, p, h, &dir);
	if (!f) {
		f = create(t, p, h, &dir, err, errlen);
		if (!f)
			return -1;
	}
	d = &f->d[dir];
	peer = &f->d[!dir];
	f->pkts++;
	d->pkts++;
	f->ts_last_us = MAX(f->ts_last_us, p->ts_us);
	if (f->err[0])
		return 0;
	if (p->flags & PKT_RST) {
		/* RFC 9293 3.10.7: a RST ends the conversation; data it carries is a diagnostic, not stream. */
		d->rst_seen = true;
		return 0;
	}
	if (d->rst_seen || peer->rst_seen)
		return 0;       /* whatever follows a RST belongs to no stream */
	if (p->flags & PKT_SYN) {
		if (!d->isn_known) {
			d->isn = p->seq;
			d->next_seq = p->seq + 1;
			d->isn_known = true;
			d->syn_seen = true;
		} else if (!d->syn_seen || p->seq != d->isn) {
			flow_fail(f, "a new SYN (seq %u) in the %s direction of an ongoing conversation: "
				  "the port pair was reused", p->seq, turn_dir_str(dir));
			return 0;
		}
		dseq = p->seq + 1;
	} else {
		if (!d->isn_known) {
			/* The capture started after the handshake: the stream starts at the lowest sequence
			 * number captured before the other side sends data (see commit()). */
			d->isn = p->seq - 1;
			d->next_seq = p->seq;
			d->isn_known = true;
			d->provisional = true;
			f->midflow = true;
			if (!f->note[0])
				snprintf(f->note, sizeof(f->note), "capture started mid-flow: the %s stream starts "
					 "at its first captured byte; earlier bytes are unknown", turn_dir_str(dir));
			else if (f->client_guessed && !strstr(f->note, "mid-flow"))
				snprintf(f->note + strlen(f->note), sizeof(f->note) - strlen(f->note),
					 "; capture started mid-flow");
		}
		dseq = p->seq;
	}
	if ((p->flags & PKT_ACK) && peer->isn_known) {
		if (!peer->acked_known || seq_diff(p->ack, peer->acked) > 0)
			peer->acked = p->ack;
		peer->acked_known = true;
	}
	if (p->len)
		data(t, f, dir, dseq, p->payload, p->len, p->ts_us);
	if (p->cut && seq_diff(dseq + (uint32_t)p->wire_len, d->next_seq) > 0) {
		uint32_t from = dseq + (uint32_t)p->len;

		if (seq_diff(d->next_seq, from) > 0)
			from = d->next_seq;
		gap_error(f, dir, from, dseq + (uint32_t)p->wire_len,
			  "were cut by the capture's snaplen (capture again with tcpdump -s 0)");
	}
	if ((p->flags & PKT_FIN) && !d->fin_seen) {
		d->fin_seen = true;
		d->fin_seq = dseq + (uint32_t)p->wire_len;
		commit(t, f, dir);
	}
	return 0;
}

void flow_table_finish(struct flow_table *t)
{
	size_t i;
	int dir;

	for (i = 0; i < t->n; i++) {
		struct flow *f = t->v[i];

		commit(t, f, TURN_C2S);
		commit(t, f, TURN_S2C);
		for (dir = 0; dir < 2 && !f->err[0]; dir++) {
			struct flow_dir *d = &f->d[dir];

			if (!d->isn_known)
				continue;
			if (d->ooo)
				gap_error(f, (enum turn_dir)dir, d->next_seq, d->ooo->seq, "were never captured");
			else if (d->fin_seen && seq_diff(d->fin_seq, d->next_seq) > 0)
				gap_error(f, (enum turn_dir)dir, d->next_seq, d->fin_seq,
					  "before the FIN were never captured");
			else if (d->acked_known &&
				 seq_diff(d->acked, d->next_seq + (d->fin_seen ? 1u : 0u)) > 0)
				gap_error(f, (enum turn_dir)dir, d->next_seq,
					  d->acked - (d->fin_seen ? 1u : 0u),
					  "were acknowledged by the peer but never captured");
		}
	}
}

bool flow_is_closed(const struct flow *f)
{
	return (f->d[0].fin_seen && f->d[1].fin_seen) || f->d[0].rst_seen || f->d[1].rst_seen;
}

enum flow_state flow_state(const struct flow *f)
{
	if (f->err[0])
		return FLOW_GAP;
	if (f->d[0].rst_seen || f->d[1].rst_seen)
		return FLOW_RESET;
	if (f->midflow)
		return FLOW_MIDFLOW;
	if (flow_is_closed(f))
		return FLOW_COMPLETE;
	return FLOW_OPEN;
}

const char *flow_state_str(enum flow_state s)
{
	switch (s) {
	case FLOW_COMPLETE:
		return "complete";
	case FLOW_OPEN:
		return "open";
	case FLOW_MIDFLOW:
		return "mid-flow";
	case FLOW_RESET:
		return "reset";
	case FLOW_GAP:
		return "gap";
	}
	return "?";
}

int flow_turns(const struct flow *f, struct turns *out, char *err, size_t errlen)
{
	if (!f->tb) {
		set_err(err, errlen, "the flow table was built without keeping data");
		memset(out, 0, sizeof(*out));
		return -1;
	}
	if (turn_builder_finish(f->tb, out, err, errlen) == -1)
		return -1;
	out->client_fin = f->d[TURN_C2S].fin_seen;
	out->server_fin = f->d[TURN_S2C].fin_seen;
	out->reset = f->d[0].rst_seen || f->d[1].rst_seen;
	out->truncated = f->err[0] != 0;
	return 0;
}

static bool starts_with(const unsigned char *p, size_t n, const char *s)
{
	size_t k = strlen(s);

	return n >= k && !memcmp(p, s, k);
}

const char *flow_guess_proto(const unsigned char *p, size_t n)
{
	static const char *const methods[] = {"GET ", "HEAD ", "POST ", "PUT ", "DELETE ", "OPTIONS ",
					      "PATCH ", "TRACE "};
	size_t i;

	if (!n)
		return "-";
	if (starts_with(p, n, "CONNECT "))
		return "CONNECT";
	for (i = 0; i < ARRAY_SIZE(methods); i++)
		if (starts_with(p, n, methods[i]))
			return "HTTP";
	/* RFC 1928: VER 5, NMETHODS >= 1. SOCKS4: VN 4, CD 1 (connect) or 2 (bind). */
	if (p[0] == 5 && (n < 2 || p[1] >= 1))
		return "SOCKS5";
	if (p[0] == 4 && (n < 2 || p[1] == 1 || p[1] == 2))
		return "SOCKS4";
	/* TLS record: handshake (22), version 3.x. */
	if (p[0] == 0x16 && (n < 2 || p[1] == 3))
		return "TLS";
	return "?";
}

void flow_describe(const struct flow *f, char *out, size_t outlen)
{
	char c[80], s[80];

	pkt_addr_fmt(f->family, f->d[TURN_C2S].addr, f->d[TURN_C2S].port, c, sizeof(c));
	pkt_addr_fmt(f->family, f->d[TURN_S2C].addr, f->d[TURN_S2C].port, s, sizeof(s));
	snprintf(out, outlen, "%s -> %s", c, s);
}

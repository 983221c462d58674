/*
 * ipfrag: IPv4 (RFC 791 §3.2) and IPv6 (RFC 8200 §4.5) fragment reassembly, before TCP.
 *
 * A TCP segment that travelled as IP fragments is whole again once every fragment of its datagram is in:
 * ipfrag_input() keeps fragments per datagram (source, destination, identification; the protocol too for
 * IPv4) and hands back the rebuilt datagram, with the fragment fields cleared, for decode_ip().
 *
 * Overlaps are treated as Linux treats them since 4.19, for IPv4 and IPv6 alike: a fragment whose bytes
 * all lie inside bytes already held is a duplicate (a retransmission) and is ignored; any other overlap
 * drops the whole datagram (RFC 5722 §4 for IPv6; Linux applies the same rule to IPv4), so that no
 * "first wins" or "last wins" guess decides which bytes the stream gets. Bounded in memory (datagrams
 * pending, bytes held) and in time (a datagram not complete 30 s of capture time after its first
 * fragment is dropped, Linux's ipfrag_time default).
 *
 * Ownership: the table owns its buffers; the datagram handed out by IPFRAG_DONE is valid until the next
 * call on the table.
 */
#ifndef RECHECK_IPFRAG_H
#define RECHECK_IPFRAG_H

#include "api.h"

#define IPFRAG_MAX_DATAGRAMS 64          /* datagrams being reassembled at once */
#define IPFRAG_MAX_BYTES     (4u << 20)  /* bytes held over all of them */
#define IPFRAG_MAX_FRAGS     512         /* fragments held per datagram */
#define IPFRAG_TIMEOUT_US    (30ull * 1000000u)

enum ipfrag_rc {
	IPFRAG_PASS = 0,        /* not a TCP fragment: decode the packet as it is */
	IPFRAG_HELD,            /* a fragment, kept until its datagram is whole */
	IPFRAG_DONE,            /* that fragment completed a datagram: *out / *outlen is it, whole */
	IPFRAG_DROP,            /* the fragment (and possibly its datagram) is dropped: the note says why */
};

struct ipfrag_stats {
	uint64_t fragments;     /* fragments seen */
	uint64_t datagrams;     /* datagrams rebuilt */
	uint64_t dropped;       /* datagrams dropped (overlap, inconsistent, cap, timeout) */
	uint64_t duplicates;    /* fragments ignored as duplicates */
};

struct ipfrag;

struct ipfrag *ipfrag_new(void);
void ipfrag_free(struct ipfrag *t);

/*
 * One IP packet (caplen bytes captured from its IP header on; wire_extra bytes the capture lost), captured
 * at ts_us. A fragment cut by the snaplen cannot be used and is IPFRAG_DROP.
 */
enum ipfrag_rc ipfrag_input(struct ipfrag *t, const unsigned char *ip, size_t caplen, size_t wire_extra,
			    uint64_t ts_us, const unsigned char **out, size_t *outlen, char *note, size_t notelen);

/* Datagrams still waiting for fragments (at the end of a capture: never completed). */
size_t ipfrag_pending(const struct ipfrag *t);
const struct ipfrag_stats *ipfrag_stats(const struct ipfrag *t);

#endif

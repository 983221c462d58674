/*
 * flow-t.h: TCP conversations found in a capture and their per-direction reassembly state (flow.c).
 */
#ifndef RECHECK_FLOW_T_H
#define RECHECK_FLOW_T_H

#include "api.h"
#include "turn-t.h"

struct turn_builder;

/* A queued out-of-order segment, waiting for the bytes before it. */
struct flow_seg {
	uint32_t seq;           /* raw sequence number of data[0] */
	unsigned char *data;    /* owned copy of the payload */
	size_t len;
	uint64_t ts_us;
	struct flow_seg *next;  /* the queue is sorted by seq (relative to the ISN) */
};

/* One direction of a conversation (the bytes one endpoint sent). */
struct flow_dir {
	uint8_t addr[16];       /* the sender's address and port */
	uint16_t port;
	bool isn_known;         /* isn/next_seq are set (from the SYN, else from the first segment) */
	bool syn_seen;          /* the sender's SYN was captured: the stream starts at its first byte */
	bool fin_seen;
	bool rst_seen;
	bool provisional;       /* mid-flow: the start is not fixed yet; segments wait in the queue so that
				 * one captured late but sent earlier can still move the start back */
	uint32_t isn;           /* initial sequence number (SYN's seq), or first seq seen minus 1 */
	uint32_t next_seq;      /* next in-order sequence number expected */
	uint32_t fin_seq;       /* sequence number the FIN occupies, when fin_seen */
	bool acked_known;       /* the peer acknowledged some of this side's bytes */
	uint32_t acked;         /* highest ack number the peer sent: bytes before it were sent for sure */
	struct flow_seg *ooo;   /* out-of-order queue, owned */
	size_t nooo;            /* segments in the queue */
	uint64_t pkts;          /* segments sent by this side */
	uint64_t bytes;         /* payload bytes delivered in order */
	uint64_t retrans;       /* bytes dropped as already delivered (retransmissions, overlaps) */
	unsigned char head[16]; /* the first bytes of the stream, for protocol guessing */
	size_t nhead;
};

enum flow_state {
	FLOW_COMPLETE = 0,      /* both SYNs seen and the conversation closed (FIN) without a hole */
	FLOW_OPEN,              /* the handshake was seen; the capture ended before the close */
	FLOW_MIDFLOW,           /* the capture started after the handshake: the first bytes may be missing */
	FLOW_RESET,             /* a RST ended the conversation */
	FLOW_GAP,               /* bytes are missing (or a cap was hit): err names the range */
};

struct flow {
	size_t index;           /* 1-based, in order of the first packet; `recheck flows` and --stream */
	int family;             /* AF_INET / AF_INET6 */
	struct flow_dir d[2];   /* indexed by enum turn_dir: d[TURN_C2S] is what the client sent */
	bool client_guessed;    /* no SYN and no server hint: the client is the higher port (see note) */
	bool midflow;           /* at least one direction had no SYN */
	uint64_t pkts;
	uint64_t ts_first_us;
	uint64_t ts_last_us;
	char note[256];         /* how the client or ISN was chosen when not from a handshake; "" when none */
	char err[256];          /* first fatal problem (gap, cap); "" when none. Reassembly stops there */
	struct turn_builder *tb; /* owned; NULL unless the table keeps data */
	struct flow *hnext;     /* hash chain */
};

#endif

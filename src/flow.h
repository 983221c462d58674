/*
 * flow: the TCP conversations of a capture and their reassembly into two ordered byte streams.
 *
 * The table is keyed by the canonical 4-tuple (both directions map to one flow, tcpdump's trick). Each
 * direction tracks its ISN (from the SYN, or from the first segment when the capture started mid-flow,
 * which the flow's note says), compares sequence numbers modulo 2^32, drops bytes already delivered
 * (retransmissions, overlaps), queues segments that arrive ahead of a hole (capped) and delivers in-order
 * bytes to a turn builder (turn.h) when the table keeps data. A hole that is never filled is an error
 * naming the missing byte range, never silent garbage. The client is the SYN sender; without a SYN, the
 * side that is not the server address given by flow_table_set_server(); else the higher port (noted).
 *
 * Ownership: the table owns its flows; pointers from flow_table_get() live as long as the table.
 */
#ifndef RECHECK_FLOW_H
#define RECHECK_FLOW_H

#include "decode-t.h"
#include "flow-t.h"

struct flow_table;

/* Defaults of struct flow_limits. */
#define FLOW_MAX_FLOWS       4096
#define FLOW_MAX_DIR_BYTES   (1u << 20)  /* per direction of a kept flow */
#define FLOW_MAX_QUEUED      256         /* out-of-order segments per direction */
#define FLOW_MAX_TOTAL_BYTES (64u << 20) /* kept bytes over all flows (queued segments included) */

struct flow_limits {
	size_t max_flows;       /* conversations tracked; one more is an error */
	size_t max_dir_bytes;   /* bytes kept per direction */
	size_t max_queued;      /* out-of-order segments queued per direction */
	size_t max_total_bytes; /* over the whole table */
};

/* NULL lim: the defaults. keep_data: build turns (for from-pcap / record), else only count (flows). */
struct flow_table *flow_table_new(const struct flow_limits *lim, bool keep_data);
void flow_table_free(struct flow_table *t);

/*
 * The server side for flows captured without their SYN: a packet from (family, addr, port) comes from
 * the server. addr NULL matches any address on that port. Call before the first flow_table_input().
 */
void flow_table_set_server(struct flow_table *t, int family, const uint8_t *addr, uint16_t port);
/*
 * After flow_table_set_server(): conversations that do not involve the server are ignored entirely (no
 * slot in the table, no bytes kept), so a capture with more conversations than max_flows still works.
 * Flow indices then count only the server's conversations.
 */
void flow_table_only_server(struct flow_table *t);
/* True once the table holds max_flows conversations (a further new one is refused). */
bool flow_table_full(const struct flow_table *t);

/*
 * Feeds one decoded segment. Per-flow problems (a gap, a cap) are recorded in the flow (err, state
 * FLOW_GAP) and do not fail the call. Returns -1 with err only when the table itself cannot go on (more
 * than max_flows conversations, out of memory).
 */
int flow_table_input(struct flow_table *t, const struct pkt *p, char *err, size_t errlen);

/*
 * End of capture: a direction whose queue still holds segments has a hole; its flow gets the error
 * naming the missing range. Call once after the last packet.
 */
void flow_table_finish(struct flow_table *t);

size_t flow_table_count(const struct flow_table *t);
/* The i-th flow (0-based, in order of the first packet), NULL past the end. */
struct flow *flow_table_get(const struct flow_table *t, size_t i);

/* Whether the conversation has ended: a FIN each way, or a RST (whatever else flow_state() says). */
bool flow_is_closed(const struct flow *f);
enum flow_state flow_state(const struct flow *f);
const char *flow_state_str(enum flow_state s);

/*
 * The conversation as turns (the table must keep data; call flow_table_finish() first: a mid-flow
 * direction delivers its bytes only once its start is fixed). out->truncated is set when the flow has an error,
 * reset/client_fin/server_fin from what was seen. The caller frees out with turns_free(). -1 with err.
 */
int flow_turns(const struct flow *f, struct turns *out, char *err, size_t errlen);

/* "SOCKS5", "SOCKS4", "CONNECT", "HTTP", "TLS" or "?" from the first client bytes. */
const char *flow_guess_proto(const unsigned char *p, size_t n);

/* "client -> server" with addresses and ports, for listings and messages. */
void flow_describe(const struct flow *f, char *out, size_t outlen);

#endif

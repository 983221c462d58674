/*
 * flow_pcap: captured frames into a flow table (ipfrag -> decode -> flow). flow_table_input_frame() is the
 * one packet feed, used live by `recheck record` (record.c) and offline by flow_pcap_load() for `recheck
 * flows` and `recheck from-pcap`.
 */
#ifndef RECHECK_FLOW_PCAP_H
#define RECHECK_FLOW_PCAP_H

#include "capture.h"
#include "decode-t.h"
#include "flow.h"

struct ipfrag;

/*
 * Feeds one captured frame of link type dlt to t: IP fragments go through fr, the TCP segment to
 * flow_table_input(). Returns the frame's decode verdict: DECODE_OK (fed; *cut set when the snap length
 * cut its payload), DECODE_HELD (a fragment kept until its datagram is whole), DECODE_SKIP (not TCP) or
 * DECODE_BAD (note says why); or -1 when the table refused the segment (full), with the reason in err.
 */
int flow_table_input_frame(struct flow_table *t, struct ipfrag *fr, int dlt, const struct capture_pkt *pk,
			   bool *cut, char *note, size_t notelen, char *err, size_t errlen);

struct flow_pcap_stats {
	int linktype;           /* DLT of the file */
	uint64_t frames;        /* frames read */
	uint64_t tcp;           /* decoded TCP segments fed to the table */
	uint64_t skipped;       /* not TCP/IP (ARP, UDP, ...) */
	uint64_t bad;           /* malformed, cut inside a header, or IP fragments that were dropped */
	uint64_t fragments;     /* IP fragments of TCP seen */
	uint64_t defragmented;  /* datagrams rebuilt from them */
	uint64_t frag_dropped;  /* datagrams dropped (overlap, cap, timeout) or never completed */
	char first_bad[200];    /* "frame 7: IPv4 fragment ..." for the first bad frame; "" when none */
};

/*
 * Reads every frame of path into t and calls flow_table_finish(). Returns 0, or -1 with "path: reason"
 * in err when the file cannot be opened or is corrupt/truncated (frames before the damage are in t,
 * finish was not called) or the table is full.
 */
int flow_pcap_load(const char *path, struct flow_table *t, struct flow_pcap_stats *st, char *err,
		   size_t errlen);

#endif

/*
 * decode-t.h: one captured TCP segment, decoded from its link, IP and TCP headers by decode.c. The
 * payload points into the captured frame: it is valid only as long as that frame is (for libpcap: until
 * the next read from the capture).
 */
#ifndef RECHECK_DECODE_T_H
#define RECHECK_DECODE_T_H

#include "api.h"

/* TCP flags as they appear in the header's flags byte (RFC 9293 section 3.1). */
#define PKT_FIN 0x01
#define PKT_SYN 0x02
#define PKT_RST 0x04
#define PKT_PSH 0x08
#define PKT_ACK 0x10
#define PKT_URG 0x20

enum decode_rc {
	DECODE_OK = 0,          /* a TCP segment: struct pkt is filled */
	DECODE_SKIP,            /* not for us (ARP, UDP, ICMP, an unknown ethertype): the note says what */
	DECODE_BAD,             /* malformed or cut before the TCP header ends, or an IP fragment: the note says why */
	DECODE_HELD,            /* an IP fragment kept for reassembly (decode_frame_defrag): nothing yet */
};

struct pkt {
	int family;             /* AF_INET or AF_INET6 */
	uint8_t src[16];        /* source address; IPv4 uses the first 4 bytes, the rest is zero */
	uint8_t dst[16];        /* destination address, same layout */
	uint16_t sport;         /* host byte order */
	uint16_t dport;
	uint32_t seq;           /* raw sequence number of the first payload byte (or of the SYN/FIN) */
	uint32_t ack;
	uint8_t flags;          /* PKT_SYN | PKT_ACK | ... */
	const unsigned char *payload; /* first payload byte inside the frame; NULL when len is 0 */
	size_t len;             /* payload bytes present in the capture */
	size_t wire_len;        /* payload bytes the segment carried on the wire (from the IP length) */
	bool cut;               /* the capture's snaplen cut the payload: len < wire_len */
	uint64_t ts_us;         /* capture time, microseconds since the epoch */
};

#endif

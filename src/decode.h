/*
 * decode: link layer (the link-type dispatch table, decode_link()), IPv4 with options, IPv6 with extension
 * headers, and TCP with options, into a struct pkt. Everything is read with the bounds-checked readers of
 * rd.h and never past caplen. decode_frame() takes one frame alone, so an IP fragment is DECODE_BAD
 * there; decode_frame_defrag() first hands every frame to an ipfrag table (ipfrag.h) and decodes the
 * datagram once its fragments are all in.
 */
#ifndef RECHECK_DECODE_H
#define RECHECK_DECODE_H

#include "decode-t.h"

/*
 * Finds the IP header in a frame of link type dlt: the link-type dispatch table (EN10MB with up to two
 * 802.1Q/802.1ad VLAN tags, NULL and LOOP with their AF values in either byte order, LINUX_SLL,
 * LINUX_SLL2, RAW, IPV4, IPV6). Returns 1 with *l3 / *l3len set to the network-layer bytes and *family
 * to AF_INET / AF_INET6, 0 when the frame carries something else (ARP, ...), -1 when it is cut inside
 * the link header or the link type is not supported. note (when not NULL) says why.
 */
int decode_link(int dlt, const unsigned char *frame, size_t caplen, const unsigned char **l3, size_t *l3len,
		int *family, char *note, size_t notelen);

/* True when decode_link() reads the DLT; its name ("EN10MB"), or NULL when it does not. */
bool decode_linktype_supported(int dlt);
const char *decode_linktype_name(int dlt);

/*
 * Decodes one captured frame of the given link type (a DLT_* value as pcap_datalink() returns it).
 * caplen is what the capture holds, wirelen what the wire carried. On DECODE_SKIP / DECODE_BAD a short
 * reason ("IPv4 fragment (offset 1480) ignored", "TCP header cut at 30 of 40 bytes") is put in note
 * when note is not NULL. p->payload points into frame.
 */
enum decode_rc decode_frame(int linktype, const unsigned char *frame, size_t caplen, size_t wirelen,
			    uint64_t ts_us, struct pkt *p, char *note, size_t notelen);

struct ipfrag;

/*
 * decode_frame() with IP fragment reassembly: a fragment is kept in fr (DECODE_HELD) until its datagram
 * is whole, then the datagram is decoded (p->payload then points into fr, valid until the next call). A
 * dropped fragment (overlap, cap, cut by the snaplen) is DECODE_BAD with the reason in note. With fr
 * NULL this is decode_frame().
 */
enum decode_rc decode_frame_defrag(struct ipfrag *fr, int linktype, const unsigned char *frame, size_t caplen,
				   size_t wirelen, uint64_t ts_us, struct pkt *p, char *note, size_t notelen);

/*
 * Same from the IP header on (version taken from the first nibble). wire_extra is how many bytes of the
 * IP packet the capture lost (wirelen - caplen of the frame), used to flag snaplen cuts.
 */
enum decode_rc decode_ip(const unsigned char *ip, size_t caplen, size_t wire_extra, uint64_t ts_us,
			 struct pkt *p, char *note, size_t notelen);

/* Formats "addr:port" ("[v6]:port" for IPv6) of the packet's source (src=true) or destination. */
void pkt_addr_fmt(int family, const uint8_t *addr, uint16_t port, char *out, size_t outlen);

#endif

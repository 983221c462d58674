/*
 * capture: libpcap, offline (a tcpdump -w file) and live, the one pcap writer (--save-pcap) and the
 * interface that routes to an address. Frames are only read here: decode.h parses them, with the
 * link-type table that finds the IP header inside a frame.
 *
 * Live capture follows tcpdump's privilege order: capture_open_live() opens and activates the device
 * and installs the BPF filter (this needs root or CAP_NET_RAW); the caller then drops its privileges;
 * only after that does it read packets with capture_next() / capture_dispatch(). Opening and reading are
 * separate calls for exactly that reason. For a caller that polls while libcurl runs, capture_fd() gives
 * a selectable descriptor and capture_set_nonblock() makes capture_dispatch() return at once when nothing
 * is pending.
 *
 * Ownership: a struct capture is opaque and freed with capture_close(). Packet data handed out by
 * capture_next() / the dispatch callback stays valid only until the next read on the same capture.
 */
#ifndef RECHECK_CAPTURE_H
#define RECHECK_CAPTURE_H

#include "api.h"

#include <sys/socket.h>

struct capture;
struct buf;

/* One captured frame. */
struct capture_pkt {
	const unsigned char *data; /* the frame, starting at the link-layer header */
	size_t caplen;          /* bytes present in data */
	size_t wirelen;         /* bytes the frame had on the wire (caplen < wirelen: snaplen cut) */
	uint64_t ts_us;         /* capture time, microseconds since the epoch */
};

/* Counters from pcap_stats(), for live captures. */
struct capture_stats {
	uint64_t recv;          /* packets the filter accepted */
	uint64_t drop;          /* dropped by the kernel for lack of buffer space: bytes were lost */
	uint64_t ifdrop;        /* dropped by the interface or its driver */
};

struct capture_live_opts {
	const char *iface;      /* device name ("lo", "eth0"); required */
	const char *filter;     /* BPF filter expression (tcpdump syntax); NULL or "" captures everything */
	int snaplen;            /* bytes kept per packet; 0: 262144 */
	int buffer_bytes;       /* kernel buffer size; 0: 4 MiB */
	int timeout_ms;         /* read timeout when not in immediate mode; 0: 100 ms */
	bool immediate;         /* deliver each packet at once (pcap_set_immediate_mode). Without it, Linux
				 * TPACKET_V3 holds packets in a partly filled block until timeout_ms expires:
				 * a caller that stops reading early loses them */
};

/*
 * Opens a capture file (pcap or pcapng). NULL with "FILE: reason" in err: missing, unreadable, empty,
 * not a capture file (wrong magic), truncated header, or a link type recheck cannot decode.
 */
struct capture *capture_open_offline(const char *path, char *err, size_t errlen);

/*
 * Opens and activates a live capture (pcap_create, snaplen, immediate mode, buffer size, pcap_activate)
 * and installs the filter (pcap_compile + pcap_setfilter). Needs root or CAP_NET_RAW. NULL with
 * "IFACE: reason" in err (no such device, permission denied, filter syntax, unsupported link type).
 */
struct capture *capture_open_live(const struct capture_live_opts *o, char *err, size_t errlen);

/* Replaces the filter of an open capture. -1 with the reason (the expression is named) in err. */
int capture_set_filter(struct capture *c, const char *filter, char *err, size_t errlen);

/* Non-blocking reads for a live capture. -1 with err. */
int capture_set_nonblock(struct capture *c, bool on, char *err, size_t errlen);

/* A descriptor that polls readable when packets may be pending (live), or -1 (offline files). */
int capture_fd(const struct capture *c);

/* The DLT_* link type of the capture (pcap_datalink), and a link type's name ("EN10MB"; libpcap's name
 * for the types decode.c does not read). */
int capture_linktype(const struct capture *c);
const char *capture_linktype_name(int dlt);

/*
 * Reads the next frame. Returns 1 with *out filled, 0 when there is nothing more (end of file; for a live
 * capture: the read timeout expired or, non-blocking, nothing is pending), -1 with err ("FILE: truncated
 * dump file; tried to read 1514 captured bytes, only got 200").
 */
int capture_next(struct capture *c, struct capture_pkt *out, char *err, size_t errlen);

typedef void (*capture_cb)(void *arg, const struct capture_pkt *pkt);

/*
 * Hands up to max frames (max <= 0: everything pending in one buffer) to cb. Returns the number of frames,
 * 0 when none was pending (or end of file), -1 with err.
 */
int capture_dispatch(struct capture *c, int max, capture_cb cb, void *arg, char *err, size_t errlen);

/* pcap_stats() of a live capture. -1 with err (offline captures have no statistics). */
int capture_stats(struct capture *c, struct capture_stats *st, char *err, size_t errlen);

/* Closes the capture (and frees it); NULL is a no-op. */
void capture_close(struct capture *c);


/*
 * --save-pcap, the one pcap writer: the classic file format (little-endian, microsecond timestamps,
 * snaplen 262144) appended to b, which its owner writes out atomically. capture_pcap_header() starts a
 * file of link type dlt; capture_pcap_record() adds one frame, or returns -1 and leaves b as it was when
 * the frame does not fit under b's cap (the file stays readable up to there).
 */
int capture_pcap_header(struct buf *b, int dlt);
int capture_pcap_record(struct buf *b, const struct capture_pkt *pk);

/*
 * Names the interface whose packets reach addr: "lo" for 127.0.0.0/8 and ::1 (the loopback device as
 * pcap names it), otherwise the interface holding the local address that a UDP connect() to addr picks
 * (matched with getifaddrs). -1 with err when no interface matches. --iface overrides this in the caller.
 */
int capture_iface_for(const struct sockaddr *addr, socklen_t addrlen, char *ifname, size_t ifnamelen,
		      char *err, size_t errlen);

#endif

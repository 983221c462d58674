/*
 * capture: libpcap offline and live captures, --save-pcap and the choice of the interface that routes to
 * the proxy. Frames are only read here: decode.c parses them, its link-type table included.
 */
#include "api.h"

#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <libgen.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "capture.h"
#include "decode.h"
#include "rd.h"
#include "util.h"

struct capture {
	pcap_t *p;
	int dlt;
	bool live;
	char name[256];         /* the file or the interface, for messages */
};

/* ------------------------------------------------------------------------------------------------ */
/* Link types: the table is decode.c's; libpcap only adds names for the ones we do not read. */

const char *capture_linktype_name(int dlt)
{
	const char *n = decode_linktype_name(dlt);

	if (!n)
		n = pcap_datalink_val_to_name(dlt);
	return n ? n : "unknown";
}

/* ------------------------------------------------------------------------------------------------ */
/* Opening */

static int check_linktype(struct capture *c, char *err, size_t errlen)
{
	c->dlt = pcap_datalink(c->p);
	if (!decode_linktype_supported(c->dlt)) {
		set_err(err, errlen, "%s: link type %d (%s) is not supported (EN10MB, NULL, LOOP, LINUX_SLL, "
			"LINUX_SLL2, RAW, IPV4, IPV6 are)", c->name, c->dlt, capture_linktype_name(c->dlt));
		return -1;
	}
	return 0;
}

struct capture *capture_open_offline(const char *path, char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	struct capture *c;
	struct stat st;
	FILE *fp = NULL;

	c = calloc(1, sizeof(*c));
	if (!c) {
		set_err(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	snprintf(c->name, sizeof(c->name), "%s", path);
	fp = fopen(path, "rbe");
	if (!fp) {
		set_err(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (fstat(fileno(fp), &st) == -1) {
		set_err(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (S_ISDIR(st.st_mode)) {
		set_err(err, errlen, "%s: is a directory, not a capture file", path);
		goto fail;
	}
	if (S_ISREG(st.st_mode) && st.st_size == 0) {
		set_err(err, errlen, "%s: empty file, not a pcap or pcapng capture", path);
		goto fail;
	}
	c->p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_MICRO, ebuf);
	if (!c->p) {
		/* libpcap says "unknown file format" for a wrong magic and "truncated dump file" for a short
		 * header; keep its words, but make sure the user knows what it is about. */
		set_err(err, errlen, "%s: not a readable pcap/pcapng capture: %s", path, ebuf);
		goto fail;
	}
	fp = NULL;              /* owned by c->p now */
	if (check_linktype(c, err, errlen) == -1)
		goto fail;
	return c;
fail:
	if (fp)
		fclose(fp);
	capture_close(c);
	return NULL;
}

struct capture *capture_open_live(const struct capture_live_opts *o, char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	struct capture *c;
	int rc, fd;

	c = calloc(1, sizeof(*c));
	if (!c) {
		set_err(err, errlen, "%s: out of memory", o->iface ? o->iface : "?");
		return NULL;
	}
	c->live = true;
	snprintf(c->name, sizeof(c->name), "%s", o->iface ? o->iface : "");
	if (!o->iface || !*o->iface) {
		set_err(err, errlen, "no capture interface given");
		goto fail;
	}
	c->p = pcap_create(o->iface, ebuf);
	if (!c->p) {
		set_err(err, errlen, "%s: %s", o->iface, ebuf);
		goto fail;
	}
	if (pcap_set_snaplen(c->p, o->snaplen > 0 ? o->snaplen : 262144) != 0 ||
	    pcap_set_promisc(c->p, 0) != 0 ||
	    pcap_set_timeout(c->p, o->timeout_ms > 0 ? o->timeout_ms : 100) != 0 ||
	    pcap_set_buffer_size(c->p, o->buffer_bytes > 0 ? o->buffer_bytes : 4 << 20) != 0 ||
	    pcap_set_immediate_mode(c->p, o->immediate ? 1 : 0) != 0) {
		set_err(err, errlen, "%s: cannot set capture options: %s", o->iface, pcap_geterr(c->p));
		goto fail;
	}
	rc = pcap_activate(c->p);
	if (rc < 0) {
		if (rc == PCAP_ERROR_PERM_DENIED)
			set_err(err, errlen, "%s: permission denied: capturing needs root or CAP_NET_RAW (%s)",
				o->iface, pcap_geterr(c->p));
		else if (rc == PCAP_ERROR_NO_SUCH_DEVICE)
			set_err(err, errlen, "%s: no such capture interface (%s)", o->iface, pcap_geterr(c->p));
		else
			set_err(err, errlen, "%s: cannot start the capture: %s (%s)", o->iface,
				pcap_statustostr(rc), pcap_geterr(c->p));
		goto fail;
	}
	fd = pcap_get_selectable_fd(c->p);
	if (fd != -1 && fcntl(fd, F_SETFD, FD_CLOEXEC) == -1) {
		set_err(err, errlen, "%s: fcntl: %s", o->iface, strerror(errno));
		goto fail;
	}
	if (check_linktype(c, err, errlen) == -1)
		goto fail;
	if (o->filter && *o->filter && capture_set_filter(c, o->filter, err, errlen) == -1)
		goto fail;
	return c;
fail:
	capture_close(c);
	return NULL;
}

int capture_set_filter(struct capture *c, const char *filter, char *err, size_t errlen)
{
	struct bpf_program prog;

	if (pcap_compile(c->p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) == -1) {
		set_err(err, errlen, "%s: bad capture filter \"%s\": %s", c->name, filter, pcap_geterr(c->p));
		return -1;
	}
	if (pcap_setfilter(c->p, &prog) == -1) {
		set_err(err, errlen, "%s: cannot install the filter \"%s\": %s", c->name, filter,
			pcap_geterr(c->p));
		pcap_freecode(&prog);
		return -1;
	}
	pcap_freecode(&prog);
	return 0;
}

int capture_set_nonblock(struct capture *c, bool on, char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";

	if (pcap_setnonblock(c->p, on ? 1 : 0, ebuf) == -1) {
		set_err(err, errlen, "%s: %s", c->name, ebuf);
		return -1;
	}
	return 0;
}

int capture_fd(const struct capture *c)
{
	return c->live ? pcap_get_selectable_fd(c->p) : -1;
}

int capture_linktype(const struct capture *c)
{
	return c->dlt;
}

static uint64_t tv_us(const struct timeval *tv)
{
	return (uint64_t)tv->tv_sec * 1000000u + (uint64_t)tv->tv_usec;
}

int capture_next(struct capture *c, struct capture_pkt *out, char *err, size_t errlen)
{
	struct pcap_pkthdr *h;
	const u_char *data;
	int rc;

	rc = pcap_next_ex(c->p, &h, &data);
	if (rc == 1) {
		out->data = data;
		out->caplen = h->caplen;
		out->wirelen = h->len;
		out->ts_us = tv_us(&h->ts);
		return 1;
	}
	if (rc == 0 || rc == PCAP_ERROR_BREAK)
		return 0;
	set_err(err, errlen, "%s: %s%s", c->name, c->live ? "" : "corrupt or truncated capture: ",
		pcap_geterr(c->p));
	return -1;
}

struct dispatch_ctx {
	capture_cb cb;
	void *arg;
};

static void dispatch_one(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
	struct dispatch_ctx *d = (struct dispatch_ctx *)user;
	struct capture_pkt pk = {data, h->caplen, h->len, tv_us(&h->ts)};

	d->cb(d->arg, &pk);
}

int capture_dispatch(struct capture *c, int max, capture_cb cb, void *arg, char *err, size_t errlen)
{
	struct dispatch_ctx d = {cb, arg};
	int rc;

	rc = pcap_dispatch(c->p, max > 0 ? max : -1, dispatch_one, (u_char *)&d);
	if (rc >= 0)
		return rc;
	if (rc == PCAP_ERROR_BREAK)
		return 0;
	set_err(err, errlen, "%s: %s%s", c->name, c->live ? "" : "corrupt or truncated capture: ",
		pcap_geterr(c->p));
	return -1;
}

int capture_stats(struct capture *c, struct capture_stats *st, char *err, size_t errlen)
{
	struct pcap_stat ps;

	if (!c->live) {
		set_err(err, errlen, "%s: a capture file has no drop statistics", c->name);
		return -1;
	}
	if (pcap_stats(c->p, &ps) == -1) {
		set_err(err, errlen, "%s: %s", c->name, pcap_geterr(c->p));
		return -1;
	}
	st->recv = ps.ps_recv;
	st->drop = ps.ps_drop;
	st->ifdrop = ps.ps_ifdrop;
	return 0;
}

void capture_close(struct capture *c)
{
	if (!c)
		return;
	if (c->p)
		pcap_close(c->p);
	free(c);
}

/* ------------------------------------------------------------------------------------------------ */
/* --save-pcap */

/* ------------------------------------------------------------------------------------------------ */
/* The one pcap writer: the classic file format, little-endian, microsecond timestamps, into a buffer */

static int put_le32(struct buf *b, uint32_t v)
{
	unsigned char p[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
			      (unsigned char)(v >> 24)};

	return buf_append(b, p, 4);
}

/* pcap files carry LINKTYPE_ values; they equal the DLT_ values except for the raw-IP ones. */
static uint32_t dlt_to_linktype(int dlt)
{
	if (dlt == 12 || dlt == 14) /* DLT_RAW as Linux (12) or OpenBSD (14) number it */
		return 101;
	return (uint32_t)dlt;
}

int capture_pcap_header(struct buf *b, int dlt)
{
	static const unsigned char head[] = {0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0};

	if (buf_append(b, head, sizeof(head)) == -1 || put_le32(b, 262144) == -1 ||
	    put_le32(b, dlt_to_linktype(dlt)) == -1)
		return -1;
	return 0;
}

int capture_pcap_record(struct buf *b, const struct capture_pkt *pk)
{
	size_t before = b->len;

	if (put_le32(b, (uint32_t)(pk->ts_us / 1000000u)) == -1 || put_le32(b, (uint32_t)(pk->ts_us % 1000000u)) == -1 ||
	    put_le32(b, (uint32_t)pk->caplen) == -1 || put_le32(b, (uint32_t)pk->wirelen) == -1 ||
	    buf_append(b, pk->data, pk->caplen) == -1) {
		b->len = before; /* never a half record: the file stays readable up to here */
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------------------------------------ */
/* Which interface reaches the proxy */

static bool sa_is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr);
	return false;
}

static bool sa_same_addr(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family)
		return false;
	if (a->sa_family == AF_INET)
		return ((const struct sockaddr_in *)(const void *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)(const void *)b)->sin_addr.s_addr;
	if (a->sa_family == AF_INET6)
		return !memcmp(&((const struct sockaddr_in6 *)(const void *)a)->sin6_addr,
			       &((const struct sockaddr_in6 *)(const void *)b)->sin6_addr, 16);
	return false;
}

int capture_iface_for(const struct sockaddr *addr, socklen_t addrlen, char *ifname, size_t ifnamelen,
		      char *err, size_t errlen)
{
	struct sockaddr_storage local;
	socklen_t llen = sizeof(local);
	struct ifaddrs *ifa = NULL, *i;
	bool loop;
	int fd = -1, rc = -1;

	loop = sa_is_loopback(addr);
	if (!loop) {
		/* A UDP connect() sends nothing but makes the kernel pick the route and the source address. */
		fd = socket(addr->sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd == -1) {
			set_err(err, errlen, "socket: %s", strerror(errno));
			goto out;
		}
		if (connect(fd, addr, addrlen) == -1) {
			set_err(err, errlen, "no route to the proxy address: %s", strerror(errno));
			goto out;
		}
		if (getsockname(fd, (struct sockaddr *)&local, &llen) == -1) {
			set_err(err, errlen, "getsockname: %s", strerror(errno));
			goto out;
		}
		loop = sa_is_loopback((struct sockaddr *)&local);
	}
	if (getifaddrs(&ifa) == -1) {
		set_err(err, errlen, "getifaddrs: %s", strerror(errno));
		goto out;
	}
	for (i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr || !i->ifa_name)
			continue;
		if (loop ? (i->ifa_flags & IFF_LOOPBACK) != 0 : sa_same_addr(i->ifa_addr, (struct sockaddr *)&local)) {
			snprintf(ifname, ifnamelen, "%s", i->ifa_name);
			rc = 0;
			goto out;
		}
	}
	if (loop) {
		snprintf(ifname, ifnamelen, "lo");
		rc = 0;
		goto out;
	}
	set_err(err, errlen, "no interface holds the local address that routes to the proxy; use --iface");
out:
	if (ifa)
		freeifaddrs(ifa);
	if (fd != -1)
		close(fd);
	return rc;
}

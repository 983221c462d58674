/*
 * record_capture: the capture side of a live recording (see record_priv.h). The capture is opened and
 * activated while privileged, then privileges are dropped; from then on each frame the kernel ring holds
 * is drained, as the conversation happens, through the same feed as a capture file
 * (flow_table_input_frame(), flow_pcap.c) and, with --save-pcap, through capture.c's pcap writer.
 * Progress lines and --passive's wait for someone else's conversation live here too.
 */
#include "api.h"

#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <signal.h>
#include <unistd.h>

#include "cmd.h"
#include "decode.h"
#include "flow_pcap.h"
#include "privsep.h"
#include "record_priv.h"
#include "util.h"

/* --- the saved capture (capture.c's pcap writer) ---------------------------------------------------- */

static void pcap_record(struct rec *R, const struct capture_pkt *pk)
{
	if (R->pcap && !R->pcap_over && capture_pcap_record(R->pcap, pk) == -1)
		R->pcap_over = true;
}

/* Packets the kernel dropped since the ring was drained, right before curl started. */
uint64_t rec_drops_since_start(const struct rec *R)
{
	uint64_t d = R->st.drop + R->st.ifdrop;

	return d > R->drops0 ? d - R->drops0 : 0;
}

/* --- progress ---------------------------------------------------------------------------------- */

void rec_progress(struct rec *R, const char *phase, bool final)
{
	char line[256];
	uint64_t t = now_ms();

	if (!final && t - R->last_progress_ms < 100)
		return;
	R->last_progress_ms = t;
	snprintf(line, sizeof(line), "recording: %s, %llu packets, %llu bytes, %llu dropped", phase,
		 (unsigned long long)R->pkts, (unsigned long long)R->bytes,
		 (unsigned long long)rec_drops_since_start(R));
	if (R->status > 0) {
		size_t n = strlen(line);
		snprintf(line + n, sizeof(line) - n, ", HTTP %ld", R->status);
	}
	if (R->tty)
		fprintf(stderr, "\r%s\033[K%s", line, final ? "\n" : "");
	else if (final)
		fprintf(stderr, "%s\n", line);
}

void rec_refresh_stats(struct rec *R, bool force)
{
	uint64_t t = now_ms();
	char err[ERR_LEN];

	if (!force && t - R->last_stats_ms < STATS_EVERY_MS)
		return;
	R->last_stats_ms = t;
	if (capture_stats(R->cap, &R->st, err, sizeof(err)) == -1 && R->o->verbose)
		fprintf(stderr, "recheck record: %s\n", err);
}

/* --- packets ----------------------------------------------------------------------------------- */

static void on_pkt(void *arg, const struct capture_pkt *pk)
{
	struct rec *R = arg;
	char note[160];
	bool cut;
	int rc;

	R->pkts++;
	R->bytes += pk->wirelen;
	pcap_record(R, pk);
	if (R->fatal)
		return;
	rc = flow_table_input_frame(R->ft, R->fr, R->dlt, pk, &cut, note, sizeof(note), R->fatal_err,
				    sizeof(R->fatal_err));
	if (rc == -1) {
		R->fatal = true;
	} else if (rc == DECODE_OK) {
		if (cut)
			R->cut++;
	} else if (rc != DECODE_HELD) {
		R->bad++;
		if (R->o->verbose)
			fprintf(stderr, "%srecheck record: packet %llu skipped: %s\n", R->tty ? "\r\033[K" : "",
				(unsigned long long)R->pkts, note);
	}
}

/* The proxy is the server: that decides the direction even when a handshake packet was lost. */
void rec_set_server_hint(struct rec *R)
{
	const struct sockaddr_storage *ss = &R->o->proxy_sa;
	uint8_t addr[16] = {0};

	if (ss->ss_family == AF_INET)
		memcpy(addr, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	else
		memcpy(addr, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
	flow_table_set_server(R->ft, ss->ss_family, addr, (uint16_t)R->o->proxy->port);
}

static void discard(void *arg, const struct capture_pkt *pk)
{
	(void)arg;
	(void)pk;
}

/*
 * Before curl starts: between pcap_activate() and the filter, the socket took whatever crossed the
 * interface, and a busy link (a benchmark on loopback) can fill the ring in that window, which would
 * then drop curl's first packets. Empty the ring (bounded in time) and count drops from here on: none
 * of them could be the conversation's, which has not begun.
 */
int rec_drain_before(struct rec *R, char *err, size_t errlen)
{
	uint64_t deadline = now_ms() + 200;
	int n;

	do {
		n = capture_dispatch(R->cap, 0, discard, R, err, errlen);
		if (n == -1)
			return -1;
	} while (n > 0 && now_ms() < deadline);
	if (capture_stats(R->cap, &R->st, err, errlen) == 0)
		R->drops0 = R->st.drop + R->st.ifdrop;
	return 0;
}

/* Reads what is pending. -1 with err when the capture fails. */
int rec_service(struct rec *R, char *err, size_t errlen)
{
	int n, rounds;

	/* Bounded: a flood cannot keep us here, curl still gets its turn. */
	for (rounds = 0; rounds < 64; rounds++) {
		n = capture_dispatch(R->cap, 0, on_pkt, R, err, errlen);
		if (n == -1)
			return -1;
		if (n == 0)
			break;
	}
	return 0;
}

int rec_pump(struct rec *R)
{
	char err[ERR_LEN];

	if (rec_service(R, err, sizeof(err)) == -1) {
		cmd_err("record", "%s", err);
		return RC_EXIT_IO;
	}
	return RC_EXIT_OK;
}

void rec_wait_capture(struct rec *R, int ms)
{
	struct pollfd pfd = {.fd = capture_fd(R->cap), .events = POLLIN};

	if (pfd.fd != -1)
		poll(&pfd, 1, ms);
	else
		usleep((useconds_t)ms * 1000);
}

/* Curl's flow: the client port is the local port curl used, the server is the proxy. */
struct flow *rec_find_flow(struct rec *R, int local_port)
{
	struct flow *f;
	size_t i;

	for (i = 0; (f = flow_table_get(R->ft, i)); i++)
		if (f->d[TURN_C2S].port == local_port && f->d[TURN_S2C].port == R->o->proxy->port)
			return f;
	return NULL;
}

/* The opensocket hook: narrow the filter to this one flow before its SYN is sent. */
void rec_on_socket(void *arg, int port)
{
	struct rec *R = arg;
	char filter[512], err[ERR_LEN];

	R->local_port = port;
	snprintf(filter, sizeof(filter), "tcp and host %s and port %d and port %d", R->o->proxy_addr,
		 R->o->proxy->port, port);
	if (capture_set_filter(R->cap, filter, err, sizeof(err)) == -1) {
		if (R->o->verbose)
			fprintf(stderr, "recheck record: keeping the wider filter: %s\n", err);
	} else if (R->o->verbose) {
		fprintf(stderr, "%srecheck record: curl's local port is %d; filter now \"%s\"\n",
			R->tty ? "\r\033[K" : "", port, filter);
	}
}

/* --- opening the capture, dropping privileges ----------------------------------------------------- */

/*
 * True when addr is one of this host's own addresses: traffic to it never leaves through the interface
 * that holds it but goes over the loopback device (the kernel's "local" routing table). Binding to the
 * address succeeds exactly when it is local.
 */
static bool addr_is_local(const struct sockaddr *addr, socklen_t addrlen)
{
	struct sockaddr_storage ss;
	int fd;
	bool local;

	if (addrlen > sizeof(ss))
		return false;
	memcpy(&ss, addr, addrlen);
	if (ss.ss_family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_port = 0;
	else if (ss.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&ss)->sin6_port = 0;
	else
		return false;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return false;
	local = bind(fd, (struct sockaddr *)&ss, addrlen) == 0;
	close(fd);
	return local;
}

int rec_open_capture(struct rec *R, char *iface, size_t ifacelen)
{
	const struct record_opts *o = R->o;
	struct capture_live_opts lo = {0};
	char filter[256], err[ERR_LEN];

	if (o->iface) {
		snprintf(iface, ifacelen, "%s", o->iface);
	} else if (addr_is_local((const struct sockaddr *)&o->proxy_sa, o->proxy_salen)) {
		snprintf(iface, ifacelen, "lo");
	} else if (capture_iface_for((const struct sockaddr *)&o->proxy_sa, o->proxy_salen, iface, ifacelen, err,
				     sizeof(err)) == -1) {
		cmd_err("record", "cannot tell which interface reaches the proxy %s: %s; name it with --iface",
			o->proxy_addr, err);
		return RC_EXIT_IO;
	}
	snprintf(filter, sizeof(filter), "tcp and host %s and port %d", o->proxy_addr, o->proxy->port);
	lo.iface = iface;
	lo.filter = filter;
	/* Not immediate mode: libpcap would then use fixed-size TPACKET_V2 slots of snaplen bytes each, only
	 * a few dozen in the buffer, and a burst on loopback (64 KiB segments) overflows them. TPACKET_V3
	 * packs packets into blocks; a block is handed over when full or after timeout_ms, a latency the
	 * drain after the request covers. */
	lo.immediate = false;
	lo.timeout_ms = CAPTURE_TIMEOUT_MS;
	lo.buffer_bytes = CAPTURE_BUFFER;
	R->cap = capture_open_live(&lo, err, sizeof(err));
	if (!R->cap) {
		if (geteuid() != 0)
			cmd_err("record",
				"cannot capture on %s: %s\n"
				"  Capturing packets needs root or the CAP_NET_RAW capability. Either run it with sudo\n"
				"  (recheck drops to the invoking user, or nobody, as soon as the capture is open):\n"
				"    sudo recheck record ...\n"
				"  or grant the capability to the binary once:\n"
				"    sudo setcap cap_net_raw,cap_net_admin=eip \"$(command -v recheck)\"",
				iface, err);
		else
			cmd_err("record", "cannot capture on %s: %s", iface, err);
		return RC_EXIT_IO;
	}
	R->dlt = capture_linktype(R->cap);
	if (o->verbose)
		fprintf(stderr, "recheck record: capturing on %s (link type %s), filter \"%s\"\n", iface,
			capture_linktype_name(R->dlt), filter);
	return RC_EXIT_OK;
}

int rec_drop_privileges(struct rec *R)
{
	const struct record_opts *o = R->o;
	char err[ERR_LEN], ids[256];

	if (o->drop_to) {
		if (privsep_drop(o->drop_to, err, sizeof(err)) == -1) {
			cmd_err("record", "cannot drop privileges to %s: %s", o->drop_to->name, err);
			return RC_EXIT_IO;
		}
		/* Die with the privileged parent: nothing would collect the result anyway. Set after the
		 * switch, which clears it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		if (o->monitor && getppid() != o->monitor)
			return RC_EXIT_IO; /* the monitor is already gone */
	} else if (privsep_drop_caps(err, sizeof(err)) == -1) {
		cmd_err("record", "cannot clear capabilities: %s", err);
		return RC_EXIT_IO;
	}
	if (o->verbose) {
		privsep_describe(ids, sizeof(ids));
		fprintf(stderr, "recheck record: pid %d runs curl and parses packets as %s (%s): %s\n", (int)getpid(),
			o->drop_to ? o->drop_to->name : "the invoking user",
			o->drop_to ? o->drop_to->why : "not root", ids);
	}
	return RC_EXIT_OK;
}

/*
 * --passive: the next complete conversation with the server, made by any client. Complete: its
 * handshake was seen (nothing missing before it), the client sent bytes, and it closed (FIN both ways or
 * a RST). Progress on stderr; at the timeout, a message saying what was seen.
 */
int rec_passive_wait(struct rec *R, struct flow **out, const char *iface)
{
	const struct record_opts *o = R->o;
	uint64_t start = now_ms(), deadline = start + o->timeout_ms, last_note = start;
	struct flow *f;
	char line[200];
	size_t i;

	fprintf(stderr, "recheck record: waiting on %s for the next complete conversation with %s (any client, up to "
		"%.1f s): start the client now\n", iface, o->proxy_display, (double)o->timeout_ms / 1000.0);
	while (now_ms() < deadline) {
		if (rec_pump(R) != RC_EXIT_OK)
			return RC_EXIT_IO;
		if (R->fatal) {
			cmd_err("record", "capture: %s", R->fatal_err);
			return RC_EXIT_IO;
		}
		for (i = 0; (f = flow_table_get(R->ft, i)); i++) {
			if (f->midflow || !f->d[TURN_C2S].syn_seen || !f->d[TURN_C2S].bytes || !flow_is_closed(f))
				continue;
			*out = f;
			rec_refresh_stats(R, true);
			snprintf(line, sizeof(line), "conversation %zu complete", f->index);
			rec_progress(R, line, true);
			return RC_EXIT_OK;
		}
		rec_refresh_stats(R, false);
		snprintf(line, sizeof(line), "waiting, %zu conversation(s) seen, %llu s left", flow_table_count(R->ft),
			 (unsigned long long)((deadline - now_ms()) / 1000));
		if (!R->tty && now_ms() - last_note >= 5000) {
			last_note = now_ms();
			fprintf(stderr, "recording: %s, %llu packets\n", line, (unsigned long long)R->pkts);
		}
		rec_progress(R, line, false);
		rec_wait_capture(R, POLL_MS);
	}
	rec_progress(R, "timed out", true);
	cmd_err("record", "--passive: no complete conversation with %s on %s within %.1f s (%llu packets, %zu "
		"conversation(s) seen, none both started and closed while recheck watched): make the client connect "
		"while recheck waits, or give a longer --timeout", o->proxy_display, iface,
		(double)o->timeout_ms / 1000.0, (unsigned long long)R->pkts, flow_table_count(R->ft));
	return RC_EXIT_UNREACHABLE;
}

/*
 * record: one live recording (see record.h).
 *
 * Order matters and is the point of this file: the capture is opened and activated first (privileged),
 * then privileges are dropped and verified, and only then does libcurl run and a captured byte get read.
 * While curl runs, the capture's descriptor is polled together with curl's sockets, so the kernel ring
 * is drained as the conversation happens. Each frame goes through the same feed as a capture file
 * (flow_table_input_frame(), flow_pcap.c) and, with --save-pcap, through capture.c's pcap writer.
 */
#include "api.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"
#include "cmd.h"
#include "decode.h"
#include "dissect.h"
#include "drive.h"
#include "flow.h"
#include "flow_pcap.h"
#include "ipfrag.h"
#include "recipe.h"
#include "recipe_haproxy.h"
#include "recipe_yaml.h"
#include "record.h"
#include "turn.h"
#include "util.h"

#define DRAIN_MS        300     /* how long to wait for the last segments once curl is done */
#define CAPTURE_TIMEOUT_MS 20   /* longest a captured packet waits in the kernel before we see it */
#define CAPTURE_BUFFER  (16 << 20)
#define POLL_MS         50
#define STATS_EVERY_MS  200
#define SUMMARY_CAP     (64u << 10)

struct rec {
	const struct record_opts *o;
	struct capture *cap;
	struct flow_table *ft;
	struct ipfrag *fr;      /* IP fragments waiting for the rest of their datagram */
	int dlt;
	int local_port;         /* from the opensocket hook, before connect; 0 until then */
	uint64_t pkts;
	uint64_t bytes;         /* frame bytes on the wire */
	uint64_t bad;           /* frames that did not decode as TCP */
	uint64_t cut;           /* segments the snaplen cut */
	struct capture_stats st;
	uint64_t drops0;        /* drops counted before the conversation began (see drain_before) */
	bool tty;
	bool fatal;             /* the flow table cannot go on */
	char fatal_err[ERR_LEN];
	bool pcap_over;         /* the in-memory pcap hit RECORD_MAX_PCAP */
	struct buf *pcap;       /* NULL: not saving */
	uint64_t last_stats_ms;
	uint64_t last_progress_ms;
	long status;
};

void record_out_init(struct record_out *o)
{
	memset(o, 0, sizeof(*o));
	buf_init(&o->text, RECORD_MAX_TEXT);
	buf_init(&o->pcap, RECORD_MAX_PCAP);
}

void record_out_free(struct record_out *o)
{
	buf_free(&o->text);
	buf_free(&o->pcap);
}

/* --- the saved capture (capture.c's pcap writer) ---------------------------------------------------- */

static void pcap_record(struct rec *R, const struct capture_pkt *pk)
{
	if (R->pcap && !R->pcap_over && capture_pcap_record(R->pcap, pk) == -1)
		R->pcap_over = true;
}

/* Packets the kernel dropped since the ring was drained, right before curl started. */
static uint64_t drops_since_start(const struct rec *R)
{
	uint64_t d = R->st.drop + R->st.ifdrop;

	return d > R->drops0 ? d - R->drops0 : 0;
}

/* --- progress ---------------------------------------------------------------------------------- */

static void progress(struct rec *R, const char *phase, bool final)
{
	char line[256];
	uint64_t t = now_ms();

	if (!final && t - R->last_progress_ms < 100)
		return;
	R->last_progress_ms = t;
	snprintf(line, sizeof(line), "recording: %s, %llu packets, %llu bytes, %llu dropped", phase,
		 (unsigned long long)R->pkts, (unsigned long long)R->bytes,
		 (unsigned long long)drops_since_start(R));
	if (R->status > 0) {
		size_t n = strlen(line);
		snprintf(line + n, sizeof(line) - n, ", HTTP %ld", R->status);
	}
	if (R->tty)
		fprintf(stderr, "\r%s\033[K%s", line, final ? "\n" : "");
	else if (final)
		fprintf(stderr, "%s\n", line);
}

static void refresh_stats(struct rec *R, bool force)
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
static void set_server_hint(struct rec *R)
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
static int drain_before(struct rec *R, char *err, size_t errlen)
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
static int service(struct rec *R, char *err, size_t errlen)
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

/* Curl's flow: the client port is the local port curl used, the server is the proxy. */
static struct flow *find_flow(struct rec *R, int local_port)
{
	struct flow *f;
	size_t i;

	for (i = 0; (f = flow_table_get(R->ft, i)); i++)
		if (f->d[TURN_C2S].port == local_port && f->d[TURN_S2C].port == R->o->proxy->port)
			return f;
	return NULL;
}

/* The opensocket hook: narrow the filter to this one flow before its SYN is sent. */
static void on_socket(void *arg, int port)
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

/* --- the recording ----------------------------------------------------------------------------- */

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

static int open_capture(struct rec *R, char *iface, size_t ifacelen)
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

static int drop_privileges(struct rec *R)
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

/* Runs curl to the end while servicing the capture; then drains the last segments. */
static int run_request(struct rec *R, struct drive_result *res)
{
	const struct record_opts *o = R->o;
	struct drive_opts dopts = {0};
	struct drive *d;
	struct pollfd pfd;
	struct flow *f;
	char err[ERR_LEN];
	uint64_t deadline;
	int st;

	dopts.proxy = o->proxy_curl;
	dopts.url = o->url;
	dopts.tunnel = o->tunnel;
	dopts.insecure = o->insecure;
	dopts.cacert = o->cacert;
	dopts.timeout_ms = o->timeout_ms;
	dopts.curl_verbose = o->verbose >= 2;
	dopts.on_socket = on_socket;
	dopts.arg = R;
	d = drive_start(&dopts, err, sizeof(err));
	if (!d) {
		cmd_err("record", "%s", err);
		return RC_EXIT_IO;
	}
	do {
		st = drive_step(d, capture_fd(R->cap), POLL_MS, err, sizeof(err));
		if (st == -1 || service(R, err, sizeof(err)) == -1) {
			if (R->tty)
				fputc('\n', stderr);
			cmd_err("record", "%s", err);
			drive_free(d);
			return RC_EXIT_IO;
		}
		R->status = drive_status_now(d);
		refresh_stats(R, false);
		progress(R, st ? "request running" : "request done", false);
	} while (st == 1);
	drive_result(d, res);
	drive_free(d); /* the connection was closed at the end of the transfer (no reuse) */
	if (!R->local_port)
		R->local_port = res->local_port;

	/* The last segments (the server's FIN, a late ACK) may still be in flight: bounded wait. */
	deadline = now_ms() + DRAIN_MS;
	pfd.fd = capture_fd(R->cap);
	pfd.events = POLLIN;
	while (now_ms() < deadline) {
		if (service(R, err, sizeof(err)) == -1) {
			cmd_err("record", "%s", err);
			return RC_EXIT_IO;
		}
		f = R->local_port ? find_flow(R, R->local_port) : NULL;
		if (f && flow_is_closed(f))
			break;
		if (res->curl_code != 0 && !f && !R->local_port)
			break; /* never connected: nothing to wait for */
		if (pfd.fd != -1)
			poll(&pfd, 1, 20);
		else
			usleep(20000);
	}
	refresh_stats(R, true);
	progress(R, "done", true);
	return RC_EXIT_OK;
}

/*
 * curl failed, or the proxy answered 407: when the capture holds the proxy's answer, say what it was.
 * A refusal the dissector recognizes (the recorded failure rule) is exit 1 with the answer quoted; a
 * proxy that speaks another protocol than the URL's scheme is named. Returns RC_EXIT_OK when the capture
 * says nothing more than curl did.
 */
static int explain_failure(struct rec *R, const struct drive_result *res, const struct dissect_opts *dop)
{
	const struct record_opts *o = R->o;
	struct flow *f;
	struct turns t;
	struct recipe *r;
	enum dissect_rc drc;
	const unsigned char *sb = NULL;
	char err[ERR_LEN];
	size_t i, sn = 0;
	bool socks = o->proxy->scheme != PROXY_HTTP;

	flow_table_finish(R->ft);
	f = R->local_port ? find_flow(R, R->local_port) : NULL;
	if (!f || flow_turns(f, &t, err, sizeof(err)) == -1)
		return RC_EXIT_OK;
	for (i = 0; i < t.n && !sb; i++)
		if (t.v[i].dir == TURN_S2C && t.v[i].len) {
			sb = t.v[i].data;
			sn = t.v[i].len;
		}
	if (sb && socks && sn >= 5 && !memcmp(sb, "HTTP/", 5)) {
		cmd_err("record", "the proxy %s answered the %s greeting in HTTP (\"%.*s\"): it is an HTTP proxy; "
			"record with --proxy http://%s:%d", o->proxy_display, proxy_scheme_str(o->proxy->scheme),
			(int)strcspn((const char *)sb, "\r\n") < 80 ? (int)strcspn((const char *)sb, "\r\n") : 80,
			(const char *)sb, o->proxy->host, o->proxy->port);
		turns_free(&t);
		return RC_EXIT_CHECK_FAILED;
	}
	if (!socks && sb && (sb[0] == 0x05 || (sb[0] == 0x00 && sn == 8))) {
		cmd_err("record", "the proxy %s answered the HTTP request with SOCKS bytes (%02X %02X): it is a SOCKS "
			"proxy; record with --proxy socks5h://%s:%d", o->proxy_display, sb[0], sn > 1 ? sb[1] : 0,
			o->proxy->host, o->proxy->port);
		turns_free(&t);
		return RC_EXIT_CHECK_FAILED;
	}
	if (!socks && !sb && flow_state(f) != FLOW_GAP && f->d[TURN_S2C].fin_seen) {
		cmd_err("record", "the proxy %s closed the connection without answering the HTTP request: it may "
			"not be an HTTP proxy (a SOCKS proxy? record with --proxy socks5h://%s:%d)", o->proxy_display,
			o->proxy->host, o->proxy->port);
		turns_free(&t);
		return RC_EXIT_CHECK_FAILED;
	}
	if (socks && !sb && f->d[TURN_C2S].bytes) {
		/* An HTTP proxy waits for the rest of a request line that SOCKS bytes never complete. */
		fprintf(stderr, "recheck record: note: the proxy %s never answered the %s greeting; if it is an HTTP "
			"proxy, record with --proxy http://%s:%d\n", o->proxy_display,
			proxy_scheme_str(o->proxy->scheme), o->proxy->host, o->proxy->port);
	}
	r = dissect_build_rc(&t, dop, NULL, &drc, err, sizeof(err));
	turns_free(&t);
	recipe_free(r);
	if (drc != DISSECT_REFUSED)
		return RC_EXIT_OK;
	cmd_err("record", "%s: %s", o->proxy_display, err);
	return RC_EXIT_CHECK_FAILED;
}

/*
 * --passive: the next complete conversation with the server, made by any client. Complete: its
 * handshake was seen (nothing missing before it), the client sent bytes, and it closed (FIN both ways or
 * a RST). Progress on stderr; at the timeout, a message saying what was seen.
 */
static int passive_wait(struct rec *R, struct flow **out, const char *iface)
{
	const struct record_opts *o = R->o;
	uint64_t start = now_ms(), deadline = start + o->timeout_ms, last_note = start;
	struct pollfd pfd;
	struct flow *f;
	char err[ERR_LEN], line[200];
	size_t i;

	fprintf(stderr, "recheck record: waiting on %s for the next complete conversation with %s (any client, up to "
		"%.1f s): start the client now\n", iface, o->proxy_display, (double)o->timeout_ms / 1000.0);
	pfd.fd = capture_fd(R->cap);
	pfd.events = POLLIN;
	while (now_ms() < deadline) {
		if (service(R, err, sizeof(err)) == -1) {
			cmd_err("record", "%s", err);
			return RC_EXIT_IO;
		}
		if (R->fatal) {
			cmd_err("record", "capture: %s", R->fatal_err);
			return RC_EXIT_IO;
		}
		for (i = 0; (f = flow_table_get(R->ft, i)); i++) {
			if (f->midflow || !f->d[TURN_C2S].syn_seen || !f->d[TURN_C2S].bytes || !flow_is_closed(f))
				continue;
			*out = f;
			refresh_stats(R, true);
			snprintf(line, sizeof(line), "conversation %zu complete", f->index);
			progress(R, line, true);
			return RC_EXIT_OK;
		}
		refresh_stats(R, false);
		snprintf(line, sizeof(line), "waiting, %zu conversation(s) seen, %llu s left", flow_table_count(R->ft),
			 (unsigned long long)((deadline - now_ms()) / 1000));
		if (!R->tty && now_ms() - last_note >= 5000) {
			last_note = now_ms();
			fprintf(stderr, "recording: %s, %llu packets\n", line, (unsigned long long)R->pkts);
		}
		progress(R, line, false);
		if (pfd.fd != -1)
			poll(&pfd, 1, POLL_MS);
		else
			usleep(POLL_MS * 1000);
	}
	progress(R, "timed out", true);
	cmd_err("record", "--passive: no complete conversation with %s on %s within %.1f s (%llu packets, %zu "
		"conversation(s) seen, none both started and closed while recheck watched): make the client connect "
		"while recheck waits, or give a longer --timeout", o->proxy_display, iface,
		(double)o->timeout_ms / 1000.0, (unsigned long long)R->pkts, flow_table_count(R->ft));
	return RC_EXIT_UNREACHABLE;
}

/* Checks curl's outcome. A failed request is the proxy's (or the path's) fault: exit 4, no output. */
static int judge_request(struct rec *R, const struct drive_result *res)
{
	const struct record_opts *o = R->o;

	if (res->curl_code != 0) {
		cmd_err("record", "the request to %s through the proxy %s failed: curl: %s", o->url, o->proxy_display,
			res->curl_msg);
		if (res->connect_status == 407 && o->proxy->has_user)
			cmd_err("record", "the proxy refused the credentials given (407): check the user name and "
				"password");
		else if (res->connect_status == 407)
			cmd_err("record", "the proxy wants credentials (407): give them as %s://USER:PASSWORD@HOST:PORT",
				proxy_scheme_str(o->proxy->scheme));
		return RC_EXIT_UNREACHABLE;
	}
	if (res->http_status == 407 || res->connect_status == 407) {
		cmd_err("record", "the proxy %s refused the request: 407 Proxy Authentication Required; %s",
			o->proxy_display, o->proxy->has_user ? "it refused the credentials given: check the user name "
							      "and password"
							    : "give credentials as http://USER:PASSWORD@HOST:PORT");
		return RC_EXIT_UNREACHABLE;
	}
	if (res->http_status < 200 || res->http_status >= 400)
		fprintf(stderr, "recheck record: warning: the response status is %ld; the recipe will expect "
				"exactly that\n", res->http_status);
	return RC_EXIT_OK;
}

/* The flow curl used, reassembled and checked: nothing missing, or a clear error. */
static int take_flow(struct rec *R, const struct drive_result *res, struct turns *t)
{
	const struct record_opts *o = R->o;
	uint64_t drops = drops_since_start(R);
	struct flow *f;
	char err[ERR_LEN], desc[160];
	bool complete;

	if (R->fatal) {
		cmd_err("record", "capture: %s", R->fatal_err);
		return RC_EXIT_IO;
	}
	flow_table_finish(R->ft);
	f = R->local_port ? find_flow(R, R->local_port) : NULL;
	if (!f) {
		cmd_err("record",
			"the capture holds no packet of curl's connection (local port %d to %s port %d): %llu "
			"packets captured; is the interface right (--iface)?",
			R->local_port, o->proxy_addr, o->proxy->port, (unsigned long long)R->pkts);
		return RC_EXIT_IO;
	}
	if (res->nconnections > 1)
		fprintf(stderr, "recheck record: warning: curl opened %d connections; recording the last one (local "
				"port %d)\n", res->nconnections, R->local_port);
	flow_describe(f, desc, sizeof(desc));
	if (f->err[0]) {
		cmd_err("record", "the recorded conversation %s is incomplete: %s%s", desc, f->err,
			drops ? " (the kernel dropped packets: try again on a quieter system)" : "");
		return RC_EXIT_IO;
	}
	/* Complete means: the handshake (so nothing before the first byte is missing), no hole (checked
	 * by the reassembly) and the close (so nothing after the last byte is). Then packets the kernel
	 * dropped were not this conversation's. */
	complete = !f->midflow && flow_is_closed(f);
	if (drops)
		fprintf(stderr, "recheck record: warning: the kernel dropped %llu packets during the capture%s\n",
			(unsigned long long)drops, complete ? " (none of this conversation: it is complete)" : "");
	if (!complete && (drops || f->midflow)) {
		if (!o->force) {
			cmd_err("record", "the conversation %s was not captured %s, so bytes may be missing; record "
					  "again, or pass --force to keep it",
				desc, f->midflow ? "from its handshake" : "to its end");
			return RC_EXIT_IO;
		}
		fprintf(stderr, "recheck record: warning: --force: keeping a conversation that may miss bytes\n");
	}
	if (R->cut) {
		cmd_err("record", "%llu segments were cut by the capture's snapshot length",
			(unsigned long long)R->cut);
		return RC_EXIT_IO;
	}
	if (f->note[0] && o->verbose)
		fprintf(stderr, "recheck record: note: %s\n", f->note);
	if (!flow_is_closed(f))
		fprintf(stderr, "recheck record: note: the conversation was not closed within %d ms of the end of "
				"the request\n", DRAIN_MS);
	if (flow_turns(f, t, err, sizeof(err)) == -1) {
		cmd_err("record", "%s: %s", desc, err);
		return RC_EXIT_IO;
	}
	return RC_EXIT_OK;
}

static void strip_userinfo(const char *url, char *out, size_t outlen)
{
	const char *p = strstr(url, "://"), *at, *end;

	if (!p) {
		snprintf(out, outlen, "%s", url);
		return;
	}
	p += 3;
	end = p + strcspn(p, "/?#");
	at = memchr(p, '@', (size_t)(end - p));
	if (!at)
		snprintf(out, outlen, "%s", url);
	else
		snprintf(out, outlen, "%.*s%s", (int)(p - url), url, at + 1);
}

static int set_metadata(const struct record_opts *o, struct recipe *r)
{
	char from[2 * 2048 + 8], url[2048], when[32], name[300];
	struct tm tm;
	time_t now = time(NULL);
	size_t i;

	strip_userinfo(o->url, url, sizeof(url));
	if (o->passive)
		snprintf(from, sizeof(from), "record --passive: a conversation with %s", o->proxy_display);
	else
		snprintf(from, sizeof(from), "%s -> %s%s", o->proxy_display, url, o->tunnel ? " (CONNECT tunnel)" : "");
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (o->name) {
		snprintf(name, sizeof(name), "%s", o->name);
	} else {
		snprintf(name, sizeof(name), "%s-%s-%d", proxy_scheme_str(o->proxy->scheme), o->proxy->host,
			 o->proxy->port);
		for (i = 0; name[i]; i++)
			if (name[i] == ':')
				name[i] = '.';
	}
	if (recipe_set_str(&r->recorded_from, from) == -1 || recipe_set_str(&r->recorded_at, when) == -1 ||
	    recipe_set_str(&r->name, name) == -1)
		return -1;
	return 0;
}

static int render(const struct record_opts *o, const struct recipe *r, struct buf *out)
{
	struct haproxy_export_opts ho;
	char err[ERR_LEN];
	int rc;

	if (o->format == RECORD_HAPROXY) {
		memset(&ho, 0, sizeof(ho));
		rc = haproxy_export(r, &ho, out, err, sizeof(err));
	} else {
		rc = recipe_emit_yaml(r, out, err, sizeof(err));
	}
	if (rc == -1) {
		cmd_err("record", "cannot render the recipe: %s", err);
		return RC_EXIT_IO;
	}
	return RC_EXIT_OK;
}

static void print_summary(const struct rec *R, const struct drive_result *res, const struct buf *summary)
{
	fprintf(stderr, "recheck record: curl's request through %s: HTTP %ld", R->o->proxy_display, res->http_status);
	if (res->connect_status)
		fprintf(stderr, " (CONNECT answered %ld)", res->connect_status);
	fprintf(stderr, ", %llu body bytes, %.1f ms, local port %d\n", (unsigned long long)res->body_bytes,
		(double)res->elapsed_us / 1000.0, R->local_port);
	if (summary->len)
		fprintf(stderr, "%.*s%s", (int)summary->len, (const char *)summary->data,
			summary->data[summary->len - 1] == '\n' ? "" : "\n");
}

int record_run(const struct record_opts *o, struct record_out *out)
{
	struct rec R;
	struct drive_result res;
	struct dissect_opts dop = {.raw = o->raw, .redact = o->redact, .all_exchanges = o->all_exchanges,
				   .allow_side_effects = o->allow_side_effects};
	enum dissect_rc drc;
	struct turns t;
	struct recipe *r = NULL;
	struct buf summary;
	char iface[64], err[ERR_LEN];
	int rc;

	memset(&R, 0, sizeof(R));
	memset(&t, 0, sizeof(t));
	buf_init(&summary, SUMMARY_CAP);
	R.o = o;
	R.tty = isatty(STDERR_FILENO) == 1;
	R.pcap = o->save_pcap ? &out->pcap : NULL;
	rc = open_capture(&R, iface, sizeof(iface));
	if (rc != RC_EXIT_OK)
		goto out;
	rc = drop_privileges(&R);
	if (rc != RC_EXIT_OK)
		goto out;
	/* From here on, unprivileged. */
	rc = RC_EXIT_IO;
	R.ft = flow_table_new(NULL, true);
	R.fr = ipfrag_new();
	if (!R.ft || !R.fr || (R.pcap && capture_pcap_header(R.pcap, R.dlt) == -1)) {
		cmd_err("record", "out of memory");
		goto out;
	}
	set_server_hint(&R);
	if (capture_set_nonblock(R.cap, true, err, sizeof(err)) == -1 || drain_before(&R, err, sizeof(err)) == -1) {
		cmd_err("record", "%s", err);
		goto out;
	}
	if (!R.tty && !o->passive)
		fprintf(stderr, "recheck record: capturing on %s; %s through %s\n", iface, o->url, o->proxy_display);
	if (o->passive) {
		struct flow *pf = NULL;
		char desc[200];

		memset(&res, 0, sizeof(res));
		rc = passive_wait(&R, &pf, iface);
		if (rc != RC_EXIT_OK)
			goto out;
		flow_table_finish(R.ft);
		flow_describe(pf, desc, sizeof(desc));
		rc = RC_EXIT_IO;
		if (pf->err[0]) {
			cmd_err("record", "the conversation %s is incomplete: %s", desc, pf->err);
			goto out;
		}
		if (flow_turns(pf, &t, err, sizeof(err)) == -1) {
			cmd_err("record", "%s: %s", desc, err);
			goto out;
		}
		fprintf(stderr, "recheck record: recording %s\n", desc);
		goto build;
	}
	rc = run_request(&R, &res);
	if (rc != RC_EXIT_OK)
		goto out;
	if (res.curl_code != 0 || res.http_status == 407 || res.connect_status == 407) {
		rc = explain_failure(&R, &res, &dop);
		if (rc != RC_EXIT_OK)
			goto out;
	}
	rc = judge_request(&R, &res);
	if (rc != RC_EXIT_OK)
		goto out;
	rc = take_flow(&R, &res, &t);
	if (rc != RC_EXIT_OK)
		goto out;
build:
	rc = RC_EXIT_IO;
	r = dissect_build_rc(&t, &dop, &summary, &drc, err, sizeof(err));
	if (!r) {
		cmd_err("record", "cannot make a recipe of the conversation: %s", err);
		if (drc == DISSECT_REFUSED)
			rc = RC_EXIT_CHECK_FAILED;
		else if (drc == DISSECT_SIDE_EFFECT)
			rc = RC_EXIT_BAD_INPUT; /* as from-pcap: the conversation is not one a check may repeat */
		goto out;
	}
	if (!strncasecmp(o->url, "https://", 8) && !dop.raw &&
	    dissect_https_tail(r, o->url, !o->insecure, o->insecure ? NULL : o->cacert, (int)res.http_status,
			       "recheck/" RECHECK_VERSION, &summary, err, sizeof(err)) == -1) {
		cmd_err("record", "cannot make a recipe of the https request: %s", err);
		goto out;
	}
	if (set_metadata(o, r) == -1) {
		cmd_err("record", "out of memory");
		goto out;
	}
	rc = render(o, r, &out->text);
	if (rc != RC_EXIT_OK)
		goto out;
	if (R.pcap_over) {
		cmd_err("record", "--save-pcap: the capture exceeds %u bytes and was not kept", RECORD_MAX_PCAP);
		rc = RC_EXIT_IO;
		goto out;
	}
	out->secret = recipe_has_secret(r);
	if (o->passive)
		fprintf(stderr, "%.*s", (int)summary.len, summary.len ? (const char *)summary.data : "");
	else
		print_summary(&R, &res, &summary);
	rc = RC_EXIT_OK;
out:
	recipe_free(r);
	turns_free(&t);
	buf_free(&summary);
	flow_table_free(R.ft);
	ipfrag_free(R.fr);
	capture_close(R.cap);
	out->rc = rc;
	return rc;
}

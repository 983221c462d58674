/*
 * recheck record: capture a real curl request through a proxy and write the recipe it makes.
 *
 * Privilege separation: when started as root, this process (the monitor) forks. The child opens the
 * capture, drops to an unprivileged user (privsep.c) and does everything else: libcurl, packet parsing,
 * dissecting, rendering. It sends the rendered outputs back over a pipe (length-prefixed, capped). The
 * monitor never touches a packet; once the child is done it writes those bytes, atomically, to the paths
 * the user named: as the user behind sudo when there is one (after dropping to them for good), else as
 * root, who ran the command. Without root (CAP_NET_RAW on the binary), there is no fork: the
 * capabilities are cleared once the capture is open and the same code runs in-process.
 */
#include "api.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd.h"
#include "net.h"
#include "privsep.h"
#include "proxy_url.h"
#include "record.h"
#include "util.h"

#define MSG_MAGIC 0x52434852u /* "RCHR" */

/* What the unprivileged child sends back: this header, then text_len + pcap_len bytes. */
struct msg_head {
	uint32_t magic;
	int32_t rc;
	uint32_t secret;
	uint32_t pad;
	uint64_t text_len;
	uint64_t pcap_len;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: recheck record --proxy PROXY_URL --url URL [-o FILE] [options]\n"
		"       recheck record --passive --server HOST:PORT [--iface IF] [--timeout DUR] [-o FILE]\n"
		"\n"
		"--passive records someone else's conversation instead of making a request: recheck watches the\n"
		"interface (same capture, BPF filter and privilege drop) for the next complete conversation with\n"
		"HOST:PORT made by any client (a browser, the application that really uses the proxy), shows\n"
		"progress, and builds the recipe from it as from-pcap would; --timeout (default 60s) ends the\n"
		"wait with a message saying what was seen (exit 4).\n"
		"\n"
		"Makes one real request with libcurl through the proxy, captures the conversation with the\n"
		"proxy (libpcap), and writes a recipe that checks the proxy the same way: the protocol's fixed\n"
		"bytes are kept, the volatile ones (bound address, Date, reason phrase) are generalized, and\n"
		"each choice is explained in the recipe's comments and in the summary on stderr.\n"
		"\n"
		"Capturing needs root (or CAP_NET_RAW): recheck opens the capture, then drops to --user, the\n"
		"user who ran sudo, or nobody, before curl runs or a packet is parsed. Under sudo, the files\n"
		"are written as the user who ran sudo, and owned by them.\n"
		"\n"
		"Options:\n"
		"  -x, --proxy URL      the proxy, as curl spells it: socks5://, socks5h:// (the proxy resolves\n"
		"                       the target name), socks4://, socks4a://, http:// (forward proxy);\n"
		"                       user:password@ for credentials; [::1] for IPv6; port 1080 if omitted\n"
		"      --url URL        what to fetch through it (http:// or https://), e.g. an origin's\n"
		"                       /generate_204; or give the URL as the only argument, as with curl\n"
		"                       (no -u: in curl, -u means server credentials)\n"
		"  -p, --tunnel         with an http:// proxy, tunnel with CONNECT (curl --proxytunnel); an\n"
		"                       https:// target is always tunnelled\n"
		"  -k, --insecure       https targets: do not verify the certificate, and record tls\n"
		"                       verify: false (the recipe then accepts any certificate)\n"
		"      --cacert FILE    https targets: verify with the CAs in FILE (PEM) instead of the system\n"
		"                       store; the recipe's tls step keeps the absolute path as ca\n"
		"  -o, --output FILE    write the recipe there (atomically; mode 0600 if it holds credentials);\n"
		"                       default (or -o -): standard output\n"
		"  -f, --format FMT     yaml (default) or haproxy (the tcp-check lines; see recheck export)\n"
		"  -n, --name NAME      the recipe's name (default: scheme-host-port of the proxy)\n"
		"      --raw            keep every byte exact: no generalization (replays only on the same server)\n"
		"      --all-exchanges  keep every exchange of a keep-alive connection (default: the first)\n"
		"      --allow-side-effects  keep sends that change something (HTTP methods other than GET, HEAD,\n"
		"                       OPTIONS; SMTP DATA); refused by default (exit 3)\n"
		"      --redact         write ${NAME} references instead of recorded credentials; replay and\n"
		"                       recheckd take the values from the environment\n"
		"      --save-pcap FILE also keep the raw capture (pcap, mode 0600) for recheck from-pcap\n"
		"  -i, --iface IF       capture on IF (default: lo for a loopback proxy, else the interface that\n"
		"                       routes to the proxy)\n"
		"  -t, --timeout DUR    limit for the whole request (default 10s; units us ms s m h d)\n"
		"      --user USER      the user to drop privileges to (default: SUDO_USER, else nobody)\n"
		"      --force          keep a recording although the kernel dropped packets during it\n"
		"  -v, --verbose        say what happens (interface, filter, the ids after dropping root);\n"
		"                       twice: also curl's own trace\n"
		"  -h, --help           this text\n"
		"\n"
		"Examples:\n"
		"  sudo recheck record -x socks5h://127.0.0.1:1080 http://example.com/generate_204 -o s5.yaml\n"
		"  sudo recheck record -x http://bob:pw@proxy:3128 --url http://example.com/ --redact -o http.yaml\n"
		"  sudo recheck record -x http://proxy:3128 --tunnel -k https://example.com/ -f haproxy\n"
		"  sudo recheck record -x socks5://[::1]:1080 http://example.com/ --save-pcap s5.pcap\n"
		"  recheck replay s5.yaml --server 127.0.0.1:1080\n"
		"\n"
		"Exit codes: 0 recorded; 1 the proxy refused (SOCKS5 05 FF, a failed RFC 1929 login, a SOCKS\n"
		"reply other than success, CONNECT not 2xx, 407): its answer is in the message and nothing is\n"
		"written; 1 too when the proxy answered in another protocol than the URL's scheme (HTTP to a\n"
		"SOCKS greeting, SOCKS bytes to an HTTP request), with the --proxy URL to record with; 2 usage;\n"
		"4 the request failed (proxy down, timeout), also when the proxy accepted the connection and\n"
		"never answered the SOCKS greeting, as an HTTP proxy does (the message says so and gives the\n"
		"http:// URL to try); 5 local failure (capture not permitted, packets lost, cannot write the\n"
		"output).\n");
}

/* True when something accepts a TCP connection at sa within wait_ms. */
static bool accepts(const struct sockaddr *sa, socklen_t salen, int wait_ms)
{
	struct pollfd pfd;
	int fd, soerr = 0;
	socklen_t sl = sizeof(soerr);
	bool ok = false;

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return false;
	if (connect(fd, sa, salen) == 0) {
		ok = true;
	} else if (errno == EINPROGRESS) {
		pfd.fd = fd;
		pfd.events = POLLOUT;
		ok = poll(&pfd, 1, wait_ms) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0;
	}
	close(fd);
	return ok;
}

/* More addresses than a proxy's name plausibly has: the rest are not tried. */
#define PROXY_MAX_ADDRS 16

/*
 * Resolves the proxy host to the one address that both curl and the capture filter will use. When the
 * name has several addresses (localhost: ::1 and 127.0.0.1), the first that accepts a connection is
 * taken, as curl's own fallback would, so that pinning one address does not break a working proxy.
 * Sets o->proxy (p), o->proxy_sa and o->proxy_addr (addr, the numeric address).
 */
static int resolve_proxy(const struct proxy_url *p, struct record_opts *o, char *addr, size_t addrlen)
{
	struct net_addr a[PROXY_MAX_ADDRS];
	char why[ERR_LEN];
	int i, n, pick = 0;

	n = net_resolve_all(p->host, (uint16_t)p->port, p->ipv6_literal ? AF_INET6 : AF_UNSPEC,
			    p->ipv6_literal ? NET_RES_NUMERIC : 0, a, ARRAY_SIZE(a), why, sizeof(why));
	if (n == -1) {
		cmd_err("record", "cannot resolve the proxy host '%s': %s", p->host, why);
		return RC_EXIT_UNREACHABLE;
	}
	for (i = 0; n > 1 && i < n; i++) {
		if (accepts((struct sockaddr *)&a[i].ss, a[i].len, (int)MIN(o->timeout_ms, 1000u))) {
			pick = i;
			break;
		}
	}
	o->proxy_sa = a[pick].ss;
	o->proxy_salen = a[pick].len;
	net_fmt_host((const struct sockaddr *)&o->proxy_sa, addr, addrlen);
	o->proxy = p;
	o->proxy_addr = addr;
	return RC_EXIT_OK;
}

static int write_all(int fd, const void *p, size_t n)
{
	const unsigned char *c = p;
	ssize_t w;

	while (n > 0) {
		w = write(fd, c, n);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads exactly n bytes; 0, or -1 on EOF or error. */
static int read_all(int fd, void *p, size_t n)
{
	unsigned char *c = p;
	ssize_t r;

	while (n > 0) {
		r = read(fd, c, n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		c += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Appends exactly n bytes read from fd to b (capped by b). 0, or -1 on EOF, error or cap. */
static int read_into(int fd, struct buf *b, uint64_t n)
{
	unsigned char chunk[65536];
	size_t want;

	while (n > 0) {
		want = (size_t)MIN(n, (uint64_t)sizeof(chunk));
		if (read_all(fd, chunk, want) == -1 || buf_append(b, chunk, want) == -1)
			return -1;
		n -= want;
	}
	return 0;
}

static NORETURN void child_main(const struct record_opts *o, int fd)
{
	struct record_out out;
	struct msg_head h;
	int rc;

	record_out_init(&out);
	rc = record_run(o, &out);
	memset(&h, 0, sizeof(h));
	h.magic = MSG_MAGIC;
	h.rc = rc;
	h.secret = out.secret;
	if (rc == RC_EXIT_OK) {
		h.text_len = out.text.len;
		h.pcap_len = out.pcap.len;
	}
	if (write_all(fd, &h, sizeof(h)) == -1 ||
	    (h.text_len && write_all(fd, out.text.data, out.text.len) == -1) ||
	    (h.pcap_len && write_all(fd, out.pcap.data, out.pcap.len) == -1))
		rc = RC_EXIT_IO;
	close(fd);
	record_out_free(&out);
	exit(rc);
}

/* The monitor: reads the child's result (capped), reaps it. */
static int run_privsep(const struct record_opts *o, struct record_out *out)
{
	struct msg_head h;
	pid_t pid;
	int fds[2], status = 0, rc;
	bool got;

	if (pipe2(fds, O_CLOEXEC) == -1) {
		cmd_err("record", "pipe: %s", strerror(errno));
		return RC_EXIT_IO;
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == -1) {
		cmd_err("record", "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return RC_EXIT_IO;
	}
	if (pid == 0) {
		close(fds[0]);
		child_main(o, fds[1]);
	}
	close(fds[1]);
	got = read_all(fds[0], &h, sizeof(h)) == 0 && h.magic == MSG_MAGIC && h.text_len <= RECORD_MAX_TEXT &&
	      h.pcap_len <= RECORD_MAX_PCAP && h.rc >= 0 && h.rc <= RC_EXIT_IO;
	got = got && read_into(fds[0], &out->text, h.text_len) == 0 && read_into(fds[0], &out->pcap, h.pcap_len) == 0;
	close(fds[0]);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (!got) {
		if (WIFSIGNALED(status))
			cmd_err("record", "the capture process was killed by signal %d", WTERMSIG(status));
		else
			cmd_err("record", "the capture process ended without a result (exit %d)",
				WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		return RC_EXIT_IO;
	}
	rc = h.rc;
	if (rc == RC_EXIT_OK && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
		cmd_err("record", "the capture process failed after sending its result");
		rc = RC_EXIT_IO;
	}
	out->secret = h.secret != 0;
	out->rc = rc;
	return rc;
}

/*
 * Writes the outputs: only after a complete recording, each atomically. The recipe first: when it cannot
 * be written, the capture is not either.
 */
static int write_outputs(const char *output, const char *pcap_path, const struct record_out *out)
{
	bool to_file = output && strcmp(output, "-");

	if (out->secret)
		fprintf(stderr, "recheck record: warning: the recipe holds recorded credentials in clear%s; use "
				"--redact to write ${NAME} references instead\n",
			to_file ? " (the file is written mode 0600)" : "");
	if (cmd_write_output("record", to_file ? output : NULL, out->text.data, out->text.len, out->secret))
		return RC_EXIT_IO;
	if (to_file)
		fprintf(stderr, "recheck record: wrote %s%s\n", output, out->secret ? " (mode 0600)" : "");
	if (pcap_path) {
		if (cmd_write_output("record", pcap_path, out->pcap.data, out->pcap.len, true))
			return RC_EXIT_IO;
		fprintf(stderr, "recheck record: wrote the capture to %s (%zu bytes, mode 0600)\n", pcap_path,
			out->pcap.len);
	}
	return RC_EXIT_OK;
}

enum {
	OPT_URL = 256,
	OPT_RAW,
	OPT_ALL_EXCHANGES,
	OPT_SIDE_EFFECTS,
	OPT_REDACT,
	OPT_SAVE_PCAP,
	OPT_USER,
	OPT_FORCE,
	OPT_CACERT,
	OPT_PASSIVE,
	OPT_SERVER,
};

static const struct option longopts[] = {
	{"proxy", required_argument, NULL, 'x'},
	{"passive", no_argument, NULL, OPT_PASSIVE},
	{"server", required_argument, NULL, OPT_SERVER},
	{"url", required_argument, NULL, OPT_URL},
	{"tunnel", no_argument, NULL, 'p'},
	{"insecure", no_argument, NULL, 'k'},
	{"cacert", required_argument, NULL, OPT_CACERT},
	{"output", required_argument, NULL, 'o'},
	{"format", required_argument, NULL, 'f'},
	{"name", required_argument, NULL, 'n'},
	{"iface", required_argument, NULL, 'i'},
	{"timeout", required_argument, NULL, 't'},
	{"raw", no_argument, NULL, OPT_RAW},
	{"all-exchanges", no_argument, NULL, OPT_ALL_EXCHANGES},
	{"allow-side-effects", no_argument, NULL, OPT_SIDE_EFFECTS},
	{"redact", no_argument, NULL, OPT_REDACT},
	{"save-pcap", required_argument, NULL, OPT_SAVE_PCAP},
	{"user", required_argument, NULL, OPT_USER},
	{"force", no_argument, NULL, OPT_FORCE},
	{"verbose", no_argument, NULL, 'v'},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

static int bad_usage(const char *fmt, ...) PRINTF_FMT(1, 2);
static int bad_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "recheck record: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see recheck record --help)\n");
	return RC_EXIT_USAGE;
}

int cmd_record(int argc, char **argv)
{
	struct record_opts o;
	struct record_out out;
	struct proxy_url pu;
	struct privsep_user pv, owner;
	const char *proxy = NULL, *output = NULL, *pcap_path = NULL, *user = NULL, *server = NULL;
	char server_url[PROXY_URL_MAX];
	bool timeout_given = false;
	char addr[INET6_ADDRSTRLEN], disp[PROXY_URL_MAX + 64], curl_proxy[PROXY_URL_MAX + 64], err[ERR_LEN];
	bool https = false;
	static char cacert[PATH_MAX];
	int c, rc;

	memset(&o, 0, sizeof(o));
	o.timeout_ms = 10000;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":x:pko:f:n:i:t:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'x': proxy = optarg; break;
		case OPT_PASSIVE: o.passive = true; break;
		case OPT_SERVER: server = optarg; break;
		case OPT_URL: o.url = optarg; break;
		case 'p': o.tunnel = true; break;
		case 'k': o.insecure = true; break;
		case OPT_CACERT: o.cacert = optarg; break;
		case 'o': output = optarg; break;
		case 'n': o.name = optarg; break;
		case 'i': o.iface = optarg; break;
		case OPT_RAW: o.raw = true; break;
		case OPT_ALL_EXCHANGES: o.all_exchanges = true; break;
		case OPT_SIDE_EFFECTS: o.allow_side_effects = true; break;
		case OPT_REDACT: o.redact = true; break;
		case OPT_SAVE_PCAP: pcap_path = optarg; break;
		case OPT_USER: user = optarg; break;
		case OPT_FORCE: o.force = true; break;
		case 'v': o.verbose++; break;
		case 'f':
			if (!strcmp(optarg, "yaml"))
				o.format = RECORD_YAML;
			else if (!strcmp(optarg, "haproxy"))
				o.format = RECORD_HAPROXY;
			else
				return bad_usage("--format '%s': use yaml or haproxy", optarg);
			break;
		case 't':
			if (cmd_duration("record", "--timeout", optarg, &o.timeout_ms))
				return RC_EXIT_USAGE;
			if (o.timeout_ms == 0)
				return bad_usage("--timeout %s: must be more than zero", optarg);
			timeout_given = true;
			break;
		case 'h':
			usage(stdout);
			return RC_EXIT_OK;
		default:
			return cmd_opt_error("record", c, argv, optind, optopt);
		}
	}
	if (optind < argc && !o.url && optind + 1 == argc)
		o.url = argv[optind++];
	if (optind < argc)
		return bad_usage("unexpected argument '%s'", argv[optind]);
	o.save_pcap = pcap_path != NULL;
	if (o.passive) {
		/* Someone else's conversation: the server is a HOST:PORT, and nothing is fetched. */
		if (!server)
			return bad_usage("%s", "--passive needs --server HOST:PORT: the server whose next conversation to record");
		if (proxy || o.url || o.tunnel || o.insecure || o.cacert)
			return bad_usage("%s", "--passive records someone else's request: no --proxy, --url, --tunnel, -k, --cacert");
		snprintf(server_url, sizeof(server_url), "socks5h://%s", server);
		if (proxy_url_parse(server_url, &pu, err, sizeof(err)) == -1 || !pu.port_given || pu.has_user)
			return bad_usage("--server %s: expected HOST:PORT", server);
		if (!timeout_given)
			o.timeout_ms = 60000;
		o.url = "";
		rc = resolve_proxy(&pu, &o, addr, sizeof(addr));
		if (rc != RC_EXIT_OK)
			return rc;
		snprintf(disp, sizeof(disp), "%s%s%s:%d", pu.ipv6_literal ? "[" : "", pu.host, pu.ipv6_literal ? "]" : "",
			 pu.port);
		o.proxy_curl = disp;
		o.proxy_display = disp;
		goto run;
	}
	if (server)
		return bad_usage("%s", "--server is for --passive; to record through a proxy, use --proxy URL");
	if (!proxy)
		return bad_usage("%s", "--proxy is required: the proxy to record, e.g. socks5h://127.0.0.1:1080");
	if (!o.url)
		return bad_usage("%s", "--url is required: what to fetch, e.g. http://example.com/generate_204");
	if (proxy_url_parse(proxy, &pu, err, sizeof(err)) == -1)
		return bad_usage("--proxy: %s", err);
	if (proxy_url_check_target(o.url, &https, err, sizeof(err)) == -1)
		return bad_usage("--url: %s", err);
	if (o.cacert && (!https || o.insecure))
		return bad_usage("%s", "--cacert is for https:// targets verified (not with --insecure)");
	if (o.cacert) {
		/* the recipe keeps it, and replay/recheckd read it from anywhere: make it absolute */
		if (!realpath(o.cacert, cacert))
			return bad_usage("--cacert %s: %s", o.cacert, strerror(errno));
		o.cacert = cacert;
	}
	if (o.tunnel && pu.scheme != PROXY_HTTP)
		return bad_usage("--tunnel is for http:// proxies; %s proxies always tunnel", proxy_scheme_str(pu.scheme));
	if (pu.has_user && (pu.scheme == PROXY_SOCKS4 || pu.scheme == PROXY_SOCKS4A) && pu.has_password)
		return bad_usage("--proxy: %s", "SOCKS4 has no password, only a user id: write socks4://USER@HOST:PORT");
	if (output && pcap_path && !strcmp(output, pcap_path))
		return bad_usage("--save-pcap and -o name the same file '%s'", output);
	if (o.redact && o.raw)
		fprintf(stderr, "recheck record: note: --raw keeps the bytes exact, but --redact still replaces "
				"the credentials\n");
	rc = resolve_proxy(&pu, &o, addr, sizeof(addr));
	if (rc != RC_EXIT_OK)
		return rc;
	if (proxy_url_format(&pu, addr, true, curl_proxy, sizeof(curl_proxy)) == -1 ||
	    proxy_url_format(&pu, strcmp(addr, pu.host) ? pu.host : addr, false, disp, sizeof(disp)) == -1)
		return bad_usage("%s", "--proxy: URL too long");
	o.proxy_curl = curl_proxy;
	o.proxy_display = disp;

run:
	record_out_init(&out);
	if (geteuid() == 0) {
		if (privsep_resolve(user, &pv, err, sizeof(err)) == -1) {
			record_out_free(&out);
			return bad_usage("%s", err);
		}
		o.drop_to = &pv;
		o.monitor = getpid();
		rc = run_privsep(&o, &out);
	} else {
		if (user)
			fprintf(stderr, "recheck record: note: --user %s ignored: not running as root\n", user);
		rc = record_run(&o, &out);
	}
	/* The outputs belong to whoever ran the command: under sudo, that is the user behind it (a 0600
	 * recipe owned by root would be unreadable to them), so the monitor becomes that user for good
	 * before it writes, and writes only where that user may. */
	if (rc == RC_EXIT_OK && geteuid() == 0 && ((output && strcmp(output, "-")) || pcap_path) && privsep_invoking_user(&owner) == 1) {
		if (privsep_drop(&owner, err, sizeof(err)) == -1) {
			cmd_err("record", "cannot become %s to write the outputs: %s", owner.name, err);
			rc = RC_EXIT_IO;
		} else if (o.verbose) {
			fprintf(stderr, "recheck record: writing the outputs as %s (SUDO_USER)\n", owner.name);
		}
	}
	if (rc == RC_EXIT_OK)
		rc = write_outputs(output, pcap_path, &out);
	record_out_free(&out);
	return rc;
}

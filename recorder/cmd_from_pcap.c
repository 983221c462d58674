/*
 * recheck from-pcap FILE: builds a recipe from a capture someone else made (tcpdump -w), no root needed.
 * capture file -> flows (flow_pcap) -> the chosen conversation's turns -> dissect_build() -> YAML or
 * HAProxy lines, written atomically.
 */
#include "api.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "cmd.h"
#include "decode.h"
#include "dissect.h"
#include "flow.h"
#include "flow_pcap.h"
#include "net.h"
#include "recipe.h"
#include "recipe_haproxy.h"
#include "recipe_yaml.h"
#include "turn.h"
#include "util.h"

#define CMD "from-pcap"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: recheck from-pcap FILE [--server HOST:PORT] [--stream N] [-o FILE]\n"
		"                          [--format yaml|haproxy] [--raw] [--redact] [--name NAME] [--turns]\n"
		"                          [--all-exchanges] [--allow-side-effects]\n"
		"\n"
		"Builds a check recipe from a conversation in a capture file (tcpdump -w, pcap or pcapng): the\n"
		"TCP streams are reassembled, cut into turns, and the protocol (SOCKS5, SOCKS4/4a, HTTP proxy,\n"
		"HTTP CONNECT) is recognized so that volatile reply bytes are not matched. A summary of what was\n"
		"detected and generalized goes to stderr.\n"
		"\n"
		"Which conversation (see `recheck flows FILE`):\n"
		"  --stream N           the N-th conversation as `recheck flows` numbers them\n"
		"  --server HOST:PORT   the first conversation with this server (the proxy); also tells which\n"
		"                       side is the client when the capture lacks the handshake\n"
		"  neither              the only conversation in the file; several: an error lists them\n"
		"\n"
		"Output:\n"
		"  -o, --output FILE    write there (atomically; mode 0600 when the recipe carries recorded\n"
		"                       credentials), else stdout\n"
		"  -f, --format yaml|haproxy\n"
		"                       a recheck recipe (default) or HAProxy 2.6 tcp-check lines\n"
		"  --raw                keep every byte exact: no generalization\n"
		"  --all-exchanges      keep every request/response of a keep-alive connection (default: the\n"
		"                       first only: later ones depend on it, e.g. a 304 to If-Modified-Since)\n"
		"  --allow-side-effects keep sends that change something on every check (SMTP DATA, HTTP\n"
		"                       methods other than GET, HEAD, OPTIONS); refused by default (exit 3)\n"
		"  --redact             write ${NAME} references instead of recorded credentials\n"
		"  --name NAME          the recipe's name (default: the capture file's base name)\n"
		"  --turns              print the reassembled turns (direction, length, hex, the captured segments'\n"
		"                       payload lengths) instead of a recipe\n"
		"  -h, --help           this text\n"
		"\n"
		"Exit codes: 0 written, 1 the recorded conversation failed (the proxy refused: its answer is in\n"
		"the message), 2 usage (or several conversations and no choice), 3 the capture is\n"
		"missing, not a capture, corrupt or truncated, has no matching conversation, or the chosen one\n"
		"has missing bytes before any complete exchange (a gap after one keeps what is complete, with a\n"
		"warning), or a send has side effects, 5 the output cannot be written.\n");
}

struct server_hint {
	bool set;
	int family;
	uint8_t addr[16];
	uint16_t port;
};

static int parse_server(const char *s, struct server_hint *h, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	char host[256], why[ERR_LEN];
	uint16_t port;

	if (net_split_hostport(s, 0, host, sizeof(host), &port, why, sizeof(why)) == -1 ||
	    net_resolve(host, port, &ss, &sl, why, sizeof(why)) == -1) {
		set_err(err, errlen, "--server: %s", why);
		return -1;
	}
	memset(h, 0, sizeof(*h));
	h->port = port;
	h->family = ss.ss_family;
	if (ss.ss_family == AF_INET)
		memcpy(h->addr, &((struct sockaddr_in *)&ss)->sin_addr, 4);
	else
		memcpy(h->addr, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
	h->set = true;
	return 0;
}

static bool matches_server(const struct flow *f, const struct server_hint *h)
{
	const struct flow_dir *s = &f->d[TURN_S2C];

	return f->family == h->family && s->port == h->port &&
	       !memcmp(s->addr, h->addr, h->family == AF_INET ? 4 : 16);
}

static void list_candidates(const struct flow_table *t, const struct server_hint *h)
{
	char desc[200];
	size_t i;

	for (i = 0; i < flow_table_count(t); i++) {
		const struct flow *f = flow_table_get(t, i);

		if (h->set && !matches_server(f, h))
			continue;
		flow_describe(f, desc, sizeof(desc));
		fprintf(stderr, "recheck %s:   --stream %zu   %s  (%s, %s)\n", CMD, f->index, desc, flow_state_str(flow_state(f)),
			flow_guess_proto(f->d[TURN_C2S].head, f->d[TURN_C2S].nhead));
	}
}

/* The conversation to use, or NULL after printing why (rc tells the exit code). */
static const struct flow *pick(const struct flow_table *t, const char *path, long stream,
			       const struct server_hint *h, int *rc)
{
	const struct flow *f, *first = NULL, *first_empty = NULL;
	char desc[200];
	size_t i, n = 0, empty = 0;

	*rc = RC_EXIT_BAD_INPUT;
	if (!flow_table_count(t)) {
		cmd_err(CMD, "%s: no TCP conversation in the capture", path);
		return NULL;
	}
	if (stream > 0) {
		f = flow_table_get(t, (size_t)stream - 1);
		if (!f) {
			cmd_err(CMD, "%s: no conversation %ld: the capture has %zu (see recheck flows %s)", path,
				stream, flow_table_count(t), path);
			return NULL;
		}
		if (h->set && !matches_server(f, h)) {
			flow_describe(f, desc, sizeof(desc));
			cmd_err(CMD, "%s: conversation %ld (%s) is not with the --server address", path, stream, desc);
			return NULL;
		}
		return f;
	}
	for (i = 0; i < flow_table_count(t); i++) {
		f = flow_table_get(t, i);
		if (h->set && !matches_server(f, h))
			continue;
		/*
		 * A conversation in which the client sent nothing (the tail of a port probe that the server
		 * closed late, a refused connection) has nothing to replay: the first one that has data wins.
		 */
		if (!f->d[TURN_C2S].bytes && !f->err[0]) {
			empty++;
			if (!first_empty)
				first_empty = f;
			continue;
		}
		if (!first)
			first = f;
		n++;
	}
	if (!n && first_empty) {
		first = first_empty;
		n = empty;
		empty = 0;
	}
	if (!n) {
		cmd_err(CMD, "%s: no TCP conversation with the --server address; the conversations are:", path);
		list_candidates(t, &(struct server_hint){0});
		return NULL;
	}
	if (n > 1 && !h->set) {
		cmd_err(CMD, "%s: %zu TCP conversations: pick one with --stream N or --server HOST:PORT:", path, n);
		list_candidates(t, h);
		*rc = RC_EXIT_USAGE;
		return NULL;
	}
	if (n > 1)
		fprintf(stderr, "recheck %s: %zu conversations with that server; using the first (--stream %zu)\n",
			CMD, n, first->index);
	if (empty)
		fprintf(stderr, "recheck %s: note: %zu conversation(s) with that server carry no client bytes and were "
			"passed over; using --stream %zu\n", CMD, empty, first->index);
	return first;
}

static bool has_expect(const struct recipe *r)
{
	size_t i;

	for (i = 0; i < r->nsteps; i++)
		if (r->steps[i].type == STEP_EXPECT)
			return true;
	return false;
}

static void print_turns(const struct turns *tr)
{
	size_t i, j;

	for (i = 0; i < tr->n; i++) {
		const struct turn *t = &tr->v[i];

		printf("%zu %s %zu ", i + 1, t->dir == TURN_C2S ? "client" : "server", t->len);
		for (j = 0; j < t->len; j++)
			printf("%02x", t->data[j]);
		/* the captured segments' payload lengths, so a test can replay the recorded segmentation */
		for (j = 0; j < t->nsegs; j++)
			printf("%c%zu", j ? ',' : ' ', t->seg_len[j]);
		printf("\n");
	}
	printf("end%s%s%s%s\n", tr->client_fin ? " client-fin" : "", tr->server_fin ? " server-fin" : "",
	       tr->reset ? " reset" : "", tr->truncated ? " truncated" : "");
}

static const char *base_name(const char *path, char *out, size_t outlen)
{
	const char *b = strrchr(path, '/');
	char *dot;

	snprintf(out, outlen, "%s", b ? b + 1 : path);
	dot = strrchr(out, '.');
	if (dot && dot != out)
		*dot = 0;
	return out;
}

static int set_meta(struct recipe *r, const char *path, const struct flow *f, const char *name)
{
	char b[256], desc[200], from[600], when[32];
	time_t sec = (time_t)(f->ts_first_us / 1000000u);
	struct tm tm;

	flow_describe(f, desc, sizeof(desc));
	snprintf(from, sizeof(from), "pcap %s, conversation %zu: %s", path, f->index, desc);
	gmtime_r(&sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (recipe_set_str(&r->name, name ? name : base_name(path, b, sizeof(b))) == -1 ||
	    recipe_set_str(&r->recorded_from, from) == -1 || recipe_set_str(&r->recorded_at, when) == -1)
		return -1;
	return 0;
}

int cmd_from_pcap(int argc, char **argv)
{
	static const struct option opts[] = {
		{"help", no_argument, NULL, 'h'},
		{"server", required_argument, NULL, 's'},
		{"stream", required_argument, NULL, 'n'},
		{"output", required_argument, NULL, 'o'},
		{"format", required_argument, NULL, 'f'},
		{"raw", no_argument, NULL, 'r'},
		{"all-exchanges", no_argument, NULL, 'A'},
		{"allow-side-effects", no_argument, NULL, 'E'},
		{"redact", no_argument, NULL, 'R'},
		{"name", required_argument, NULL, 'N'},
		{"turns", no_argument, NULL, 't'},
		{NULL, 0, NULL, 0},
	};
	struct server_hint hint = {0};
	struct dissect_opts dopts = {0};
	enum dissect_rc drc;
	struct flow_pcap_stats st;
	struct flow_table *t = NULL;
	struct turns tr = {0};
	struct recipe *r = NULL;
	struct buf summary;
	struct haproxy_export_opts ho = {0};
	const struct flow *f;
	const char *output = NULL, *name = NULL, *path;
	char err[ERR_LEN], gap[2 * ERR_LEN] = "", *end;
	bool haproxy = false, turns_only = false;
	long stream = 0;
	int c, rc = RC_EXIT_USAGE;

	buf_init(&summary, 1u << 20);
	optind = 1;
	while ((c = getopt_long(argc, argv, ":hf:o:", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			rc = RC_EXIT_OK;
			goto out;
		case 's':
			if (parse_server(optarg, &hint, err, sizeof(err)) == -1) {
				cmd_usage(CMD, "%s", err);
				goto out;
			}
			break;
		case 'n':
			stream = strtol(optarg, &end, 10);
			if (!*optarg || *end || stream < 1) {
				cmd_usage(CMD, "--stream %s: expected a conversation number from `recheck flows`", optarg);
				goto out;
			}
			break;
		case 'o':
			output = optarg;
			break;
		case 'f':
			if (!strcmp(optarg, "haproxy")) {
				haproxy = true;
			} else if (strcmp(optarg, "yaml")) {
				cmd_usage(CMD, "--format %s: expected yaml or haproxy", optarg);
				goto out;
			}
			break;
		case 'r':
			dopts.raw = true;
			break;
		case 'A':
			dopts.all_exchanges = true;
			break;
		case 'E':
			dopts.allow_side_effects = true;
			break;
		case 'R':
			dopts.redact = true;
			break;
		case 'N':
			name = optarg;
			break;
		case 't':
			turns_only = true;
			break;
		default:
			cmd_opt_error(CMD, c, argv, optind, optopt);
			goto out;
		}
	}
	if (argc - optind != 1) {
		cmd_usage(CMD, "expected one capture file");
		goto out;
	}
	path = argv[optind];
	rc = RC_EXIT_BAD_INPUT;
	t = flow_table_new(NULL, true);
	if (!t) {
		cmd_err(CMD, "out of memory");
		rc = RC_EXIT_IO;
		goto out;
	}
	if (hint.set)
		flow_table_set_server(t, hint.family, hint.addr, hint.port);
	if (flow_pcap_load(path, t, &st, err, sizeof(err)) == -1) {
		/* More conversations than the table holds: with --server (and no --stream, whose numbers
		 * are those of `recheck flows`), read again keeping only the server's conversations. */
		if (!hint.set || stream || !flow_table_full(t)) {
			cmd_err(CMD, "%s", err);
			goto out;
		}
		flow_table_free(t);
		t = flow_table_new(NULL, true);
		if (!t) {
			cmd_err(CMD, "out of memory");
			rc = RC_EXIT_IO;
			goto out;
		}
		flow_table_set_server(t, hint.family, hint.addr, hint.port);
		flow_table_only_server(t);
		fprintf(stderr, "recheck %s: note: %s: too many conversations to list; reading only those with "
			"the --server address (numbered among themselves)\n", CMD, path);
		if (flow_pcap_load(path, t, &st, err, sizeof(err)) == -1) {
			cmd_err(CMD, "%s", err);
			goto out;
		}
	}
	f = pick(t, path, stream, &hint, &rc);
	if (!f)
		goto out;
	rc = RC_EXIT_BAD_INPUT;
	if (f->err[0]) {
		/* What came before the hole is kept; whether it holds a complete exchange is the dissector's call. */
		if (st.frag_dropped)
			snprintf(gap, sizeof(gap), "%s; %llu fragmented IP datagram(s) of the capture could not be "
				 "reassembled (first problem: %s)", f->err, (unsigned long long)st.frag_dropped,
				 st.first_bad[0] ? st.first_bad : "never completed");
		else
			snprintf(gap, sizeof(gap), "%s", f->err);
		if (turns_only)
			fprintf(stderr, "recheck %s: warning: conversation %zu: %s; the turns stop there\n", CMD,
				f->index, gap);
	}
	if (f->note[0])
		fprintf(stderr, "recheck %s: note: conversation %zu: %s\n", CMD, f->index, f->note);
	if (flow_turns(f, &tr, err, sizeof(err)) == -1) {
		cmd_err(CMD, "%s: conversation %zu: %s", path, f->index, err);
		goto out;
	}
	if (turns_only) {
		print_turns(&tr);
		rc = RC_EXIT_OK;
		goto out;
	}
	r = dissect_build_rc(&tr, &dopts, &summary, &drc, err, sizeof(err));
	if (r && gap[0] && (strncmp(f->err, "gap in", 6) || !has_expect(r))) {
		/* A cap, or nothing answered before the hole: no complete exchange to keep. */
		recipe_free(r);
		r = NULL;
		snprintf(err, sizeof(err), "no complete request/reply exchange before it");
		drc = DISSECT_NO_RECIPE;
	}
	if (!r && gap[0] && drc != DISSECT_REFUSED) {
		cmd_err(CMD, "%s: conversation %zu: %s; nothing complete comes before it (%s)", path, f->index, gap,
			err);
		goto out;
	}
	if (gap[0] && r)
		fprintf(stderr, "recheck %s: warning: conversation %zu: %s; the recipe keeps the exchanges that were "
			"complete before it\n", CMD, f->index, gap);
	if (!r) {
		cmd_err(CMD, "%s: conversation %zu: %s", path, f->index, err);
		if (drc == DISSECT_REFUSED)
			rc = RC_EXIT_CHECK_FAILED;
		else if (drc == DISSECT_LOCAL)
			rc = RC_EXIT_IO;
		goto out;
	}
	if (set_meta(r, path, f, name) == -1) {
		cmd_err(CMD, "out of memory");
		rc = RC_EXIT_IO;
		goto out;
	}
	if (summary.len)
		fprintf(stderr, "%s%s", buf_cstr(&summary) ? buf_cstr(&summary) : "",
			summary.len && summary.data[summary.len - 1] != '\n' ? "\n" : "");
	rc = cmd_write_recipe(CMD, r, haproxy ? &ho : NULL, output, path);
	if (rc == RC_EXIT_OK && output)
		fprintf(stderr, "recheck %s: wrote %s%s\n", CMD, output,
			recipe_has_secret(r) ? " (mode 0600: it carries recorded credentials)" : "");
out:
	recipe_free(r);
	turns_free(&tr);
	flow_table_free(t);
	buf_free(&summary);
	return rc;
}

/*
 * recheck flows FILE: lists the TCP conversations of a capture so that the user can pick one for
 * `recheck from-pcap --stream N`.
 */
#include "api.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "capture.h"
#include "cmd.h"
#include "flow.h"
#include "flow_pcap.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: recheck flows FILE\n"
		"\n"
		"Lists the TCP conversations in a capture file (tcpdump -w, pcap or pcapng), one per line:\n"
		"  #        the index to give to `recheck from-pcap --stream N`\n"
		"  client -> server\n"
		"           the client is the side that sent the SYN; without a handshake in the capture,\n"
		"           the higher port (a note says so)\n"
		"  pkts     segments captured, both ways\n"
		"  c>s s>c  payload bytes reassembled in each direction\n"
		"  state    complete  handshake and close (FIN) both seen, no bytes missing\n"
		"           open      the capture ended before the conversation closed\n"
		"           mid-flow  the capture started after the handshake\n"
		"           reset     a RST ended the conversation\n"
		"           gap       bytes are missing: the note names the range\n"
		"  proto    guessed from the client's first bytes: SOCKS5, SOCKS4, HTTP, CONNECT, TLS, ?\n"
		"           (- when the client sent nothing)\n"
		"\n"
		"Link types: EN10MB (with VLAN tags), NULL/LOOP, LINUX_SLL, LINUX_SLL2, RAW. IPv4 and IPv6.\n"
		"\n"
		"Options:\n"
		"  -h, --help  this text\n"
		"\n"
		"Exit codes: 0 listed, 2 usage, 3 the file is missing, not a capture, corrupt or truncated\n"
		"(the conversations read before the damage are still listed).\n");
}

static void list(const struct flow_table *t)
{
	size_t i;
	char desc[200];

	printf("%3s  %-47s %6s %8s %8s  %-8s  %s\n", "#", "client -> server", "pkts", "c>s", "s>c", "state",
	       "proto");
	for (i = 0; i < flow_table_count(t); i++) {
		const struct flow *f = flow_table_get(t, i);
		const struct flow_dir *c = &f->d[TURN_C2S];

		flow_describe(f, desc, sizeof(desc));
		printf("%3zu  %-47s %6llu %8llu %8llu  %-8s  %s\n", f->index, desc, (unsigned long long)f->pkts,
		       (unsigned long long)f->d[TURN_C2S].bytes, (unsigned long long)f->d[TURN_S2C].bytes,
		       flow_state_str(flow_state(f)), flow_guess_proto(c->head, c->nhead));
		if (f->note[0])
			printf("     note: %s\n", f->note);
		if (f->err[0])
			printf("     error: %s\n", f->err);
	}
}

int cmd_flows(int argc, char **argv)
{
	static const struct option opts[] = {
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct flow_pcap_stats st;
	struct flow_table *t = NULL;
	char err[ERR_LEN];
	int c, rc = RC_EXIT_BAD_INPUT, lrc;

	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return RC_EXIT_OK;
		default:
			return cmd_opt_error("flows", c, argv, optind, optopt);
		}
	}
	if (argc - optind != 1)
		return cmd_usage("flows", "expected one capture file");
	t = flow_table_new(NULL, false);
	if (!t) {
		cmd_err("flows", "out of memory");
		return RC_EXIT_IO;
	}
	lrc = flow_pcap_load(argv[optind], t, &st, err, sizeof(err));
	if (lrc == -1 && !st.frames) {
		cmd_err("flows", "%s", err);
		goto out;
	}
	if (!flow_table_count(t))
		printf("no TCP conversation in %s (%llu frames, link type %s)\n", argv[optind],
		       (unsigned long long)st.frames, capture_linktype_name(st.linktype));
	else
		list(t);
	if (st.skipped || st.bad)
		printf("\n%llu frames: %llu TCP, %llu not TCP/IP, %llu malformed or dropped%s%s\n",
		       (unsigned long long)st.frames, (unsigned long long)st.tcp, (unsigned long long)st.skipped,
		       (unsigned long long)st.bad, st.bad ? "; first: " : "", st.first_bad);
	if (st.fragments)
		printf("%s%llu IP fragments: %llu datagrams reassembled, %llu dropped or never completed\n",
		       st.skipped || st.bad ? "" : "\n", (unsigned long long)st.fragments,
		       (unsigned long long)st.defragmented, (unsigned long long)st.frag_dropped);
	if (lrc == -1) {
		fflush(stdout);
		cmd_err("flows", "%s (the conversations above cover the frames before that point)", err);
		goto out;
	}
	rc = RC_EXIT_OK;
out:
	flow_table_free(t);
	return rc;
}

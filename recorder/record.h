/*
 * record: the recording itself, run by the process that has dropped its privileges: open the live
 * capture (while still privileged), drop privileges, run the request with drive.c while servicing the
 * capture, drain the last segments, pick curl's flow by its local port, reassemble it into turns,
 * generalize it (dissect_build) and render the recipe. Nothing here writes a file: the result goes back
 * to the caller (cmd_record.c), which writes the outputs atomically.
 */
#ifndef RECHECK_RECORD_H
#define RECHECK_RECORD_H

#include <sys/socket.h>
#include <sys/types.h>

#include "buf.h"
#include "cmd.h"
#include "privsep.h"
#include "proxy_url.h"

#define RECORD_MAX_TEXT (16u << 20)  /* rendered recipe */
#define RECORD_MAX_PCAP (64u << 20)  /* --save-pcap bytes kept in memory */

enum record_format {
	RECORD_YAML = 0,
	RECORD_HAPROXY,
};

struct record_opts {
	const struct proxy_url *proxy;
	const char *proxy_display;      /* the proxy URL without credentials, for messages */
	const char *proxy_curl;         /* the URL handed to libcurl (numeric host, credentials) */
	const char *proxy_addr;         /* numeric address captured */
	struct sockaddr_storage proxy_sa;
	socklen_t proxy_salen;
	const char *url;
	bool tunnel;
	bool insecure;                  /* -k: do not verify an https target's certificate */
	const char *cacert;             /* --cacert: absolute path of the CAs to verify it with, or NULL */
	pid_t monitor;                  /* the privileged parent, 0 when there is none */
	uint64_t timeout_ms;
	const char *iface;              /* --iface, or NULL: chosen from the proxy address */
	const char *name;               /* --name, or NULL: derived from the proxy */
	bool raw;
	bool redact;
	bool all_exchanges;     /* --all-exchanges */
	bool allow_side_effects; /* --allow-side-effects */
	bool force;                     /* go on although the kernel dropped packets */
	bool passive;                   /* --passive: wait for someone else's conversation with the server
					 * (proxy, proxy_addr), nothing is fetched; url is "" */
	bool save_pcap;
	enum record_format format;
	int verbose;                    /* -v: 1, -vv: 2 (adds curl's own trace) */
	const struct privsep_user *drop_to; /* the user to become, NULL: not root, only clear capabilities */
};

struct record_out {
	int rc;                         /* enum rc_exit */
	bool secret;                    /* the recipe holds a recorded credential */
	struct buf text;                /* the rendered recipe (YAML or HAProxy lines) */
	struct buf pcap;                /* a pcap file of the capture, when save_pcap */
};

void record_out_init(struct record_out *o);
void record_out_free(struct record_out *o);

/*
 * Runs the recording. Progress, warnings, the summary and errors go to stderr. Returns the exit code
 * (also put in out->rc); out holds the outputs when it is RC_EXIT_OK.
 */
int record_run(const struct record_opts *o, struct record_out *out);

#endif

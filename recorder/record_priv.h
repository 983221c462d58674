/*
 * record_priv.h: what the three parts of one live recording share (recorder/ only). record.c drives
 * curl and builds the recipe (record_run); record_capture.c owns the capture: opening it, dropping
 * privileges, draining the kernel ring into the flow table, progress, and --passive's wait;
 * record_outcome.c judges the outcome: curl's result, what the capture shows about a failure, the
 * recorded flow's completeness, the summary. struct rec is the state of one recording.
 */
#ifndef RECHECK_RECORD_PRIV_H
#define RECHECK_RECORD_PRIV_H

#include "capture.h"
#include "dissect.h"
#include "drive.h"
#include "flow.h"
#include "ipfrag.h"
#include "record.h"
#include "turn-t.h"

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

/* record_capture.c */
/* Reads what the capture holds now (bounded); RC_EXIT_IO after reporting when the capture fails. */
int rec_pump(struct rec *R);
/* Waits up to ms for the capture to have packets (a plain sleep when it has no descriptor). */
void rec_wait_capture(struct rec *R, int ms);
int rec_service(struct rec *R, char *err, size_t errlen);
uint64_t rec_drops_since_start(const struct rec *R);
void rec_progress(struct rec *R, const char *phase, bool final);
void rec_refresh_stats(struct rec *R, bool force);
void rec_set_server_hint(struct rec *R);
int rec_drain_before(struct rec *R, char *err, size_t errlen);
/* Curl's flow: the client port is the local port curl used, the server is the proxy. */
struct flow *rec_find_flow(struct rec *R, int local_port);
/* drive.c's opensocket hook: narrows the filter to curl's one flow before its SYN is sent. */
void rec_on_socket(void *arg, int port);
int rec_open_capture(struct rec *R, char *iface, size_t ifacelen);
int rec_drop_privileges(struct rec *R);
/* --passive: the next complete conversation with the server, made by any client. */
int rec_passive_wait(struct rec *R, struct flow **out, const char *iface);

/* record_outcome.c */
/* curl failed or got a 407: what the capture shows (exit 1 with the answer), or RC_EXIT_OK. */
int rec_explain_failure(struct rec *R, const struct drive_result *res, const struct dissect_opts *dop);
/* curl's outcome: a failed request is exit 4. */
int rec_judge_request(struct rec *R, const struct drive_result *res);
/* The flow curl used, reassembled and checked: nothing missing, or a clear error. */
int rec_take_flow(struct rec *R, const struct drive_result *res, struct turns *t);
void rec_print_summary(const struct rec *R, const struct drive_result *res, const struct buf *summary);

#endif

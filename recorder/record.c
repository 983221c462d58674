/*
 * record: one live recording (see record.h): curl's request and the recipe built from what was captured.
 * The capture is in record_capture.c, the judgement of the outcome in record_outcome.c (record_priv.h).
 *
 * Order matters and is the point of this file: the capture is opened and activated first (privileged),
 * then privileges are dropped and verified, and only then does libcurl run and a captured byte get read.
 * While curl runs, the capture's descriptor is polled together with curl's sockets, so the kernel ring
 * is drained (record_capture.c) as the conversation happens.
 */
#include "api.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "recipe.h"
#include "recipe_haproxy.h"
#include "recipe_yaml.h"
#include "record_priv.h"
#include "turn.h"
#include "util.h"

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

/* Runs curl to the end while servicing the capture; then drains the last segments. */
static int run_request(struct rec *R, struct drive_result *res)
{
	const struct record_opts *o = R->o;
	struct drive_opts dopts = {0};
	struct drive *d;
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
	dopts.on_socket = rec_on_socket;
	dopts.arg = R;
	d = drive_start(&dopts, err, sizeof(err));
	if (!d) {
		cmd_err("record", "%s", err);
		return RC_EXIT_IO;
	}
	do {
		st = drive_step(d, capture_fd(R->cap), POLL_MS, err, sizeof(err));
		if (st == -1 || rec_service(R, err, sizeof(err)) == -1) {
			if (R->tty)
				fputc('\n', stderr);
			cmd_err("record", "%s", err);
			drive_free(d);
			return RC_EXIT_IO;
		}
		R->status = drive_status_now(d);
		rec_refresh_stats(R, false);
		rec_progress(R, st ? "request running" : "request done", false);
	} while (st == 1);
	drive_result(d, res);
	drive_free(d); /* the connection was closed at the end of the transfer (no reuse) */
	if (!R->local_port)
		R->local_port = res->local_port;

	/* The last segments (the server's FIN, a late ACK) may still be in flight: bounded wait. */
	deadline = now_ms() + DRAIN_MS;
	while (now_ms() < deadline) {
		if (rec_pump(R) != RC_EXIT_OK)
			return RC_EXIT_IO;
		f = R->local_port ? rec_find_flow(R, R->local_port) : NULL;
		if (f && flow_is_closed(f))
			break;
		if (res->curl_code != 0 && !f && !R->local_port)
			break; /* never connected: nothing to wait for */
		rec_wait_capture(R, 20);
	}
	rec_refresh_stats(R, true);
	rec_progress(R, "done", true);
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
	rc = rec_open_capture(&R, iface, sizeof(iface));
	if (rc != RC_EXIT_OK)
		goto out;
	rc = rec_drop_privileges(&R);
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
	rec_set_server_hint(&R);
	if (capture_set_nonblock(R.cap, true, err, sizeof(err)) == -1 || rec_drain_before(&R, err, sizeof(err)) == -1) {
		cmd_err("record", "%s", err);
		goto out;
	}
	if (!R.tty && !o->passive)
		fprintf(stderr, "recheck record: capturing on %s; %s through %s\n", iface, o->url, o->proxy_display);
	if (o->passive) {
		struct flow *pf = NULL;
		char desc[200];

		memset(&res, 0, sizeof(res));
		rc = rec_passive_wait(&R, &pf, iface);
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
		rc = rec_explain_failure(&R, &res, &dop);
		if (rc != RC_EXIT_OK)
			goto out;
	}
	rc = rec_judge_request(&R, &res);
	if (rc != RC_EXIT_OK)
		goto out;
	rc = rec_take_flow(&R, &res, &t);
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
		rec_print_summary(&R, &res, &summary);
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

/*
 * record_outcome: how a live recording ended, in words a user can act on (see record_priv.h): curl's
 * result; when curl failed, what the capture shows about the proxy's answer (a refusal quoted by the
 * recorded failure rule, another protocol than the URL's scheme, no answer at all); whether the recorded
 * flow is complete; the summary.
 */
#include "api.h"

#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "net.h"
#include "proxy_url.h"
#include "recipe.h"
#include "record_priv.h"
#include "turn.h"
#include "util.h"

/*
 * curl failed, or the proxy answered 407: when the capture holds the proxy's answer, say what it was.
 * A refusal the dissector recognizes (the recorded failure rule) is exit 1 with the answer quoted; a
 * proxy that speaks another protocol than the URL's scheme (it answered in the other protocol, or never
 * answered a SOCKS greeting) is named with the URL to record with: exit 1 when it answered in the other
 * protocol, exit 4 when it never answered (a hung server looks the same). Returns RC_EXIT_OK when the
 * capture says nothing more than curl did.
 */
/* The proxy's address as another scheme's URL, for a hint: "http://[::1]:3128" (net_fmt_addr brackets IPv6). */
static const char *as_scheme(const struct record_opts *o, const char *scheme, char *out, size_t outlen)
{
	char a[NET_ADDRSTRLEN];

	snprintf(out, outlen, "%s://%s", scheme, net_fmt_addr((const struct sockaddr *)&o->proxy_sa, a, sizeof(a)));
	return out;
}

/* The first bytes of b in hex ("05 02 00 01"), at most 8 of them, "..." after. */
static const char *hex_head(const unsigned char *b, size_t n, char *out, size_t outlen)
{
	size_t i, k = 0;

	out[0] = 0;
	for (i = 0; i < n && i < 8 && k + 4 < outlen; i++)
		k += (size_t)snprintf(out + k, outlen - k, "%s%02X", i ? " " : "", b[i]);
	if (n > 8 && k + 4 < outlen)
		snprintf(out + k, outlen - k, " ...");
	return out;
}

int rec_explain_failure(struct rec *R, const struct drive_result *res, const struct dissect_opts *dop)
{
	const struct record_opts *o = R->o;
	struct flow *f;
	struct turns t;
	struct recipe *r;
	enum dissect_rc drc;
	const unsigned char *sb = NULL, *cb = NULL;
	char err[ERR_LEN], hint[NET_ADDRSTRLEN + 16], hx[40];
	size_t i, sn = 0, cn = 0;
	bool socks = o->proxy->scheme != PROXY_HTTP;

	flow_table_finish(R->ft);
	f = R->local_port ? rec_find_flow(R, R->local_port) : NULL;
	if (!f || flow_turns(f, &t, err, sizeof(err)) == -1)
		return RC_EXIT_OK;
	for (i = 0; i < t.n && !sb; i++)
		if (t.v[i].dir == TURN_S2C && t.v[i].len) {
			sb = t.v[i].data;
			sn = t.v[i].len;
		}
	if (t.n && t.v[0].dir == TURN_C2S && t.v[0].len) {
		cb = t.v[0].data;
		cn = t.v[0].len;
	}
	if (sb && socks && sn >= 5 && !memcmp(sb, "HTTP/", 5)) {
		cmd_err("record", "the proxy %s answered the %s greeting in HTTP (\"%.*s\"): it is an HTTP proxy; "
			"record with --proxy %s", o->proxy_display, proxy_scheme_str(o->proxy->scheme),
			(int)strcspn((const char *)sb, "\r\n") < 80 ? (int)strcspn((const char *)sb, "\r\n") : 80,
			(const char *)sb, as_scheme(o, "http", hint, sizeof(hint)));
		turns_free(&t);
		return RC_EXIT_CHECK_FAILED;
	}
	if (!socks && sb && (sb[0] == 0x05 || (sb[0] == 0x00 && sn == 8))) {
		cmd_err("record", "the proxy %s answered the HTTP request with SOCKS bytes (%02X %02X): it is a SOCKS "
			"proxy; record with --proxy %s", o->proxy_display, sb[0], sn > 1 ? sb[1] : 0,
			as_scheme(o, "socks5h", hint, sizeof(hint)));
		turns_free(&t);
		return RC_EXIT_CHECK_FAILED;
	}
	if (!socks && !sb && flow_state(f) != FLOW_GAP && f->d[TURN_S2C].fin_seen) {
		cmd_err("record", "the proxy %s closed the connection without answering the HTTP request: it may "
			"not be an HTTP proxy (a SOCKS proxy? record with --proxy %s)", o->proxy_display,
			as_scheme(o, "socks5h", hint, sizeof(hint)));
		turns_free(&t);
		return RC_EXIT_CHECK_FAILED;
	}
	if (socks && !sb && cb && flow_state(f) != FLOW_GAP && f->d[TURN_S2C].syn_seen &&
	    (cb[0] == 0x05 || cb[0] == 0x04)) {
		/* The capture shows the connection accepted, the greeting sent and not one byte back. An HTTP
		 * proxy (tinyproxy, squid) does exactly that: it waits for the end of a request line that SOCKS
		 * bytes never bring, until curl gives up. */
		cmd_err("record", "the proxy %s did not answer the %s greeting: it accepted the connection, got the "
			"%zu-byte greeting (%s) and sent nothing back in %.1f s (curl: %s); it is probably an HTTP "
			"proxy, which waits for a request line that SOCKS bytes never complete: record with --proxy %s",
			o->proxy_display, cb[0] == 0x05 ? "SOCKS5" : "SOCKS4", cn, hex_head(cb, cn, hx, sizeof(hx)),
			(double)res->elapsed_us / 1e6, res->curl_msg, as_scheme(o, "http", hint, sizeof(hint)));
		turns_free(&t);
		/* exit 4, not 1: on the wire a hung SOCKS server looks the same, and nothing refused anything */
		return RC_EXIT_UNREACHABLE;
	}
	r = dissect_build_rc(&t, dop, NULL, &drc, err, sizeof(err));
	turns_free(&t);
	recipe_free(r);
	if (drc != DISSECT_REFUSED)
		return RC_EXIT_OK;
	cmd_err("record", "%s: %s", o->proxy_display, err);
	return RC_EXIT_CHECK_FAILED;
}

/* Checks curl's outcome. A failed request is the proxy's (or the path's) fault: exit 4, no output. */
int rec_judge_request(struct rec *R, const struct drive_result *res)
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
int rec_take_flow(struct rec *R, const struct drive_result *res, struct turns *t)
{
	const struct record_opts *o = R->o;
	uint64_t drops = rec_drops_since_start(R);
	struct flow *f;
	char err[ERR_LEN], desc[160];
	bool complete;

	if (R->fatal) {
		cmd_err("record", "capture: %s", R->fatal_err);
		return RC_EXIT_IO;
	}
	flow_table_finish(R->ft);
	f = R->local_port ? rec_find_flow(R, R->local_port) : NULL;
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

void rec_print_summary(const struct rec *R, const struct drive_result *res, const struct buf *summary)
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

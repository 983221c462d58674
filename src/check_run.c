/*
 * check_run: the bottom of the check engine. A run's state and its events (check_on_*), HAProxy's status
 * names, the one phase setter, step timing, results (check_conclude(), what the failing step received)
 * and the helpers both rule interpreters use for the connection (its start, its failure report) and
 * for naming a rule. It evaluates nothing: check_tcp.c and check_http.c do, check.c dispatches to them.
 * Declarations: check_run.h (for everyone), check_run_priv.h (for the engine's files only).
 */
#include "api.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "check_run.h"
#include "check_run_priv.h"
#include "recipe.h"
#include "tls.h"
#include "util.h"

/* HAProxy's check_statuses[] names and descriptions. */
static const struct {
	const char *name;
	const char *desc;
	enum check_verdict verdict;
} statuses[CHECK_STATUS_COUNT] = {
	[CHECK_UNK]     = {"UNK",     "Unknown",                           CHECK_RES_UNKNOWN},
	[CHECK_INI]     = {"INI",     "Initializing",                      CHECK_RES_UNKNOWN},
	[CHECK_SOCKERR] = {"SOCKERR", "Socket error",                      CHECK_RES_FAILED},
	[CHECK_L4OK]    = {"L4OK",    "Layer4 check passed",               CHECK_RES_PASSED},
	[CHECK_L4TOUT]  = {"L4TOUT",  "Layer4 timeout",                    CHECK_RES_FAILED},
	[CHECK_L4CON]   = {"L4CON",   "Layer4 connection problem",         CHECK_RES_FAILED},
	[CHECK_L6OK]    = {"L6OK",    "Layer6 check passed",               CHECK_RES_PASSED},
	[CHECK_L6TOUT]  = {"L6TOUT",  "Layer6 timeout",                    CHECK_RES_FAILED},
	[CHECK_L6RSP]   = {"L6RSP",   "Layer6 invalid response",           CHECK_RES_FAILED},
	[CHECK_L7TOUT]  = {"L7TOUT",  "Layer7 timeout",                    CHECK_RES_FAILED},
	[CHECK_L7RSP]   = {"L7RSP",   "Layer7 invalid response",           CHECK_RES_FAILED},
	[CHECK_L7OK]    = {"L7OK",    "Layer7 check passed",               CHECK_RES_PASSED},
	[CHECK_L7OKC]   = {"L7OKC",   "Layer7 check conditionally passed", CHECK_RES_CONDPASS},
	[CHECK_L7STS]   = {"L7STS",   "Layer7 wrong status",               CHECK_RES_FAILED},
};

static const char *const phases[CHECK_PH_COUNT] = {
	[CHECK_PH_START] = "START", [CHECK_PH_CONNECTING] = "CONNECTING", [CHECK_PH_SENDING] = "SENDING",
	[CHECK_PH_READING] = "READING", [CHECK_PH_TLS] = "TLS", [CHECK_PH_EVAL] = "EVAL", [CHECK_PH_DONE] = "DONE",
};

const char *check_status_str(enum check_status s)
{
	return (unsigned)s < CHECK_STATUS_COUNT ? statuses[s].name : "?";
}

const char *check_status_desc(enum check_status s)
{
	return (unsigned)s < CHECK_STATUS_COUNT ? statuses[s].desc : "?";
}

enum check_verdict check_status_verdict(enum check_status s)
{
	return (unsigned)s < CHECK_STATUS_COUNT ? statuses[s].verdict : CHECK_RES_UNKNOWN;
}

bool check_status_is_l4(enum check_status s)
{
	return s == CHECK_L4TOUT || s == CHECK_L4CON;
}

const char *check_phase_str(enum check_phase p)
{
	return (unsigned)p < CHECK_PH_COUNT ? phases[p] : "?";
}

int64_t check_timing_us(const struct check_timing *t)
{
	if (!t->start_us || !t->end_us || t->end_us < t->start_us)
		return -1;
	return (int64_t)(t->end_us - t->start_us);
}

void check_trace(struct check_run *run, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (!run->trace)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	run->trace(run->trace_arg, line);
}

void check_set_phase(struct check_run *run, enum check_phase ph, const char *file, int line)
{
	const char *base = strrchr(file, '/');

	if (run->trace_phases && run->phase != ph)
		check_trace(run, "phase %s -> %s (%s:%d)", check_phase_str(run->phase), check_phase_str(ph),
			    base ? base + 1 : file, line);
	run->phase = ph;
}

void check_run_free(struct check_run *run)
{
	buf_free(&run->in);
	buf_free(&run->out);
	free(run->times);
	run->times = NULL;
	run->ntimes = 0;
	free(run->res.rx);
	run->res.rx = NULL;
	run->res.rxlen = 0;
}

void check_set_trace(struct check_run *run, check_trace_fn fn, void *arg, bool phases_too)
{
	run->trace = fn;
	run->trace_arg = arg;
	run->trace_phases = phases_too;
}

bool check_done(const struct check_run *run)
{
	return run->phase == CHECK_PH_DONE;
}

size_t check_rx_room(const struct check_run *run)
{
	return run->in.cap - run->in.len;
}

/* ---- events -------------------------------------------------------------------------------------- */

void check_on_connected(struct check_run *run)
{
	run->connected = true;
}

void check_on_sent(struct check_run *run)
{
	run->sent = true;
	run->sent_us = run->clock();
}

void check_on_tls_ok(struct check_run *run)
{
	run->tls_ok = true;
}

void check_on_tls_error(struct check_run *run, enum tls_reason why, const char *detail)
{
	run->tls_err = why == TLS_R_NONE ? TLS_R_HANDSHAKE : why;
	snprintf(run->tls_detail, sizeof(run->tls_detail), "%s", detail ? detail : "");
}

void check_on_data(struct check_run *run, const void *p, size_t n)
{
	size_t room = check_rx_room(run);

	if (run->phase == CHECK_PH_DONE)
		return;
	/* Past the cap HAProxy would not have read the bytes at all: they are not part of the check. */
	if (n > room)
		n = room;
	if (n)
		buf_append(&run->in, p, n); /* cannot fail: n fits the cap */
	if (n && run->sent_us) {
		uint64_t now = run->clock();

		run->res.ttfb_us = now > run->sent_us ? (int64_t)(now - run->sent_us) : 0;
		run->sent_us = 0;
	}
	run->got_data = true;
}

void check_on_eof(struct check_run *run)
{
	run->peer_closed = true;
}

void check_on_error(struct check_run *run, int err)
{
	run->sock_err = err ? err : EIO;
}

void check_on_conn_fail(struct check_run *run, const char *why, int err)
{
	run->conn_fail = why;
	run->sock_err = err ? err : EPROTO;
}

void check_on_timeout(struct check_run *run)
{
	run->expired = true;
}

/* ---- results ------------------------------------------------------------------------------------- */

void check_str_escape(char *out, size_t outlen, const unsigned char *p, size_t n)
{
	size_t o = 0, i;

	if (!outlen)
		return;
	for (i = 0; i < n && o + 5 < outlen; i++) {
		unsigned char c = p[i];

		if (c == '\r' || c == '\n' || c == '\t' || c == '\\') {
			out[o++] = '\\';
			out[o++] = c == '\r' ? 'r' : c == '\n' ? 'n' : c == '\t' ? 't' : '\\';
		} else if (c < 0x20 || c >= 0x7f) {
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
		} else {
			out[o++] = (char)c;
		}
	}
	if (i < n && o + 4 < outlen) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

void check_keep_rx(struct check_run *run, const unsigned char *p, size_t n)
{
	size_t keep = MIN(n, (size_t)CHECK_RX_KEEP);

	free(run->res.rx);
	run->res.rx = NULL;
	run->res.rxlen = 0;
	run->res.rxtotal = n;
	if (!keep)
		return;
	run->res.rx = malloc(keep);
	if (!run->res.rx)
		return; /* the report loses the dump, the verdict stands */
	memcpy(run->res.rx, p, keep);
	run->res.rxlen = keep;
}

/* The first connect and the first TLS handshake that concluded, for res.connect_us / res.tls_us. */
static void fill_delays(struct check_run *run)
{
	const struct recipe *r = run->recipe;
	size_t t;

	for (t = 0; t < run->ntimes; t++) {
		int64_t us = check_timing_us(&run->times[t]);
		bool is_tls, is_conn;

		if (us < 0)
			continue;
		if (r->kind == RECIPE_HTTP) {
			is_conn = t == 0;
			is_tls = t == 3;
		} else {
			is_conn = t == 0 || r->steps[t - 1].type == STEP_CONNECT;
			is_tls = t > 0 && r->steps[t - 1].type == STEP_TLS;
		}
		if (is_conn && run->res.connect_us < 0)
			run->res.connect_us = us;
		if (is_tls && run->res.tls_us < 0)
			run->res.tls_us = us;
	}
}

void check_conclude(struct check_run *run, enum check_status st, int step, int idx, const char *fmt, ...)
{
	va_list ap;

	run->res.status = st;
	run->res.step = step;
	run->res.idx = idx;
	run->res.desc[0] = '\0';
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(run->res.desc, sizeof(run->res.desc), fmt, ap);
		va_end(ap);
	}
	run->res.end_us = run->clock();
	fill_delays(run);
	SET_PHASE(run, CHECK_PH_DONE);
	check_trace(run, "result %s: %s", check_status_str(st), run->res.desc);
}

struct check_timing *check_timing_of(struct check_run *run, int idx)
{
	size_t t = (size_t)(idx + 1);

	return t < run->ntimes ? &run->times[t] : NULL;
}

void check_time_start(struct check_run *run, int idx)
{
	struct check_timing *t = check_timing_of(run, idx);

	if (t && !t->start_us) {
		t->step = idx + 1;
		t->idx = idx;
		t->start_us = run->clock();
		if (!t->start_us)
			t->start_us = 1;
	}
}

void check_time_end(struct check_run *run, int idx)
{
	struct check_timing *t = check_timing_of(run, idx);

	if (t)
		t->end_us = run->clock();
}

struct check_action check_done_action(const struct check_run *run)
{
	struct check_action a = {.type = CHECK_ACT_DONE, .linger = run->linger};

	return a;
}

/* ---- reading ------------------------------------------------------------------------------------- */

bool check_read_pending(const struct check_run *run)
{
	return !run->got_data && !run->peer_closed && !run->sock_err && check_rx_room(run) > 0;
}

void check_read_done(struct check_run *run)
{
	run->last_read = run->peer_closed || run->sock_err || check_rx_room(run) == 0;
	run->got_data = false;
}

/* ---- rules and the connection, shared by TCP and HTTP recipes ------------------------------------ */

/* "connect", "send-binary", "expect rbinary": the kind of a TCP rule, for reports. */
const char *check_rule_kind(const struct step *s)
{
	static const char *const expects[] = {"expect string", "expect binary", "expect rstring", "expect rbinary"};

	if (!s)
		return "connect";
	switch (s->type) {
	case STEP_CONNECT:
		return "connect";
	case STEP_SEND:
		return s->binary ? "send-binary" : "send";
	case STEP_EXPECT:
		return (unsigned)s->match < ARRAY_SIZE(expects) ? expects[s->match] : "expect";
	case STEP_TLS:
		return "tls";
	}
	return "?";
}

/*
 * HAProxy's chk_report_conn_err() suffix: " at step N of tcp-check (expect string 'X') comment: 'c'".
 * Written without HAProxy's leading space.
 */
static void where_suffix(const struct check_run *run, int idx, char *out, size_t outlen)
{
	const struct step *s = idx >= 0 && (size_t)idx < run->recipe->nsteps ? &run->recipe->steps[idx] : NULL;
	char pat[160];
	struct buf hex;
	size_t o;

	if (!s) {
		snprintf(out, outlen, "at initial connection step of tcp-check");
		return;
	}
	o = (size_t)snprintf(out, outlen, "at step %d of tcp-check", idx + 1);
	if (o >= outlen)
		return;
	switch (s->type) {
	case STEP_CONNECT:
		if (s->port)
			o += (size_t)snprintf(out + o, outlen - o, " (connect port %d)", s->port);
		else
			o += (size_t)snprintf(out + o, outlen - o, " (connect)");
		break;
	case STEP_SEND:
		o += (size_t)snprintf(out + o, outlen - o, " (send)");
		break;
	case STEP_TLS:
		o += (size_t)snprintf(out + o, outlen - o, " (tls%s%s)", s->tls.sni ? " sni " : "",
				      s->tls.sni ? s->tls.sni : "");
		break;
	case STEP_EXPECT:
		switch (s->match) {
		case EXPECT_STRING:
			check_str_escape(pat, sizeof(pat), s->data, s->len);
			o += (size_t)snprintf(out + o, outlen - o, " (expect string '%s')", pat);
			break;
		case EXPECT_BINARY:
			buf_init(&hex, 128);
			hex_encode(&hex, s->data, MIN(s->len, (size_t)60), true);
			o += (size_t)snprintf(out + o, outlen - o, " (expect binary '%s')",
					      buf_cstr(&hex) ? buf_cstr(&hex) : "");
			buf_free(&hex);
			break;
		case EXPECT_RSTRING:
			o += (size_t)snprintf(out + o, outlen - o, " (expect regex)");
			break;
		case EXPECT_RBINARY:
			o += (size_t)snprintf(out + o, outlen - o, " (expect binary regex)");
			break;
		}
		break;
	}
	if (o < outlen && s->comment)
		snprintf(out + o, outlen - o, " comment: '%s'", s->comment);
}

void check_fill_rule(struct check_run *run, int idx)
{
	const struct step *s = idx >= 0 && (size_t)idx < run->recipe->nsteps ? &run->recipe->steps[idx] : NULL;

	run->res.kind = check_rule_kind(s);
	run->res.comment = s ? s->comment : NULL;
	if (s && s->type == STEP_EXPECT) {
		run->res.expected = s->data;
		run->res.explen = s->len;
		run->res.negate = s->negate;
	}
}

/* Connection-level failure (refused, timeout, reset with nothing read), as chk_report_conn_err(). */
void check_fail_conn(struct check_run *run, enum check_status st, int idx)
{
	char where[CHECK_DESC_LEN];

	where_suffix(run, idx, where, sizeof(where));
	check_fill_rule(run, idx);
	run->res.err = run->sock_err;
	if (run->conn_fail && !run->expired) {
		/* HAProxy: an error of a handshake under the check's connection (SOCKS4) once the TCP connection
		 * is up is a socket error, described by the handshake's own words (conn_err_code_str()) */
		if (run->sock_err != EPROTO)
			check_conclude(run, CHECK_SOCKERR, idx + 1, idx, "%s (%s) %s", run->conn_fail,
				       strerror(run->sock_err), where);
		else
			check_conclude(run, CHECK_SOCKERR, idx + 1, idx, "%s %s", run->conn_fail, where);
	} else if (run->sock_err && !run->expired)
		check_conclude(run, st, idx + 1, idx, "%s %s", strerror(run->sock_err), where);
	else
		check_conclude(run, st, idx + 1, idx, "%s", where);
}

struct check_action check_start_connect(struct check_run *run, int idx)
{
	/* an HTTP recipe's one connection takes its settings from the recipe's 'connect' */
	const struct step *s = idx >= 0 ? &run->recipe->steps[idx] : run->recipe->conn;
	struct check_action a = {.type = CHECK_ACT_CONNECT};

	run->cur = idx;
	buf_reset(&run->in);
	run->connected = false;
	run->peer_closed = false;
	run->sock_err = 0;
	run->conn_fail = NULL;
	run->got_data = false;
	run->last_read = false;
	run->linger = s && s->linger;
	a.port = s ? s->port : 0;
	if (s && s->addrlen) {
		a.addr = &s->addr;
		a.addrlen = s->addrlen;
	}
	if (s && s->socks4len) {
		a.socks4 = &s->socks4;
		a.socks4len = s->socks4len;
	}
	a.send_proxy = s ? s->send_proxy : 0;
	a.linger = run->linger;
	check_time_start(run, idx);
	if (s && idx >= 0)
		check_trace(run, "step %d: connect%s%s", idx + 1, s->port ? " port " : "", s->port ? "(override)" : "");
	else if (s)
		check_trace(run, "connect (the recipe's connect: %s%s%s%s)", s->port ? "port " : "", s->addrlen ? "addr " : "",
			    s->socks4len ? "socks4 " : "", s->send_proxy ? "send_proxy" : "");
	else
		check_trace(run, "step 0: connect (implicit)");
	SET_PHASE(run, CHECK_PH_CONNECTING);
	return a;
}

/* HAProxy words these "SSL handshake failure" / "SSL handshake timeout"; the reason is ours. */
void check_fail_tls(struct check_run *run, int idx, int step, const char *where)
{
	char w[CHECK_DESC_LEN];
	enum tls_reason why = run->tls_err;
	const char *detail = run->tls_detail;

	if (where)
		snprintf(w, sizeof(w), "%s", where);
	else
		where_suffix(run, idx, w, sizeof(w));
	if (run->recipe->kind == RECIPE_TCP)
		check_fill_rule(run, idx);
	else
		run->res.kind = "tls";
	if (run->expired && why == TLS_R_NONE && !run->sock_err) {
		check_conclude(run, CHECK_L6TOUT, step, idx, "SSL handshake timeout %s", w);
		return;
	}
	if (why == TLS_R_NONE) {
		/* the driver reported a socket error instead of a classified TLS failure */
		why = TLS_R_HANDSHAKE;
		detail = run->sock_err ? strerror(run->sock_err) : "connection failed";
	}
	run->res.tls_reason = why;
	run->res.err = run->sock_err;
	check_conclude(run, CHECK_L6RSP, step, idx, "SSL handshake failure: %s%s%s%s %s", tls_reason_str(why),
		       *detail ? " (" : "", detail, *detail ? ")" : "", w);
}

struct check_action check_start_tls(struct check_run *run, int idx, const struct step_tls *t)
{
	struct check_action a = {.type = CHECK_ACT_TLS, .tls = t};

	/* what the proxy said before is not part of what the TLS peer says */
	buf_reset(&run->in);
	run->tls_ok = false;
	run->tls_err = TLS_R_NONE;
	run->tls_detail[0] = '\0';
	check_time_start(run, idx);
	check_trace(run, "step %d: tls%s%s%s", run->recipe->kind == RECIPE_TCP ? idx + 1 : 1, t->sni ? " sni " : "",
		    t->sni ? t->sni : "", t->verify ? "" : " (no verify)");
	SET_PHASE(run, CHECK_PH_TLS);
	return a;
}

/* One concluded rule: trace it with its time. */
void check_step_passed(struct check_run *run, int idx)
{
	struct check_timing *t = check_timing_of(run, idx);
	const struct step *s = idx >= 0 ? &run->recipe->steps[idx] : NULL;

	check_time_end(run, idx);
	run->last = idx;
	if (t)
		check_trace(run, "step %d: %s passed in %.1fms%s%s%s", idx + 1, check_rule_kind(s),
		      (double)check_timing_us(t) / 1000.0, s && s->comment ? " (" : "",
		      s && s->comment ? s->comment : "", s && s->comment ? ")" : "");
}

/*
 * check: the I/O-free recipe interpreter. It follows HAProxy 2.6's tcpcheck_main() (src/tcpcheck.c):
 * rules run in order; a connect resets the input; a send clears the input before writing; an expect
 * reads (when it is the first expect after a connect or send, or when it resumes after a WAIT) and then
 * evaluates; a WAIT resumes at the head of the expect chain. See HAPROXY-SEMANTICS.md §2.5-2.7.
 */
#include "api.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "check.h"
#include "check_http.h"
#include "recipe.h"
#include "regex.h"
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
	[CHECK_PH_READING] = "READING", [CHECK_PH_EVAL] = "EVAL", [CHECK_PH_DONE] = "DONE",
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

static void trace(struct check_run *run, const char *fmt, ...) PRINTF_FMT(2, 3);
static void trace(struct check_run *run, const char *fmt, ...)
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

/* The one place a run changes phase (STYLE 11): traced as "old -> new (check.c:LINE)". */
#define SET_PHASE(run, ph) check_set_phase((run), (ph), __LINE__)
static void check_set_phase(struct check_run *run, enum check_phase ph, int line)
{
	if (run->trace_phases && run->phase != ph)
		trace(run, "phase %s -> %s (check.c:%d)", check_phase_str(run->phase), check_phase_str(ph), line);
	run->phase = ph;
}

int check_run_init(struct check_run *run, const struct recipe *r)
{
	memset(run, 0, sizeof(*run));
	run->recipe = r;
	run->cur = -1;
	run->last = -1;
	run->res.status = CHECK_INI;
	run->res.idx = -1;
	run->clock = now_us;
	buf_init(&run->in, CHECK_BUFSIZE);
	buf_init(&run->out, CHECK_BUFSIZE);
	run->ntimes = r->kind == RECIPE_HTTP ? 3 : r->nsteps + 1;
	run->times = calloc(run->ntimes, sizeof(*run->times));
	if (!run->times)
		goto fail;
	if (r->kind == RECIPE_HTTP && check_http_request(r, &run->out) == -1)
		goto fail;
	return 0;
fail:
	check_run_free(run);
	return -1;
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
	SET_PHASE(run, CHECK_PH_DONE);
	trace(run, "result %s: %s", check_status_str(st), run->res.desc);
}

static struct check_timing *timing(struct check_run *run, int idx)
{
	size_t t = (size_t)(idx + 1);

	return t < run->ntimes ? &run->times[t] : NULL;
}

static void time_start(struct check_run *run, int idx)
{
	struct check_timing *t = timing(run, idx);

	if (t && !t->start_us) {
		t->step = idx + 1;
		t->idx = idx;
		t->start_us = run->clock();
		if (!t->start_us)
			t->start_us = 1;
	}
}

static void time_end(struct check_run *run, int idx)
{
	struct check_timing *t = timing(run, idx);

	if (t)
		t->end_us = run->clock();
}

/* "connect", "send-binary", "expect rbinary": the kind of a TCP rule, for reports. */
static const char *tcp_kind(const struct step *s)
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

static void fill_rule(struct check_run *run, int idx)
{
	const struct step *s = idx >= 0 && (size_t)idx < run->recipe->nsteps ? &run->recipe->steps[idx] : NULL;

	run->res.kind = tcp_kind(s);
	run->res.comment = s ? s->comment : NULL;
	if (s && s->type == STEP_EXPECT) {
		run->res.expected = s->data;
		run->res.explen = s->len;
		run->res.negate = s->negate;
	}
}

/* Connection-level failure (refused, timeout, reset with nothing read), as chk_report_conn_err(). */
static void fail_conn(struct check_run *run, enum check_status st, int idx)
{
	char where[CHECK_DESC_LEN];

	where_suffix(run, idx, where, sizeof(where));
	fill_rule(run, idx);
	run->res.err = run->sock_err;
	if (run->sock_err && !run->expired)
		check_conclude(run, st, idx + 1, idx, "%s %s", strerror(run->sock_err), where);
	else
		check_conclude(run, st, idx + 1, idx, "%s", where);
}

/* ---- TCP rules ----------------------------------------------------------------------------------- */

/* HAProxy's tcpcheck_eval_expect() for string / binary / rstring / rbinary. */
static enum check_eval eval_expect(struct check_run *run, int idx)
{
	const struct step *s = &run->recipe->steps[idx];
	const unsigned char *b = run->in.data ? run->in.data : (const unsigned char *)"";
	size_t n = run->in.len;
	bool last_read = run->last_read;
	char pat[160], what[176];
	int match = 0;

	if (!last_read) {
		if ((s->match == EXPECT_STRING || s->match == EXPECT_BINARY) && n < s->len)
			return CHECK_EVAL_WAIT;
		if (s->min_recv > 0 && n < (size_t)s->min_recv)
			return CHECK_EVAL_WAIT;
	}
	switch (s->match) {
	case EXPECT_STRING:
	case EXPECT_BINARY:
		match = memmem(b, n, s->data, s->len) != NULL;
		break;
	case EXPECT_RSTRING:
		/* regex_exec2(..., MIN(b_data, b_size - 1)); a matcher error counts as no match */
		match = rx_match(s->rx, b, MIN(n, (size_t)CHECK_BUFSIZE - 1)) == 1;
		break;
	case EXPECT_RBINARY:
		/* dump_binary() into a bufsize chunk, then regex_exec2(MIN(len, size - 1)): the hex text of a
		 * full buffer is cut at 16383 characters, in the middle of byte 8192 ([T] 2.6.12: on 1 MiB of
		 * 0x4A, "4$" matches and "4A$" does not) */
		buf_reset(&run->out);
		hex_encode(&run->out, b, MIN(n, (size_t)CHECK_BUFSIZE / 2), true);
		match = rx_match(s->rx, run->out.data ? run->out.data : b,
				 MIN(run->out.len, (size_t)CHECK_BUFSIZE - 1)) == 1;
		break;
	}
	/* Wait for more data on mismatch only if no minimum is defined (-1). */
	if (!match && !last_read && s->min_recv == -1)
		return CHECK_EVAL_WAIT;
	if (match ^ s->negate)
		return CHECK_EVAL_CONTINUE;

	fill_rule(run, idx);
	check_keep_rx(run, b, n);
	switch (s->match) {
	case EXPECT_STRING:
		check_str_escape(pat, sizeof(pat), s->data, s->len);
		snprintf(what, sizeof(what), " '%s'", pat);
		break;
	case EXPECT_BINARY:
		snprintf(what, sizeof(what), " (binary)");
		break;
	case EXPECT_RSTRING:
		snprintf(what, sizeof(what), " (regex)");
		break;
	case EXPECT_RBINARY:
		snprintf(what, sizeof(what), " (binary regex)");
		break;
	}
	if (s->comment)
		check_conclude(run, CHECK_L7RSP, idx + 1, idx, "TCPCHK %s%s at step %d comment: '%s'",
			       match ? "matched unwanted content" : "did not match content", what, idx + 1, s->comment);
	else
		check_conclude(run, CHECK_L7RSP, idx + 1, idx, "TCPCHK %s%s at step %d",
			       match ? "matched unwanted content" : "did not match content", what, idx + 1);
	return CHECK_EVAL_STOP;
}

/* The earliest negated expect of the contiguous run of expects that ends at idx, or idx itself. */
static int chain_head(const struct recipe *r, int idx)
{
	int head = idx, i;

	for (i = idx - 1; i >= 0 && r->steps[i].type == STEP_EXPECT; i--)
		if (r->steps[i].negate)
			head = i;
	return head;
}

static struct check_action start_connect(struct check_run *run, int idx)
{
	const struct step *s = idx >= 0 ? &run->recipe->steps[idx] : NULL;
	struct check_action a = {.type = CHECK_ACT_CONNECT};

	run->cur = idx;
	buf_reset(&run->in);
	run->connected = false;
	run->peer_closed = false;
	run->sock_err = 0;
	run->got_data = false;
	run->last_read = false;
	run->linger = s && s->linger;
	a.port = s ? s->port : 0;
	a.linger = run->linger;
	time_start(run, idx);
	if (s)
		trace(run, "step %d: connect%s%s", idx + 1, s->port ? " port " : "", s->port ? "(override)" : "");
	else
		trace(run, "step 0: connect (implicit)");
	SET_PHASE(run, CHECK_PH_CONNECTING);
	return a;
}

/* Concludes a run whose rules all passed, from the last rule evaluated (end of tcpcheck_main()). */
static void tcp_pass(struct check_run *run)
{
	const struct step *s = run->last >= 0 ? &run->recipe->steps[run->last] : NULL;

	fill_rule(run, run->last);
	run->res.expected = NULL;
	run->res.explen = 0;
	if (!s)
		check_conclude(run, CHECK_L4OK, 0, -1, NULL);
	else if (s->type == STEP_CONNECT)
		check_conclude(run, CHECK_L4OK, run->last + 1, run->last, "(tcp-check)");
	else
		check_conclude(run, CHECK_L7OK, run->last + 1, run->last, "(tcp-check)");
}

/* One concluded rule: trace it with its time. */
static void step_passed(struct check_run *run, int idx)
{
	struct check_timing *t = timing(run, idx);
	const struct step *s = idx >= 0 ? &run->recipe->steps[idx] : NULL;

	time_end(run, idx);
	run->last = idx;
	if (t)
		trace(run, "step %d: %s passed in %.1fms%s%s%s", idx + 1, tcp_kind(s),
		      (double)check_timing_us(t) / 1000.0, s && s->comment ? " (" : "",
		      s && s->comment ? s->comment : "", s && s->comment ? ")" : "");
}

/* After a wait for data: HAProxy's tcpcheck_eval_recv() outcome. false when the run concluded. */
static bool recv_outcome(struct check_run *run)
{
	int idx = run->cur;

	if (run->in.len == 0 && run->sock_err) {
		/* a network error with nothing read is a connection problem, not a wrong answer */
		fail_conn(run, CHECK_SOCKERR, idx);
		return false;
	}
	if (!run->got_data && run->in.len == 0 && (run->peer_closed || run->sock_err)) {
		const struct step *s = &run->recipe->steps[idx];

		fill_rule(run, idx);
		if (s->comment)
			check_conclude(run, CHECK_L7RSP, idx + 1, idx,
				       "TCPCHK got an empty response at step %d comment: '%s'", idx + 1, s->comment);
		else
			check_conclude(run, CHECK_L7RSP, idx + 1, idx, "TCPCHK got an empty response at step %d",
				       idx + 1);
		return false;
	}
	run->last_read = run->peer_closed || run->sock_err || check_rx_room(run) == 0;
	run->got_data = false;
	run->must_read = false;
	return true;
}

static struct check_action tcp_next(struct check_run *run)
{
	const struct recipe *r = run->recipe;
	struct check_action a = {.type = CHECK_ACT_WAIT};
	const struct step *s;
	enum check_eval ev;

	for (;;) {
		if (run->expired && run->phase != CHECK_PH_DONE && run->phase != CHECK_PH_START) {
			/* the one deadline of the check: L4 while connecting, L7 afterwards */
			fill_rule(run, run->cur);
			if (run->cur >= 0 && r->steps[run->cur].type == STEP_EXPECT)
				check_keep_rx(run, run->in.data, run->in.len);
			fail_conn(run, run->phase == CHECK_PH_CONNECTING ? CHECK_L4TOUT : CHECK_L7TOUT, run->cur);
		}
		switch (run->phase) {
		case CHECK_PH_START:
			run->res.start_us = run->clock();
			if (r->nsteps == 0 || r->steps[0].type != STEP_CONNECT)
				return start_connect(run, -1);
			run->cur = 0;
			SET_PHASE(run, CHECK_PH_EVAL);
			break;
		case CHECK_PH_CONNECTING:
			if (run->sock_err) {
				fail_conn(run, CHECK_L4CON, run->cur);
				break;
			}
			if (!run->connected)
				return a;
			step_passed(run, run->cur);
			run->cur++;
			run->must_read = true;
			SET_PHASE(run, CHECK_PH_EVAL);
			break;
		case CHECK_PH_SENDING:
			if (run->sock_err) {
				fail_conn(run, CHECK_SOCKERR, run->cur);
				break;
			}
			if (!run->sent)
				return a;
			step_passed(run, run->cur);
			run->cur++;
			run->must_read = true;
			SET_PHASE(run, CHECK_PH_EVAL);
			break;
		case CHECK_PH_READING:
			if (!run->got_data && !run->peer_closed && !run->sock_err && check_rx_room(run) > 0) {
				a.type = CHECK_ACT_WANT_READ;
				return a;
			}
			if (recv_outcome(run))
				SET_PHASE(run, CHECK_PH_EVAL);
			break;
		case CHECK_PH_EVAL:
			if ((size_t)run->cur >= r->nsteps) {
				tcp_pass(run);
				break;
			}
			s = &r->steps[run->cur];
			if (s->type == STEP_CONNECT)
				return start_connect(run, run->cur);
			if (s->type == STEP_SEND) {
				/* tcpcheck_eval_send(): the input read so far is thrown away first */
				buf_reset(&run->in);
				run->sent = false;
				time_start(run, run->cur);
				trace(run, "step %d: %s %zu bytes", run->cur + 1, tcp_kind(s), s->len);
				SET_PHASE(run, CHECK_PH_SENDING);
				a.type = CHECK_ACT_SEND;
				a.data = s->data;
				a.len = s->len;
				return a;
			}
			time_start(run, run->cur);
			if (run->must_read) {
				run->got_data = false;
				SET_PHASE(run, CHECK_PH_READING);
				break;
			}
			ev = eval_expect(run, run->cur);
			if (ev == CHECK_EVAL_WAIT) {
				run->cur = chain_head(r, run->cur);
				run->must_read = true;
			} else if (ev == CHECK_EVAL_CONTINUE) {
				step_passed(run, run->cur);
				run->cur++;
			}
			break;
		case CHECK_PH_DONE:
		default:
			a.type = CHECK_ACT_DONE;
			a.linger = run->linger;
			return a;
		}
	}
}

/* ---- HTTP recipes: connect, send the request, read and evaluate the response --------------------- */

static struct check_action http_next(struct check_run *run)
{
	struct check_action a = {.type = CHECK_ACT_WAIT};
	enum check_eval ev;

	for (;;) {
		if (run->expired && run->phase != CHECK_PH_DONE && run->phase != CHECK_PH_START) {
			run->res.kind = run->phase == CHECK_PH_CONNECTING ? "connect" : run->cur == 0 ? "send" : "http response";
			run->res.err = 0;
			if (run->phase == CHECK_PH_CONNECTING) {
				check_conclude(run, CHECK_L4TOUT, 0, -1, "at initial connection step of tcp-check");
			} else {
				check_keep_rx(run, run->in.data, run->in.len);
				check_conclude(run, CHECK_L7TOUT, run->cur + 1, -1, "at step %d of tcp-check (%s)",
					       run->cur + 1, run->cur == 0 ? "send" : "expect HTTP response");
			}
		}
		switch (run->phase) {
		case CHECK_PH_START:
			run->res.start_us = run->clock();
			return start_connect(run, -1);
		case CHECK_PH_CONNECTING:
			if (run->sock_err) {
				fail_conn(run, CHECK_L4CON, -1);
				break;
			}
			if (!run->connected)
				return a;
			step_passed(run, -1);
			run->cur = 0;
			run->sent = false;
			time_start(run, 0);
			trace(run, "step 1: http request %zu bytes", run->out.len);
			SET_PHASE(run, CHECK_PH_SENDING);
			a.type = CHECK_ACT_SEND;
			a.data = run->out.data;
			a.len = run->out.len;
			return a;
		case CHECK_PH_SENDING:
			if (run->sock_err) {
				run->res.kind = "send";
				run->res.err = run->sock_err;
				check_conclude(run, CHECK_SOCKERR, 1, -1, "%s at step 1 of tcp-check (send)",
					       strerror(run->sock_err));
				break;
			}
			if (!run->sent)
				return a;
			time_end(run, 0);
			trace(run, "step 1: http request passed in %.1fms", (double)check_timing_us(&run->times[1]) / 1000.0);
			run->cur = 1;
			time_start(run, 1);
			run->got_data = false;
			SET_PHASE(run, CHECK_PH_READING);
			break;
		case CHECK_PH_READING:
			if (!run->got_data && !run->peer_closed && !run->sock_err && check_rx_room(run) > 0) {
				a.type = CHECK_ACT_WANT_READ;
				return a;
			}
			if (run->in.len == 0 && (run->peer_closed || run->sock_err)) {
				run->res.kind = "http response";
				if (run->sock_err) {
					run->res.err = run->sock_err;
					check_conclude(run, CHECK_SOCKERR, 2, -1,
						       "%s at step 2 of tcp-check (expect HTTP response)",
						       strerror(run->sock_err));
				} else {
					check_conclude(run, CHECK_L7RSP, 2, -1, "TCPCHK got an empty response at step 2");
				}
				break;
			}
			run->last_read = run->peer_closed || run->sock_err || check_rx_room(run) == 0;
			run->got_data = false;
			SET_PHASE(run, CHECK_PH_EVAL);
			break;
		case CHECK_PH_EVAL:
			ev = check_http_eval(run);
			if (ev == CHECK_EVAL_WAIT)
				SET_PHASE(run, CHECK_PH_READING);
			else
				time_end(run, 1);
			break;
		case CHECK_PH_DONE:
		default:
			a.type = CHECK_ACT_DONE;
			a.linger = run->linger;
			return a;
		}
	}
}

struct check_action check_next(struct check_run *run)
{
	if (run->recipe->kind == RECIPE_HTTP)
		return http_next(run);
	return tcp_next(run);
}

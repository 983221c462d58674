/*
 * check_tcp: the tcp-check interpreter of the check engine (RECIPE_TCP). It follows HAProxy 2.6's
 * tcpcheck_main() (src/tcpcheck.c): rules run in order; a connect resets the input; a send clears the
 * input before writing; an expect reads (when it is the first expect after a connect or send, or when
 * it resumes after a WAIT) and then evaluates; a WAIT resumes at the head of the expect chain. See
 * docs/haproxy-semantics.md for the rules it mirrors. Below it: check_run.c only; above it: check.c's
 * dispatcher.
 */
#include "api.h"

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "check_run.h"
#include "check_run_priv.h"
#include "check_tcp.h"
#include "recipe.h"
#include "regex.h"
#include "util.h"

/* HAProxy's tcpcheck_eval_expect() for string / binary / rstring / rbinary. */
/* The status a failed expect reports: its error-status, HAProxy's L7RSP by default. */
static enum check_status err_status(const struct step *s)
{
	if (!strcmp(s->error_status, "L7STS"))
		return CHECK_L7STS;
	if (!strcmp(s->error_status, "L6RSP"))
		return CHECK_L6RSP;
	if (!strcmp(s->error_status, "L4CON"))
		return CHECK_L4CON;
	return CHECK_L7RSP;
}

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

	check_fill_rule(run, idx);
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
		check_conclude(run, err_status(s), idx + 1, idx, "TCPCHK %s%s at step %d comment: '%s'",
			       match ? "matched unwanted content" : "did not match content", what, idx + 1, s->comment);
	else
		check_conclude(run, err_status(s), idx + 1, idx, "TCPCHK %s%s at step %d",
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

/* Concludes a run whose rules all passed, from the last rule evaluated (end of tcpcheck_main()). */
static void tcp_pass(struct check_run *run)
{
	const struct step *s = run->last >= 0 ? &run->recipe->steps[run->last] : NULL;

	check_fill_rule(run, run->last);
	run->res.expected = NULL;
	run->res.explen = 0;
	if (!s)
		check_conclude(run, CHECK_L4OK, 0, -1, NULL);
	else if (s->type == STEP_CONNECT)
		check_conclude(run, CHECK_L4OK, run->last + 1, run->last, "(tcp-check)");
	else if (s->type == STEP_TLS)
		check_conclude(run, CHECK_L6OK, run->last + 1, run->last, "(tcp-check)");
	else
		check_conclude(run, CHECK_L7OK, run->last + 1, run->last, "(tcp-check)");
}

/*
 * The outcome of a CONNECT (done: connected) or a SEND (done: sent): an error concludes the run with
 * on_err, success moves on to the next rule, which reads first. false while still pending.
 */
static bool action_outcome(struct check_run *run, bool done, enum check_status on_err)
{
	if (run->sock_err) {
		check_fail_conn(run, on_err, run->cur);
		return true;
	}
	if (!done)
		return false;
	check_step_passed(run, run->cur);
	run->cur++;
	run->must_read = true;
	SET_PHASE(run, CHECK_PH_EVAL);
	return true;
}

/* After a wait for data: HAProxy's tcpcheck_eval_recv() outcome. false when the run concluded. */
static bool recv_outcome(struct check_run *run)
{
	int idx = run->cur;

	if (run->in.len == 0 && run->sock_err) {
		/* a network error with nothing read is a connection problem, not a wrong answer */
		check_fail_conn(run, CHECK_SOCKERR, idx);
		return false;
	}
	if (!run->got_data && run->in.len == 0 && (run->peer_closed || run->sock_err)) {
		const struct step *s = &run->recipe->steps[idx];

		check_fill_rule(run, idx);
		if (s->comment)
			check_conclude(run, err_status(s), idx + 1, idx,
				       "TCPCHK got an empty response at step %d comment: '%s'", idx + 1, s->comment);
		else
			check_conclude(run, err_status(s), idx + 1, idx, "TCPCHK got an empty response at step %d",
				       idx + 1);
		return false;
	}
	check_read_done(run);
	run->must_read = false;
	return true;
}

struct check_action check_tcp_next(struct check_run *run)
{
	const struct recipe *r = run->recipe;
	struct check_action a = {.type = CHECK_ACT_WAIT};
	const struct step *s;
	enum check_eval ev;

	for (;;) {
		if (run->expired && run->phase != CHECK_PH_DONE && run->phase != CHECK_PH_START) {
			/* the one deadline of the check: L4 while connecting, L7 afterwards */
			check_fill_rule(run, run->cur);
			if (run->cur >= 0 && r->steps[run->cur].type == STEP_EXPECT)
				check_keep_rx(run, run->in.data, run->in.len);
			if (run->phase == CHECK_PH_TLS)
				check_fail_tls(run, run->cur, run->cur + 1, NULL);
			else
				check_fail_conn(run, run->phase == CHECK_PH_CONNECTING ? CHECK_L4TOUT : CHECK_L7TOUT,
						run->cur);
		}
		switch (run->phase) {
		case CHECK_PH_START:
			run->res.start_us = run->clock();
			if (r->nsteps == 0 || r->steps[0].type != STEP_CONNECT)
				return check_start_connect(run, -1);
			run->cur = 0;
			SET_PHASE(run, CHECK_PH_EVAL);
			break;
		case CHECK_PH_CONNECTING:
			if (!action_outcome(run, run->connected, CHECK_L4CON))
				return a;
			break;
		case CHECK_PH_SENDING:
			if (!action_outcome(run, run->sent, CHECK_SOCKERR))
				return a;
			break;
		case CHECK_PH_READING:
			if (check_read_pending(run)) {
				a.type = CHECK_ACT_WANT_READ;
				return a;
			}
			if (recv_outcome(run))
				SET_PHASE(run, CHECK_PH_EVAL);
			break;
		case CHECK_PH_TLS:
			if (run->tls_err || run->sock_err) {
				check_fail_tls(run, run->cur, run->cur + 1, NULL);
				break;
			}
			if (!run->tls_ok)
				return a;
			check_step_passed(run, run->cur);
			run->cur++;
			run->must_read = true;
			SET_PHASE(run, CHECK_PH_EVAL);
			break;
		case CHECK_PH_EVAL:
			if ((size_t)run->cur >= r->nsteps) {
				tcp_pass(run);
				break;
			}
			s = &r->steps[run->cur];
			if (s->type == STEP_CONNECT)
				return check_start_connect(run, run->cur);
			if (s->type == STEP_TLS)
				return check_start_tls(run, run->cur, &s->tls);
			if (s->type == STEP_SEND) {
				/* tcpcheck_eval_send(): the input read so far is thrown away first */
				buf_reset(&run->in);
				run->sent = false;
				check_time_start(run, run->cur);
				check_trace(run, "step %d: %s %zu bytes", run->cur + 1, check_rule_kind(s), s->len);
				SET_PHASE(run, CHECK_PH_SENDING);
				a.type = CHECK_ACT_SEND;
				a.data = s->data;
				a.len = s->len;
				return a;
			}
			check_time_start(run, run->cur);
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
				check_step_passed(run, run->cur);
				run->cur++;
			}
			break;
		case CHECK_PH_DONE:
		default:
			return check_done_action(run);
		}
	}
}

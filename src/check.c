/*
 * check: the top of the check engine. check_run_init() prepares a run (for HTTP recipes it serialises
 * the request once, check_http_request()); check_next() hands the run to the interpreter of its
 * recipe's kind: check_tcp_next() (tcp-check) or check_http_next() (http-check). Both sit on
 * check_run.c; nothing below calls back up here.
 */
#include "api.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "check.h"
#include "check_http.h"
#include "check_run.h"
#include "check_tcp.h"
#include "recipe.h"
#include "util.h"

int check_run_init(struct check_run *run, const struct recipe *r)
{
	memset(run, 0, sizeof(*run));
	run->recipe = r;
	run->cur = -1;
	run->last = -1;
	run->res.status = CHECK_INI;
	run->res.idx = -1;
	run->res.connect_us = -1;
	run->res.tls_us = -1;
	run->res.ttfb_us = -1;
	run->clock = now_us;
	buf_init(&run->in, CHECK_BUFSIZE);
	buf_init(&run->out, CHECK_BUFSIZE);
	/* HTTP: implicit connect, request, response, TLS handshake */
	run->ntimes = r->kind == RECIPE_HTTP ? 4 : r->nsteps + 1;
	run->times = calloc(run->ntimes, sizeof(*run->times));
	if (!run->times)
		goto fail;
	if (r->kind == RECIPE_HTTP && check_http_request(r, NULL, &run->out) == -1)
		goto fail;
	return 0;
fail:
	check_run_free(run);
	return -1;
}

int check_run_send_state(struct check_run *run, const char *state)
{
	const struct recipe *r = run->recipe;

	if (r->kind != RECIPE_HTTP || !r->req.send_state)
		return 0;
	buf_reset(&run->out);
	return check_http_request(r, state, &run->out);
}

struct check_action check_next(struct check_run *run)
{
	if (run->recipe->kind == RECIPE_HTTP)
		return check_http_next(run);
	return check_tcp_next(run);
}

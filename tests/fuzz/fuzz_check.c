/*
 * fuzz_check: the check engine (check.c, check_tcp.c, check_http.c, check_run.c) driven as the socket
 * driver (check_io.c) drives it, with a recipe and a stream of server events both taken from the input.
 *
 * Input: byte 0: bit 0 HTTP recipe (else TCP), bits 1-3 the number of rules (0-7). Each rule: a control
 * byte and a length byte before that many payload bytes.
 *   TCP:  type = c % 3 (connect, send, expect); connect: bit 2 port 8080, bit 3 linger; send: bit 2
 *         binary; expect: bits 2-3 string/binary/rstring/rbinary, bit 4 '!', bit 5 min-recv = length.
 *   HTTP: bits 0-1 status/rstatus/string/rstring, bit 2 '!', bit 3 min-recv = length; the pattern stops
 *         at a NUL.
 * Then events, one byte each, read when the engine asks: connect (3 mod 4: refused, 2: timeout, else
 * connected), send (7 mod 8: EPIPE, 6: timeout, else sent), read (0, 1 mod 4: data, a length byte then
 * the bytes; 2: EOF; 3: reset; 0xff: timeout). Input exhausted: the deadline passes.
 * The run must end (DONE) right after a timeout and report a status HAProxy has.
 */
#include "api.h"

#include <errno.h>
#include <string.h>

#include "check.h"
#include "fuzz.h"
#include "recipe.h"
#include "util.h"

struct in {
	const uint8_t *p;
	size_t n, pos;
};

static int next(struct in *in)
{
	return in->pos < in->n ? in->p[in->pos++] : -1;
}

static struct recipe *build(struct in *in)
{
	struct recipe *r;
	int hdr = next(in), nrules, i;

	if (hdr < 0)
		return NULL;
	r = recipe_new(hdr & 1 ? RECIPE_HTTP : RECIPE_TCP);
	if (!r)
		return NULL;
	nrules = (hdr >> 1) & 7;
	for (i = 0; i < nrules; i++) {
		int c = next(in), len = next(in);
		const uint8_t *pl;

		if (c < 0 || len < 0)
			break;
		len = (int)MIN((size_t)len, in->n - in->pos);
		pl = in->p + in->pos;
		in->pos += (size_t)len;
		if (r->kind == RECIPE_HTTP) {
			struct http_expect *he = recipe_add_hexpect(r, (enum http_expect_match)(c & 3));

			if (!he)
				goto fail;
			he->negate = (c >> 2) & 1;
			he->min_recv = (c >> 3) & 1 ? len : -1;
			he->pattern = xstrndup((const char *)pl, (size_t)len);
			if (!he->pattern)
				goto fail;
			he->len = strlen(he->pattern);
		} else {
			/* 0xF0-0xFF: a TLS start (kept out of c % 3 so older corpus entries mean the same) */
			struct step *s = recipe_add_step(r, (c & 0xf0) == 0xf0 ? STEP_TLS : (enum step_type)(c % 3));

			if (!s)
				goto fail;
			switch (s->type) {
			case STEP_CONNECT:
				s->port = (c >> 2) & 1 ? 8080 : 0;
				s->linger = (c >> 3) & 1;
				break;
			case STEP_SEND:
				s->binary = (c >> 2) & 1;
				if (step_set_data(s, pl, (size_t)len) == -1)
					goto fail;
				break;
			case STEP_TLS:
				s->tls.verify = c & 1;
				break;
			case STEP_EXPECT:
				s->match = (enum expect_match)((c >> 2) & 3);
				s->negate = (c >> 4) & 1;
				s->min_recv = (c >> 5) & 1 ? len : -1;
				if (step_set_data(s, pl, (size_t)len) == -1)
					goto fail;
				break;
			}
		}
	}
	return r;
fail:
	recipe_free(r);
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = {.p = data, .n = size};
	struct check_run run;
	struct recipe *r;
	char err[ERR_LEN];
	int iter, after_timeout = -1;
	bool done = false;

	r = build(&in);
	if (!r)
		return 0;
	if (recipe_compile(r, err, sizeof(err)) == -1 || check_run_init(&run, r) == -1) {
		recipe_free(r);
		return 0;
	}
	for (iter = 0; iter < 4096 && !done; iter++) {
		struct check_action a = check_next(&run);
		int e = -1;

		if (after_timeout >= 0)
			FUZZ_CHECK(a.type == CHECK_ACT_DONE, "action %d after the deadline", (int)a.type);
		switch (a.type) {
		case CHECK_ACT_CONNECT:
			e = next(&in);
			if (e < 0 || e % 4 == 2)
				e = -1;
			else if (e % 4 == 3)
				check_on_error(&run, ECONNREFUSED);
			else
				check_on_connected(&run);
			break;
		case CHECK_ACT_SEND:
			FUZZ_CHECK(a.len == 0 || a.data != NULL, "SEND of %zu bytes without data", a.len);
			e = next(&in);
			if (e < 0 || e % 8 == 6)
				e = -1;
			else if (e % 8 == 7)
				check_on_error(&run, EPIPE);
			else
				check_on_sent(&run);
			break;
		case CHECK_ACT_WANT_READ:
			e = next(&in);
			if (e < 0 || e == 0xff) {
				e = -1;
			} else if (e % 4 < 2) {
				int len = next(&in);
				size_t n = len < 0 ? 0 : MIN((size_t)len, in.n - in.pos);
				size_t room = check_rx_room(&run);

				if (room)
					check_on_data(&run, in.p + in.pos, MIN(n, room));
				in.pos += n;
			} else if (e % 4 == 2) {
				check_on_eof(&run);
			} else {
				check_on_error(&run, ECONNRESET);
			}
			break;
		case CHECK_ACT_TLS:
			FUZZ_CHECK(a.tls != NULL, "TLS without parameters");
			e = next(&in);
			if (e < 0 || e % 4 == 3)
				e = -1;
			else if (e % 4 == 2)
				check_on_tls_error(&run, (enum tls_reason)(e % TLS_R_COUNT), "fuzz");
			else if (e % 4 == 1)
				check_on_error(&run, ECONNRESET);
			else
				check_on_tls_ok(&run);
			break;
		case CHECK_ACT_WAIT:
			e = -1;
			break;
		case CHECK_ACT_DONE:
			done = true;
			continue;
		}
		if (e == -1 && after_timeout < 0) {
			check_on_timeout(&run);
			after_timeout = iter;
		}
	}
	FUZZ_CHECK(done, "the run did not end in 4096 actions");
	FUZZ_CHECK(run.res.status > CHECK_INI && run.res.status < CHECK_STATUS_COUNT, "status %d",
		   (int)run.res.status);
	FUZZ_CHECK(memchr(run.res.desc, '\0', sizeof(run.res.desc)) != NULL, "description not terminated");
	(void)check_status_str(run.res.status);
	(void)check_status_desc(run.res.status);
	FUZZ_CHECK(run.res.rxlen <= CHECK_RX_KEEP, "kept %zu bytes", run.res.rxlen);
	check_run_free(&run);
	recipe_free(r);
	return 0;
}

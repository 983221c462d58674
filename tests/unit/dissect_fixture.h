/*
 * dissect_fixture.h: helpers shared by the dissector unit tests (included by test_dissect_*.c only):
 * synthetic turns, the per-test fixture that holds a test's turns, recipe and summary (struct dcase,
 * DX_TEST: cmocka sets it up and frees it), step assertions, and a replay of the built recipe with the
 * real check engine against a scripted server.
 */
#ifndef RECHECK_TEST_DISSECT_FIXTURE_H
#define RECHECK_TEST_DISSECT_FIXTURE_H

#include <string.h>
#include <stdlib.h>

#include "buf.h"
#include "check.h"
#include "dissect.h"
#include "recipe.h"
#include "regex.h"
#include "turn-t.h"
#include "util.h"

/* Appends a turn (a copy of n bytes). Consecutive turns of the same direction are allowed on purpose. */
UNUSED static void tb_add(struct turns *t, enum turn_dir d, const void *p, size_t n)
{
	struct turn *v = realloc(t->v, (t->n + 1) * sizeof(*v));

	assert_non_null(v);
	t->v = v;
	memset(&v[t->n], 0, sizeof(v[t->n]));
	v[t->n].dir = d;
	v[t->n].data = malloc(n ? n : 1);
	assert_non_null(v[t->n].data);
	memcpy(v[t->n].data, p, n);
	v[t->n].len = n;
	t->n++;
}

#define C(t, s) tb_add((t), TURN_C2S, (s), sizeof(s) - 1)
#define S(t, s) tb_add((t), TURN_S2C, (s), sizeof(s) - 1)

UNUSED static void tb_free(struct turns *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		free(t->v[i].data);
	free(t->v);
	memset(t, 0, sizeof(*t));
}

/*
 * One test's conversation, the recipe built from it and the build's summary. A test registered with
 * DX_TEST gets a zeroed one as *state, and dx_teardown() frees what it holds however the test ended.
 */
struct dcase {
	struct turns t;
	struct buf sum;
	struct recipe *r;
};

UNUSED static int dx_setup(void **state)
{
	*state = calloc(1, sizeof(struct dcase));
	return *state ? 0 : -1;
}

/* Frees the recipe, the summary and the turns, for the next case of the same test. */
UNUSED static void dx_reset(struct dcase *d)
{
	recipe_free(d->r);
	d->r = NULL;
	buf_free(&d->sum);
	tb_free(&d->t);
}

UNUSED static int dx_teardown(void **state)
{
	dx_reset(*state);
	free(*state);
	return 0;
}

#define DX_TEST(f) cmocka_unit_test_setup_teardown(f, dx_setup, dx_teardown)

/* Builds the recipe, failing the test when it cannot; the summary lands in sum (caller frees). */
UNUSED static struct recipe *build(const struct turns *t, bool raw, bool redact, struct buf *sum)
{
	struct dissect_opts o = {.raw = raw, .redact = redact};
	char err[ERR_LEN] = "";
	struct recipe *r;

	buf_init(sum, 1 << 16);
	r = dissect_build(t, &o, sum, err, sizeof(err));
	if (!r)
		fail_msg("dissect_build: %s", err);
	return r;
}

/* The recorded conversation failed: no recipe, DISSECT_REFUSED, and err quotes what the server said. */
UNUSED static void assert_refused(const struct turns *t, const char *what1, const char *what2)
{
	struct dissect_opts o = {0};
	enum dissect_rc rc;
	char err[ERR_LEN] = "";

	assert_null(dissect_build_rc(t, &o, NULL, &rc, err, sizeof(err)));
	assert_int_equal(rc, DISSECT_REFUSED);
	if (!strstr(err, "recorded conversation failed") || !strstr(err, what1) || !strstr(err, what2))
		fail_msg("unexpected refusal: %s", err);
}

UNUSED static void assert_send_hex(const struct step *s, const char *hex, bool binary)
{
	unsigned char *b;
	size_t n;
	char err[ERR_LEN];

	assert_int_equal(s->type, STEP_SEND);
	assert_int_equal(hex_decode(hex, strlen(hex), &b, &n, err, sizeof(err)), 0);
	assert_int_equal(s->len, n);
	assert_memory_equal(s->data, b, n);
	assert_int_equal(s->binary, binary);
	free(b);
}

UNUSED static void assert_expect(const struct step *s, enum expect_match m, const char *pat, int min_recv)
{
	assert_int_equal(s->type, STEP_EXPECT);
	assert_int_equal(s->match, m);
	assert_string_equal((const char *)s->data, pat);
	assert_int_equal(s->min_recv, min_recv);
}

UNUSED static bool contains(const struct buf *b, const char *needle)
{
	return b->data && memmem(b->data, b->len, needle, strlen(needle)) != NULL;
}

/* What a scripted server writes: bytes, once the check has sent its slot-th run of sends (1-based). */
struct piece {
	const char *p;
	size_t n;
	int slot;
};

/*
 * Runs r with the real check engine (check.h) against a scripted server: each piece is delivered (one
 * piece per read) once the check has written at least piece.slot runs of sends; a piece of a later slot
 * is held back like a server waiting for the next request, so a check that waits then times out. When
 * every piece is delivered the server closes if close_at_end, else the check times out. The bytes the
 * check wrote land in wrote (when not NULL). Returns the final status.
 */
UNUSED static enum check_status replay_pieces(const struct recipe *r, const struct piece *pc, size_t npc,
				       bool close_at_end, struct buf *wrote)
{
	struct check_run run;
	enum check_status st;
	size_t next = 0;
	int groups = 0, guard;
	bool in_send = false;

	assert_int_equal(check_run_init(&run, r), 0);
	for (guard = 0; guard < 1000; guard++) {
		struct check_action a = check_next(&run);

		if (a.type == CHECK_ACT_DONE)
			break;
		switch (a.type) {
		case CHECK_ACT_CONNECT:
			check_on_connected(&run);
			in_send = false;
			break;
		case CHECK_ACT_SEND:
			if (!in_send)
				groups++;
			in_send = true;
			if (wrote)
				buf_append(wrote, a.data, a.len);
			check_on_sent(&run);
			break;
		case CHECK_ACT_WANT_READ:
			in_send = false;
			if (next < npc && pc[next].slot <= groups) {
				check_on_data(&run, pc[next].p, MIN(pc[next].n, check_rx_room(&run)));
				next++;
			} else if (next >= npc && close_at_end) {
				check_on_eof(&run);
			} else {
				check_on_timeout(&run);
			}
			break;
		default:
			check_on_timeout(&run);
			break;
		}
	}
	assert_true(guard < 1000);
	st = run.res.status;
	check_run_free(&run);
	return st;
}

/* One piece per reply: replies[i] is what the server answers to the (i+1)-th run of sends. 1 when L7OK. */
UNUSED static int replay(const struct recipe *r, const char *const *replies, const size_t *lens, size_t nreplies,
		  struct buf *wrote)
{
	struct piece pc[16];
	size_t i;

	assert_true(nreplies <= ARRAY_SIZE(pc));
	for (i = 0; i < nreplies; i++) {
		pc[i].p = replies[i];
		pc[i].n = lens[i];
		pc[i].slot = (int)i + 1;
	}
	return replay_pieces(r, pc, nreplies, false, wrote) == CHECK_L7OK;
}

#endif

/*
 * dissect_fixture.h: helpers shared by the dissector unit tests (included by test_dissect_*.c only):
 * synthetic turns, step assertions and a small replay of a recipe against scripted server replies.
 */
#ifndef RECHECK_TEST_DISSECT_FIXTURE_H
#define RECHECK_TEST_DISSECT_FIXTURE_H

#include <string.h>
#include <stdlib.h>

#include "buf.h"
#include "dissect.h"
#include "recipe.h"
#include "regex.h"
#include "turn-t.h"
#include "util.h"

/* Appends a turn (a copy of n bytes). Consecutive turns of the same direction are allowed on purpose. */
static void tb_add(struct turns *t, enum turn_dir d, const void *p, size_t n)
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

static void tb_free(struct turns *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		free(t->v[i].data);
	free(t->v);
	memset(t, 0, sizeof(*t));
}

/* Builds the recipe, failing the test when it cannot; the summary lands in sum (caller frees). */
static struct recipe *build(const struct turns *t, bool raw, bool redact, struct buf *sum)
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

static void assert_send_hex(const struct step *s, const char *hex, bool binary)
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

static void assert_expect(const struct step *s, enum expect_match m, const char *pat, int min_recv)
{
	assert_int_equal(s->type, STEP_EXPECT);
	assert_int_equal(s->match, m);
	assert_string_equal((const char *)s->data, pat);
	assert_int_equal(s->min_recv, min_recv);
}

static bool contains(const struct buf *b, const char *needle)
{
	return b->data && memmem(b->data, b->len, needle, strlen(needle)) != NULL;
}

/*
 * Replays r against a scripted server: replies[i] is what the server writes after the i-th run of sends
 * (all at once). Simplified HAProxy tcp-check semantics (HAPROXY-SEMANTICS §2.3-2.5): a send clears the
 * receive buffer, expects are substring / regex searches over it, min-recv and pattern length gate when a
 * verdict may be taken, and the script ending counts as the peer closing. The sends the check writes are
 * collected in wrote. Returns 1 when every step passes, 0 otherwise.
 */
static int replay(const struct recipe *r, const char *const *replies, const size_t *lens, size_t nreplies,
		  struct buf *wrote)
{
	struct buf in, hex;
	size_t i, next = 0;
	bool sending = true;
	int ok = 1;

	buf_init(&in, 16384);
	buf_init(&hex, 32768);
	for (i = 0; i < r->nsteps && ok; i++) {
		const struct step *s = &r->steps[i];
		int m;

		if (s->type == STEP_SEND) {
			if (!sending && next < nreplies)
				next++;
			sending = true;
			buf_reset(&in);
			if (wrote)
				buf_append(wrote, s->data, s->len);
			continue;
		}
		if (s->type != STEP_EXPECT)
			continue;
		if (sending && next < nreplies) {
			buf_append(&in, replies[next], lens[next]);
			sending = false;
		}
		if (!in.len || (s->min_recv > 0 && in.len < (size_t)s->min_recv)) {
			ok = 0;
			break;
		}
		switch (s->match) {
		case EXPECT_STRING:
		case EXPECT_BINARY:
			m = in.len >= s->len && memmem(in.data, in.len, s->data, s->len) != NULL;
			break;
		case EXPECT_RSTRING:
			m = rx_match(s->rx, in.data, in.len);
			break;
		case EXPECT_RBINARY:
			buf_reset(&hex);
			hex_encode(&hex, in.data, in.len, true);
			m = rx_match(s->rx, hex.data, hex.len);
			break;
		default:
			m = 0;
		}
		ok = (m == 1) != s->negate;
	}
	buf_free(&in);
	buf_free(&hex);
	return ok;
}

#endif

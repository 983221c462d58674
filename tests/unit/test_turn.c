/*
 * test_turn: cutting two streams into turns by capture time, merged and split messages, caps.
 */
#include "api.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "turn.h"

static void add(struct turn_builder *b, enum turn_dir d, const char *s, uint64_t ts)
{
	char err[ERR_LEN];

	assert_int_equal(turn_builder_add(b, d, (const unsigned char *)s, strlen(s), ts, err, sizeof(err)), 0);
}

static void check(const struct turns *t, size_t i, enum turn_dir d, const char *s, uint64_t t0, uint64_t t1)
{
	assert_true(i < t->n);
	assert_int_equal(t->v[i].dir, d);
	assert_int_equal(t->v[i].len, strlen(s));
	assert_memory_equal(t->v[i].data, s, strlen(s));
	assert_int_equal(t->v[i].data[t->v[i].len], 0);
	assert_int_equal(t->v[i].ts_first_us, t0);
	assert_int_equal(t->v[i].ts_last_us, t1);
}

static void direction_changes_cut(void **state)
{
	struct turn_builder b;
	struct turns t;
	char err[ERR_LEN];

	turn_builder_init(&b, 1024);
	add(&b, TURN_C2S, "GET / HTTP/1.1\r\n", 10);    /* a request split over two segments */
	add(&b, TURN_C2S, "\r\n", 11);
	add(&b, TURN_S2C, "HTTP/1.1 204", 20);
	add(&b, TURN_S2C, " No Content\r\n\r\n", 21);
	add(&b, TURN_C2S, "\x05", 30);
	assert_int_equal(turn_builder_len(&b, TURN_C2S), 19);
	assert_int_equal(turn_builder_finish(&b, &t, err, sizeof(err)), 0);
	assert_int_equal(t.n, 3);
	check(&t, 0, TURN_C2S, "GET / HTTP/1.1\r\n\r\n", 10, 11);
	check(&t, 1, TURN_S2C, "HTTP/1.1 204 No Content\r\n\r\n", 20, 21);
	check(&t, 2, TURN_C2S, "\x05", 30, 30);
	/* the recorded segmentation: each turn's segment lengths, in order */
	assert_int_equal(t.v[0].nsegs, 2);
	assert_int_equal(t.v[0].seg_len[0], 16);
	assert_int_equal(t.v[0].seg_len[1], 2);
	assert_int_equal(t.v[1].nsegs, 2);
	assert_int_equal(t.v[1].seg_len[0], 12);
	assert_int_equal(t.v[1].seg_len[1], 15);
	assert_int_equal(t.v[2].nsegs, 1);
	assert_int_equal(t.v[2].seg_len[0], 1);
	/* finish leaves the builder usable and is repeatable */
	turns_free(&t);
	assert_int_equal(turn_builder_finish(&b, &t, err, sizeof(err)), 0);
	assert_int_equal(t.n, 3);
	turns_free(&t);
	turns_free(&t);         /* idempotent on a zeroed struct */
	turn_builder_free(&b);
}

static void merged_by_timestamp(void **state)
{
	struct turn_builder b;
	struct turns t;
	char err[ERR_LEN];

	/* Delivered direction by direction (as after reassembly of out-of-order segments), interleaved by
	 * capture time at the end. */
	turn_builder_init(&b, 1024);
	add(&b, TURN_C2S, "a1", 1);
	add(&b, TURN_C2S, "a2", 5);
	add(&b, TURN_S2C, "b1", 3);
	add(&b, TURN_S2C, "b2", 7);
	add(&b, TURN_C2S, "a3", 6);
	assert_int_equal(turn_builder_finish(&b, &t, err, sizeof(err)), 0);
	assert_int_equal(t.n, 4);
	check(&t, 0, TURN_C2S, "a1", 1, 1);
	check(&t, 1, TURN_S2C, "b1", 3, 3);
	check(&t, 2, TURN_C2S, "a2a3", 5, 6);
	check(&t, 3, TURN_S2C, "b2", 7, 7);
	assert_int_equal(t.v[2].nsegs, 2);      /* a2 and a3 stay two segments in the merged turn */
	assert_int_equal(t.v[2].seg_len[0], 2);
	assert_int_equal(t.v[2].seg_len[1], 2);
	turns_free(&t);
	turn_builder_free(&b);

	/* Equal times: delivery order decides. A direction is never reordered, even when its own
	 * timestamps go backwards (a queued segment released by a later one). */
	turn_builder_init(&b, 1024);
	add(&b, TURN_S2C, "s", 5);
	add(&b, TURN_C2S, "c", 5);
	add(&b, TURN_C2S, "A", 9);
	add(&b, TURN_C2S, "B", 2);
	assert_int_equal(turn_builder_finish(&b, &t, err, sizeof(err)), 0);
	assert_int_equal(t.n, 2);
	check(&t, 0, TURN_S2C, "s", 5, 5);
	check(&t, 1, TURN_C2S, "cAB", 5, 9);
	turns_free(&t);
	turn_builder_free(&b);
}

static void empty_and_caps(void **state)
{
	struct turn_builder b;
	struct turns t;
	char err[ERR_LEN];

	turn_builder_init(&b, 4);
	assert_int_equal(turn_builder_finish(&b, &t, err, sizeof(err)), 0);
	assert_int_equal(t.n, 0);
	assert_null(t.v);
	assert_int_equal(turn_builder_add(&b, TURN_C2S, (const unsigned char *)"", 0, 1, err, sizeof(err)), 0);
	add(&b, TURN_S2C, "abcd", 1);
	assert_int_equal(turn_builder_add(&b, TURN_S2C, (const unsigned char *)"e", 1, 2, err, sizeof(err)), -1);
	assert_string_equal(err, "the server to client stream exceeds the 4-byte cap");
	assert_int_equal(turn_builder_len(&b, TURN_S2C), 4);
	add(&b, TURN_C2S, "wxyz", 3);   /* the other direction has its own cap */
	assert_int_equal(turn_builder_finish(&b, &t, err, sizeof(err)), 0);
	assert_int_equal(t.n, 2);
	turns_free(&t);
	turn_builder_free(&b);
	turn_builder_free(NULL);
	assert_string_equal(turn_dir_str(TURN_C2S), "client to server");
}

static void many_chunks(void **state)
{
	struct turn_builder b;
	struct turns t;
	char err[ERR_LEN];
	size_t i;

	/* Many one-byte segments alternating every 100: growth of the chunk arrays, 200 turns. */
	turn_builder_init(&b, 1 << 20);
	for (i = 0; i < 20000; i++)
		add(&b, (i / 100) % 2 ? TURN_S2C : TURN_C2S, "x", i);
	assert_int_equal(turn_builder_finish(&b, &t, err, sizeof(err)), 0);
	assert_int_equal(t.n, 200);
	for (i = 0; i < t.n; i++)
		assert_int_equal(t.v[i].len, 100);
	turns_free(&t);
	turn_builder_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(direction_changes_cut),
		cmocka_unit_test(merged_by_timestamp),
		cmocka_unit_test(empty_and_caps),
		cmocka_unit_test(many_chunks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Unit tests for lb_chash.c, the consistent-hash ring: its points, ties, which keys move when a server
 * goes down, slowstart's growing share, weights, avalanche, a single server and backups.
 */
#include "api.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hash.h"
#include "lb.h"
#include "server.h"

#include "lb_fixture.h"

#define NKEYS 20000

static struct lb_table *cur_table(struct fixture *f)
{
	return atomic_load(&f->be->slot[atomic_load(&f->be->cur)]);
}

/* Keys spread over the whole 32-bit space (no avalanche in these backends: the key is the ring key). */
static uint32_t key_n(unsigned i)
{
	return hash_full(0x5eed0000u + i);
}

static void ring_points(void **state)
{
	struct fixture f;
	struct lb_table *t;
	unsigned i, n1 = 0;

	setup_be(&f, "s1:1 s2:2 s3:1:d", LB_ALGO_CHASH, false, false);
	t = cur_table(&f);
	/* weight * 16 points per usable server, none for the down one, sorted */
	assert_int_equal(t->npoints, 48);
	assert_int_equal(f.be->total_points, 64);
	for (i = 0; i < t->npoints; i++) {
		if (i)
			assert_true(t->ring[i - 1].key < t->ring[i].key);
		assert_true(t->ring[i].srv != &f.srv[2]);
		n1 += t->ring[i].srv == &f.srv[0];
	}
	assert_int_equal(n1, 16);
	/* point j of puid p is at hash_full(p * 4096 + j): a key on a point picks its owner */
	for (i = 0; i < 16; i++) {
		assert_ptr_equal(lb_pick_key(f.be, hash_full(1 * 4096 + i)), &f.srv[0]);
		assert_ptr_equal(lb_pick_key(f.be, hash_full(2 * 4096 + i)), &f.srv[1]);
	}
	assert_ptr_equal(lb_pick_key(f.be, hash_full(2 * 4096 + 31)), &f.srv[1]);
	lb_backend_free(f.be);
}

static void explicit_ids_move_the_points(void **state)
{
	struct fixture f;
	unsigned j;

	/* s1 id 7, s2 id 3, s3 gets 4 */
	setup_be(&f, "s1:1:i7 s2:1:i3 s3:1", LB_ALGO_CHASH, false, false);
	assert_int_equal(f.srv[2].puid, 4);
	for (j = 0; j < 16; j++) {
		assert_ptr_equal(lb_pick_key(f.be, hash_full(7 * 4096 + j)), &f.srv[0]);
		assert_ptr_equal(lb_pick_key(f.be, hash_full(3 * 4096 + j)), &f.srv[1]);
		assert_ptr_equal(lb_pick_key(f.be, hash_full(4 * 4096 + j)), &f.srv[2]);
	}
	lb_backend_free(f.be);
}

static void nearest_point_ties_to_prev(void **state)
{
	struct fixture f;
	struct lb_table *t;
	unsigned i, ties = 0;

	setup_be(&f, "s1:4 s2:4 s3:4", LB_ALGO_CHASH, false, false);
	t = cur_table(&f);
	for (i = 1; i < t->npoints; i++) {
		const struct lb_point *p = &t->ring[i - 1], *q = &t->ring[i];
		uint32_t gap = q->key - p->key;

		if (p->srv == q->srv || gap <= 4)
			continue;
		/* just past the midpoint goes to next, just before it to prev */
		assert_ptr_equal(lb_pick_key(f.be, p->key + gap / 2 - 1), p->srv);
		assert_ptr_equal(lb_pick_key(f.be, p->key + gap / 2 + 2), q->srv);
		if (gap % 2 == 0) {
			assert_ptr_equal(lb_pick_key(f.be, p->key + gap / 2), p->srv);
			ties++;
		}
	}
	assert_true(ties > 0);
	/* wrap-around: past the last point the candidates are the last and the first */
	{
		const struct lb_point *last = &t->ring[t->npoints - 1], *first = &t->ring[0];
		uint32_t gap = first->key - last->key;

		assert_ptr_equal(lb_pick_key(f.be, last->key + 1), last->srv);
		assert_ptr_equal(lb_pick_key(f.be, first->key - 1), gap > 2 ? first->srv : last->srv);
		assert_ptr_equal(lb_pick_key(f.be, 0), (uint32_t)(0 - last->key) <= first->key ? last->srv : first->srv);
		assert_ptr_equal(lb_pick_key(f.be, 0xffffffffu),
				 (uint32_t)(0xffffffffu - last->key) <= (uint32_t)(first->key + 1) ? last->srv : first->srv);
	}
	lb_backend_free(f.be);
}

static void only_the_down_servers_keys_move(void **state)
{
	static struct server *before[NKEYS];
	struct fixture f;
	unsigned i, moved = 0, on_s2 = 0;
	struct server *s2;

	setup_be(&f, "s1:1 s2:1 s3:2 s4:1", LB_ALGO_CHASH, false, false);
	s2 = &f.srv[1];
	for (i = 0; i < NKEYS; i++)
		before[i] = lb_pick_key(f.be, key_n(i));
	lb_check_result(f.be, s2, SRV_CHK_FAILED, 1, NULL);
	assert_int_equal(s2->state, SRV_ST_STOPPED);
	for (i = 0; i < NKEYS; i++) {
		struct server *now = lb_pick_key(f.be, key_n(i));

		assert_ptr_not_equal(now, s2);
		if (before[i] == s2)
			on_s2++;
		else
			assert_ptr_equal(now, before[i]);
		moved += now != before[i];
	}
	assert_true(on_s2 > NKEYS / 10);
	assert_int_equal(moved, on_s2);
	/* back up: exactly the old ring */
	lb_check_result(f.be, s2, SRV_CHK_PASSED, 2, NULL);
	lb_check_result(f.be, s2, SRV_CHK_PASSED, 3, NULL);
	assert_int_equal(s2->state, SRV_ST_RUNNING);
	for (i = 0; i < NKEYS; i++)
		assert_ptr_equal(lb_pick_key(f.be, key_n(i)), before[i]);
	lb_backend_free(f.be);
}

/*
 * slowstart on a consistent ring: the returning server owns weight * w of its points (w = 1, 5, 9, 13 of
 * 16 for slowstart 4s), so its share grows at each tick, a key it took stays with it, and at the end the
 * ring is exactly the one it left. A map-based table does not ramp (lb_warmup never rebuilds it).
 */
static void slowstart_grows_the_share(void **state)
{
	static struct server *before[NKEYS], *prev[NKEYS];
	struct fixture f, m;
	unsigned i, k, n, last = 0, full = 0;
	struct server *s3;

	(void)state;
	setup_be(&f, "s1:10 s2:10 s3:10", LB_ALGO_CHASH, false, false);
	s3 = &f.srv[2];
	s3->slowstart = 4;
	for (i = 0; i < NKEYS; i++) {
		before[i] = lb_pick_key(f.be, key_n(i));
		full += before[i] == s3;
	}
	lb_check_result(f.be, s3, SRV_CHK_FAILED, 1000, NULL);
	lb_check_result(f.be, s3, SRV_CHK_FAILED, 1001, NULL);
	assert_int_equal(s3->state, SRV_ST_STOPPED);
	lb_check_result(f.be, s3, SRV_CHK_PASSED, 5000, NULL);
	lb_check_result(f.be, s3, SRV_CHK_PASSED, 5000, NULL);
	assert_int_equal(s3->state, SRV_ST_STARTING);
	for (k = 0; k <= 4; k++) {
		if (k)
			lb_warmup(f.be, s3, 5000 + 1000 * k, NULL);
		assert_int_equal(cur_table(&f)->npoints, 20 * 16 + 10 * (k < 4 ? 1 + 4 * k : 16));
		for (i = n = 0; i < NKEYS; i++) {
			struct server *now = lb_pick_key(f.be, key_n(i));

			n += now == s3;
			if (k && prev[i] == s3)
				assert_ptr_equal(now, s3);
			/* nothing moves between the others */
			if (now != s3 && before[i] != s3)
				assert_ptr_equal(now, before[i]);
			prev[i] = now;
		}
		assert_true(n > last);
		last = n;
	}
	assert_int_equal(s3->state, SRV_ST_RUNNING);
	assert_int_equal(last, full);
	lb_backend_free(f.be);

	setup_be(&m, "s1:10 s2:10 s3:10", LB_ALGO_MAP, false, false);
	s3 = &m.srv[2];
	s3->slowstart = 4;
	for (i = 0; i < NKEYS; i++)
		before[i] = lb_pick_key(m.be, key_n(i));
	lb_check_result(m.be, s3, SRV_CHK_FAILED, 1000, NULL);
	lb_check_result(m.be, s3, SRV_CHK_FAILED, 1001, NULL);
	lb_check_result(m.be, s3, SRV_CHK_PASSED, 5000, NULL);
	lb_check_result(m.be, s3, SRV_CHK_PASSED, 5000, NULL);
	assert_int_equal(s3->state, SRV_ST_STARTING);
	for (i = 0; i < NKEYS; i++)
		assert_ptr_equal(lb_pick_key(m.be, key_n(i)), before[i]);
	lb_warmup(m.be, s3, 9000, NULL);
	assert_int_equal(s3->state, SRV_ST_RUNNING);
	lb_backend_free(m.be);
}

static void weights_share_the_ring(void **state)
{
	struct fixture f;
	unsigned i, n[3] = {0};

	setup_be(&f, "s1:1 s2:2 s3:3", LB_ALGO_CHASH, true, false);
	for (i = 0; i < NKEYS; i++)
		n[lb_pick_key(f.be, i * 2654435761u)->index]++;
	/* roughly 1:2:3 (16/32/48 points: loose bounds) */
	assert_true(n[0] > NKEYS / 12 && n[0] < NKEYS / 4);
	assert_true(n[2] > NKEYS / 3);
	lb_backend_free(f.be);
}

static void avalanche_and_single_server(void **state)
{
	struct fixture plain, aval;
	uint32_t k;

	setup_be(&plain, "s1:1 s2:1 s3:1", LB_ALGO_CHASH, false, false);
	setup_be(&aval, "s1:1 s2:1 s3:1", LB_ALGO_CHASH, true, false);
	for (k = 0; k < 2000; k++)
		assert_string_equal(lb_pick_key(aval.be, k)->name, lb_pick_key(plain.be, hash_full(k))->name);
	/* without avalanche, 127/8 keys all land in one spot of the ring */
	assert_string_equal(lb_pick_key(plain.be, 0x7f000001)->name, lb_pick_key(plain.be, 0x7fabcdef)->name);
	lb_backend_free(plain.be);
	lb_backend_free(aval.be);
}

static void backups(void **state)
{
	struct fixture f;
	unsigned i, n1 = 0, n2 = 0;

	/* no allbackups: the first usable backup, directly */
	setup_be(&f, "s1:1:d b1:1:bd b2:1:b b3:1:b", LB_ALGO_CHASH, true, false);
	for (i = 0; i < 200; i++)
		assert_string_equal(lb_pick_key(f.be, key_n(i))->name, "b2");
	assert_null(cur_table(&f)->ring);
	/* an active server coming back takes over */
	lb_check_result(f.be, &f.srv[0], SRV_CHK_PASSED, 1, NULL);
	lb_check_result(f.be, &f.srv[0], SRV_CHK_PASSED, 2, NULL);
	for (i = 0; i < 200; i++)
		assert_string_equal(lb_pick_key(f.be, key_n(i))->name, "s1");
	lb_backend_free(f.be);

	/* allbackups: the backup ring, by weight */
	setup_be(&f, "s1:1:d b1:1:b b2:2:b", LB_ALGO_CHASH, true, true);
	assert_int_equal(cur_table(&f)->npoints, 48);
	for (i = 0; i < NKEYS; i++) {
		const char *n = lb_pick_key(f.be, key_n(i))->name;

		n1 += strcmp(n, "b1") == 0;
		n2 += strcmp(n, "b2") == 0;
	}
	assert_int_equal(n1 + n2, NKEYS);
	assert_true(n1 > NKEYS / 6 && n2 > NKEYS / 2);
	lb_backend_free(f.be);

	setup_be(&f, "s1:1:d b1:1:bd", LB_ALGO_CHASH, true, true);
	assert_null(lb_pick_key(f.be, 5));
	lb_backend_free(f.be);
	setup_be(&f, "s1:0 s2:0", LB_ALGO_CHASH, true, false);
	assert_null(lb_pick_key(f.be, 5));
	lb_backend_free(f.be);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ring_points),
		cmocka_unit_test(explicit_ids_move_the_points),
		cmocka_unit_test(nearest_point_ties_to_prev),
		cmocka_unit_test(only_the_down_servers_keys_move),
		cmocka_unit_test(slowstart_grows_the_share),
		cmocka_unit_test(weights_share_the_ring),
		cmocka_unit_test(avalanche_and_single_server),
		cmocka_unit_test(backups),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

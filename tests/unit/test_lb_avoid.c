/*
 * lb_pick_key_avoid(): the pick with some servers left out (a retry's redispatch) is exactly the pick the
 * client gets once those servers are DOWN, for both algorithms, with backups, cached or not.
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

#define NKEYS 5000

static uint32_t key_n(unsigned i)
{
	return hash_full(0xa11e0000u + i);
}

/* For every key: the avoid pick in `with` equals the plain pick in `without` (the same servers, the
 * avoided ones down); repeated, so the cached table answers too. */
static void same_as_down(const char *spec, const char *spec_down, const char *const *names, size_t n,
			 enum lb_algo algo, bool aval)
{
	struct fixture with, without;
	struct server *avoid[4];
	unsigned i, round;
	size_t k;

	setup_be(&with, spec, algo, aval, false);
	setup_be(&without, spec_down, algo, aval, false);
	for (k = 0; k < n; k++)
		avoid[k] = find(&with, names[k]);
	for (round = 0; round < 2; round++) {
		for (i = 0; i < NKEYS; i++) {
			struct server *a = lb_pick_key_avoid(with.be, key_n(i), avoid, n);
			struct server *b = lb_pick_key(without.be, key_n(i));

			if (a == NULL || b == NULL)
				assert_true(a == NULL && b == NULL);
			else
				assert_string_equal(a->name, b->name);
		}
	}
	lb_backend_free(with.be);
	lb_backend_free(without.be);
}

static void map_based(void **state)
{
	static const char *const s2[] = {"s2"}, *const s2s3[] = {"s2", "s3"}, *const all[] = {"s1", "s2", "s3"};

	same_as_down("s1:1 s2:2 s3:3", "s1:1 s2:2:d s3:3", s2, 1, LB_ALGO_MAP, false);
	same_as_down("s1:1 s2:2 s3:3", "s1:1 s2:2:d s3:3:d", s2s3, 2, LB_ALGO_MAP, true);
	/* every active one left out: the backups serve, as they would */
	same_as_down("s1:1 s2:1 s3:1 b1:2:b b2:1:b", "s1:1:d s2:1:d s3:1:d b1:2:b b2:1:b", all, 3, LB_ALGO_MAP,
		     false);
}

static void consistent(void **state)
{
	static const char *const s2[] = {"s2"}, *const s1s4[] = {"s1", "s4"};

	same_as_down("s1:1 s2:1 s3:2 s4:1", "s1:1 s2:1:d s3:2 s4:1", s2, 1, LB_ALGO_CHASH, true);
	same_as_down("s1:1 s2:1 s3:2 s4:1", "s1:1:d s2:1 s3:2 s4:1:d", s1s4, 2, LB_ALGO_CHASH, false);
}

static void nothing_left(void **state)
{
	struct fixture f;
	struct server *avoid[1];

	setup_be(&f, "s1:1", LB_ALGO_CHASH, true, false);
	avoid[0] = find(&f, "s1");
	assert_null(lb_pick_key_avoid(f.be, 77, avoid, 1));
	assert_non_null(lb_pick_key(f.be, 77));
	lb_backend_free(f.be);
}

/* The cache belongs to a table: after a state change the new table answers for the new states. */
static void cache_follows_rebuilds(void **state)
{
	struct fixture f;
	struct server *avoid[1], *s3;
	unsigned i;

	setup_be(&f, "s1:1 s2:1 s3:1", LB_ALGO_MAP, false, false);
	avoid[0] = find(&f, "s1");
	s3 = find(&f, "s3");
	for (i = 0; i < 100; i++)
		assert_ptr_not_equal(lb_pick_key_avoid(f.be, key_n(i), avoid, 1), avoid[0]);
	lb_check_result(f.be, s3, SRV_CHK_FAILED, 10, NULL);
	lb_check_result(f.be, s3, SRV_CHK_FAILED, 20, NULL);
	lb_check_result(f.be, s3, SRV_CHK_FAILED, 30, NULL);
	assert_false(server_usable(s3));
	for (i = 0; i < 100; i++)
		assert_string_equal(lb_pick_key_avoid(f.be, key_n(i), avoid, 1)->name, "s2");
	lb_backend_free(f.be);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(map_based),
		cmocka_unit_test(consistent),
		cmocka_unit_test(nothing_left),
		cmocka_unit_test(cache_follows_rebuilds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Run-time changes through the balancer (the runtime API's set weight, drain, forced health) and
 * lb_explain (`show pick`): each gives exactly the picks of a backend built with that state from the
 * start, for both algorithms, and the explanation names the server the pick returns.
 */
#include "api.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "hash.h"
#include "lb.h"
#include "server.h"

#include "lb_fixture.h"

#define NKEYS 4000

static uint32_t key_n(unsigned i)
{
	return hash_full(0x5eed0000u + i);
}

static void same_picks(struct lb_backend *a, const char *spec, enum lb_algo algo)
{
	struct fixture ref;
	unsigned i;

	setup_be(&ref, spec, algo, true, false);
	for (i = 0; i < NKEYS; i++) {
		struct server *x = lb_pick_key(a, key_n(i)), *y = lb_pick_key(ref.be, key_n(i));

		if (!x || !y)
			assert_true(!x && !y);
		else
			assert_string_equal(x->name, y->name);
	}
	lb_backend_free(ref.be);
}

static void weights(enum lb_algo algo)
{
	struct fixture f;
	struct server *s2;

	setup_be(&f, "s1:2 s2:2 s3:2", algo, true, false);
	s2 = find(&f, "s2");
	assert_int_equal(lb_set_weight(f.be, s2, 0), 0);
	same_picks(f.be, "s1:2 s2:0 s3:2", algo);
	assert_int_equal(lb_set_weight(f.be, s2, 2), 0);
	same_picks(f.be, "s1:2 s2:2 s3:2", algo);
	if (algo == LB_ALGO_CHASH) {
		/* a consistent ring takes any weight: the server's points are those of that weight */
		assert_int_equal(lb_set_weight(f.be, s2, 7), 0);
		same_picks(f.be, "s1:2 s2:7 s3:2", algo);
		assert_int_equal(lb_set_weight(f.be, s2, 256), 0);
		same_picks(f.be, "s1:2 s2:256 s3:2", algo);
	}
	lb_backend_free(f.be);
}

static void set_weight_map(void **state)
{
	(void)state;
	weights(LB_ALGO_MAP);
}

static void set_weight_chash(void **state)
{
	(void)state;
	weights(LB_ALGO_CHASH);
}

static void drain_and_health(void **state)
{
	enum lb_algo algos[] = {LB_ALGO_MAP, LB_ALGO_CHASH};
	size_t a;

	(void)state;
	for (a = 0; a < ARRAY_SIZE(algos); a++) {
		struct fixture f;
		struct server *s1;
		struct server_status st;
		char buf[32];

		setup_be(&f, "s1:1 s2:1 b1:1:b", algos[a], true, false);
		s1 = find(&f, "s1");
		st = lb_set_drain(f.be, s1, true, 5, NULL);
		assert_true(st.usable_changed);
		assert_string_equal(server_status_str(s1, buf, sizeof(buf)), "DRAIN 1/3");
		same_picks(f.be, "s1:1:d s2:1 b1:1:b", algos[a]);
		/* drain is admin: the checks still count, the state stays up */
		assert_int_equal(s1->state, SRV_ST_RUNNING);
		lb_set_drain(f.be, s1, false, 6, NULL);
		same_picks(f.be, "s1:1 s2:1 b1:1:b", algos[a]);
		/* forced health: down leaves only s2, up brings s1 back at full health */
		st = lb_force_health(f.be, s1, SRV_ST_STOPPED, 7, NULL);
		assert_true(st.changed);
		assert_int_equal(s1->health, 0);
		same_picks(f.be, "s1:1:d s2:1 b1:1:b", algos[a]);
		lb_force_health(f.be, s1, SRV_ST_RUNNING, 8, NULL);
		assert_int_equal(s1->health, s1->check.rise + s1->check.fall - 1);
		assert_string_equal(server_status_str(s1, buf, sizeof(buf)), "UP");
		/* MAINT wins over a forced health */
		lb_set_maint(f.be, s1, true, 9, NULL);
		lb_force_health(f.be, s1, SRV_ST_RUNNING, 10, NULL);
		assert_string_equal(server_status_str(s1, buf, sizeof(buf)), "MAINT");
		lb_backend_free(f.be);
	}
}

static void explain_matches_pick(void **state)
{
	enum lb_algo algos[] = {LB_ALGO_MAP, LB_ALGO_CHASH};
	size_t a;
	unsigned i;

	(void)state;
	for (a = 0; a < ARRAY_SIZE(algos); a++) {
		struct fixture f;
		struct lb_explain x;

		setup_be(&f, "s1:1 s2:3 s3:2 s4:1:d b1:1:b", algos[a], true, false);
		for (i = 0; i < NKEYS; i++) {
			struct sockaddr_in sin = {.sin_family = AF_INET};

			sin.sin_addr.s_addr = htonl(0x0a000000u + i * 7919u);
			assert_int_equal(lb_explain(f.be, (struct sockaddr *)&sin, &x), 0);
			assert_ptr_equal(x.srv, lb_pick(f.be, (struct sockaddr *)&sin));
			assert_int_equal(x.tot_used, 3);
			assert_false(x.backup_group);
			assert_int_equal(x.lookup, hash_full(x.key));
			if (algos[a] == LB_ALGO_MAP) {
				assert_int_equal(x.slot, x.lookup % x.tot_weight);
			} else {
				assert_true(x.npoints == (1 + 3 + 2) * 16);
			}
		}
		/* only the backup left: the first usable backup alone, no hashing */
		lb_set_maint(f.be, find(&f, "s1"), true, 1, NULL);
		lb_set_maint(f.be, find(&f, "s2"), true, 1, NULL);
		lb_set_maint(f.be, find(&f, "s3"), true, 1, NULL);
		{
			struct sockaddr_in sin = {.sin_family = AF_INET};

			sin.sin_addr.s_addr = htonl(0x7f000001);
			assert_int_equal(lb_explain(f.be, (struct sockaddr *)&sin, &x), 0);
			assert_string_equal(x.srv->name, "b1");
			assert_true(x.first_backup);
			assert_int_equal(x.lookup, 0);
		}
		lb_backend_free(f.be);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(set_weight_map),
		cmocka_unit_test(set_weight_chash),
		cmocka_unit_test(drain_and_health),
		cmocka_unit_test(explain_matches_pick),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

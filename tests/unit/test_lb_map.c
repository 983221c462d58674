/*
 * Unit tests for lb_map.c, the map-based table: HAProxy's example tables, lookups, avalanche, a single
 * server, backups, rebuilds on state changes, refused backends and picks racing rebuilds across threads.
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
#include <pthread.h>
#include <unistd.h>
#include <cmocka.h>

#include "hash.h"
#include "lb.h"
#include "server.h"

#include "lb_fixture.h"

/* The table as names, from picks of keys 0..tot-1 (no avalanche: key k -> map[k % tot]). */
static void table(struct fixture *f, char *out, size_t outlen)
{
	struct lb_table *t = atomic_load(&f->be->slot[atomic_load(&f->be->cur)]);
	unsigned k;

	out[0] = '\0';
	for (k = 0; k < t->tot_weight; k++) {
		struct server *s = lb_pick_key(f->be, k);

		snprintf(out + strlen(out), outlen - strlen(out), "%s%s", k ? "," : "", s ? s->name : "-");
	}
}

static void expect_table(const char *spec, const char *want)
{
	struct fixture f;
	char got[512];

	setup_be(&f, spec, LB_ALGO_MAP, false, false);
	table(&f, got, sizeof(got));
	assert_string_equal(got, want);
	lb_backend_free(f.be);
}

static void example_tables(void **state)
{
	/* docs/haproxy-semantics.md §5.2 */
	expect_table("s1:1 s2:1 s3:1", "s1,s2,s3");
	expect_table("s1:1 s2:2 s3:3", "s1,s3,s2,s3,s2,s3");
	expect_table("s1:10 s2:20 s3:30", "s1,s3,s2,s3,s2,s3");
	expect_table("s1:3 s2:1", "s1,s1,s1,s2");
	expect_table("s1:1 s2:1:d s3:1 s4:1", "s1,s3,s4");
	/* a zero weight is ignored by the GCD and never picked: (2,0,4) is (1,2) */
	expect_table("s1:2 s2:0 s3:4", "s1,s3,s3");
	expect_table("s1:1 s2:2", "s1,s2,s2");
}

static void gcd_covers_every_server(void **state)
{
	struct fixture f;

	/* actives 4 and 6 alone would give gcd 2 and a table of 5; the backup's 3 makes it 1 */
	setup_be(&f, "s1:4 s2:6 b1:3:b", LB_ALGO_MAP, false, false);
	assert_int_equal(atomic_load(&f.be->slot[atomic_load(&f.be->cur)])->tot_weight, 10);
	lb_backend_free(f.be);
	/* a down server counts too */
	setup_be(&f, "s1:4 s2:6 s3:3:d", LB_ALGO_MAP, false, false);
	assert_int_equal(atomic_load(&f.be->slot[atomic_load(&f.be->cur)])->tot_weight, 10);
	lb_backend_free(f.be);
	setup_be(&f, "s1:4 s2:6", LB_ALGO_MAP, false, false);
	assert_int_equal(atomic_load(&f.be->slot[atomic_load(&f.be->cur)])->tot_weight, 5);
	lb_backend_free(f.be);
}

static void lookup_modulo_and_addresses(void **state)
{
	struct fixture f;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;

	setup_be(&f, "s1:1 s2:2 s3:3", LB_ALGO_MAP, false, false);
	memset(&in, 0, sizeof(in));
	in.sin_family = AF_INET;
	/* 127.0.0.1 = 0x7f000001, % 6 = 5 -> s3; .2 -> 0 -> s1; .3 -> 1 -> s3 */
	inet_pton(AF_INET, "127.0.0.1", &in.sin_addr);
	assert_string_equal(lb_pick(f.be, (struct sockaddr *)&in)->name, "s3");
	inet_pton(AF_INET, "127.0.0.2", &in.sin_addr);
	assert_string_equal(lb_pick(f.be, (struct sockaddr *)&in)->name, "s1");
	in.sin_port = htons(1234);
	assert_string_equal(lb_pick(f.be, (struct sockaddr *)&in)->name, "s1");
	inet_pton(AF_INET, "127.0.0.3", &in.sin_addr);
	assert_string_equal(lb_pick(f.be, (struct sockaddr *)&in)->name, "s3");
	/* v4-mapped: key 0x0000ffff ^ 0x7f000002 = 0x7f00fffd, % 6 = 1 -> s3 (not s1 as over IPv4) */
	memset(&in6, 0, sizeof(in6));
	in6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "::ffff:127.0.0.2", &in6.sin6_addr);
	assert_string_equal(lb_pick(f.be, (struct sockaddr *)&in6)->name, "s3");
	in.sin_family = AF_UNIX;
	assert_null(lb_pick(f.be, (struct sockaddr *)&in));
	lb_backend_free(f.be);
}

static void avalanche_applies_full_hash(void **state)
{
	struct fixture plain, aval;
	uint32_t k;

	setup_be(&plain, "s1:1 s2:2 s3:1", LB_ALGO_MAP, false, false);
	setup_be(&aval, "s1:1 s2:2 s3:1", LB_ALGO_MAP, true, false);
	for (k = 0; k < 1000; k++)
		assert_string_equal(lb_pick_key(aval.be, k)->name, lb_pick_key(plain.be, hash_full(k))->name);
	lb_backend_free(plain.be);
	lb_backend_free(aval.be);
}

static void single_server_uses_key_zero(void **state)
{
	struct fixture f;
	uint32_t k;

	/* one usable active among down ones: tot_used == 1 */
	setup_be(&f, "s1:1:d s2:3 s3:1:d", LB_ALGO_MAP, true, false);
	for (k = 0; k < 100; k++)
		assert_string_equal(lb_pick_key(f.be, k * 7919)->name, "s2");
	lb_backend_free(f.be);
}

static void backups(void **state)
{
	struct fixture f;
	uint32_t k;
	unsigned n1 = 0, n2 = 0;

	/* unused while an active server is usable */
	setup_be(&f, "s1:1 b1:1:b s2:1", LB_ALGO_MAP, false, false);
	for (k = 0; k < 100; k++)
		assert_string_not_equal(lb_pick_key(f.be, k)->name, "b1");
	lb_backend_free(f.be);

	/* equal weights: the first usable backup */
	setup_be(&f, "s1:1:d b1:1:b b2:1:b", LB_ALGO_MAP, false, false);
	for (k = 0; k < 100; k++)
		assert_string_equal(lb_pick_key(f.be, k)->name, "b1");
	lb_backend_free(f.be);
	setup_be(&f, "s1:1:d b1:1:bd b2:1:b b3:1:b", LB_ALGO_MAP, false, false);
	for (k = 0; k < 100; k++)
		assert_string_equal(lb_pick_key(f.be, k)->name, "b2");
	lb_backend_free(f.be);

	/* the quirk: b1 weight 2 + b2 weight 5 -> everything to b2 */
	setup_be(&f, "s1:1:d b1:2:b b2:5:b", LB_ALGO_MAP, false, false);
	for (k = 0; k < 100; k++)
		assert_string_equal(lb_pick_key(f.be, k * 104729)->name, "b2");
	lb_backend_free(f.be);
	/* ... but b2 weight 3 (< 2 x 2) leaves it to b1 */
	setup_be(&f, "s1:1:d b1:2:b b2:3:b", LB_ALGO_MAP, false, false);
	assert_string_equal(lb_pick_key(f.be, 12345)->name, "b1");
	lb_backend_free(f.be);

	/* allbackups, weights 1:2 -> table b1,b2,b2 */
	setup_be(&f, "s1:1:d b1:1:b b2:2:b", LB_ALGO_MAP, false, true);
	for (k = 0; k < 300; k++) {
		const char *n = lb_pick_key(f.be, k)->name;

		n1 += strcmp(n, "b1") == 0;
		n2 += strcmp(n, "b2") == 0;
	}
	assert_int_equal(n1, 100);
	assert_int_equal(n2, 200);
	assert_string_equal(lb_pick_key(f.be, 0)->name, "b1");
	assert_string_equal(lb_pick_key(f.be, 1)->name, "b2");
	lb_backend_free(f.be);

	/* nothing usable */
	setup_be(&f, "s1:1:d b1:1:bd", LB_ALGO_MAP, false, true);
	assert_null(lb_pick_key(f.be, 1));
	lb_backend_free(f.be);
	setup_be(&f, "", LB_ALGO_MAP, false, false);
	assert_null(lb_pick_key(f.be, 1));
	lb_backend_free(f.be);
}

static void rebuilt_on_state_changes(void **state)
{
	struct fixture f;
	struct server_status st;
	struct server *s2;
	char got[128];
	unsigned act, bck;
	uint64_t gen0, gen;
	int rc;

	setup_be(&f, "s1:1 s2:1 s3:1 s4:1 b1:1:b", LB_ALGO_MAP, false, false);
	s2 = find(&f, "s2");
	lb_counts(f.be, &act, &bck, &gen0);
	assert_int_equal(act, 4);
	assert_int_equal(bck, 1);
	st = lb_check_result(f.be, s2, SRV_CHK_FAILED, 10, &rc);
	assert_int_equal(rc, 0);
	assert_true(st.changed);
	table(&f, got, sizeof(got));
	assert_string_equal(got, "s1,s3,s4");
	lb_counts(f.be, &act, NULL, &gen);
	assert_int_equal(act, 3);
	assert_int_equal(gen, gen0 + 1);
	/* a result without a transition does not rebuild */
	lb_check_result(f.be, s2, SRV_CHK_PASSED, 11, &rc);
	lb_counts(f.be, NULL, NULL, &gen);
	assert_int_equal(gen, gen0 + 1);
	lb_check_result(f.be, s2, SRV_CHK_PASSED, 12, &rc);
	table(&f, got, sizeof(got));
	assert_string_equal(got, "s1,s2,s3,s4");
	/* explicit hooks */
	find(&f, "s1")->state = SRV_ST_STOPPED;
	find(&f, "s3")->state = SRV_ST_STOPPED;
	find(&f, "s4")->state = SRV_ST_STOPPED;
	s2->state = SRV_ST_STOPPED;
	assert_int_equal(lb_server_down(f.be, s2), 0);
	assert_string_equal(lb_pick_key(f.be, 77)->name, "b1");
	s2->state = SRV_ST_RUNNING;
	assert_int_equal(lb_server_up(f.be, s2), 0);
	assert_string_equal(lb_pick_key(f.be, 77)->name, "s2");
	find(&f, "s1")->state = SRV_ST_RUNNING;
	assert_int_equal(lb_rebuild(f.be), 0);
	table(&f, got, sizeof(got));
	assert_string_equal(got, "s1,s2");
	/* MAINT takes a server out and brings it back */
	st = lb_set_maint(f.be, s2, true, 20, &rc);
	assert_int_equal(rc, 0);
	assert_true(st.usable_changed);
	table(&f, got, sizeof(got));
	assert_string_equal(got, "s1");
	st = lb_set_maint(f.be, s2, false, 21, &rc);
	assert_true(st.usable_changed);
	table(&f, got, sizeof(got));
	assert_string_equal(got, "s1,s2");
	lb_backend_free(f.be);
}

static void bad_backends(void **state)
{
	struct server s;
	struct server *p = &s;
	char err[ERR_LEN];

	assert_int_equal(server_init(&s, "s1", err, sizeof(err)), 0);
	server_start(&s);
	/* puid not assigned */
	assert_null(lb_backend_new("be", LB_ALGO_MAP, false, false, &p, 1, err, sizeof(err)));
	assert_non_null(strstr(err, "no id"));
	s.puid = 1;
	s.weight = 257;
	assert_null(lb_backend_new("be", LB_ALGO_CHASH, false, false, &p, 1, err, sizeof(err)));
	assert_non_null(strstr(err, "weight 257"));
}

/* Picks on several threads while the health side flips servers: every pick must see a complete table
 * (a live server of the current or previous generation), and ASan must see no use-after-free. */
struct pick_arg {
	struct fixture *f;
	atomic_bool *stop;
	atomic_bool started;
	unsigned long picks;
	unsigned long bad;
};

static void *picker(void *arg)
{
	struct pick_arg *a = arg;
	uint32_t k = 0x12345678;

	atomic_store(&a->started, true);
	while (!atomic_load(a->stop)) {
		struct server *s;

		k = k * 1103515245u + 12345u;
		s = lb_pick_key(a->f->be, k);
		/* s1 and s4 never go down */
		if (s == NULL || s->backup)
			a->bad++;
		a->picks++;
	}
	return NULL;
}

static void concurrent_picks_and_rebuilds(void **state)
{
	static struct fixture f;
	atomic_bool stop;
	struct pick_arg args[3];
	pthread_t th[3];
	int i, spins;

	setup_be(&f, "s1:3 s2:2 s3:1 s4:5 b1:1:b", LB_ALGO_MAP, true, false);
	atomic_init(&stop, false);
	for (i = 0; i < 3; i++) {
		args[i] = (struct pick_arg){.f = &f, .stop = &stop};
		atomic_init(&args[i].started, false);
		assert_int_equal(pthread_create(&th[i], NULL, picker, &args[i]), 0);
	}
	/* let every picker run before the flips start (bounded: about 5 s) */
	for (i = 0; i < 3; i++)
		for (spins = 0; !atomic_load(&args[i].started) && spins < 5000; spins++)
			usleep(1000);
	for (i = 0; i < 3000; i++) {
		struct server *s = &f.srv[1 + i % 2];

		lb_check_result(f.be, s, (i / 2) % 2 ? SRV_CHK_PASSED : SRV_CHK_FAILED, (uint64_t)i, NULL);
		if (i % 7 == 0)
			lb_rebuild(f.be);
	}
	atomic_store(&stop, true);
	for (i = 0; i < 3; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(args[i].bad, 0);
		assert_true(args[i].picks > 0);
	}
	assert_int_equal(atomic_load(&f.be->readers[0]), 0);
	assert_int_equal(atomic_load(&f.be->readers[1]), 0);
	lb_backend_free(f.be);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(example_tables),
		cmocka_unit_test(gcd_covers_every_server),
		cmocka_unit_test(lookup_modulo_and_addresses),
		cmocka_unit_test(avalanche_applies_full_hash),
		cmocka_unit_test(single_server_uses_key_zero),
		cmocka_unit_test(backups),
		cmocka_unit_test(rebuilt_on_state_changes),
		cmocka_unit_test(bad_backends),
		cmocka_unit_test(concurrent_picks_and_rebuilds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

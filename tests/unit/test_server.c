/*
 * Unit tests for server.c, HAProxy 2.6's health counter: the start state, rise and fall sequences,
 * condpass (NOLB), maintenance, drain and weights, slowstart's ramp, check intervals and puid assignment.
 */
#include "api.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "server.h"

static const char *st(const struct server *s)
{
	static char out[32];

	return server_status_str(s, out, sizeof(out));
}

static void checked(struct server *s, const char *name, int rise, int fall)
{
	char err[ERR_LEN];

	assert_int_equal(server_init(s, name, err, sizeof(err)), 0);
	s->check.enabled = true;
	s->check.rise = rise;
	s->check.fall = fall;
	server_start(s);
}

/*
 * slowstart's ramp against values read off HAProxy 2.6.12 (`show stat` of a consistent-hash backend,
 * weight 100, slowstart 4s, sampled every 30 ms in test_recheckd_slowstart): weight 7, 32, 57, 82, then
 * 100; throttle 6, 31, 56, 81 %, then empty. The same server in a map-based backend shows weight 100 and
 * throttle 100 % for the whole warm-up.
 */
static void slowstart_ramp(void **state)
{
	static const unsigned w[] = {1, 5, 9, 13}, shown[] = {7, 32, 57, 82};
	static const int thr[] = {6, 31, 56, 81};
	struct server s;
	unsigned i;

	(void)state;
	checked(&s, "s3", 1, 1);
	s.weight = 100;
	s.slowstart = 4;
	assert_int_equal(s.state, SRV_ST_RUNNING); /* start-up: no warm-up */
	assert_int_equal(server_throttle(&s, true), -1);
	server_check_result(&s, SRV_CHK_FAILED, 5000);
	assert_int_equal(s.state, SRV_ST_STOPPED);
	assert_true(server_check_result(&s, SRV_CHK_PASSED, 10000).usable_changed);
	assert_int_equal(s.state, SRV_ST_STARTING);
	assert_string_equal(st(&s), "UP"); /* HAProxy's status column says UP while warming */
	for (i = 0; i < 4; i++) {
		uint64_t t = 10000 + 1000 * i;

		assert_int_equal(server_warmup_tick(&s, t), i > 0);
		/* a passing check does not cut the warm-up short */
		assert_false(server_check_result(&s, SRV_CHK_PASSED, t + 10).changed);
		assert_int_equal(s.state, SRV_ST_STARTING);
		assert_int_equal(s.warm_w, w[i]);
		assert_int_equal(server_chash_points(&s), 100 * w[i]);
		assert_int_equal(server_eweight_shown(&s, true), shown[i]);
		assert_int_equal(server_throttle(&s, true), thr[i]);
		assert_int_equal(server_eweight_shown(&s, false), 100);
		assert_int_equal(server_throttle(&s, false), 100);
		assert_int_equal(server_warmup_next(&s, t + 500), t + 1000);
		/* srv_dynamic_maxconn(): 100 * e / slowstart, at least one connection */
		assert_int_equal(srv_warmup_ratio(&s, t + 999), 25 * i);
		assert_int_equal(srv_warmup_maxconn(&s, 10, t + 999), i == 0 ? 1 : 10 * 25 * i / 100);
	}
	assert_true(server_warmup_tick(&s, 14000));
	assert_int_equal(s.state, SRV_ST_RUNNING);
	assert_int_equal(s.last_change_ms, 14000); /* HAProxy counts the end as a change too */
	assert_int_equal(server_eweight_shown(&s, true), 100);
	assert_int_equal(server_throttle(&s, true), -1);
	assert_int_equal(srv_warmup_ratio(&s, 14000), 100);
	assert_int_equal(srv_warmup_maxconn(&s, 10, 14000), 10);
	assert_false(server_warmup_tick(&s, 15000));

	/* leaving MAINT warms up too; entering it ends the warm-up */
	server_set_maint(&s, true, 20000);
	server_set_maint(&s, false, 21000);
	assert_int_equal(s.state, SRV_ST_STARTING);
	assert_int_equal(s.warm_w, 1);
	server_set_maint(&s, true, 21500);
	assert_int_equal(s.state, SRV_ST_STOPPED);
	assert_false(server_warmup_tick(&s, 22000));

	/* slowstart 10s, weight 1: w = (16e + 10) / 10 grows, the shown weight stays 1 (ceil) */
	s.slowstart = 10;
	s.weight = 1;
	server_set_maint(&s, false, 30000);
	server_warmup_tick(&s, 33000);
	assert_int_equal(s.warm_w, 5);
	assert_int_equal(server_eweight_shown(&s, true), 1);
	assert_int_equal(server_throttle(&s, true), 32); /* (100 * 5 + 15) / 16 */
	/* a zero slowstart after a reload ends a warm-up at the next tick */
	s.slowstart = 0;
	assert_true(server_warmup_tick(&s, 33100));
	assert_int_equal(s.state, SRV_ST_RUNNING);
}

static void defaults_and_start_state(void **state)
{
	struct server s;
	char err[ERR_LEN], longname[SERVER_NAME_MAX + 2];

	assert_int_equal(server_init(&s, "s1", err, sizeof(err)), 0);
	assert_int_equal(s.weight, 1);
	assert_int_equal(s.check.inter, 2000);
	assert_int_equal(s.check.rise, 2);
	assert_int_equal(s.check.fall, 3);
	server_start(&s);
	assert_int_equal(s.state, SRV_ST_RUNNING);
	assert_string_equal(st(&s), "no check");
	assert_true(server_usable(&s));

	/* 2.6: UP with health = rise, shown as "UP 1/3" before the first check */
	checked(&s, "s1", 2, 3);
	assert_int_equal(s.health, 2);
	assert_int_equal(s.state, SRV_ST_RUNNING);
	assert_string_equal(st(&s), "UP 1/3");
	assert_true(server_usable(&s));

	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(server_init(&s, longname, err, sizeof(err)), -1);
	assert_int_equal(server_init(&s, "", err, sizeof(err)), -1);
}

static void first_failure_is_down(void **state)
{
	struct server s;
	struct server_status r;

	checked(&s, "s1", 2, 3);
	r = server_check_result(&s, SRV_CHK_FAILED, 100);
	assert_true(r.changed);
	assert_true(r.usable_changed);
	assert_true(r.counted);
	assert_int_equal(r.old_state, SRV_ST_RUNNING);
	assert_int_equal(r.new_state, SRV_ST_STOPPED);
	assert_int_equal(r.old_health, 2);
	assert_int_equal(r.health, 0);
	assert_string_equal(st(&s), "DOWN");
	assert_int_equal(s.chkfail, 1);
	assert_int_equal(s.chkdown, 1);
	assert_int_equal(s.last_change_ms, 100);
	assert_false(server_usable(&s));
	/* already at 0: not counted again, no transition */
	r = server_check_result(&s, SRV_CHK_FAILED, 200);
	assert_false(r.changed);
	assert_false(r.counted);
	assert_int_equal(s.chkfail, 1);
	assert_int_equal(s.last_change_ms, 100);
}

static void first_success_is_fully_up(void **state)
{
	struct server s;
	struct server_status r;

	checked(&s, "s1", 2, 3);
	r = server_check_result(&s, SRV_CHK_PASSED, 100);
	assert_false(r.changed);
	assert_true(r.counted);
	assert_int_equal(s.health, 4);
	assert_string_equal(st(&s), "UP");
	/* at the top: not counted */
	r = server_check_result(&s, SRV_CHK_PASSED, 100);
	assert_false(r.counted);
}

static void rise_and_fall_sequences(void **state)
{
	struct server s;
	struct server_status r;

	checked(&s, "s1", 2, 3);
	server_check_result(&s, SRV_CHK_PASSED, 1);
	/* exactly fall failures from fully UP */
	r = server_check_result(&s, SRV_CHK_FAILED, 2);
	assert_false(r.changed);
	assert_int_equal(s.health, 3);
	assert_string_equal(st(&s), "UP 2/3");
	server_check_result(&s, SRV_CHK_FAILED, 3);
	assert_string_equal(st(&s), "UP 1/3");
	assert_true(server_usable(&s));
	r = server_check_result(&s, SRV_CHK_FAILED, 4);
	assert_true(r.changed);
	assert_int_equal(s.health, 0);
	assert_string_equal(st(&s), "DOWN");
	assert_int_equal(s.chkfail, 3);
	/* exactly rise successes from DOWN */
	r = server_check_result(&s, SRV_CHK_PASSED, 5);
	assert_false(r.changed);
	assert_int_equal(s.health, 1);
	assert_string_equal(st(&s), "DOWN 1/2");
	assert_false(server_usable(&s));
	/* an opposite result resets the count (and is a counted failure since health > 0) */
	r = server_check_result(&s, SRV_CHK_FAILED, 6);
	assert_true(r.counted);
	assert_int_equal(s.health, 0);
	assert_string_equal(st(&s), "DOWN");
	server_check_result(&s, SRV_CHK_PASSED, 7);
	r = server_check_result(&s, SRV_CHK_PASSED, 8);
	assert_true(r.changed);
	assert_true(r.usable_changed);
	assert_int_equal(r.new_state, SRV_ST_RUNNING);
	assert_int_equal(s.health, 4);
	assert_string_equal(st(&s), "UP");
	assert_int_equal(s.last_change_ms, 8);
	/* a success in the middle of going down jumps back to the top */
	server_check_result(&s, SRV_CHK_FAILED, 9);
	server_check_result(&s, SRV_CHK_FAILED, 10);
	assert_string_equal(st(&s), "UP 1/3");
	server_check_result(&s, SRV_CHK_PASSED, 11);
	assert_string_equal(st(&s), "UP");
	assert_int_equal(s.chkdown, 1);
}

static void rise_fall_one(void **state)
{
	struct server s;

	checked(&s, "s1", 1, 1);
	assert_string_equal(st(&s), "UP");
	server_check_result(&s, SRV_CHK_FAILED, 1);
	assert_string_equal(st(&s), "DOWN");
	server_check_result(&s, SRV_CHK_PASSED, 2);
	assert_string_equal(st(&s), "UP");
	checked(&s, "s1", 3, 2);
	assert_string_equal(st(&s), "UP 1/2");
	server_check_result(&s, SRV_CHK_FAILED, 1);
	server_check_result(&s, SRV_CHK_PASSED, 2);
	server_check_result(&s, SRV_CHK_PASSED, 3);
	assert_string_equal(st(&s), "DOWN 2/3");
}

static void condpass_is_nolb(void **state)
{
	struct server s;
	struct server_status r;

	checked(&s, "s1", 2, 3);
	r = server_check_result(&s, SRV_CHK_CONDPASS, 1);
	assert_true(r.changed);
	assert_true(r.usable_changed);
	assert_int_equal(s.state, SRV_ST_STOPPING);
	assert_string_equal(st(&s), "NOLB");
	assert_false(server_usable(&s));
	assert_true(server_is_up(&s));
	server_check_result(&s, SRV_CHK_FAILED, 2);
	assert_string_equal(st(&s), "NOLB 2/3");
	server_check_result(&s, SRV_CHK_PASSED, 3);
	assert_string_equal(st(&s), "UP");
}

static void maint_drain_weight(void **state)
{
	struct server s;
	struct server_status r;

	checked(&s, "s1", 2, 3);
	server_check_result(&s, SRV_CHK_PASSED, 1);
	r = server_set_maint(&s, true, 2);
	assert_true(r.changed);
	assert_string_equal(st(&s), "MAINT");
	assert_false(server_usable(&s));
	/* checks do not bring a server out of MAINT */
	server_check_result(&s, SRV_CHK_PASSED, 3);
	assert_int_equal(s.state, SRV_ST_STOPPED);
	r = server_set_maint(&s, false, 4);
	assert_true(r.changed);
	assert_string_equal(st(&s), "UP");

	s.admin |= SRV_ADMF_DRAIN;
	assert_string_equal(st(&s), "DRAIN");
	assert_false(server_usable(&s));
	server_check_result(&s, SRV_CHK_FAILED, 5);
	assert_string_equal(st(&s), "DRAIN 2/3");
	s.admin = 0;
	s.weight = 0;
	assert_false(server_usable(&s));

	/* `disabled`: starts in MAINT with health 0; leaving MAINT leaves it DOWN until rise successes */
	checked(&s, "s2", 2, 3);
	s.admin = SRV_ADMF_MAINT;
	server_start(&s);
	assert_int_equal(s.health, 0);
	server_set_maint(&s, false, 1);
	assert_string_equal(st(&s), "DOWN");
}

static void check_intervals(void **state)
{
	struct server s;

	checked(&s, "s1", 2, 3);
	s.check.inter = 2000;
	/* the first check after start-up uses fastinter, falling back to inter */
	assert_int_equal(server_next_inter(&s), 2000);
	s.check.fastinter = 500;
	s.check.downinter = 10000;
	assert_int_equal(server_next_inter(&s), 500);
	server_check_result(&s, SRV_CHK_PASSED, 1);
	assert_int_equal(server_next_inter(&s), 2000);
	server_check_result(&s, SRV_CHK_FAILED, 2);
	assert_int_equal(server_next_inter(&s), 500);
	server_check_result(&s, SRV_CHK_FAILED, 3);
	server_check_result(&s, SRV_CHK_FAILED, 4);
	assert_int_equal(s.state, SRV_ST_STOPPED);
	assert_int_equal(server_next_inter(&s), 10000);
	s.check.downinter = 0;
	assert_int_equal(server_next_inter(&s), 2000);
	server_check_result(&s, SRV_CHK_PASSED, 5);
	assert_int_equal(server_next_inter(&s), 500);
}

static void puid_assignment(void **state)
{
	struct server s[4], *p[4];
	char err[ERR_LEN];
	size_t i;

	for (i = 0; i < 4; i++) {
		char name[8] = {'s', (char)('1' + i), 0};

		assert_int_equal(server_init(&s[i], name, err, sizeof(err)), 0);
		p[i] = &s[i];
	}
	/* no explicit ids: 1, 2, 3, 4 */
	assert_int_equal(server_assign_puids(p, 4, err, sizeof(err)), 0);
	for (i = 0; i < 4; i++) {
		assert_int_equal(s[i].puid, i + 1);
		assert_int_equal(s[i].index, i);
	}
	/* s1 id 7, s2 id 3, s3 -> 4 (not 3), s4 -> 5 */
	s[0].id = 7;
	s[1].id = 3;
	assert_int_equal(server_assign_puids(p, 4, err, sizeof(err)), 0);
	assert_int_equal(s[0].puid, 7);
	assert_int_equal(s[1].puid, 3);
	assert_int_equal(s[2].puid, 4);
	assert_int_equal(s[3].puid, 5);
	/* an automatic id avoids a later explicit one; next still advances after every server */
	s[0].id = 0;
	s[1].id = 1;
	s[2].id = 0;
	s[3].id = 0;
	assert_int_equal(server_assign_puids(p, 4, err, sizeof(err)), 0);
	assert_int_equal(s[0].puid, 2);
	assert_int_equal(s[1].puid, 1);
	assert_int_equal(s[2].puid, 4);
	assert_int_equal(s[3].puid, 5);
	/* duplicates and range */
	s[2].id = 1;
	assert_int_equal(server_assign_puids(p, 4, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "same id"));
	assert_non_null(strstr(err, "'s3'"));
	s[2].id = SERVER_ID_MAX + 1;
	assert_int_equal(server_assign_puids(p, 4, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "out of range"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults_and_start_state),
		cmocka_unit_test(first_failure_is_down),
		cmocka_unit_test(first_success_is_fully_up),
		cmocka_unit_test(rise_and_fall_sequences),
		cmocka_unit_test(rise_fall_one),
		cmocka_unit_test(condpass_is_nolb),
		cmocka_unit_test(maint_drain_weight),
		cmocka_unit_test(check_intervals),
		cmocka_unit_test(puid_assignment),
		cmocka_unit_test(slowstart_ramp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

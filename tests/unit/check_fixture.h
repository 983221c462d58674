/*
 * check_fixture.h: how the check engine's unit tests drive a check run without a network (included by
 * test_check.c and test_tls.c only): a clock that advances 100 us at each reading, start() and next_is(),
 * which fails the test with the run's phase and status when the engine asks for another action.
 */
#ifndef RECHECK_TEST_CHECK_FIXTURE_H
#define RECHECK_TEST_CHECK_FIXTURE_H

#include "check.h"
#include "recipe.h"

static uint64_t fake_now;
static uint64_t fake_clock(void)
{
	return fake_now += 100;
}

static void start(struct check_run *run, const struct recipe *r)
{
	assert_int_equal(check_run_init(run, r), 0);
	run->clock = fake_clock;
}

static struct check_action next_is(struct check_run *run, enum check_action_type t)
{
	struct check_action a = check_next(run);

	if (a.type != t)
		fail_msg("action %d, expected %d (phase %s, status %s: %s)", a.type, t, check_phase_str(run->phase),
			 check_status_str(run->res.status), run->res.desc);
	return a;
}

#endif

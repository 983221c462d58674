/*
 * Unit tests for recheckd's health checker (runner/health.c, from the recheckd_core_ut library) on a
 * real ev loop against loopback sockets, with the daemon's entry points stubbed: HAProxy's start-up spreading, the
 * cap on simultaneous checks with its FIFO queue, the one deadline of a run, the next check scheduled
 * from the end of the previous one, cancellation closing the check's socket, and a local failure (a full
 * fd table) ending a run without a verdict, the server's health untouched.
 */
#include "api.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "check.h"
#include "daemon.h"
#include "dlog.h"
#include "ev.h"
#include "health.h"
#include "recipe.h"
#include "recipe_yaml.h"
#include "server.h"
#include "util.h"

/*
 * ---- stubs of the daemon (runner/daemon.c, runner/gen.c) -----------------------------------------
 * These definitions come before the library on the link line, so the linker never pulls daemon.o or
 * gen.o out of recheckd_core_ut for them (health.o needs nothing else from those two files).
 */

static unsigned results, refs;

struct server_status daemon_check_result(struct daemon *d, struct listener *li, struct rserver *s,
					 enum srv_check_res res, const char *reason)
{
	(void)d;
	(void)li;
	(void)reason;
	results++;
	return server_check_result(&s->srv, res, now_ms());
}

const char *daemon_node(struct daemon *d, char *out, size_t outlen)
{
	(void)d;
	snprintf(out, outlen, "test-node");
	return out;
}

void rserver_ref(struct rserver *s)
{
	s->refs++;
	refs++;
}

void rserver_unref(struct rserver *s)
{
	s->refs--;
	refs--;
}

/* ---- fixture ------------------------------------------------------------------------------------- */

#define NSRV 70

static const char recipe_text[] = "version: 1\nname: t\nkind: tcp\nsteps:\n  - connect: {}\n"
				  "  - expect: {string: \"hello\"}\n    comment: \"greeting\"\n";

struct fx {
	struct daemon d;
	struct gen g;
	struct listener li;
	struct listener *lis[1];
	struct rserver srv[NSRV];
	struct rserver *srvp[NSRV];
	struct conf_server cs[NSRV];
	struct recipe *rcp;
	int mute;                    /* listening, never accepting or answering */
	struct sockaddr_in addr;
};

static struct fx *fx_new(size_t n, uint32_t inter, uint64_t timeout)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[ERR_LEN];
	socklen_t sl = sizeof(f->addr);
	size_t i;

	assert_non_null(f);
	f->d.ev = ev_new(256, err, sizeof(err));
	assert_non_null(f->d.ev);
	f->rcp = recipe_load_mem(recipe_text, strlen(recipe_text), "t.yaml", err, sizeof(err));
	assert_non_null(f->rcp);
	f->mute = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	f->addr.sin_family = AF_INET;
	f->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(f->mute, (struct sockaddr *)&f->addr, sizeof(f->addr)), 0);
	assert_int_equal(listen(f->mute, 256), 0);
	assert_int_equal(getsockname(f->mute, (struct sockaddr *)&f->addr, &sl), 0);
	f->li.name = (char *)"pool";
	f->li.srv = f->srvp;
	f->li.nsrv = n;
	f->lis[0] = &f->li;
	f->g.li = f->lis;
	f->g.nli = 1;
	f->g.id = 1;
	f->d.gen = &f->g;
	for (i = 0; i < n; i++) {
		struct rserver *s = &f->srv[i];
		char name[32];

		snprintf(name, sizeof(name), "s%zu", i);
		assert_int_equal(server_init(&s->srv, name, err, sizeof(err)), 0);
		memcpy(&s->srv.addr, &f->addr, sizeof(f->addr));
		s->srv.addrlen = sizeof(f->addr);
		s->srv.check.enabled = true;
		s->srv.check.inter = inter;
		s->srv.check.rise = 2;
		s->srv.check.fall = 3;
		server_start(&s->srv);
		f->cs[i].check.enabled = true;
		f->cs[i].check.rcp = f->rcp;
		f->cs[i].check.inter = inter;
		f->cs[i].check.timeout = timeout;
		s->conf = &f->cs[i];
		f->srvp[i] = s;
	}
	return f;
}

static void fx_free(struct fx *f)
{
	close(f->mute);
	recipe_free(f->rcp);
	ev_free(f->d.ev);
	free(f);
}

static void run_for(struct ev *ev, uint64_t ms)
{
	uint64_t end;

	ev_update_time(ev);
	end = ev_now(ev) + ms;
	while (ev_now(ev) < end)
		ev_run_once(ev, (int)(end - ev_now(ev)));
}

/* ---- tests --------------------------------------------------------------------------------------- */

static void first_checks_are_spread(void **state)
{
	struct fx *f = fx_new(4, 1000, 500);
	struct health_sched *hs = health_new(&f->d);
	uint64_t now;
	size_t i;

	(void)state;
	assert_non_null(hs);
	assert_int_equal(health_start(hs), 0);
	now = ev_now(f->d.ev);
	/* HAProxy start_check_task(): mininter * k / N, here 1000 * k / 4 */
	for (i = 0; i < 4; i++) {
		struct health *h = f->srv[i].health;

		assert_non_null(h);
		assert_true(ev_timer_armed(&h->timer));
		assert_int_equal(h->timer.when - now, 250 * i);
	}
	assert_int_equal(refs, 4);
	health_free(hs);
	assert_int_equal(refs, 0);
	for (i = 0; i < 4; i++)
		assert_null(f->srv[i].health);
	fx_free(f);
}

static void one_deadline_and_next_from_the_end(void **state)
{
	struct fx *f = fx_new(1, 150, 200);
	struct health_sched *hs = health_new(&f->d);
	struct health *h;
	uint64_t t0;

	(void)state;
	results = 0;
	assert_int_equal(health_start(hs), 0);
	h = f->srv[0].health;
	ev_update_time(f->d.ev);
	t0 = ev_now(f->d.ev);
	run_for(f->d.ev, 20);
	/* connected through the backlog, waiting for "hello" that never comes */
	assert_true(h->running);
	assert_int_not_equal(h->conn.fd, -1);
	assert_int_equal(h->deadline - h->start_ms, 200);
	run_for(f->d.ev, 250);
	assert_int_equal(results, 1);
	assert_int_equal(h->status, CHECK_L7TOUT);
	assert_int_equal(h->step, 2);
	assert_string_equal(h->kind, "expect string");
	assert_string_equal(h->comment, "greeting");
	assert_true(h->dur_ms >= 195 && h->dur_ms < 400);
	assert_int_equal(h->conn.fd, -1);
	assert_false(h->running);
	/* the first failure takes a server starting "UP 1/3" DOWN; next check: inter after the END */
	assert_int_equal(f->srv[0].srv.state, SRV_ST_STOPPED);
	assert_true(ev_timer_armed(&h->timer));
	assert_true(h->timer.when >= t0 + 200 + 150);
	assert_int_equal(h->nfailed, 1);
	assert_int_equal(h->to_down, 1);
	assert_int_equal(h->ntrans, 1);
	assert_int_equal(h->trans[0].status, CHECK_L7TOUT);
	health_free(hs);
	fx_free(f);
}

/* From the second check on, starts sit on the 20 ms grid (nearest point) when the interval is long. */
static void next_checks_on_the_grid(void **state)
{
	struct fx *f = fx_new(1, 1000, 100);
	struct health_sched *hs = health_new(&f->d);
	struct health *h;
	uint64_t end;
	int i;

	(void)state;
	results = 0;
	assert_int_equal(health_start(hs), 0);
	h = f->srv[0].health;
	for (i = 0; i < 100 && results == 0; i++)
		run_for(f->d.ev, 5);
	assert_int_equal(results, 1);
	end = h->start_ms + h->dur_ms;
	assert_true(ev_timer_armed(&h->timer));
	assert_int_equal(h->timer.when % 20, 0);
	assert_true(h->timer.when + 11 >= end + 1000);
	assert_true(h->timer.when <= end + 1000 + 11);
	health_free(hs);
	assert_int_equal(refs, 0);
	fx_free(f);
}

static void concurrency_is_capped(void **state)
{
	struct fx *f = fx_new(NSRV, 100, 1000);
	struct health_sched *hs = health_new(&f->d);
	unsigned running = 0, queued = 0, max_running = 0, max_queued = 0;
	int i;

	(void)state;
	results = 0;
	assert_int_equal(health_start(hs), 0);
	for (i = 0; i < 40; i++) {
		run_for(f->d.ev, 5);
		health_counts(hs, &running, &queued);
		max_running = MAX(max_running, running);
		max_queued = MAX(max_queued, queued);
	}
	/* every server was due within 100 ms; none could finish before its 1 s deadline */
	assert_int_equal(max_running, HEALTH_MAX_RUNNING);
	assert_int_equal(max_queued, NSRV - HEALTH_MAX_RUNNING);
	assert_int_equal(results, 0);
	/* cancelling closes every socket and empties the queue */
	health_stop(hs);
	health_counts(hs, &running, &queued);
	assert_int_equal(running, 0);
	assert_int_equal(queued, 0);
	assert_int_equal(refs, 0);
	health_free(hs);
	fx_free(f);
}

static void reload_cancels_removed_servers(void **state)
{
	struct fx *f = fx_new(3, 100, 1000);
	struct health_sched *hs = health_new(&f->d);
	struct health *kept;
	int fd;

	(void)state;
	assert_int_equal(health_start(hs), 0);
	run_for(f->d.ev, 150);
	assert_true(((struct health *)f->srv[2].health)->running);
	fd = ((struct health *)f->srv[2].health)->conn.fd;
	assert_int_not_equal(fd, -1);
	kept = f->srv[0].health;
	/* the new gen keeps s0 and s1, drops s2 */
	f->li.nsrv = 2;
	health_reloaded(hs);
	assert_null(f->srv[2].health);
	assert_ptr_equal(f->srv[0].health, kept);
	assert_true(kept->rcp_stale);
	assert_int_equal(ev_fd_get(f->d.ev, fd), EV_NONE);
	assert_int_equal(refs, 2);
	/* a server whose check was turned off stops too */
	f->srv[1].srv.check.enabled = false;
	health_reloaded(hs);
	assert_null(f->srv[1].health);
	assert_int_equal(refs, 1);
	health_free(hs);
	fx_free(f);
}

/* A local failure (here a full fd table) is no verdict: the server's health stays, the next run counts. */
static void local_failure_is_not_counted(void **state)
{
	struct fx *f = fx_new(1, 150, 200);
	struct health_sched *hs = health_new(&f->d);
	struct rlimit old, low;
	struct health *h;
	int health0, spare;
	unsigned nlocal, running, queued;
	size_t i;

	(void)state;
	results = 0;
	spare = dup(0);
	assert_int_not_equal(spare, -1);
	close(spare);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = (rlim_t)spare;
	health0 = f->srv[0].srv.health;
	assert_int_equal(health_start(hs), 0);
	h = f->srv[0].health;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	run_for(f->d.ev, 20);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_int_equal(results, 0);
	assert_int_equal(h->nlocal, 1);
	assert_string_equal(h->local_why, "socket: Too many open files");
	assert_false(h->running);
	assert_int_equal(h->conn.fd, -1);
	assert_int_equal(h->nfailed, 0);
	assert_int_equal(h->status, CHECK_INI);
	assert_int_equal(f->srv[0].srv.health, health0);
	assert_true(ev_timer_armed(&h->timer));
	/* the next run, with fds to spare, has a verdict again */
	run_for(f->d.ev, 450);
	assert_int_equal(results, 1);
	assert_int_equal(h->status, CHECK_L7TOUT);
	assert_string_equal(h->local_why, "");
	health_free(hs);
	fx_free(f);

	/* every server at once: none counted, no slot kept, one log line for all */
	f = fx_new(NSRV, 100, 200);
	hs = health_new(&f->d);
	results = 0;
	assert_int_equal(health_start(hs), 0);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	run_for(f->d.ev, 120);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_int_equal(results, 0);
	for (i = 0, nlocal = 0; i < NSRV; i++) {
		h = f->srv[i].health;
		nlocal += h->nlocal;
		assert_false(h->running);
		assert_int_equal(f->srv[i].srv.health, health0);
	}
	assert_true(nlocal >= NSRV);
	health_counts(hs, &running, &queued);
	assert_int_equal(running, 0);
	assert_int_equal(queued, 0);
	health_free(hs);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(first_checks_are_spread),
		cmocka_unit_test(one_deadline_and_next_from_the_end),
		cmocka_unit_test(next_checks_on_the_grid),
		cmocka_unit_test(concurrency_is_capped),
		cmocka_unit_test(reload_cancels_removed_servers),
		cmocka_unit_test(local_failure_is_not_counted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for the event loop: timer order, re-arming, fd events, wakeup, stop. */
#include "api.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "ev.h"

struct order {
	int seen[64];
	int n;
};

struct tmr {
	struct ev_timer t;
	struct order *o;
	int id;
};

static void on_timer(struct ev *ev, struct ev_timer *t, void *arg)
{
	struct tmr *x = arg;

	x->o->seen[x->o->n++] = x->id;
}

static void timers_fire_in_order(void **state)
{
	char err[ERR_LEN];
	struct ev *ev = ev_new(16, err, sizeof(err));
	struct order o = {0};
	struct tmr t[6];
	/* delays chosen out of order, with one duplicate; id 5 is stopped, id 2 re-armed later */
	static const int delay[6] = {30, 10, 20, 5, 10, 1};
	int i, rounds = 0;

	assert_non_null(ev);
	for (i = 0; i < 6; i++) {
		t[i].o = &o;
		t[i].id = i;
		ev_timer_init(&t[i].t, on_timer, &t[i]);
		ev_timer_arm(ev, &t[i].t, (uint64_t)delay[i]);
		assert_true(ev_timer_armed(&t[i].t));
	}
	ev_timer_stop(ev, &t[5].t);
	assert_false(ev_timer_armed(&t[5].t));
	ev_timer_stop(ev, &t[5].t); /* harmless twice */
	ev_timer_arm(ev, &t[2].t, 40); /* re-arm in place, later */
	while (o.n < 5 && rounds++ < 100)
		ev_run_once(ev, 100);
	assert_int_equal(o.n, 5);
	assert_int_equal(o.seen[0], 3);
	/* 1 and 4 share a deadline: either order */
	assert_true((o.seen[1] == 1 && o.seen[2] == 4) || (o.seen[1] == 4 && o.seen[2] == 1));
	assert_int_equal(o.seen[3], 0);
	assert_int_equal(o.seen[4], 2);
	ev_free(ev);
}

/* Many timers with pseudo-random deadlines come out sorted; random stops are honoured. */
static void many_timers(void **state)
{
	enum { N = 5000 };
	char err[ERR_LEN];
	struct ev *ev = ev_new(16, err, sizeof(err));
	struct ev_timer *t = calloc(N, sizeof(*t));
	uint64_t prev = 0, base;
	unsigned seed = 12345;
	int i, fired = 0, stopped = 0;

	assert_non_null(ev);
	assert_non_null(t);
	base = ev_now(ev);
	for (i = 0; i < N; i++) {
		seed = seed * 1103515245u + 12345u;
		ev_timer_init(&t[i], NULL, NULL);
		ev_timer_arm_at(ev, &t[i], base + (seed >> 8) % 100000);
	}
	for (i = 0; i < N; i += 7) {
		ev_timer_stop(ev, &t[i]);
		stopped++;
	}
	/* Pop without running the loop: the heap root is always the earliest. */
	while (ev->nheap > 0) {
		struct ev_timer *top = ev->heap[0];

		assert_true(top->when >= prev);
		prev = top->when;
		ev_timer_stop(ev, top);
		fired++;
	}
	assert_int_equal(fired + stopped, N);
	free(t);
	ev_free(ev);
}

struct fdctx {
	int reads;
	int writes;
	char got[16];
};

static void on_fd(struct ev *ev, int fd, int mask, void *arg)
{
	struct fdctx *c = arg;

	if (mask & EV_READ) {
		ssize_t n = read(fd, c->got, sizeof(c->got) - 1);

		if (n > 0)
			c->got[n] = 0;
		c->reads++;
	}
	if (mask & EV_WRITE) {
		c->writes++;
		ev_fd_mask(ev, fd, EV_NONE);
	}
}

static void fd_events(void **state)
{
	char err[ERR_LEN];
	struct ev *ev = ev_new(4, err, sizeof(err));
	struct fdctx c = {0};
	int p[2];

	assert_non_null(ev);
	assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	assert_int_equal(ev_fd_set(ev, p[0], EV_READ, on_fd, &c), 0);
	assert_int_equal(ev_fd_set(ev, p[1], EV_WRITE, on_fd, &c), 0);
	assert_int_equal(ev_fd_get(ev, p[0]), EV_READ);
	/* Writable pipe end fires once, then its mask is cleared by the callback. */
	ev_run_once(ev, 100);
	assert_int_equal(c.writes, 1);
	assert_int_equal(c.reads, 0);
	assert_int_equal(ev_fd_get(ev, p[1]), EV_NONE);
	assert_int_equal(write(p[1], "hello", 5), 5);
	ev_run_once(ev, 100);
	assert_int_equal(c.reads, 1);
	assert_string_equal(c.got, "hello");
	/* A deleted fd gets nothing, even with data pending. */
	assert_int_equal(write(p[1], "x", 1), 1);
	ev_fd_del(ev, p[0]);
	assert_int_equal(ev_fd_get(ev, p[0]), EV_NONE);
	ev_run_once(ev, 20);
	assert_int_equal(c.reads, 1);
	/* fds beyond the initial size are accepted (the table grows). */
	{
		int many[40], i;

		for (i = 0; i < 40; i++) {
			many[i] = dup(p[1]);
			assert_true(many[i] >= 0);
		}
		assert_int_equal(ev_fd_set(ev, many[39], EV_WRITE, on_fd, &c), 0);
		ev_run_once(ev, 100);
		assert_int_equal(c.writes, 2);
		ev_fd_del(ev, many[39]);
		for (i = 0; i < 40; i++)
			close(many[i]);
	}
	close(p[0]);
	close(p[1]);
	ev_free(ev);
}

/* ev_fd_forget + close: the fd leaves the epoll set with its last reference, so the number can be reused. */
static void fd_forget_then_reuse(void **state)
{
	char err[ERR_LEN];
	struct ev *ev = ev_new(4, err, sizeof(err));
	struct fdctx c = {0};
	int p[2], q[2];

	(void)state;
	assert_non_null(ev);
	assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	assert_int_equal(ev_fd_set(ev, p[0], EV_READ, on_fd, &c), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	ev_fd_forget(ev, p[0]);
	assert_int_equal(ev_fd_get(ev, p[0]), EV_NONE);
	close(p[0]);
	/* the lowest free number is p[0] again: registering it must be a fresh ADD that succeeds */
	assert_int_equal(pipe2(q, O_CLOEXEC | O_NONBLOCK), 0);
	assert_int_equal(q[0], p[0]);
	assert_int_equal(ev_fd_set(ev, q[0], EV_READ, on_fd, &c), 0);
	ev_run_once(ev, 20);
	assert_int_equal(c.reads, 0); /* nothing of the old pipe reaches the new owner */
	assert_int_equal(write(q[1], "new", 3), 3);
	ev_run_once(ev, 100);
	assert_int_equal(c.reads, 1);
	assert_string_equal(c.got, "new");
	ev_fd_del(ev, q[0]);
	close(q[0]);
	close(q[1]);
	close(p[1]);
	ev_free(ev);
}

static void on_listen(struct ev *ev, int fd, int mask, void *arg)
{
	int *accepted = arg, c;

	(void)ev;
	if (mask & EV_READ) {
		c = accept(fd, NULL, NULL);
		if (c >= 0) {
			close(c);
			(*accepted)++;
		}
	}
}

/* Connects to sin and runs both loops until one accepted (bounded); returns how many accepted in all. */
static int connect_and_run(const struct sockaddr_in *sin, struct ev *a, struct ev *b, int *acc_a, int *acc_b)
{
	int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), before = *acc_a + *acc_b, i;

	assert_int_equal(connect(c, (const struct sockaddr *)sin, sizeof(*sin)), 0);
	for (i = 0; i < 100 && *acc_a + *acc_b == before; i++) {
		ev_run_once(a, 2);
		ev_run_once(b, 2);
	}
	/* one more round each: a second loop must not find the same connection */
	ev_run_once(a, 0);
	ev_run_once(b, 0);
	close(c);
	return *acc_a + *acc_b - before;
}

/* A listening socket watched by two loops through dups, with EV_EXCLUSIVE: each connection is accepted
 * once, pausing (EV_NONE) silences a loop, and resuming re-adds the exclusive watch. */
static void exclusive_listener(void **state)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sin);
	char err[ERR_LEN];
	struct ev *a = ev_new(8, err, sizeof(err)), *b = ev_new(8, err, sizeof(err));
	int l, l2, acc_a = 0, acc_b = 0, k;

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(l, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(l, 16), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&sin, &len), 0);
	l2 = fcntl(l, F_DUPFD_CLOEXEC, 0);
	assert_true(l2 >= 0);
	assert_int_equal(ev_fd_set(a, l, EV_READ | EV_EXCLUSIVE, on_listen, &acc_a), 0);
	assert_int_equal(ev_fd_set(b, l2, EV_READ | EV_EXCLUSIVE, on_listen, &acc_b), 0);
	for (k = 0; k < 3; k++)
		assert_int_equal(connect_and_run(&sin, a, b, &acc_a, &acc_b), 1);
	/* loop a pauses: the next connection can only be b's */
	assert_int_equal(ev_fd_mask(a, l, EV_NONE), 0);
	acc_a = acc_b = 0;
	assert_int_equal(connect_and_run(&sin, a, b, &acc_a, &acc_b), 1);
	assert_int_equal(acc_a, 0);
	/* and resumes */
	assert_int_equal(ev_fd_mask(a, l, EV_READ | EV_EXCLUSIVE), 0);
	assert_int_equal(ev_fd_mask(b, l2, EV_NONE), 0);
	assert_int_equal(connect_and_run(&sin, a, b, &acc_a, &acc_b), 1);
	assert_int_equal(acc_a, 1);
	ev_fd_del(a, l);
	ev_fd_del(b, l2);
	close(l);
	close(l2);
	ev_free(a);
	ev_free(b);
}

static void stop_from_timer(struct ev *ev, struct ev_timer *t, void *arg)
{
	int *n = arg;

	if (++*n == 3)
		ev_stop(ev);
	else
		ev_timer_arm(ev, t, 1);
}

static void before(struct ev *ev, void *arg)
{
	(*(int *)arg)++;
}

static void run_and_stop(void **state)
{
	char err[ERR_LEN];
	struct ev *ev = ev_new(4, err, sizeof(err));
	struct ev_timer t;
	int n = 0, sleeps = 0;

	ev_timer_init(&t, stop_from_timer, &n);
	ev_timer_arm(ev, &t, 1);
	ev_set_before_sleep(ev, before, &sleeps);
	assert_int_equal(ev_run(ev), 0);
	assert_int_equal(n, 3);
	assert_true(sleeps >= 3);
	ev_free(ev);
}

static void on_wake(struct ev *ev, void *arg)
{
	(*(int *)arg)++;
	ev_stop(ev);
}

static void *waker(void *arg)
{
	usleep(20000);
	ev_wakeup(arg);
	ev_wakeup(arg);
	return NULL;
}

static void wakeup_from_thread(void **state)
{
	char err[ERR_LEN];
	struct ev *ev = ev_new(4, err, sizeof(err));
	pthread_t th;
	int woken = 0;

	ev_set_wakeup(ev, on_wake, &woken);
	assert_int_equal(pthread_create(&th, NULL, waker, ev), 0);
	ev_run(ev); /* no timer at all: only the wakeup can end this */
	pthread_join(th, NULL);
	assert_true(woken >= 1);
	assert_string_equal(ev_backend_name(), "epoll");
	ev_free(ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(timers_fire_in_order),
		cmocka_unit_test(many_timers),
		cmocka_unit_test(fd_events),
		cmocka_unit_test(fd_forget_then_reuse),
		cmocka_unit_test(exclusive_listener),
		cmocka_unit_test(run_and_stop),
		cmocka_unit_test(wakeup_from_thread),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

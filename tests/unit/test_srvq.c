/*
 * srvq: a server's slots and FIFO queue (runner/srvq.c): limits, FIFO hand-over, HAProxy's srv_queue log
 * positions, cancel racing a grant, maxqueue, redistribution, and slot accounting across threads.
 */
#include "api.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "srvq.h"

struct rec {
	struct srvq_wait w;
	int id;
	int notified;          /* times notify ran */
};

static int order[64], norder;

static void note(struct srvq_wait *w, void *arg)
{
	struct rec *r = arg;

	(void)w;
	r->notified++;
	if (norder < (int)ARRAY_SIZE(order))
		order[norder++] = r->id;
}

static void rec_init(struct rec *r, int id)
{
	memset(r, 0, sizeof(*r));
	r->id = id;
	r->w.notify = note;
	r->w.arg = r;
}

/* An empty queue, with no grant seen yet. */
static void start(struct srvq *q)
{
	norder = 0;
	srvq_init(q);
}

/* n sessions that hold a slot leave: the count is back to 0 and the queue goes. */
static void release_all(struct srvq *q, int n)
{
	int i;

	for (i = 0; i < n; i++)
		srvq_release(q, 0);
	assert_int_equal(srvq_cur(q), 0);
	srvq_destroy(q);
}

/* n new sessions ask a queue of that limit (0: none) for a slot: the first `limit` get one, the rest wait */
static void take_n(struct srvq *q, struct rec *r, int n, int limit)
{
	int i;

	for (i = 0; i < n; i++) {
		rec_init(&r[i], i);
		assert_int_equal(srvq_take(q, limit, 0, &r[i].w), !limit || i < limit ? SRVQ_OK : SRVQ_WAIT);
	}
}

static void no_limit(void **state)
{
	struct srvq q;
	struct rec r[3];

	(void)state;
	srvq_init(&q);
	take_n(&q, r, 3, 0);
	assert_int_equal(srvq_cur(&q), 3);
	assert_int_equal(srvq_len(&q), 0);
	release_all(&q, 3);
}

/* maxconn 2, five sessions: two served, three wait; each release hands the slot to the oldest. */
static void fifo_and_positions(void **state)
{
	struct srvq q;
	struct rec r[5];
	int i;

	(void)state;
	start(&q);
	take_n(&q, r, 5, 2);
	assert_int_equal(srvq_cur(&q), 2);
	assert_int_equal(srvq_len(&q), 3);
	assert_int_equal(srvq_max(&q), 3);
	/* what a waiter would log if it left now: HAProxy counts itself */
	assert_int_equal(srvq_pos(&q, &r[2].w), 1);
	for (i = 0; i < 3; i++) {
		srvq_release(&q, 2);
		assert_int_equal(norder, i + 1);
		assert_int_equal(order[i], i + 2);
		assert_int_equal(r[i + 2].w.state, SRVQ_GRANTED);
		/* HAProxy's srv_queue: 1 for the first dequeued, then 2, 3 (dequeues while it waited) */
		assert_int_equal(r[i + 2].w.pos, i + 1);
		assert_int_equal(srvq_cur(&q), 2);
	}
	assert_int_equal(srvq_len(&q), 0);
	assert_int_equal(srvq_max(&q), 3);
	/* a slot is free and nobody waits: taken at once */
	srvq_release(&q, 2);
	rec_init(&r[0], 9);
	assert_int_equal(srvq_take(&q, 2, 0, &r[0].w), SRVQ_OK);
	srvq_release(&q, 2);
	srvq_release(&q, 2);
	assert_int_equal(srvq_cur(&q), 0);
	srvq_destroy(&q);
}

/* A waiter leaving (timeout, client gone) keeps the others' order; one granted just before it left
 * learns so and must give the slot back. */
static void cancel(void **state)
{
	struct srvq q;
	struct rec a, b, c, d;

	(void)state;
	start(&q);
	rec_init(&a, 1);
	rec_init(&b, 2);
	rec_init(&c, 3);
	rec_init(&d, 4);
	assert_int_equal(srvq_take(&q, 1, 0, &a.w), SRVQ_OK);
	assert_int_equal(srvq_take(&q, 1, 0, &b.w), SRVQ_WAIT);
	assert_int_equal(srvq_take(&q, 1, 0, &c.w), SRVQ_WAIT);
	assert_int_equal(srvq_take(&q, 1, 0, &d.w), SRVQ_WAIT);
	assert_true(srvq_cancel(&q, &c.w));         /* still queued: out, nothing to give back */
	assert_int_equal(c.w.state, SRVQ_IDLE);
	assert_int_equal(c.w.pos, 1);
	assert_int_equal(srvq_len(&q), 2);
	srvq_release(&q, 1);                        /* a's slot: to b */
	assert_int_equal(b.w.state, SRVQ_GRANTED);
	assert_false(srvq_cancel(&q, &b.w));        /* b gave up too late: it holds the slot */
	srvq_release(&q, 1);                        /* ... and gives it back: to d, not to c */
	assert_int_equal(d.w.state, SRVQ_GRANTED);
	assert_int_equal(c.notified, 0);
	assert_int_equal(norder, 2);
	assert_int_equal(order[0], 2);
	assert_int_equal(order[1], 4);
	srvq_release(&q, 1);
	assert_int_equal(srvq_cur(&q), 0);
	srvq_destroy(&q);
}

static void maxqueue_and_redistribute(void **state)
{
	struct srvq q;
	struct rec r[5];
	int i;

	(void)state;
	start(&q);
	for (i = 0; i < 5; i++)
		rec_init(&r[i], i);
	assert_int_equal(srvq_take(&q, 1, 2, &r[0].w), SRVQ_OK);
	assert_int_equal(srvq_take(&q, 1, 2, &r[1].w), SRVQ_WAIT);
	assert_int_equal(srvq_take(&q, 1, 2, &r[2].w), SRVQ_WAIT);
	assert_int_equal(srvq_take(&q, 1, 2, &r[3].w), SRVQ_FULL); /* maxqueue 2 */
	assert_int_equal(srvq_len(&q), 2);
	assert_int_equal(srvq_redistribute(&q), 2);
	assert_int_equal(srvq_len(&q), 0);
	assert_int_equal(r[1].w.state, SRVQ_REDISP);
	assert_int_equal(r[2].w.state, SRVQ_REDISP);
	assert_int_equal(norder, 2);
	assert_int_equal(srvq_cur(&q), 1);          /* a redistributed waiter got no slot */
	assert_false(srvq_cancel(&q, &r[1].w));
	srvq_release(&q, 1);
	assert_int_equal(srvq_cur(&q), 0);
	srvq_destroy(&q);
}

/* A raised limit (reload, slow-start step) or a removed one serves the waiters at once. */
static void kick(void **state)
{
	struct srvq q;
	struct rec r[4];

	(void)state;
	start(&q);
	take_n(&q, r, 4, 1);
	assert_int_equal(srvq_len(&q), 3);
	srvq_kick(&q, 2);
	assert_int_equal(norder, 1);
	assert_int_equal(srvq_cur(&q), 2);
	srvq_kick(&q, 0);
	assert_int_equal(norder, 3);
	assert_int_equal(srvq_cur(&q), 4);
	assert_int_equal(srvq_len(&q), 0);
	release_all(&q, 4);
}

/* Threads taking, waiting and releasing at once: never more than the limit hold a slot, every waiter is
 * served, and the count returns to 0. A grant is noted in the waiter; its thread waits for it on a
 * condition variable (no spinning). */
#define THREADS 4
#define ROUNDS 2000
#define LIMIT 3

struct shared {
	struct srvq q;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int holding, peak;
};

struct tw {
	struct srvq_wait w;
	struct shared *sh;
	bool granted;
};

static void mt_notify(struct srvq_wait *w, void *arg)
{
	struct tw *t = arg;

	(void)w;
	pthread_mutex_lock(&t->sh->mu);
	t->granted = true;
	pthread_cond_broadcast(&t->sh->cv);
	pthread_mutex_unlock(&t->sh->mu);
}

static void *mt_run(void *arg)
{
	struct shared *sh = arg;
	int i;

	for (i = 0; i < ROUNDS; i++) {
		struct tw t;

		memset(&t, 0, sizeof(t));
		t.sh = sh;
		t.w.notify = mt_notify;
		t.w.arg = &t;
		if (srvq_take(&sh->q, LIMIT, 0, &t.w) == SRVQ_WAIT) {
			pthread_mutex_lock(&sh->mu);
			while (!t.granted)
				pthread_cond_wait(&sh->cv, &sh->mu);
			pthread_mutex_unlock(&sh->mu);
		}
		pthread_mutex_lock(&sh->mu);
		sh->holding++;
		if (sh->holding > sh->peak)
			sh->peak = sh->holding;
		pthread_mutex_unlock(&sh->mu);
		pthread_mutex_lock(&sh->mu);
		sh->holding--;
		pthread_mutex_unlock(&sh->mu);
		srvq_release(&sh->q, LIMIT);
	}
	return NULL;
}

static void threads(void **state)
{
	static struct shared sh;
	pthread_t t[THREADS];
	int i;

	(void)state;
	memset(&sh, 0, sizeof(sh));
	srvq_init(&sh.q);
	pthread_mutex_init(&sh.mu, NULL);
	pthread_cond_init(&sh.cv, NULL);
	for (i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, mt_run, &sh), 0);
	for (i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	assert_true(sh.peak <= LIMIT);
	assert_int_equal(srvq_cur(&sh.q), 0);
	assert_int_equal(srvq_len(&sh.q), 0);
	pthread_cond_destroy(&sh.cv);
	pthread_mutex_destroy(&sh.mu);
	srvq_destroy(&sh.q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(no_limit),
		cmocka_unit_test(fifo_and_positions),
		cmocka_unit_test(cancel),
		cmocka_unit_test(maxqueue_and_redistribute),
		cmocka_unit_test(kick),
		cmocka_unit_test(threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

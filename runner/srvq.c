/*
 * srvq: a server's slots and FIFO queue (see srvq.h). Reference: HAProxy 2.6 src/queue.c
 * (pendconn_add, process_srv_queue, pendconn_unlink, pendconn_redistribute), described in our words in
 * docs/haproxy-semantics.md §9.
 */
#include "api.h"

#include <string.h>

#include "srvq.h"

void srvq_init(struct srvq *q)
{
	memset(q, 0, sizeof(*q));
	pthread_mutex_init(&q->mu, NULL);
}

void srvq_destroy(struct srvq *q)
{
	BUG_ON(q->head != NULL);
	pthread_mutex_destroy(&q->mu);
}

static void unlink_w(struct srvq *q, struct srvq_wait *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		q->head = w->next;
	if (w->next)
		w->next->prev = w->prev;
	else
		q->tail = w->prev;
	w->prev = w->next = NULL;
	__atomic_fetch_sub(&q->len, 1, __ATOMIC_RELAXED);
	/* HAProxy counts the dequeues that happened while it waited, its own included */
	w->pos = __atomic_load_n(&q->idx, __ATOMIC_RELAXED) - w->pos0;
}

/* Gives free slots to the oldest waiters. Lock held. */
static void grant(struct srvq *q, unsigned eff)
{
	while (q->head && (eff == 0 || __atomic_load_n(&q->cur, __ATOMIC_RELAXED) < eff)) {
		struct srvq_wait *w = q->head;

		unlink_w(q, w);
		__atomic_fetch_add(&q->idx, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&q->cur, 1, __ATOMIC_RELAXED);
		w->state = SRVQ_GRANTED;
		if (w->notify)
			w->notify(w, w->arg);
	}
}

enum srvq_res srvq_take(struct srvq *q, unsigned eff, unsigned maxqueue, struct srvq_wait *w)
{
	enum srvq_res res;
	unsigned len, old;

	w->state = SRVQ_IDLE;
	w->pos = 0;
	if (eff == 0) {
		__atomic_fetch_add(&q->cur, 1, __ATOMIC_RELAXED);
		return SRVQ_OK;
	}
	pthread_mutex_lock(&q->mu);
	/* a free slot goes to the oldest waiter first: joining behind them keeps the order */
	if (!q->head && __atomic_load_n(&q->cur, __ATOMIC_RELAXED) < eff) {
		__atomic_fetch_add(&q->cur, 1, __ATOMIC_RELAXED);
		res = SRVQ_OK;
	} else if (maxqueue && __atomic_load_n(&q->len, __ATOMIC_RELAXED) >= maxqueue) {
		res = SRVQ_FULL;
	} else {
		w->prev = q->tail;
		w->next = NULL;
		if (q->tail)
			q->tail->next = w;
		else
			q->head = w;
		q->tail = w;
		w->state = SRVQ_QUEUED;
		w->pos0 = __atomic_load_n(&q->idx, __ATOMIC_RELAXED) - 1;
		len = __atomic_add_fetch(&q->len, 1, __ATOMIC_RELAXED);
		old = __atomic_load_n(&q->qmax, __ATOMIC_RELAXED);
		if (len > old)
			__atomic_store_n(&q->qmax, len, __ATOMIC_RELAXED); /* writers hold the lock */
		res = SRVQ_WAIT;
	}
	pthread_mutex_unlock(&q->mu);
	return res;
}

void srvq_release(struct srvq *q, unsigned eff)
{
	/* no limit and nobody waiting: the lock-free path. A limit that appears concurrently (a reload) is
	 * followed by srvq_kick, so no waiter is forgotten. */
	if (eff == 0 && __atomic_load_n(&q->len, __ATOMIC_ACQUIRE) == 0) {
		__atomic_fetch_sub(&q->cur, 1, __ATOMIC_RELAXED);
		return;
	}
	pthread_mutex_lock(&q->mu);
	__atomic_fetch_sub(&q->cur, 1, __ATOMIC_RELAXED);
	grant(q, eff);
	pthread_mutex_unlock(&q->mu);
}

void srvq_kick(struct srvq *q, unsigned eff)
{
	if (__atomic_load_n(&q->len, __ATOMIC_ACQUIRE) == 0)
		return;
	pthread_mutex_lock(&q->mu);
	grant(q, eff);
	pthread_mutex_unlock(&q->mu);
}

bool srvq_cancel(struct srvq *q, struct srvq_wait *w)
{
	bool queued;

	pthread_mutex_lock(&q->mu);
	queued = w->state == SRVQ_QUEUED;
	if (queued) {
		unlink_w(q, w);
		w->state = SRVQ_IDLE;
	}
	pthread_mutex_unlock(&q->mu);
	return queued;
}

unsigned srvq_redistribute(struct srvq *q)
{
	unsigned n = 0;

	pthread_mutex_lock(&q->mu);
	while (q->head) {
		struct srvq_wait *w = q->head;

		unlink_w(q, w);
		w->state = SRVQ_REDISP;
		if (w->notify)
			w->notify(w, w->arg);
		n++;
	}
	pthread_mutex_unlock(&q->mu);
	return n;
}

uint64_t srvq_cur(const struct srvq *q)
{
	return __atomic_load_n(&q->cur, __ATOMIC_RELAXED);
}

unsigned srvq_len(const struct srvq *q)
{
	return __atomic_load_n(&q->len, __ATOMIC_RELAXED);
}

unsigned srvq_max(const struct srvq *q)
{
	return __atomic_load_n(&q->qmax, __ATOMIC_RELAXED);
}

unsigned srvq_pos(const struct srvq *q, const struct srvq_wait *w)
{
	return __atomic_load_n(&q->idx, __ATOMIC_RELAXED) - w->pos0;
}

/*
 * srvq: a server's connection slots and its FIFO queue of waiting sessions, HAProxy 2.6's per-server
 * `maxconn` / `maxqueue` (docs/haproxy-semantics.md §9 says what is mirrored and how).
 *
 * A session assigned to a server takes a slot (srvq_take): at once when the server is below its
 * effective maxconn and nobody waits, else it joins the tail of the queue, or is refused when the queue
 * holds maxqueue. A session that ends gives its slot back (srvq_release), and the released slot goes to
 * the oldest waiter, on whatever worker thread that waiter lives: its notify callback runs, under the
 * queue's lock, to hand it the news. A waiter that gives up (queue timeout, client gone) leaves with
 * srvq_cancel, which tells whether a slot was granted to it meanwhile. When its server leaves the
 * load-balanced set, srvq_redistribute empties the queue, telling every waiter to pick again (HAProxy's
 * pendconn_redistribute under `option redispatch`).
 *
 * The effective limit is the caller's (srv_eff_maxconn() in the daemon: maxconn, or a slow-start ramp of
 * it); 0 means no limit. A server without a limit never takes the lock: its slots are one atomic counter.
 *
 * Locking: one mutex per server; notify runs with it held and may take (only) a worker's mailbox lock, so
 * the order is always queue lock, then mailbox lock. Counters readable without the lock are atomics.
 */
#ifndef RECHECKD_SRVQ_H
#define RECHECKD_SRVQ_H

#include "api.h"

#include <pthread.h>

enum srvq_state {
	SRVQ_IDLE = 0,   /* not queued (never was, or left) */
	SRVQ_QUEUED,     /* waiting in the queue */
	SRVQ_GRANTED,    /* a slot was given to it (counted in cur); the owner has not yet seen it */
	SRVQ_REDISP,     /* taken out by srvq_redistribute; the owner must pick again */
};

struct srvq_wait;
/* Called with the queue's lock held when w leaves the queue for a reason its owner did not cause. */
typedef void (*srvq_notify_cb)(struct srvq_wait *w, void *arg);

/* One waiting session; embedded in it and owned by its thread. */
struct srvq_wait {
	struct srvq_wait *prev, *next;  /* in the queue while QUEUED */
	int state;                      /* enum srvq_state; written under the queue lock */
	unsigned pos0;                  /* the queue's dequeue count when it joined, minus 1 */
	unsigned pos;                   /* HAProxy's srv_queue log field: dequeued before it, itself included */
	srvq_notify_cb notify;
	void *arg;
};

struct srvq {
	pthread_mutex_t mu;
	struct srvq_wait *head, *tail;  /* FIFO: head is the oldest */
	uint64_t cur;                   /* atomic: slots held (the server's scur) */
	unsigned len;                   /* atomic: sessions queued (qcur) */
	unsigned qmax;                  /* atomic: highest len ever (qmax) */
	unsigned idx;                   /* atomic: sessions ever dequeued with a slot (log positions) */
};

enum srvq_res {
	SRVQ_OK = 0,     /* a slot is held */
	SRVQ_WAIT,       /* queued: notify will say when */
	SRVQ_FULL,       /* maxqueue reached: neither slot nor place */
};

void srvq_init(struct srvq *q);
void srvq_destroy(struct srvq *q);
/* Takes a slot under limit eff (0: none), or queues w (at most maxqueue waiting, 0: no limit). */
enum srvq_res srvq_take(struct srvq *q, unsigned eff, unsigned maxqueue, struct srvq_wait *w);
/* Gives a slot back; the oldest waiters get what is free under eff. */
void srvq_release(struct srvq *q, unsigned eff);
/* Hands free slots under eff to waiters (eff was raised: a reload, a slow-start step). */
void srvq_kick(struct srvq *q, unsigned eff);
/*
 * The owner gives up waiting: true when w was still queued (it is now out, pos set); false when a slot
 * was already granted (the caller holds it and must srvq_release it) or it was redistributed.
 */
bool srvq_cancel(struct srvq *q, struct srvq_wait *w);
/* Takes every waiter out with state SRVQ_REDISP; returns how many. */
unsigned srvq_redistribute(struct srvq *q);
/* Current slots and queue length (any thread). */
uint64_t srvq_cur(const struct srvq *q);
unsigned srvq_len(const struct srvq *q);
unsigned srvq_max(const struct srvq *q);
/* What w's srv_queue log field would be if it left now (any thread; w queued). */
unsigned srvq_pos(const struct srvq *q, const struct srvq_wait *w);

#endif

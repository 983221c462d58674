/*
 * fe_queue: a session and its server's maxconn: taking a slot, waiting in the server's FIFO queue
 * (runner/srvq.c), `timeout queue`, a client leaving while it waits, redistribution when the server
 * leaves the balancer, and the queue-time averages of `show stat` (qtime). HAProxy 2.6's semantics,
 * docs/haproxy-semantics.md §9.
 *
 * Threads: a session lives on one worker. A slot released on any thread is granted, under the server's
 * queue lock, to the oldest waiter, whose worker learns of it through its mailbox (w->qready, a list
 * under w->mu) and a wakeup; the session then connects on its own thread.
 */
#include "api.h"

#include <string.h>

#include "daemon.h"
#include "dlog.h"
#include "ev.h"
#include "frontend_priv.h"
#include "lb.h"
#include "relay.h"
#include "server.h"
#include "util.h"

/* HAProxy's TIME_STATS_SAMPLES: the averages of show stat's time columns slide over this many sessions. */
#define QTIME_SAMPLES 512

unsigned srv_eff_maxconn(const struct rserver *s, uint64_t now)
{
	unsigned m = __atomic_load_n(&s->maxconn, __ATOMIC_RELAXED);

	/* HAProxy's srv_dynamic_maxconn(): while a server warms up (slowstart), maxconn * the warm-up ratio,
	 * at least 1. As in HAProxy a rising ramp frees no waiter by itself: the next session that ends does. */
	return m ? srv_warmup_maxconn(&s->srv, m, now) : 0;
}

/* --- the mailbox --------------------------------------------------------------------------------------- */

/* srvq's notify: s's wait ended (a slot, or pick again); tell its worker. Queue lock held. */
static void on_notify(struct srvq_wait *qw, void *arg)
{
	struct session *s = arg;
	struct worker *w = s->w;

	(void)qw;
	pthread_mutex_lock(&w->mu);
	s->rprev = NULL;
	s->rnext = w->qready;
	if (w->qready)
		w->qready->rprev = s;
	w->qready = s;
	s->in_ready = true;
	pthread_mutex_unlock(&w->mu);
	ev_wakeup(w->ev);
}

static void ready_unlink(struct worker *w, struct session *s)
{
	pthread_mutex_lock(&w->mu);
	if (s->in_ready) {
		if (s->rprev)
			s->rprev->rnext = s->rnext;
		else
			w->qready = s->rnext;
		if (s->rnext)
			s->rnext->rprev = s->rprev;
		s->rprev = s->rnext = NULL;
		s->in_ready = false;
	}
	pthread_mutex_unlock(&w->mu);
}

/* --- slots ----------------------------------------------------------------------------------------------- */

static void got_slot(struct session *s)
{
	s->slot = true;
	s->queued = false;
	s->tw_ms = (int64_t)(ev_now(s->w->ev) - s->start_ms);
}

/* Ends s before any connect: with qend set, the log says xQ and nothing counts as a connect error. */
static void end_in_queue(struct session *s, char qend)
{
	s->qend = qend;
	if (qend == 's' || qend == 'S') {
		/* HAProxy counts a queue timeout or a full queue as a failed connection (econ) */
		__atomic_fetch_add(&s->sv->conn_errors, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&s->li->conn_errors, 1, __ATOMIC_RELAXED);
	}
	if (s->tw_ms < 0)
		s->tw_ms = (int64_t)(ev_now(s->w->ev) - s->start_ms);
	relay_end(&s->relay, RELAY_END_CONNECT); /* frees s */
}

void feq_assign(struct session *s)
{
	struct rserver *sv = s->sv;
	struct listener *li = s->li;
	unsigned eff = srv_eff_maxconn(sv, ev_now(s->w->ev));

	s->qw.notify = on_notify;
	s->qw.arg = s;
	switch (srvq_take(&sv->q, eff, __atomic_load_n(&sv->maxqueue, __ATOMIC_RELAXED), &s->qw)) {
	case SRVQ_OK:
		got_slot(s);
		fe_attempt(s); /* may end and free s */
		return;
	case SRVQ_FULL:
		dlog_debug("%s/%s: maxqueue reached, client closed", li->name, sv->srv.name);
		end_in_queue(s, 'S');
		return;
	case SRVQ_WAIT:
		break;
	}
	s->queued = true;
	/* no server yet: `timeout server` does not run while waiting, `timeout queue` does */
	relay_set_server_timeout(&s->relay, 0);
	ev_timer_arm(s->w->ev, &s->ctimer, li->timeout_queue);
	dlog_debug("%s/%s: %u/%u slots busy, session queued (%u waiting)", li->name, sv->srv.name,
		   (unsigned)srvq_cur(&sv->q), eff, srvq_len(&sv->q));
}

void feq_session_gone(struct session *s)
{
	struct rserver *sv = s->sv;

	if (s->queued) {
		s->queued = false;
		if (!srvq_cancel(&sv->q, &s->qw)) {
			/* granted or redistributed meanwhile: it sits in our mailbox */
			ready_unlink(s->w, s);
			if (s->qw.state == SRVQ_GRANTED)
				s->slot = true;
		}
		s->srv_queue += s->qw.pos;
		s->qw.pos = 0;
		s->qw.state = SRVQ_IDLE;
	}
	if (s->slot) {
		s->slot = false;
		srvq_release(&sv->q, srv_eff_maxconn(sv, ev_now(s->w->ev)));
	}
}

void feq_timeout(struct session *s)
{
	dlog_debug("%s/%s: timeout queue, client closed", s->li->name, s->sv->srv.name);
	s->tw_ms = (int64_t)(ev_now(s->w->ev) - s->start_ms);
	feq_session_gone(s); /* may find a slot granted at the last moment: it goes to the next waiter */
	end_in_queue(s, 's');
}

/* s's server left the balancer while s waited: pick again, as HAProxy does after pendconn_redistribute. */
static void repick(struct session *s)
{
	struct listener *li = s->li;
	struct rserver *prev = s->sv, *next;
	struct server *pick = lb_pick_key(li->lb, s->key);

	if (!pick) {
		s->nosrv = true;
		__atomic_fetch_add(&li->conn_errors, 1, __ATOMIC_RELAXED);
		dlog_warn("%s: no server available for a session requeued from %s", li->name, prev->srv.name);
		relay_end(&s->relay, RELAY_END_CONNECT); /* frees s; logged SC <NOSRV> */
		return;
	}
	next = container_of(pick, struct rserver, srv);
	if (next != prev) {
		/* HAProxy counts the move as a redispatch of the server it left */
		__atomic_fetch_add(&prev->redispatches, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&li->redispatches, 1, __ATOMIC_RELAXED);
		s->redispatched = true;
		fe_switch_server(s, next);
	}
	feq_assign(s);
}

void feq_take_ready(struct worker *w)
{
	unsigned n;

	/* bounded: each round takes what was there; new grants wake the loop again */
	for (n = 0; n < 4096; n++) {
		struct session *s;

		pthread_mutex_lock(&w->mu);
		s = w->qready;
		if (s) {
			w->qready = s->rnext;
			if (w->qready)
				w->qready->rprev = NULL;
			s->rnext = s->rprev = NULL;
			s->in_ready = false;
		}
		pthread_mutex_unlock(&w->mu);
		if (!s)
			return;
		ev_timer_stop(w->ev, &s->ctimer);
		s->srv_queue += s->qw.pos;
		s->qw.pos = 0;
		if (s->qw.state == SRVQ_GRANTED) {
			s->qw.state = SRVQ_IDLE;
			got_slot(s);
			relay_set_server_timeout(&s->relay, s->li->rconf.timeout_server);
			fe_attempt(s); /* may end and free s */
		} else {
			s->qw.state = SRVQ_IDLE;
			s->queued = false;
			repick(s);
		}
	}
	ev_wakeup(w->ev);
}

/* --- main thread ------------------------------------------------------------------------------------------ */

unsigned daemon_queue_redistribute(struct listener *li, struct rserver *s)
{
	unsigned n;

	if (!li->redispatch || srvq_len(&s->q) == 0)
		return 0;
	n = srvq_redistribute(&s->q);
	if (n)
		dlog_notice("%s/%s: %u queued session%s redispatched", li->name, s->srv.name, n, n == 1 ? "" : "s");
	return n;
}

void daemon_queue_kick(struct rserver *s)
{
	srvq_kick(&s->q, srv_eff_maxconn(s, now_ms()));
}

/* --- qtime ----------------------------------------------------------------------------------------------- */

/* HAProxy's swrate_add_dynamic: a sliding sum that forgets 1/n of itself per sample once n is reached. */
static void swrate_add(unsigned *sum, uint64_t total, unsigned v)
{
	unsigned n = total > QTIME_SAMPLES ? QTIME_SAMPLES : 0, old = __atomic_load_n(sum, __ATOMIC_RELAXED), nsum;

	do {
		nsum = old - (n ? (old + n - 1) / n : 0) + v;
	} while (!__atomic_compare_exchange_n(sum, &old, nsum, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
}

static void update_max(unsigned *m, unsigned v)
{
	unsigned old = __atomic_load_n(m, __ATOMIC_RELAXED);

	while (v > old && !__atomic_compare_exchange_n(m, &old, v, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

unsigned daemon_qtime_avg(unsigned sum, uint64_t total)
{
	unsigned n = total > 0 && total < QTIME_SAMPLES ? (unsigned)total : QTIME_SAMPLES;

	return (unsigned)(((uint64_t)sum + n - 1) / n);
}

void feq_time_stats(struct session *s)
{
	unsigned q = s->tw_ms > 0 ? (unsigned)s->tw_ms : 0;

	swrate_add(&s->sv->qtime_sum, __atomic_load_n(&s->sv->lb_total, __ATOMIC_RELAXED), q);
	update_max(&s->sv->qtime_max, q);
	swrate_add(&s->li->qtime_sum, __atomic_load_n(&s->li->lb_total, __ATOMIC_RELAXED), q);
	update_max(&s->li->qtime_max, q);
}

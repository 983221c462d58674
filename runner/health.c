/*
 * health: the health checker on the main ev loop (see health.h). The socket work of a run is done by
 * check_io.c, the same driver `recheck replay` uses (through checknet.c's poll() loop); here each action
 * either completes at once or registers the readiness check_io asks for and returns to the loop.
 */
#include "api.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "check_io.h"
#include "daemon.h"
#include "dlog.h"
#include "ev.h"
#include "health.h"
#include "net.h"
#include "recipe.h"
#include "server.h"
#include "util.h"

struct health_sched {
	struct daemon *d;
	struct health *all;           /* doubly linked list of every state */
	struct health *qhead, *qtail; /* checks due but waiting for a slot */
	unsigned running;             /* checks in progress */
	unsigned queued;
	bool kicking;                 /* kick_queue() is running (a check it starts may end at once) */
	uint64_t rnd;                 /* xorshift state for the spread jitter */
	char local_why[ERR_LEN];      /* the last local failure logged, and when, and how many since */
	uint64_t local_logged_ms;
	unsigned local_unlogged;
};

static void on_timer(struct ev *ev, struct ev_timer *t, void *arg);
static void on_io(struct ev *ev, int fd, int mask, void *arg);
static void step(struct health *h);
static void start_check(struct health *h);

static uint64_t rnd_next(struct health_sched *hs)
{
	uint64_t x = hs->rnd;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	hs->rnd = x;
	return x;
}

/* ---- states ------------------------------------------------------------------------------------- */

static struct health *health_attach(struct health_sched *hs, struct listener *li, struct rserver *s)
{
	struct health *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->hs = hs;
	h->s = s;
	rserver_ref(s);
	h->li = li;
	check_io_init(&h->conn);
	h->status = CHECK_INI;
	h->step = -1;
	h->connect_us = h->tls_us = h->ttfb_us = -1;
	h->rcp_stale = true;
	ev_timer_init(&h->timer, on_timer, h);
	h->next = hs->all;
	if (hs->all)
		hs->all->prev = h;
	hs->all = h;
	s->health = h;
	return h;
}

/* Closes the check connection (check_io_close(): RST unless linger). */
static void close_conn(struct health *h, bool linger)
{
	if (h->conn.fd == -1)
		return;
	/* the socket is ours alone (SOCK_CLOEXEC, no fork): close() takes it out of the epoll set, and an
	 * EPOLL_CTL_DEL first would only cost a syscall per check */
	ev_fd_forget(h->hs->d->ev, h->conn.fd);
	check_io_close(&h->conn, linger);
}

static void dequeue(struct health_sched *hs, struct health *h)
{
	struct health **pp, *prev = NULL;

	if (!h->queued)
		return;
	for (pp = &hs->qhead; *pp; prev = *pp, pp = &(*pp)->qnext) {
		if (*pp == h) {
			*pp = h->qnext;
			if (hs->qtail == h)
				hs->qtail = prev;
			break;
		}
	}
	h->qnext = NULL;
	h->queued = false;
	hs->queued--;
}

/* Starts queued checks while slots are free. */
static void kick_queue(struct health_sched *hs)
{
	/* A check started here can end at once (refused, or a local failure with the fd table full) and
	 * call back in: the loop below already takes the slot it frees, so do not recurse, once per queued
	 * check, down the stack. */
	if (hs->kicking)
		return;
	hs->kicking = true;
	while (hs->qhead && hs->running < HEALTH_MAX_RUNNING) {
		struct health *h = hs->qhead;

		dequeue(hs, h);
		start_check(h);
	}
	hs->kicking = false;
}

/* Cancels whatever h is doing (socket closed with RST) and frees it. */
static void health_detach(struct health *h)
{
	struct health_sched *hs = h->hs;

	ev_timer_stop(hs->d->ev, &h->timer);
	dequeue(hs, h);
	if (h->running) {
		close_conn(h, false);
		check_run_free(&h->run);
		h->running = false;
		hs->running--;
	}
	if (h->prev)
		h->prev->next = h->next;
	else
		hs->all = h->next;
	if (h->next)
		h->next->prev = h->prev;
	if (h->s->health == h)
		h->s->health = NULL;
	rserver_unref(h->s);
	recipe_free(h->rcp);
	free(h);
}

/* ---- scheduling --------------------------------------------------------------------------------- */

/* The next interval from the server's state, with the spread jitter (HAProxy: +/- inter * spread%). */
static uint64_t next_interval(struct health *h)
{
	uint64_t inter = server_next_inter(&h->s->srv);
	int spread = h->s->conf ? h->s->conf->check.spread : 0;

	if (spread > 0 && inter > 0) {
		uint64_t r = inter * (uint64_t)spread / 100;
		uint64_t off = r ? rnd_next(h->hs) % (2 * r + 1) : 0;

		inter = inter + off - r; /* off - r is in [-r, +r]; r <= inter / 2 keeps it positive */
	}
	return inter ? inter : 1;
}

/*
 * Check starts sit on a HEALTH_GRID_MS grid, rounded to the nearest point (so at most half of it early or
 * late, with no drift): checks due close together start in the same loop round, and their connects and
 * answers come back in shared poller rounds. With thousands of servers that removes about a third of the
 * wakeups and context switches, which cost more than the checks' own syscalls. Intervals under
 * HEALTH_GRID_MIN_MS (fast failover, tests) keep their exact timing.
 */
#define HEALTH_GRID_MS 20
#define HEALTH_GRID_MIN_MS 200

static void schedule(struct health *h, uint64_t delay)
{
	struct ev *ev = h->hs->d->ev;
	uint64_t when = ev_now(ev) + delay;

	if (delay >= HEALTH_GRID_MIN_MS)
		when = (when + HEALTH_GRID_MS / 2) / HEALTH_GRID_MS * HEALTH_GRID_MS;
	ev_timer_arm_at(ev, &h->timer, when);
}

/* ---- results ------------------------------------------------------------------------------------ */

static void copy_str(char *dst, size_t dstlen, const char *src)
{
	snprintf(dst, dstlen, "%s", src ? src : "");
}

static void record_transition(struct health *h, const struct server_status *st)
{
	struct health_trans *t = &h->trans[h->trans_head];

	t->at_ms = ev_now(h->hs->d->ev);
	t->from = st->old_state;
	t->to = st->new_state;
	t->status = h->status;
	t->step = h->step;
	copy_str(t->kind, sizeof(t->kind), h->kind);
	copy_str(t->comment, sizeof(t->comment), h->comment);
	copy_str(t->desc, sizeof(t->desc), h->desc);
	h->trans_head = (h->trans_head + 1) % STATS_TRANSITIONS;
	if (h->ntrans < STATS_TRANSITIONS)
		h->ntrans++;
	if (st->new_state == SRV_ST_STOPPED)
		h->to_down++;
	else if (st->old_state == SRV_ST_STOPPED)
		h->to_up++;
}

/*
 * Stores a result and feeds it to the daemon. status/step/kind/comment/desc describe it; rx (may be
 * NULL) is what the failing step had received.
 */
static void conclude(struct health *h, enum check_status status, int step, const char *kind, const char *comment,
		     const char *desc, const unsigned char *rx, size_t rxlen, size_t rxtotal)
{
	struct health_sched *hs = h->hs;
	enum check_verdict v = check_status_verdict(status);
	enum srv_check_res res = v == CHECK_RES_PASSED ? SRV_CHK_PASSED
				 : v == CHECK_RES_CONDPASS ? SRV_CHK_CONDPASS : SRV_CHK_FAILED;
	uint64_t us = now_us(), dur_us = us > h->start_us ? us - h->start_us : 0;
	double secs = (double)dur_us / 1e6;
	struct server_status st;
	char reason[CHECK_DESC_LEN + EXPLAIN_LEN + 128];
	size_t i;

	h->ran = true;
	h->local_why[0] = '\0';
	h->status = status;
	h->step = res == SRV_CHK_FAILED ? step : -1;
	copy_str(h->kind, sizeof(h->kind), res == SRV_CHK_FAILED ? kind : NULL);
	copy_str(h->comment, sizeof(h->comment), res == SRV_CHK_FAILED ? comment : NULL);
	copy_str(h->desc, sizeof(h->desc), desc);
	h->dur_ms = dur_us / 1000;
	h->connect_us = h->tls_us = h->ttfb_us = -1;
	h->tls_reason = TLS_R_NONE;
	h->end_ms = ev_now(hs->d->ev);
	h->rxtotal = res == SRV_CHK_FAILED ? rxtotal : 0;
	h->rx_preview[0] = '\0';
	/* What a server answered is not a secret of ours, but a recipe that carries credentials may make
	 * a proxy echo them back (error pages): show nothing for those. */
	if (res == SRV_CHK_FAILED && rx && rxlen && !(h->rcp && recipe_has_secret(h->rcp)))
		check_str_escape(h->rx_preview, sizeof(h->rx_preview), rx, MIN(rxlen, (size_t)HEALTH_RX_PREVIEW));
	/* what those bytes mean, when the recipe's protocol is known (codes and reason phrases only) */
	h->explain[0] = '\0';
	if (res == SRV_CHK_FAILED && rx && rxlen && h->rcp)
		explain_reply(h->rcp->protocol, rx, rxlen, h->explain, sizeof(h->explain));
	if (res == SRV_CHK_PASSED)
		h->npassed++;
	else if (res == SRV_CHK_CONDPASS)
		h->ncondpass++;
	else
		h->nfailed++;
	for (i = 0; i < STATS_DUR_BUCKETS && secs > stats_dur_bounds[i]; i++)
		;
	h->buckets[i]++;
	h->dur_sum += secs;

	/* HAProxy's log-health-checks wording: reason, info, check duration */
	snprintf(reason, sizeof(reason), "%s%s%s%s%s%s, check duration: %llums", check_status_desc(status),
		 desc && *desc ? ", info: \"" : "", desc && *desc ? desc : "", h->explain[0] ? "; " : "", h->explain,
		 desc && *desc ? "\"" : "", (unsigned long long)h->dur_ms);
	st = daemon_check_result(hs->d, h->li, h->s, res, reason);
	if (st.changed)
		record_transition(h, &st);
	dlog_debug("health check %s/%s: %s (%s), health %d/%d", h->li->name, h->s->srv.name, check_status_str(status),
		   desc && *desc ? desc : "-", h->s->srv.health, h->s->srv.check.rise + h->s->srv.check.fall - 1);
}

/* The run concluded: close, report, schedule the next one from now (the end of this one). */
static void finish(struct health *h, bool linger)
{
	struct health_sched *hs = h->hs;
	const struct check_result *r = &h->run.res;

	close_conn(h, linger);
	ev_timer_stop(hs->d->ev, &h->timer);
	h->running = false;
	hs->running--;
	conclude(h, r->status, r->step, r->kind, r->comment, r->desc, r->rx, r->rxlen, r->rxtotal);
	h->connect_us = r->connect_us;
	h->tls_us = r->tls_us;
	h->ttfb_us = r->ttfb_us;
	h->tls_reason = r->status == CHECK_L6RSP ? r->tls_reason : TLS_R_NONE;
	check_run_free(&h->run);
	schedule(h, next_interval(h));
	kick_queue(hs);
}

/*
 * A run that failed locally (check_io_err_is_local(), or the loop cannot watch the socket): no verdict,
 * the server's health stays as it was (relayd's HCE_TCP_SOCKET_LIMIT). Logged when the reason changes,
 * else at most every HEALTH_LOCAL_LOG_MS with the count in between: a full fd table must not write one
 * line per check of every server.
 */
#define HEALTH_LOCAL_LOG_MS 10000
static void abandon(struct health *h, const char *why)
{
	struct health_sched *hs = h->hs;
	uint64_t now;

	if (h->running) {
		close_conn(h, false);
		ev_timer_stop(hs->d->ev, &h->timer);
		check_run_free(&h->run);
		h->running = false;
		hs->running--;
	}
	h->nlocal++;
	copy_str(h->local_why, sizeof(h->local_why), why);
	now = ev_now(hs->d->ev);
	if (strcmp(hs->local_why, why) != 0 || now - hs->local_logged_ms >= HEALTH_LOCAL_LOG_MS) {
		if (hs->local_unlogged)
			dlog_err("health check %s/%s: not run: %s (a local failure, not counted against the server; "
				 "%u more since the last such line)", h->li->name, h->s->srv.name, why,
				 hs->local_unlogged);
		else
			dlog_err("health check %s/%s: not run: %s (a local failure, not counted against the server)",
				 h->li->name, h->s->srv.name, why);
		copy_str(hs->local_why, sizeof(hs->local_why), why);
		hs->local_logged_ms = now;
		hs->local_unlogged = 0;
	} else {
		hs->local_unlogged++;
	}
	schedule(h, next_interval(h));
	kick_queue(hs);
}

static void abandon_io(struct health *h)
{
	char why[ERR_LEN];

	abandon(h, check_io_local_str(&h->conn, why, sizeof(why)));
}

/* Registers the readiness check_io waits for; CIO_LOCAL when the loop cannot watch the socket. */
static enum cio_want watch(struct health *h, enum cio_want w)
{
	if (w != CIO_WANT_READ && w != CIO_WANT_WRITE)
		return w;
	if (ev_fd_set(h->hs->d->ev, h->conn.fd, w == CIO_WANT_READ ? EV_READ : EV_WRITE, on_io, h) == -1) {
		h->conn.local_op = "epoll_ctl";
		h->conn.local_err = errno;
		return CIO_LOCAL;
	}
	return w;
}

/* Runs the engine until it needs the network or concludes. */
static void step(struct health *h)
{
	enum cio_want w;
	int guard;

	/* Every action either feeds an event at once or waits; the bound only protects the loop. */
	for (guard = 0; guard < 4096; guard++) {
		struct check_action a = check_next(&h->run);

		switch (a.type) {
		case CHECK_ACT_CONNECT:
			close_conn(h, h->conn.linger); /* out of the loop's fd table before check_io closes it */
			if (h->s->conf && h->s->conf->check_addrlen) {
				/* HAProxy's server `addr`: the checks go there, on its port or the server's */
				struct sockaddr_storage ca = h->s->conf->check_addr;

				if (!net_port_of(&ca))
					net_set_port(&ca, net_port_of(&h->s->srv.addr));
				w = check_io_connect(&h->conn, &h->run, &ca, h->s->conf->check_addrlen, &a);
			} else {
				w = check_io_connect(&h->conn, &h->run, &h->s->srv.addr, h->s->srv.addrlen, &a);
			}
			break;
		case CHECK_ACT_SEND:
			w = check_io_send(&h->conn, &h->run, &a);
			break;
		case CHECK_ACT_WANT_READ:
			w = check_io_recv(&h->conn, &h->run);
			break;
		case CHECK_ACT_TLS:
			w = check_io_tls(&h->conn, &h->run, &a);
			break;
		case CHECK_ACT_WAIT:
			/* only the deadline can move the engine now */
			if (h->conn.fd != -1)
				ev_fd_mask(h->hs->d->ev, h->conn.fd, EV_NONE);
			check_io_cancel(&h->conn);
			return;
		case CHECK_ACT_DONE:
		default:
			finish(h, a.linger);
			return;
		}
		w = watch(h, w);
		if (w == CIO_LOCAL) {
			abandon_io(h);
			return;
		}
		if (w != CIO_OK)
			return;
	}
	dlog_err("health check %s/%s: the check engine did not settle; giving up this run", h->li->name,
		 h->s->srv.name);
	check_on_timeout(&h->run);
	if (check_next(&h->run).type == CHECK_ACT_DONE)
		finish(h, false);
}

static void on_io(struct ev *ev, int fd, int mask, void *arg)
{
	struct health *h = arg;
	enum cio_want w;

	(void)fd;
	if (h->conn.op == CIO_OP_NONE) {
		/* a readiness report for a paused socket: nothing asked for it */
		ev_fd_mask(ev, h->conn.fd, EV_NONE);
		return;
	}
	w = watch(h, check_io_resume(&h->conn, &h->run, (mask & EV_ERROR) != 0));
	if (w == CIO_LOCAL) {
		abandon_io(h);
		return;
	}
	if (w == CIO_OK)
		step(h);
}

/* A check that cannot run (no usable recipe): concluded at once as SOCKERR, counted against the server
 * like a check that cannot connect (the configuration, not a resource, is missing). */
static void fail_norecipe(struct health *h, const char *why)
{
	h->start_us = now_us();
	conclude(h, CHECK_SOCKERR, -1, NULL, NULL, why, NULL, 0, 0);
	schedule(h, next_interval(h));
}

/* Refreshes the env-resolved copy of the server's recipe (after start-up or a reload). */
static int refresh_recipe(struct health *h)
{
	const struct recipe *src = h->s->conf ? h->s->conf->check.rcp : NULL;
	char err[ERR_LEN];
	struct recipe *r;

	if (!h->rcp_stale && h->rcp)
		return 0;
	if (!src) {
		copy_str(h->rcp_err, sizeof(h->rcp_err), "no recipe is loaded for this check");
		return -1;
	}
	r = recipe_resolve_env(src, err, sizeof(err));
	if (!r) {
		if (strcmp(h->rcp_err, err) != 0)
			dlog_err("health check %s/%s: recipe %s: %s", h->li->name, h->s->srv.name,
				 h->s->conf->check.recipe_path ? h->s->conf->check.recipe_path : "?", err);
		copy_str(h->rcp_err, sizeof(h->rcp_err), err);
		return -1;
	}
	recipe_free(h->rcp);
	h->rcp = r;
	h->rcp_stale = false;
	h->rcp_err[0] = '\0';
	return 0;
}

/*
 * http-check send-state: the server's live state as HAProxy 2.6's check.c writes it, e.g.
 * "UP 1/3; address=127.0.0.1; port=8080; name=bck/srv2; node=lb1; weight=1/2; scur=0/0; qcur=0".
 * "UP" alone once fully up, "UP h-rise+1/fall" on the way down (a server starts there), "DOWN h/rise"
 * on the way up, "NOLB" for a drained (STOPPING) server. The weight is the server's over the sum of
 * the weights of the listener's active servers in use; node is the host name; qcur the server's queue.
 */
static void send_state(struct health *h, char *out, size_t outlen)
{
	const struct server *sv = &h->s->srv;
	const struct listener *li = h->li;
	const struct sockaddr_storage *ss = &sv->addr; /* the main thread writes it: no seqlock needed here */
	socklen_t len = sv->addrlen;
	char node[256], host[128], st[32];
	const char *word = sv->state == SRV_ST_STOPPED ? "DOWN" : sv->state == SRV_ST_STOPPING ? "NOLB" : "UP";
	unsigned tot = 0;
	size_t i;
	int port = 0;

	daemon_node(h->hs->d, node, sizeof(node));
	if (!len || !net_fmt_host((const struct sockaddr *)ss, host, sizeof(host)))
		snprintf(host, sizeof(host), "(unresolved)");
	if (len && ss->ss_family == AF_INET)
		port = ntohs(((const struct sockaddr_in *)ss)->sin_port);
	else if (len && ss->ss_family == AF_INET6)
		port = ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	if (sv->state != SRV_ST_STOPPED) {
		if (sv->health == sv->check.rise + sv->check.fall - 1)
			snprintf(st, sizeof(st), "%s", word);
		else
			snprintf(st, sizeof(st), "%s %d/%d", word, sv->health - sv->check.rise + 1, sv->check.fall);
	} else {
		if (sv->health)
			snprintf(st, sizeof(st), "%s %d/%d", word, sv->health, sv->check.rise);
		else
			snprintf(st, sizeof(st), "%s", word);
	}
	for (i = 0; li && i < li->nsrv; i++) {
		const struct server *o = &li->srv[i]->srv;

		if (!o->backup && o->state != SRV_ST_STOPPED && o->state != SRV_ST_STOPPING &&
		    !(o->admin & (SRV_ADMF_MAINT | SRV_ADMF_RMAINT)))
			tot += o->weight;
	}
	snprintf(out, outlen, "%s; address=%s; port=%d; name=%s/%s; node=%s; weight=%u/%u; scur=%llu/%d; qcur=%u",
		 st, host, port, li ? li->name : "-", sv->name, node, sv->weight, tot,
		 (unsigned long long)srvq_cur(&h->s->q),
		 li ? __atomic_load_n(&li->conn_cur, __ATOMIC_RELAXED) : 0, srvq_len(&h->s->q));
}

static void start_check(struct health *h)
{
	struct health_sched *hs = h->hs;
	uint64_t timeout;

	if ((h->s->srv.admin & (SRV_ADMF_MAINT | SRV_ADMF_RMAINT)) || h->s->check_paused) {
		/* HAProxy does not check a server in maintenance, nor one whose checks were disabled */
		schedule(h, next_interval(h));
		return;
	}
	if (refresh_recipe(h) == -1) {
		fail_norecipe(h, h->rcp_err);
		return;
	}
	if (check_run_init(&h->run, h->rcp) == -1) {
		abandon(h, "out of memory");
		return;
	}
	if (h->rcp->kind == RECIPE_HTTP && h->rcp->req.send_state) {
		char state[768];

		send_state(h, state, sizeof(state));
		if (check_run_send_state(&h->run, state) == -1) {
			check_run_free(&h->run);
			abandon(h, "out of memory");
			return;
		}
	}
	timeout = h->s->conf && h->s->conf->check.timeout ? h->s->conf->check.timeout : h->s->srv.check.inter;
	h->running = true;
	hs->running++;
	check_io_init(&h->conn);
	if (h->s->conf && h->s->conf->check_send_proxy) {
		/*
		 * HAProxy's check-send-proxy: the run's first connection starts with a PROXY header in the
		 * server's send_proxy version (v1 when it has none); a recipe connect's send_proxy replaces it
		 */
		h->conn.pre = check_io_proxy_header(h->s->conf->send_proxy == 2 ? 2 : 1, &h->conn.prelen);
	}
	if (h->s->conf && h->s->conf->socks4len && h->s->conf->check_via_socks4) {
		/* check-via-socks4: the run's first connection (the default connect) through the proxy */
		h->conn.via = h->s->conf->socks4;
		h->conn.vialen = h->s->conf->socks4len;
	}
	h->start_ms = ev_now(hs->d->ev);
	h->start_us = now_us();
	h->deadline = h->start_ms + (timeout ? timeout : 1);
	/* while running, the timer is the run's one deadline */
	ev_timer_arm_at(hs->d->ev, &h->timer, h->deadline);
	step(h);
}

static void on_timer(struct ev *ev, struct ev_timer *t, void *arg)
{
	struct health *h = arg;
	struct health_sched *hs = h->hs;

	(void)t;
	if (h->running) {
		check_on_timeout(&h->run);
		if (h->conn.fd != -1)
			ev_fd_mask(ev, h->conn.fd, EV_NONE);
		check_io_cancel(&h->conn);
		step(h);
		if (h->running) /* cannot happen with the engine's contract; never leave a run without a deadline */
			ev_timer_arm(ev, &h->timer, 10);
		return;
	}
	if (h->queued)
		return;
	if (hs->running >= HEALTH_MAX_RUNNING) {
		h->qnext = NULL;
		if (hs->qtail)
			hs->qtail->qnext = h;
		else
			hs->qhead = h;
		hs->qtail = h;
		h->queued = true;
		hs->queued++;
		return;
	}
	start_check(h);
}

/* ---- life cycle --------------------------------------------------------------------------------- */

struct health_sched *health_new(struct daemon *d)
{
	struct health_sched *hs = calloc(1, sizeof(*hs));

	if (!hs)
		return NULL;
	hs->d = d;
	hs->rnd = now_us() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)time(NULL);
	if (!hs->rnd)
		hs->rnd = 0x9E3779B97F4A7C15ull;
	return hs;
}

/* Attaches states to the checked servers of d->gen that have none; spreads their first checks. */
static int attach_new(struct health_sched *hs)
{
	struct gen *g = hs->d->gen;
	uint64_t mininter = 0, n = 0, k = 0, inter;
	size_t i, j;

	for (i = 0; i < g->nli; i++) {
		for (j = 0; j < g->li[i]->nsrv; j++) {
			struct rserver *s = g->li[i]->srv[j];
			struct health *h = s->health;

			if (h) {
				h->seen = true;
				h->li = g->li[i];
				h->rcp_stale = true;
				continue;
			}
			if (!s->srv.check.enabled)
				continue;
			inter = server_next_inter(&s->srv);
			if (inter >= HEALTH_INTER_THRES && (!mininter || inter < mininter))
				mininter = inter;
			n++;
		}
	}
	for (i = 0; i < g->nli; i++) {
		for (j = 0; j < g->li[i]->nsrv; j++) {
			struct rserver *s = g->li[i]->srv[j];
			struct health *h;

			if (s->health || !s->srv.check.enabled)
				continue;
			h = health_attach(hs, g->li[i], s);
			if (!h) {
				dlog_err("health check %s/%s: out of memory", g->li[i]->name, s->srv.name);
				return -1;
			}
			h->seen = true;
			/* HAProxy start_check_task(): max(mininter, own interval) * srvpos / nbcheck, exactly
			 * (the grid of schedule() applies from the second check on) */
			inter = MAX(mininter, (uint64_t)server_next_inter(&s->srv));
			ev_timer_arm(hs->d->ev, &h->timer, inter * k / n);
			k++;
		}
	}
	return 0;
}

int health_start(struct health_sched *hs)
{
	unsigned n = 0;
	struct health *h;

	if (attach_new(hs) == -1)
		return -1;
	for (h = hs->all; h; h = h->next)
		n++;
	if (n)
		dlog_info("health checks: %u servers checked, at most %d at once", n, HEALTH_MAX_RUNNING);
	return 0;
}

void health_reloaded(struct health_sched *hs)
{
	struct health *h, *next;

	for (h = hs->all; h; h = h->next)
		h->seen = false;
	if (attach_new(hs) == -1)
		dlog_err("health checks: some new servers are not checked (out of memory)");
	for (h = hs->all; h; h = next) {
		next = h->next;
		/* gone from the config, or no longer checked: cancel (closing its socket) */
		if (!h->seen || !h->s->srv.check.enabled) {
			dlog_info("health check %s/%s: stopped (server removed or check disabled)", h->li ? h->li->name : "?",
				  h->s->srv.name);
			health_detach(h);
		}
	}
	kick_queue(hs);
}

void health_stop(struct health_sched *hs)
{
	if (!hs)
		return;
	while (hs->all)
		health_detach(hs->all);
}

void health_free(struct health_sched *hs)
{
	if (!hs)
		return;
	health_stop(hs);
	free(hs);
}

/* ---- passive health ------------------------------------------------------------------------------ */

/*
 * HAProxy 2.6's __health_adjust() once error_limit consecutive connect errors were seen: on_error
 * fail-check counts one failed check; sudden-death first leaves an UP server one failed check above
 * DOWN (health rise + 1) then counts it; mark-down sets health to rise then counts it (so the server is
 * DOWN); fastinter only does what every mode does: the next check comes after fastinter when that is
 * sooner than planned (when fastinter is set apart from inter: HAProxy's "if fastinter is set").
 */
static void hana(struct health *h)
{
	struct rserver *s = h->s;
	struct server *sv = &s->srv;
	int onerr = s->conf ? s->conf->check.on_error : CONF_ONERR_FAILCHK;
	unsigned limit = __atomic_load_n(&s->observe_limit, __ATOMIC_RELAXED);
	char desc[CHECK_DESC_LEN], reason[CHECK_DESC_LEN + 64];
	bool fail = false;

	snprintf(desc, sizeof(desc), "Detected %u consecutive errors, last one was: L4 unsuccessful connection",
		 limit);
	switch (onerr) {
	case CONF_ONERR_SUDDTH:
		if (sv->health > sv->check.rise)
			sv->health = sv->check.rise + 1;
		fail = true;
		break;
	case CONF_ONERR_FAILCHK:
		fail = true;
		break;
	case CONF_ONERR_MARKDWN:
		sv->health = sv->check.rise;
		fail = true;
		break;
	default:
		break;
	}
	s->failed_hana++;
	dlog_info("%s/%s: passive health: %s; on_error %s", h->li->name, sv->name, desc,
		  onerr == CONF_ONERR_SUDDTH ? "sudden-death" : onerr == CONF_ONERR_MARKDWN ? "mark-down"
		  : onerr == CONF_ONERR_FASTINTER ? "fastinter" : "fail-check");
	if (fail) {
		struct server_status st;

		snprintf(reason, sizeof(reason), "Health analyze, info: \"%s\"", desc);
		st = daemon_check_result(h->hs->d, h->li, s, SRV_CHK_FAILED, reason);
		if (st.changed) {
			struct health_trans *t;

			record_transition(h, &st);
			t = &h->trans[(h->trans_head + STATS_TRANSITIONS - 1) % STATS_TRANSITIONS];
			t->status = CHECK_UNK;
			t->step = -1;
			copy_str(t->kind, sizeof(t->kind), "HANA");
			copy_str(t->comment, sizeof(t->comment), "passive health (observe layer4)");
			copy_str(t->desc, sizeof(t->desc), desc);
		}
	}
	if (sv->check.fastinter != sv->check.inter && !h->running && !h->queued) {
		uint64_t when = ev_now(h->hs->d->ev) + sv->check.fastinter;

		if (!ev_timer_armed(&h->timer) || when < h->timer.when)
			ev_timer_arm_at(h->hs->d->ev, &h->timer, when);
	}
}

void health_analyze(struct health_sched *hs)
{
	struct health *h;

	for (h = hs ? hs->all : NULL; h; h = h->next) {
		unsigned n = __atomic_exchange_n(&h->s->hana_pending, 0, __ATOMIC_ACQUIRE);

		while (n-- > 0 && h->li)
			hana(h);
	}
}

void health_counts(const struct health_sched *hs, unsigned *running, unsigned *queued)
{
	*running = hs ? hs->running : 0;
	*queued = hs ? hs->queued : 0;
}

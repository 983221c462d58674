/*
 * observe: health checker and stats server on the daemon's main loop (see observe.h).
 */
#include "api.h"

#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cli.h"
#include "daemon.h"
#include "dlog.h"
#include "ev.h"
#include "health.h"
#include "httpd.h"
#include "lb.h"
#include "net.h"
#include "observe.h"
#include "recipe-t.h"
#include "server.h"
#include "tls.h"
#include "stats.h"
#include "tlog.h"
#include "util.h"

struct observe {
	struct daemon *d;
	struct health_sched *hs;
	struct httpd *httpd;
	struct cli *cli;
	uint64_t t0;                  /* now_ms() at start */
};

/* Per-server storage the snapshot borrows while it is rendered. */
struct srv_scratch {
	char status[32];
	struct stats_transition trans[STATS_TRANSITIONS];
};

static uint64_t ld(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static const char *hash_name(const struct conf_listener *cl)
{
	if (cl->hash == CONF_HASH_CONSISTENT)
		return cl->avalanche ? "consistent avalanche" : "consistent";
	return cl->avalanche ? "map-based avalanche" : "map-based";
}

static const char *result_name(enum check_status st)
{
	switch (check_status_verdict(st)) {
	case CHECK_RES_PASSED:
		return "passed";
	case CHECK_RES_CONDPASS:
		return "condpass";
	case CHECK_RES_FAILED:
		return "failed";
	default:
		return "";
	}
}

static const char *state_word(enum srv_state st)
{
	switch (st) {
	case SRV_ST_STOPPED:
		return "DOWN";
	case SRV_ST_STOPPING:
		return "NOLB";
	default:
		return "UP";
	}
}

static void fill_check(struct stats_check *c, const struct rserver *rs, const struct health *h, uint64_t now)
{
	const struct server *s = &rs->srv;

	c->enabled = s->check.enabled;
	c->rise = s->check.rise;
	c->fall = s->check.fall;
	c->health = s->health;
	c->inter_ms = s->check.enabled ? server_next_inter(s) : 0;
	c->step = -1;
	c->connect_us = c->tls_us = c->ttfb_us = -1;
	c->status = c->enabled ? "INI" : "";
	c->status_desc = c->enabled ? check_status_desc(CHECK_INI) : "";
	c->result = "";
	if (rs->conf && rs->conf->check.enabled)
		c->recipe = rs->conf->check.rcp && rs->conf->check.rcp->name ? rs->conf->check.rcp->name
										: rs->conf->check.recipe;
	if (!h)
		return;
	c->running = h->running;
	memcpy(c->dur_buckets, h->buckets, sizeof(c->dur_buckets));
	c->dur_sum = h->dur_sum;
	c->dur_count = h->npassed + h->nfailed + h->ncondpass;
	c->passed = h->npassed;
	c->failed = h->nfailed;
	c->condpass = h->ncondpass;
	if (!h->ran)
		return;
	c->ran = true;
	c->status = check_status_str(h->status);
	c->status_desc = check_status_desc(h->status);
	c->result = result_name(h->status);
	c->step = h->step;
	c->kind = h->kind[0] ? h->kind : NULL;
	c->comment = h->comment[0] ? h->comment : NULL;
	c->desc = h->desc[0] ? h->desc : NULL;
	c->duration_ms = h->dur_ms;
	c->connect_us = h->connect_us;
	c->tls_us = h->tls_us;
	c->ttfb_us = h->ttfb_us;
	c->tls_reason = h->tls_reason != TLS_R_NONE ? tls_reason_str(h->tls_reason) : NULL;
	c->age_ms = now > h->end_ms ? now - h->end_ms : 0;
	c->rx_bytes = h->rxtotal;
	c->rx_preview = h->rx_preview[0] ? h->rx_preview : NULL;
	c->explain = h->explain[0] ? h->explain : NULL;
}

static void fill_transitions(struct stats_server *ss, struct srv_scratch *x, const struct health *h, uint64_t now)
{
	size_t i;

	if (!h)
		return;
	ss->to_up = h->to_up;
	ss->to_down = h->to_down;
	for (i = 0; i < h->ntrans; i++) {
		/* newest first */
		const struct health_trans *t = &h->trans[(h->trans_head + STATS_TRANSITIONS - 1 - i) % STATS_TRANSITIONS];
		struct stats_transition *o = &x->trans[i];

		o->age_ms = now > t->at_ms ? now - t->at_ms : 0;
		o->from = state_word(t->from);
		o->to = state_word(t->to);
		o->check = check_status_str(t->status);
		o->step = t->step;
		o->kind = t->kind[0] ? t->kind : NULL;
		o->comment = t->comment[0] ? t->comment : NULL;
		o->desc = t->desc[0] ? t->desc : NULL;
	}
	ss->trans = x->trans;
	ss->ntrans = h->ntrans;
}

/* Everything a snapshot points to that is not owned by the daemon. */
struct snap_mem {
	struct stats_worker *workers;
	struct stats_listener *li;
	struct stats_server **srv;
	struct srv_scratch **scratch;
	size_t nli;
};

static void snap_free(struct snap_mem *m)
{
	size_t i;

	for (i = 0; i < m->nli; i++) {
		free(m->srv[i]);
		free(m->scratch[i]);
	}
	free(m->workers);
	free(m->li);
	free(m->srv);
	free(m->scratch);
}

static int snap_build(struct observe *o, struct stats_snapshot *snap, struct snap_mem *m)
{
	struct daemon *d = o->d;
	struct gen *g = d->gen;
	uint64_t now = ev_now(d->ev), mono = now_ms();
	size_t i, k;

	memset(snap, 0, sizeof(*snap));
	memset(m, 0, sizeof(*m));
	snap->version = RECHECK_VERSION;
	snap->uptime_ms = mono - o->t0;
	snap->gen = g->id;
	snap->threads = d->nworkers;
	snap->refresh_s = OBSERVE_REFRESH_S;
	m->workers = calloc(d->nworkers ? (size_t)d->nworkers : 1, sizeof(*m->workers));
	if (!m->workers)
		return -1;
	for (i = 0; i < (size_t)d->nworkers; i++) {
		m->workers[i].sessions = (uint64_t)__atomic_load_n(&d->workers[i].nsess, __ATOMIC_RELAXED);
		m->workers[i].handed_over = ld(&d->workers[i].handed_over);
	}
	snap->workers = m->workers;
	snap->reloads = d->reloads_ok;
	snap->reload_failures = d->reload_failures;
	snap->last_reload_time = d->last_reload_wall;
	snap->last_reload_ok = d->last_reload_ok;
	snap->last_reload_error = d->last_reload_err[0] ? d->last_reload_err : NULL;
	snap->log_dropped = tlog_dropped();
	m->li = calloc(g->nli ? g->nli : 1, sizeof(*m->li));
	m->srv = calloc(g->nli ? g->nli : 1, sizeof(*m->srv));
	m->scratch = calloc(g->nli ? g->nli : 1, sizeof(*m->scratch));
	if (!m->li || !m->srv || !m->scratch)
		return -1;
	for (i = 0; i < g->nli; i++) {
		struct listener *li = g->li[i];
		struct stats_listener *sl = &m->li[i];
		uint64_t lbgen;

		m->nli = i + 1;
		m->srv[i] = calloc(li->nsrv ? li->nsrv : 1, sizeof(**m->srv));
		m->scratch[i] = calloc(li->nsrv ? li->nsrv : 1, sizeof(**m->scratch));
		if (!m->srv[i] || !m->scratch[i])
			return -1;
		sl->name = li->name;
		sl->bind = li->conf->bind;
		sl->hash = hash_name(li->conf);
		sl->allbackups = li->conf->allbackups;
		sl->maxconn = li->maxconn;
		sl->conn_cur = (uint64_t)__atomic_load_n(&li->conn_cur, __ATOMIC_RELAXED);
		sl->conn_total = ld(&li->conn_total);
		sl->conn_noserver = ld(&li->conn_noserver);
		sl->retries = ld(&li->retries_total);
		sl->redispatches = ld(&li->redispatches);
		sl->proxy_errors = ld(&li->proxy_errors);
		sl->bytes_in = ld(&li->bytes.c2s);
		sl->bytes_out = ld(&li->bytes.s2c);
		lb_counts(li->lb, &sl->active, &sl->backup, &lbgen);
		for (k = 0; k < li->nsrv; k++) {
			struct rserver *rs = li->srv[k];
			struct stats_server *ss = &m->srv[i][k];
			struct srv_scratch *x = &m->scratch[i][k];
			const struct health *h = rs->health;

			ss->name = rs->srv.name;
			ss->address = rs->address;
			ss->status = server_status_str(&rs->srv, x->status, sizeof(x->status));
			ss->up = server_is_up(&rs->srv) && !(rs->srv.admin & (SRV_ADMF_MAINT | SRV_ADMF_RMAINT));
			ss->weight = server_eweight_shown(&rs->srv, li->conf->hash == CONF_HASH_CONSISTENT);
			ss->uweight = rs->srv.weight;
			ss->throttle = server_throttle(&rs->srv, li->conf->hash == CONF_HASH_CONSISTENT);
			if (ss->throttle < 0)
				ss->throttle = 0;
			ss->backup = rs->srv.backup;
			ss->id = rs->srv.puid;
			ss->conn_cur = srvq_cur(&rs->q);
			ss->conn_total = ld(&rs->conn_total);
			ss->conn_errors = ld(&rs->conn_errors);
			ss->retries = ld(&rs->retries);
			ss->redispatches = ld(&rs->redispatches);
			ss->maxconn = __atomic_load_n(&rs->maxconn, __ATOMIC_RELAXED);
			ss->maxqueue = __atomic_load_n(&rs->maxqueue, __ATOMIC_RELAXED);
			ss->queue_cur = srvq_len(&rs->q);
			ss->queue_max = srvq_max(&rs->q);
			ss->qtime_ms = daemon_qtime_avg(__atomic_load_n(&rs->qtime_sum, __ATOMIC_RELAXED), ld(&rs->lb_total));
			ss->qtime_max_ms = __atomic_load_n(&rs->qtime_max, __ATOMIC_RELAXED);
			sl->queue_cur += ss->queue_cur;
			ss->observe = __atomic_load_n(&rs->observe_limit, __ATOMIC_RELAXED) != 0;
			ss->consec_errors = __atomic_load_n(&rs->consec_errors, __ATOMIC_RELAXED);
			ss->failed_hana = rs->failed_hana;
			ss->bytes_in = ld(&rs->bytes.c2s);
			ss->bytes_out = ld(&rs->bytes.s2c);
			ss->last_change_age_ms = rs->srv.last_change_ms && mono >= rs->srv.last_change_ms
							 ? mono - rs->srv.last_change_ms
							 : UINT64_MAX;
			fill_check(&ss->check, rs, h, now);
			fill_transitions(ss, x, h, now);
		}
		sl->srv = m->srv[i];
		sl->nsrv = li->nsrv;
	}
	snap->li = m->li;
	snap->nli = g->nli;
	return 0;
}

static void handler(void *arg, const char *path, struct httpd_reply *r)
{
	struct observe *o = arg;
	int (*render)(const struct stats_snapshot *, struct buf *);
	struct stats_snapshot snap;
	struct snap_mem mem;

	if (strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0) {
		render = stats_render_html;
		r->content_type = STATS_CT_HTML;
	} else if (strcmp(path, "/stats.json") == 0) {
		render = stats_render_json;
		r->content_type = STATS_CT_JSON;
	} else if (strcmp(path, "/metrics") == 0) {
		render = stats_render_prometheus;
		r->content_type = STATS_CT_PROM;
	} else {
		r->status = 404;
		buf_append_str(&r->body, "not found: try /, /stats.json or /metrics\n");
		return;
	}
	if (snap_build(o, &snap, &mem) == -1 || render(&snap, &r->body) == -1) {
		r->status = 500;
		r->content_type = "text/plain; charset=utf-8";
		buf_reset(&r->body);
		buf_append_str(&r->body, "out of memory rendering the stats\n");
		dlog_err("stats: out of memory rendering %s", path);
	}
	snap_free(&mem);
}

/* ---- hooks -------------------------------------------------------------------------------------- */

static int on_start(struct daemon *d, void *arg)
{
	struct observe *o = calloc(1, sizeof(*o));
	char err[ERR_LEN], a[NET_ADDRSTRLEN];

	(void)arg;
	if (!o) {
		dlog_err("out of memory");
		return -1;
	}
	o->d = d;
	o->t0 = now_ms();
	d->hooks.arg = o;
	o->hs = health_new(d);
	if (!o->hs || health_start(o->hs) == -1) {
		dlog_err("health checks: cannot start (out of memory)");
		return -1;
	}
	if (d->stats_fd != -1) {
		/* replaces the daemon's placeholder handler on the same socket */
		o->httpd = httpd_new(d->ev, d->stats_fd, handler, o, err, sizeof(err));
		if (!o->httpd) {
			dlog_err("stats: %s", err);
			return -1;
		}
		dlog_info("stats on http://%s/ (also /stats.json and /metrics)",
			  net_fmt_addr((struct sockaddr *)&d->gen->conf->stats_addr, a, sizeof(a)));
	}
	if (d->cli_fd != -1) {
		o->cli = cli_new(d, d->cli_fd, err, sizeof(err));
		if (!o->cli) {
			dlog_err("stats.socket: %s", err);
			return -1;
		}
		dlog_info("runtime API on %s", d->cli_path);
	}
	return 0;
}

static void on_reloaded(struct daemon *d, struct gen *old, void *arg)
{
	struct observe *o = arg;

	(void)d;
	(void)old;
	if (o)
		health_reloaded(o->hs);
}

static void on_analyze(struct daemon *d, void *arg)
{
	struct observe *o = arg;

	(void)d;
	if (o)
		health_analyze(o->hs);
}

static void on_stopping(struct daemon *d, void *arg)
{
	struct observe *o = arg;

	(void)d;
	if (!o)
		return;
	health_stop(o->hs);
	/* the daemon closes the stats listener right after this */
	httpd_free(o->httpd);
	o->httpd = NULL;
}

static void on_stop(struct daemon *d, void *arg)
{
	struct observe *o = arg;

	if (!o)
		return;
	health_free(o->hs);
	httpd_free(o->httpd);
	cli_free(o->cli);
	free(o);
	d->hooks.arg = NULL;
}

void observe_install(struct daemon *d)
{
	d->hooks.start = on_start;
	d->hooks.reloaded = on_reloaded;
	d->hooks.stopping = on_stopping;
	d->hooks.analyze = on_analyze;
	d->hooks.stop = on_stop;
	d->hooks.arg = NULL;
}

/*
 * daemon: the main thread: workers, signals, reload, drain, privileges, readiness (see daemon.h).
 */
#include "api.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "cli.h"
#include "dlog.h"
#include "resolve.h"
#include "tlog.h"
#include "ev.h"
#include "lb.h"
#include "net.h"
#include "notify.h"
#include "relay.h"
#include "server.h"
#include "util.h"

/* How often the drain looks at the session count. */
#define DRAIN_POLL_MS 50

const char *daemon_node(struct daemon *d, char *out, size_t outlen)
{
	if (d->gen && d->gen->conf && d->gen->conf->node)
		snprintf(out, outlen, "%s", d->gen->conf->node);
	else if (gethostname(out, outlen) == -1 || !out[0])
		snprintf(out, outlen, "localhost");
	out[outlen - 1] = '\0';
	return out;
}

void daemon_wake_workers(struct daemon *d)
{
	int i;

	if (d->threads_gone)
		return;
	for (i = 0; i < d->nworkers; i++)
		ev_wakeup(d->workers[i].ev);
}

static size_t total_sessions(struct daemon *d)
{
	size_t n = 0;
	int i;

	for (i = 0; i < d->nworkers; i++)
		n += __atomic_load_n(&d->workers[i].nsess, __ATOMIC_RELAXED);
	return n;
}

struct server_status daemon_check_result(struct daemon *d, struct listener *li, struct rserver *s,
					 enum srv_check_res res, const char *reason)
{
	struct server_status st;
	unsigned act = 0, bck = 0;
	uint64_t gen;
	int rc = 0;

	st = lb_check_result(li->lb, &s->srv, res, now_ms(), &rc);
	if (rc == -1)
		dlog_err("%s: out of memory rebuilding the balancer; the previous table stays", li->name);
	if (!st.changed)
		return st;
	lb_counts(li->lb, &act, &bck, &gen);
	dlog_notice("%s %s/%s is %s, reason: %s. %u active and %u backup servers left.%s",
		    s->srv.backup ? "Backup server" : "Server", li->name, s->srv.name, server_state_name(st.new_state),
		    reason ? reason : "-", act, bck,
		    st.new_state == SRV_ST_STOPPED && srvq_cur(&s->q) ? " Sessions may be affected." : "");
	if (st.new_state == SRV_ST_STOPPED && s->shutdown_sessions)
		daemon_shutdown_sessions(d, s);
	if (st.new_state == SRV_ST_STARTING)
		daemon_warmup_arm(d);
	if (!server_usable(&s->srv))
		daemon_queue_redistribute(li, s);
	return st;
}

/* --- slowstart ----------------------------------------------------------------------------------------- */

/* One tick: every STARTING server of the current generation takes its step (lb_warmup rebuilds a
 * consistent ring when its share grew); the end of a warm-up is logged as HAProxy logs it (is UP). */
static void on_warmup(struct ev *ev, struct ev_timer *t, void *arg)
{
	struct daemon *d = arg;
	uint64_t now = now_ms();
	size_t i, k;

	(void)ev;
	(void)t;
	for (i = 0; d->gen && i < d->gen->nli; i++) {
		struct listener *li = d->gen->li[i];

		for (k = 0; k < li->nsrv; k++) {
			struct rserver *s = li->srv[k];
			struct server_status st;
			unsigned act = 0, bck = 0;
			uint64_t gen;
			int rc = 0;

			if (s->srv.state != SRV_ST_STARTING)
				continue;
			st = lb_warmup(li->lb, &s->srv, now, &rc);
			if (rc == -1)
				dlog_err("%s: out of memory rebuilding the balancer; the previous table stays", li->name);
			if (!st.changed)
				continue;
			lb_counts(li->lb, &act, &bck, &gen);
			dlog_notice("%s %s/%s is UP, reason: end of slowstart. %u active and %u backup servers online.",
				    s->srv.backup ? "Backup Server" : "Server", li->name, s->srv.name, act, bck);
		}
	}
	daemon_warmup_arm(d);
}

void daemon_warmup_arm(struct daemon *d)
{
	uint64_t now = now_ms(), due = UINT64_MAX;
	size_t i, k;

	for (i = 0; d->gen && i < d->gen->nli; i++)
		for (k = 0; k < d->gen->li[i]->nsrv; k++) {
			const struct server *s = &d->gen->li[i]->srv[k]->srv;
			uint64_t n;

			if (s->state != SRV_ST_STARTING)
				continue;
			n = server_warmup_next(s, now);
			if (n < due)
				due = n;
		}
	if (due == UINT64_MAX) {
		if (ev_timer_armed(&d->warm_timer))
			ev_timer_stop(d->ev, &d->warm_timer);
		return;
	}
	/* the same clock as ev_now(): an absolute deadline, so a late loop does not push it further */
	ev_timer_arm_at(d->ev, &d->warm_timer, due);
}

/* HAProxy's tail of a state-change log line: what is left to serve. */
static void log_change(struct listener *li, struct rserver *s, const char *what)
{
	unsigned act = 0, bck = 0;
	uint64_t gen;

	lb_counts(li->lb, &act, &bck, &gen);
	dlog_notice("%s %s/%s %s. %u active and %u backup servers online.%s", s->srv.backup ? "Backup Server" : "Server",
		    li->name, s->srv.name, what, act, bck,
		    act + bck == 0 ? " The listener has no server available!" : "");
}

static void rebuild_failed(struct listener *li, int rc)
{
	if (rc == -1)
		dlog_err("%s: out of memory rebuilding the balancer; the previous table stays", li->name);
}

struct server_status daemon_set_maint(struct daemon *d, struct listener *li, struct rserver *s, bool maint)
{
	struct server_status st;
	unsigned before = s->srv.admin;
	int rc = 0;

	(void)d;
	st = lb_set_maint(li->lb, &s->srv, maint, now_ms(), &rc);
	rebuild_failed(li, rc);
	if (before != s->srv.admin)
		log_change(li, s, maint ? "is going DOWN for maintenance" : "is leaving forced maintenance");
	if (st.new_state == SRV_ST_STARTING)
		daemon_warmup_arm(d);
	if (maint)
		daemon_queue_redistribute(li, s);
	return st;
}

struct server_status daemon_set_drain(struct daemon *d, struct listener *li, struct rserver *s, bool drain)
{
	struct server_status st;
	unsigned before = s->srv.admin;
	int rc = 0;

	(void)d;
	st = lb_set_drain(li->lb, &s->srv, drain, now_ms(), &rc);
	rebuild_failed(li, rc);
	if (before != s->srv.admin)
		log_change(li, s, drain ? "enters drain state" : "leaves drain state");
	if (drain)
		daemon_queue_redistribute(li, s);
	return st;
}

struct server_status daemon_force_health(struct daemon *d, struct listener *li, struct rserver *s, enum srv_state state)
{
	struct server_status st;
	int rc = 0;

	st = lb_force_health(li->lb, &s->srv, state, now_ms(), &rc);
	rebuild_failed(li, rc);
	if (st.changed) {
		char what[64];

		snprintf(what, sizeof(what), "is %s (forced by the runtime API)", server_state_name(state));
		log_change(li, s, what);
		if (state == SRV_ST_STOPPED && s->shutdown_sessions)
			daemon_shutdown_sessions(d, s);
		if (!server_usable(&s->srv))
			daemon_queue_redistribute(li, s);
	}
	if (st.new_state == SRV_ST_STARTING)
		daemon_warmup_arm(d);
	return st;
}

int daemon_set_weight(struct daemon *d, struct listener *li, struct rserver *s, unsigned weight, char *err,
		      size_t errlen)
{
	(void)d;
	if (weight > SERVER_WEIGHT_MAX) {
		set_err(err, errlen, "Absolute weight can only be between 0 and 256 inclusive.");
		return -1;
	}
	if (li->conf->hash != CONF_HASH_CONSISTENT && weight != 0 && weight != s->iweight) {
		set_err(err, errlen, "Backend is using a static LB algorithm and only accepts weights '0%%' and '100%%'.");
		return -1;
	}
	if (weight == s->srv.weight) {
		s->rt_weight = weight != s->iweight;
		return 0;
	}
	if (lb_set_weight(li->lb, &s->srv, weight) == -1) {
		set_err(err, errlen, "Out of memory.");
		return -1;
	}
	s->rt_weight = weight != s->iweight;
	dlog_notice("%s/%s: weight set to %u (initial %u)", li->name, s->srv.name, weight, s->iweight);
	return 0;
}

void daemon_shutdown_sessions(struct daemon *d, struct rserver *s)
{
	int i;

	__atomic_fetch_add(&s->kill_seq, 1, __ATOMIC_RELAXED);
	for (i = 0; i < d->nworkers && !d->threads_gone; i++)
		frontend_post_scan_kill(&d->workers[i]);
}

/* --- stats listener placeholder ----------------------------------------------------------------------- */

/* Until the stats page exists, say so rather than leave clients hanging in the backlog. */
static void on_stats(struct ev *ev, int fd, int mask, void *arg)
{
	static const char msg[] = "HTTP/1.0 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
				  "Connection: close\r\n\r\nrecheckd: the stats page is not built in yet\n";
	struct sockaddr_storage ss;
	socklen_t sl;
	int i, c;

	for (i = 0; i < 16; i++) {
		c = net_accept(fd, &ss, &sl);
		if (c == -1)
			return;
		if (send(c, msg, sizeof(msg) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) == -1)
			dlog_debug("stats: %s", strerror(errno));
		close(c);
	}
}

/* --- reload -------------------------------------------------------------------------------------------- */

static void reload(struct daemon *d)
{
	char err[ERR_LEN];
	struct conf *conf;
	struct gen *g;
	int i;

	if (__atomic_load_n(&d->pending_acks, __ATOMIC_ACQUIRE) > 0) {
		d->reload_again = true;
		return;
	}
	d->reload_again = false;
	notify_send("RELOADING=1");
	dlog_notice("reloading %s", d->conf_path);
	d->last_reload_wall = (int64_t)time(NULL);
	err[0] = '\0';
	conf = conf_load(d->conf_path, 0, err, sizeof(err));
	if (!conf)
		goto refused;
	if (daemon_preflight(conf, NULL, err, sizeof(err)) == -1) {
		conf_free(conf);
		goto refused;
	}
	for (const char *w = conf->warnings, *nl; w && *w; w = nl + 1) {
		nl = strchr(w, '\n');
		if (!nl)
			break;
		dlog_warn("%.*s", (int)(nl - w), w);
	}
	if (conf->stats_socket ? !d->cli_path || strcmp(conf->stats_socket, d->cli_path) : d->cli_path != NULL)
		dlog_warn("%s: stats.socket changed: this takes a restart; the runtime API socket stays as it is",
			  d->conf_path);
	if (conf->threads != d->nworkers)
		dlog_warn("%s: threads changed from %d to %d: this takes a restart; keeping %d", d->conf_path,
			  d->nworkers, conf->threads, d->nworkers);
	if (conf->stats_bind && d->gen->conf->stats_bind ?
	    !net_addr_equal((struct sockaddr *)&conf->stats_addr, (struct sockaddr *)&d->gen->conf->stats_addr) :
	    conf->stats != d->gen->conf->stats)
		dlog_warn("%s: stats.bind changed: this takes a restart; the stats listener stays as it is",
			  d->conf_path);
	if ((conf->user ? !d->gen->conf->user || strcmp(conf->user, d->gen->conf->user) : d->gen->conf->user != NULL))
		dlog_warn("%s: user changed: this takes a restart", d->conf_path);
	if (conf->log != d->gen->conf->log)
		dlog_init(conf->log == CONF_LOG_SYSLOG, d->debug);
	if (tlog_configure(conf, err, sizeof(err)) == -1) {
		conf_free(conf);
		goto refused;
	}
	g = gen_build(conf, d->gen, d->nworkers, err, sizeof(err));
	if (!g) {
		conf_free(conf);
		goto refused;
	}
	g->id = ++d->next_gen_id;
	__atomic_store_n(&d->pending_acks, (unsigned)d->nworkers, __ATOMIC_RELEASE);
	for (i = 0; i < d->nworkers; i++) {
		__atomic_fetch_add(&g->refs, 1, __ATOMIC_RELAXED);
		frontend_post_gen(&d->workers[i], g);
	}
	{
		struct gen *old = d->gen;

		d->gen = g;
		if (d->hooks.reloaded)
			d->hooks.reloaded(d, old, d->hooks.arg);
		resolve_reloaded(d);
		gen_unref(old);
	}
	daemon_warmup_arm(d);
	dlog_notice("configuration %llu loaded: %zu listeners", (unsigned long long)g->id, g->nli);
	d->reloads_ok++;
	d->last_reload_ok = true;
	d->last_reload_err[0] = '\0';
	notify_send("READY=1");
	return;
refused:
	dlog_err("reload refused, the running configuration stays: %s", err);
	d->reload_failures++;
	d->last_reload_ok = false;
	snprintf(d->last_reload_err, sizeof(d->last_reload_err), "%s", err);
	notify_send("READY=1");
}

/* --- stop ---------------------------------------------------------------------------------------------- */

static void quit_workers(struct daemon *d)
{
	int i;

	for (i = 0; i < d->nworkers; i++)
		frontend_post_quit(&d->workers[i]);
	ev_stop(d->ev);
}

static void on_drain(struct ev *ev, struct ev_timer *t, void *arg)
{
	struct daemon *d = arg;
	size_t n = total_sessions(d);

	if (n == 0) {
		dlog_notice("all sessions ended; exiting");
		quit_workers(d);
		return;
	}
	if (ev_now(ev) >= d->drain_deadline) {
		dlog_warn("drain timeout: closing %zu remaining sessions", n);
		quit_workers(d);
		return;
	}
	ev_timer_arm(ev, t, DRAIN_POLL_MS);
}

static void start_drain(struct daemon *d)
{
	int i;

	if (d->draining) {
		dlog_warn("second stop signal: closing every session now");
		quit_workers(d);
		return;
	}
	d->draining = true;
	notify_send("STOPPING=1");
	if (d->hooks.stopping)
		d->hooks.stopping(d, d->hooks.arg);
	dlog_notice("stopping: no new connections; waiting up to %llu ms for %zu sessions",
		    (unsigned long long)d->gen->conf->drain_timeout, total_sessions(d));
	for (i = 0; i < d->nworkers; i++)
		frontend_post_stop_accepting(&d->workers[i]);
	if (d->stats_fd != -1) {
		ev_fd_del(d->ev, d->stats_fd);
		close(d->stats_fd);
		d->stats_fd = -1;
	}
	d->drain_deadline = ev_now(d->ev) + d->gen->conf->drain_timeout;
	ev_timer_init(&d->drain_timer, on_drain, d);
	ev_timer_arm(d->ev, &d->drain_timer, 0);
}

static void on_signal(struct ev *ev, int fd, int mask, void *arg)
{
	struct daemon *d = arg;
	struct signalfd_siginfo si;

	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP:
			if (!d->draining)
				reload(d);
			break;
		case SIGTERM:
		case SIGINT:
			start_drain(d);
			break;
		default:
			break;
		}
	}
}

/* A worker took a new gen: a reload that came meanwhile can run now. */
static void on_main_wakeup(struct ev *ev, void *arg)
{
	struct daemon *d = arg;

	if (__atomic_exchange_n(&d->hana_pending, 0, __ATOMIC_ACQ_REL) && d->hooks.analyze)
		d->hooks.analyze(d, d->hooks.arg);
	if (d->reload_again && !d->draining && __atomic_load_n(&d->pending_acks, __ATOMIC_ACQUIRE) == 0)
		reload(d);
}

/* --- privileges ---------------------------------------------------------------------------------------- */

static int drop_privileges(const struct conf *c, char *err, size_t errlen)
{
	struct passwd *pw;
	gid_t gid;

	if (!c->user)
		return 0;
	pw = getpwnam(c->user);
	if (!pw) {
		set_err(err, errlen, "%s: user '%s' does not exist", c->file, c->user);
		return -1;
	}
	gid = pw->pw_gid;
	if (c->group) {
		struct group *gr = getgrnam(c->group);

		if (!gr) {
			set_err(err, errlen, "%s: group '%s' does not exist", c->file, c->group);
			return -1;
		}
		gid = gr->gr_gid;
	}
	if (geteuid() != 0) {
		if (geteuid() == pw->pw_uid)
			return 0;
		set_err(err, errlen, "%s: user '%s' is set but recheckd does not run as root and cannot switch",
			c->file, c->user);
		return -1;
	}
	if (setgroups(1, &gid) == -1 || setgid(gid) == -1 || setuid(pw->pw_uid) == -1) {
		set_err(err, errlen, "cannot drop privileges to %s: %s", c->user, strerror(errno));
		return -1;
	}
	/* Getting root back must be impossible now. */
	if (pw->pw_uid != 0 && setuid(0) != -1) {
		set_err(err, errlen, "dropping privileges to %s did not stick", c->user);
		return -1;
	}
	dlog_info("running as %s (uid %d, gid %d)", c->user, (int)pw->pw_uid, (int)gid);
	return 0;
}

/* --- run ----------------------------------------------------------------------------------------------- */

int daemon_run(struct daemon *d, struct conf *conf)
{
	char err[ERR_LEN];
	sigset_t set;
	int i, started = 0, rc = RD_EXIT_LOCAL;

	d->sigfd = d->stats_fd = d->cli_fd = -1;
	d->exit_code = RD_EXIT_OK;
	d->start_ms = now_ms();
	d->start_wall = (int64_t)time(NULL);
	signal(SIGPIPE, SIG_IGN);
	/* Blocked in every thread (workers inherit the mask) and read from the signalfd by the main loop. */
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	d->ev = ev_new(256, err, sizeof(err));
	if (!d->ev) {
		dlog_err("%s", err);
		conf_free(conf);
		return RD_EXIT_LOCAL;
	}
	d->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (d->sigfd == -1 || ev_fd_set(d->ev, d->sigfd, EV_READ, on_signal, d) == -1) {
		dlog_err("signalfd: %s", strerror(errno));
		conf_free(conf);
		goto out;
	}
	ev_set_wakeup(d->ev, on_main_wakeup, d);
	ev_timer_init(&d->warm_timer, on_warmup, d);
	d->nworkers = conf->threads;
	d->gen = gen_build(conf, NULL, d->nworkers, err, sizeof(err));
	if (!d->gen) {
		dlog_err("%s", err);
		conf_free(conf);
		goto out;
	}
	d->gen->id = ++d->next_gen_id;
	if (tlog_configure(conf, err, sizeof(err)) == -1) {
		dlog_err("%s", err);
		goto out;
	}
	if (conf->stats_bind) {
		d->stats_fd = net_listen((struct sockaddr *)&conf->stats_addr, conf->stats_addrlen, 1024, false, err,
					 sizeof(err));
		if (d->stats_fd == -1 || ev_fd_set(d->ev, d->stats_fd, EV_READ, on_stats, d) == -1) {
			dlog_err("stats: %s", err);
			goto out;
		}
	}
	if (conf->stats_socket) {
		d->cli_fd = cli_listen(conf, err, sizeof(err));
		if (d->cli_fd == -1 || !(d->cli_path = strdup(conf->stats_socket))) {
			dlog_err("stats.socket: %s", d->cli_fd == -1 ? err : "out of memory");
			goto out;
		}
	}
	if (drop_privileges(conf, err, sizeof(err)) == -1) {
		dlog_err("%s", err);
		goto out;
	}
	d->workers = calloc((size_t)d->nworkers, sizeof(*d->workers));
	if (!d->workers) {
		dlog_err("out of memory");
		goto out;
	}
	for (i = 0; i < d->nworkers; i++) {
		if (frontend_worker_init(&d->workers[i], d, i, d->gen, err, sizeof(err)) == -1) {
			dlog_err("thread %d: %s", i, err);
			goto out;
		}
	}
	for (started = 0; started < d->nworkers; started++) {
		int e = pthread_create(&d->workers[started].thread, NULL, frontend_worker_main, &d->workers[started]);

		if (e != 0) {
			dlog_err("cannot start thread %d: %s", started, strerror(e));
			goto out;
		}
	}
	for (i = 0; i < (int)d->gen->nli; i++) {
		char a[NET_ADDRSTRLEN];
		struct listener *li = d->gen->li[i];

		dlog_info("listener %s on %s: %zu servers, hash %s, relay %s", li->name,
			  net_fmt_addr((struct sockaddr *)&li->addr, a, sizeof(a)), li->nsrv,
			  li->conf->hash == CONF_HASH_CONSISTENT ? "consistent" : "map-based",
			  relay_mode_str(li->rconf.mode));
	}
	/* names first: a server whose name resolves is up (and checked) from the start */
	if (resolve_start(d, 2000) == -1) {
		dlog_err("cannot start the resolver");
		goto out;
	}
	if (d->hooks.start && d->hooks.start(d, d->hooks.arg) == -1)
		goto out;
	dlog_notice("recheckd %s ready: %d threads, %s backend", RECHECK_VERSION, d->nworkers, ev_backend_name());
	notify_send("READY=1");
	ev_run(d->ev);
	rc = d->exit_code;
out:
	/* Normally the workers were told already; after a start-up failure this stops the running ones. */
	for (i = 0; i < started; i++)
		frontend_post_quit(&d->workers[i]);
	for (i = 0; i < started; i++)
		pthread_join(d->workers[i].thread, NULL);
	d->threads_gone = true;
	resolve_stop(d);
	if (d->hooks.stop)
		d->hooks.stop(d, d->hooks.arg);
	for (i = 0; d->workers && i < d->nworkers; i++)
		frontend_worker_free(&d->workers[i]);
	free(d->workers);
	gen_unref(d->gen);
	if (d->stats_fd != -1)
		close(d->stats_fd);
	if (d->cli_fd != -1)
		close(d->cli_fd);
	if (d->cli_path)
		unlink(d->cli_path);
	free(d->cli_path);
	if (d->sigfd != -1)
		close(d->sigfd);
	ev_free(d->ev);
	tlog_close();
	return rc;
}

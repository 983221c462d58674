/*
 * resolve: server names resolved off the event loops (see resolve.h).
 *
 * Why a thread and not c-ares: a lookup is a blocking call (getaddrinfo, res_nquery), and names are few
 * and resolved every few seconds, so one thread that does them one after the other, and hands the answers
 * to the main loop through an eventfd, costs nothing on the paths that matter and needs no dependency.
 * The system's resolver (net_resolve_all() in src/net.c: /etc/hosts, nsswitch, resolv.conf) is used
 * unless `nameservers:` names servers to ask: then libresolv's res_nquery asks those, A first, then AAAA.
 */
#include "api.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <resolv.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "daemon.h"
#include "dlog.h"
#include "ev.h"
#include "lb.h"
#include "net.h"
#include "resolve.h"
#include "util.h"

struct rreq {
	struct rreq *next;
	char *host;                 /* owned */
	bool ok;                    /* answer: an address was found */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char err[128];
};

struct resolver {
	struct daemon *d;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct rreq *todo, *done;   /* guarded by mu */
	bool quit;                  /* guarded by mu */
	int efd;                    /* eventfd: answers are waiting in done */
	struct sockaddr_in ns[CONF_MAX_NAMESERVERS];
	int nns;
	struct ev_timer tick;       /* the next round of resolutions */
	unsigned inflight;          /* main thread: requests submitted, answers not yet applied */
};

/* --- the thread -------------------------------------------------------------------------------------- */

static int lookup_ns(const struct sockaddr_in *ns, int nns, struct rreq *q)
{
	static const int types[] = {ns_t_a, ns_t_aaaa};
	unsigned char ans[4096];
	struct __res_state st;
	size_t t;
	int i, n;

	memset(&st, 0, sizeof(st));
	if (res_ninit(&st) != 0) {
		snprintf(q->err, sizeof(q->err), "cannot initialise the resolver");
		return -1;
	}
	st.nscount = nns;
	for (i = 0; i < nns; i++)
		st.nsaddr_list[i] = ns[i];
	st.retrans = 1; /* seconds per try */
	st.retry = 2;
	st.options &= ~(unsigned long)(RES_DNSRCH | RES_DEFNAMES);
	snprintf(q->err, sizeof(q->err), "no address");
	for (t = 0; t < ARRAY_SIZE(types) && !q->ok; t++) {
		ns_msg msg;
		ns_rr rr;

		n = res_nquery(&st, q->host, ns_c_in, types[t], ans, sizeof(ans));
		if (n < 0) {
			snprintf(q->err, sizeof(q->err), "%s", hstrerror(h_errno));
			continue;
		}
		if (ns_initparse(ans, n, &msg) != 0)
			continue;
		for (i = 0; i < ns_msg_count(msg, ns_s_an) && !q->ok; i++) {
			if (ns_parserr(&msg, ns_s_an, i, &rr) != 0)
				break;
			if (ns_rr_type(rr) == ns_t_a && ns_rr_rdlen(rr) == 4) {
				struct sockaddr_in *s = (struct sockaddr_in *)&q->addr;

				s->sin_family = AF_INET;
				memcpy(&s->sin_addr, ns_rr_rdata(rr), 4);
				q->addrlen = sizeof(*s);
				q->ok = true;
			} else if (ns_rr_type(rr) == ns_t_aaaa && ns_rr_rdlen(rr) == 16) {
				struct sockaddr_in6 *s = (struct sockaddr_in6 *)&q->addr;

				s->sin6_family = AF_INET6;
				memcpy(&s->sin6_addr, ns_rr_rdata(rr), 16);
				q->addrlen = sizeof(*s);
				q->ok = true;
			}
		}
	}
	res_nclose(&st);
	return q->ok ? 0 : -1;
}

static int lookup_system(struct rreq *q)
{
	struct net_addr a;

	if (net_resolve_all(q->host, 0, AF_UNSPEC, 0, &a, 1, q->err, sizeof(q->err)) == -1)
		return -1;
	q->addr = a.ss;
	q->addrlen = a.len;
	q->ok = true;
	return 0;
}

static void *resolver_main(void *arg)
{
	struct resolver *r = arg;
	uint64_t one = 1;

	for (;;) {
		struct sockaddr_in ns[CONF_MAX_NAMESERVERS];
		struct rreq *q;
		ssize_t w;
		int nns;

		pthread_mutex_lock(&r->mu);
		while (!r->todo && !r->quit)
			pthread_cond_wait(&r->cv, &r->mu);
		if (r->quit) {
			pthread_mutex_unlock(&r->mu);
			return NULL;
		}
		q = r->todo;
		r->todo = q->next;
		nns = r->nns;
		memcpy(ns, r->ns, sizeof(ns));
		pthread_mutex_unlock(&r->mu);

		if (nns > 0)
			lookup_ns(ns, nns, q);
		else
			lookup_system(q);

		pthread_mutex_lock(&r->mu);
		q->next = r->done;
		r->done = q;
		pthread_mutex_unlock(&r->mu);
		w = write(r->efd, &one, sizeof(one));
		(void)w;
	}
}

/* --- the main thread ------------------------------------------------------------------------------------ */

/* Applies one answer to every server of the current generation with that name. */
static void apply(struct resolver *r, const struct rreq *q)
{
	struct gen *g = r->d->gen;
	size_t i, k;

	for (i = 0; i < g->nli; i++) {
		struct listener *li = g->li[i];

		for (k = 0; k < li->nsrv; k++) {
			struct rserver *s = li->srv[k];
			struct sockaddr_storage ss;
			char a[NET_ADDRSTRLEN], b[NET_ADDRSTRLEN];

			if (!s->host || strcmp(s->host, q->host) != 0)
				continue;
			if (!q->ok) {
				/* HAProxy keeps the last address it had; a server that never had one stays waiting */
				if (!s->resolve_warned) {
					dlog_warn("%s/%s: cannot resolve '%s': %s%s", li->name, s->srv.name, s->host, q->err,
						  s->srv.addrlen ? "; keeping the last address" : "; no address, in maintenance");
					s->resolve_warned = true;
				}
				continue;
			}
			s->resolve_warned = false;
			ss = q->addr;
			if (ss.ss_family == AF_INET)
				((struct sockaddr_in *)&ss)->sin_port = htons(s->port);
			else
				((struct sockaddr_in6 *)&ss)->sin6_port = htons(s->port);
			if (s->srv.addrlen == q->addrlen && memcmp(&s->srv.addr, &ss, q->addrlen) == 0)
				continue;
			if (s->srv.addrlen)
				dlog_notice("%s/%s: '%s' now resolves to %s (was %s)", li->name, s->srv.name, s->host,
					    net_fmt_addr((struct sockaddr *)&ss, a, sizeof(a)),
					    net_fmt_addr((struct sockaddr *)&s->srv.addr, b, sizeof(b)));
			else
				dlog_notice("%s/%s: '%s' resolves to %s", li->name, s->srv.name, s->host,
					    net_fmt_addr((struct sockaddr *)&ss, a, sizeof(a)));
			rserver_set_addr(s, &ss, q->addrlen);
			if (s->srv.admin & SRV_ADMF_RMAINT) {
				struct server_status st = lb_set_rmaint(li->lb, &s->srv, false, now_ms(), NULL);
				unsigned act = 0, bck = 0;

				if (st.changed) {
					lb_counts(li->lb, &act, &bck, NULL);
					dlog_notice("Server %s/%s is leaving maintenance (address resolved). %u active and %u "
						    "backup servers left.", li->name, s->srv.name, act, bck);
				}
				if (st.new_state == SRV_ST_STARTING)
					daemon_warmup_arm(r->d);
			}
		}
	}
}

static void on_answers(struct ev *ev, int fd, int mask, void *arg)
{
	struct resolver *r = arg;
	struct rreq *q, *next;
	uint64_t v;
	ssize_t n;

	n = read(r->efd, &v, sizeof(v));
	(void)n;
	pthread_mutex_lock(&r->mu);
	q = r->done;
	r->done = NULL;
	pthread_mutex_unlock(&r->mu);
	for (; q; q = next) {
		next = q->next;
		apply(r, q);
		r->inflight--;
		free(q->host);
		free(q);
	}
}

static void submit(struct resolver *r, const char *host)
{
	struct rreq *q, **p;

	pthread_mutex_lock(&r->mu);
	for (p = &r->todo; *p; p = &(*p)->next)
		if (strcmp((*p)->host, host) == 0) {
			pthread_mutex_unlock(&r->mu);
			return; /* already waiting */
		}
	q = calloc(1, sizeof(*q));
	if (q && !(q->host = strdup(host))) {
		free(q);
		q = NULL;
	}
	if (q) {
		*p = q;
		r->inflight++;
		pthread_cond_signal(&r->cv);
	}
	pthread_mutex_unlock(&r->mu);
	if (!q)
		dlog_err("cannot resolve '%s': out of memory", host);
}

/* One round: every name of the current generation (once each), then the next round in resolve_interval. */
static void on_tick(struct ev *ev, struct ev_timer *t, void *arg)
{
	struct resolver *r = arg;
	struct gen *g = r->d->gen;
	size_t i, k;

	for (i = 0; i < g->nli; i++)
		for (k = 0; k < g->li[i]->nsrv; k++)
			if (g->li[i]->srv[k]->host)
				submit(r, g->li[i]->srv[k]->host);
	ev_timer_arm(ev, t, MAX(g->conf->resolve_interval, (uint64_t)100)); /* never a busy loop */
}

static bool has_names(const struct gen *g)
{
	size_t i, k;

	for (i = 0; i < g->nli; i++)
		for (k = 0; k < g->li[i]->nsrv; k++)
			if (g->li[i]->srv[k]->host)
				return true;
	return false;
}

static void set_nameservers(struct resolver *r, const struct conf *c)
{
	int i;

	r->nns = c->nnameservers;
	for (i = 0; i < c->nnameservers; i++)
		memcpy(&r->ns[i], &c->nameservers[i], sizeof(r->ns[i]));
}

int resolve_start(struct daemon *d, uint64_t wait_ms)
{
	struct resolver *r;
	uint64_t deadline;

	if (d->resolver || !has_names(d->gen))
		return 0;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -1;
	r->d = d;
	r->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	set_nameservers(r, d->gen->conf); /* before the thread exists: no lock needed */
	ev_timer_init(&r->tick, on_tick, r);
	if (r->efd == -1 || ev_fd_set(d->ev, r->efd, EV_READ, on_answers, r) == -1 ||
	    pthread_create(&r->th, NULL, resolver_main, r) != 0) {
		if (r->efd != -1) {
			ev_fd_del(d->ev, r->efd);
			close(r->efd);
		}
		pthread_cond_destroy(&r->cv);
		pthread_mutex_destroy(&r->mu);
		free(r);
		return -1;
	}
	d->resolver = r;
	on_tick(d->ev, &r->tick, r);
	/* At start-up (before the loop runs) give the first answers a moment, so that names that resolve
	 * are up from the first client on; the loop takes the rest. */
	deadline = now_ms() + wait_ms;
	while (r->inflight > 0 && now_ms() < deadline)
		ev_run_once(d->ev, (int)MIN(deadline - now_ms(), (uint64_t)100));
	return 0;
}

void resolve_reloaded(struct daemon *d)
{
	struct resolver *r = d->resolver;

	if (!r) {
		if (resolve_start(d, 0) == -1)
			dlog_err("cannot start the resolver: out of memory");
		return;
	}
	pthread_mutex_lock(&r->mu);
	set_nameservers(r, d->gen->conf);
	pthread_mutex_unlock(&r->mu);
	ev_timer_stop(d->ev, &r->tick);
	on_tick(d->ev, &r->tick, r);
}

void resolve_stop(struct daemon *d)
{
	struct resolver *r = d->resolver;
	struct rreq *q, *next;
	int pass;

	if (!r)
		return;
	pthread_mutex_lock(&r->mu);
	r->quit = true;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
	/* a lookup in progress ends within its own timeouts (a few seconds at worst) */
	pthread_join(r->th, NULL);
	ev_timer_stop(d->ev, &r->tick);
	ev_fd_del(d->ev, r->efd);
	close(r->efd);
	for (pass = 0; pass < 2; pass++) {
		for (q = pass ? r->done : r->todo; q; q = next) {
			next = q->next;
			free(q->host);
			free(q);
		}
	}
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	free(r);
	d->resolver = NULL;
}

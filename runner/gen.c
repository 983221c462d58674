/*
 * gen: builds a generation (listeners, servers, balancers, listening sockets) from a config, reusing
 * what an older generation already has (see daemon.h).
 */
#include "api.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "dlog.h"
#include "lb.h"
#include "net.h"
#include "server.h"
#include "util.h"

#define LISTEN_BACKLOG 1024

void rserver_ref(struct rserver *s)
{
	__atomic_fetch_add(&s->refs, 1, __ATOMIC_RELAXED);
}

void rserver_unref(struct rserver *s)
{
	if (!s || __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	srvq_destroy(&s->q);
	free(s->address);
	free(s->host);
	free(s);
}

void rserver_addr(struct rserver *s, struct sockaddr_storage *ss, socklen_t *len)
{
	unsigned a, b;

	do {
		a = __atomic_load_n(&s->addr_seq, __ATOMIC_ACQUIRE);
		memcpy(ss, &s->srv.addr, sizeof(*ss));
		*len = s->srv.addrlen;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		b = __atomic_load_n(&s->addr_seq, __ATOMIC_RELAXED);
	} while (a != b || (a & 1));
}

void rserver_set_addr(struct rserver *s, const struct sockaddr_storage *ss, socklen_t len)
{
	__atomic_store_n(&s->addr_seq, s->addr_seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memcpy(&s->srv.addr, ss, sizeof(*ss));
	s->srv.addrlen = len;
	__atomic_store_n(&s->addr_seq, s->addr_seq + 1, __ATOMIC_RELEASE);
}

void listener_ref(struct listener *li)
{
	__atomic_fetch_add(&li->refs, 1, __ATOMIC_RELAXED);
}

static void listener_destroy(struct listener *li)
{
	size_t i;

	/* The balancer first: it points at the servers. */
	lb_backend_free(li->lb);
	for (i = 0; i < li->nsrv; i++)
		rserver_unref(li->srv[i]);
	free(li->srv);
	for (i = 0; li->fds && i < (size_t)li->nfds; i++)
		if (li->fds[i] != -1)
			close(li->fds[i]);
	free(li->fds);
	free(li->name);
	free(li);
}

void listener_unref(struct listener *li)
{
	if (!li || __atomic_sub_fetch(&li->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	listener_destroy(li);
}

void gen_unref(struct gen *g)
{
	size_t i;

	if (!g || __atomic_sub_fetch(&g->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	for (i = 0; i < g->nli; i++)
		listener_unref(g->li[i]);
	free(g->li);
	conf_free(g->conf);
	free(g);
}

struct listener *gen_listener(struct gen *g, const char *name)
{
	size_t i;

	for (i = 0; g && i < g->nli; i++)
		if (strcmp(g->li[i]->name, name) == 0)
			return g->li[i];
	return NULL;
}

struct rserver *listener_server(struct listener *li, const char *name)
{
	size_t i;

	for (i = 0; li && i < li->nsrv; i++)
		if (strcmp(li->srv[i]->srv.name, name) == 0)
			return li->srv[i];
	return NULL;
}

static void apply_check(struct rserver *s, const struct conf_server *cs)
{
	const struct conf_check *ck = &cs->check;
	bool was = s->srv.check.enabled;

	s->srv.check.enabled = ck->enabled;
	s->srv.check.inter = (uint32_t)ck->inter;
	s->srv.check.fastinter = (uint32_t)ck->fastinter;
	s->srv.check.downinter = (uint32_t)ck->downinter;
	s->srv.check.rise = ck->rise;
	s->srv.check.fall = ck->fall;
	/* HAProxy's health_adjust() acts only on a server whose checks run */
	__atomic_store_n(&s->observe_limit, ck->enabled && ck->observe ? (unsigned)ck->error_limit : 0u,
			 __ATOMIC_RELAXED);
	if (was != ck->enabled) {
		/* Checking turned on or off: start over from HAProxy's start-up state. */
		server_start(&s->srv);
	} else if (s->srv.health > ck->rise + ck->fall - 1) {
		s->srv.health = ck->rise + ck->fall - 1;
	}
}

/* A new server object from its config. NULL with err. */
static struct rserver *rserver_new(const struct conf_server *cs, char *err, size_t errlen)
{
	struct rserver *s = calloc(1, sizeof(*s));

	if (!s || !(s->address = strdup(cs->address))) {
		free(s);
		set_err(err, errlen, "out of memory");
		return NULL;
	}
	if (server_init(&s->srv, cs->name, err, errlen) == -1) {
		free(s->address);
		free(s);
		return NULL;
	}
	if (cs->host) {
		s->host = strdup(cs->host);
		if (!s->host) {
			free(s->address);
			free(s);
			set_err(err, errlen, "out of memory");
			return NULL;
		}
		s->port = cs->port;
	}
	s->refs = 1;
	srvq_init(&s->q);
	s->socks4 = cs->socks4;
	s->socks4len = cs->socks4len;
	/* `disabled`: a new server starts in MAINT (server_start); a running one keeps its admin state */
	if (cs->disabled)
		s->srv.admin |= SRV_ADMF_MAINT;
	s->srv.check.enabled = !cs->check.enabled; /* forces apply_check to run server_start */
	return s;
}

/* Builds one listener; fds are bound later (bind_sockets) or handed over (commit). */
static struct listener *listener_build(const struct conf *conf, const struct conf_listener *cl,
				       struct listener *old, char *err, size_t errlen)
{
	struct listener *li = calloc(1, sizeof(*li));
	char e[ERR_LEN];
	size_t i;

	if (!li || !(li->name = strdup(cl->name)) || !(li->srv = calloc(cl->nservers, sizeof(*li->srv)))) {
		set_err(err, errlen, "out of memory");
		goto fail;
	}
	li->refs = 1;
	li->addr = cl->addr;
	li->addrlen = cl->addrlen;
	li->conf = cl;
	li->maxconn = cl->maxconn;
	li->timeout_connect = cl->timeout_connect;
	/* HAProxy: an unset `timeout queue` is `timeout connect` */
	li->timeout_queue = cl->timeout_queue ? cl->timeout_queue : cl->timeout_connect;
	li->retries = cl->retries;
	li->redispatch = cl->redispatch;
	li->accept_proxy = cl->accept_proxy;
	li->rconf.mode = conf->relay;
	li->rconf.timeout_client = cl->timeout_client;
	li->rconf.timeout_server = cl->timeout_server;
	for (i = 0; i < cl->nservers; i++) {
		const struct conf_server *cs = &cl->servers[i];
		struct rserver *s = listener_server(old, cs->name);

		if (s && strcmp(s->address, cs->address) == 0 && s->socks4len == cs->socks4len &&
		    !memcmp(&s->socks4, &cs->socks4, cs->socks4len)) {
			rserver_ref(s);
		} else {
			s = rserver_new(cs, e, sizeof(e));
			if (!s) {
				set_err(err, errlen, "%s:%d: server %s: %s", conf->file, cs->line, cs->name, e);
				goto fail;
			}
			memcpy(&s->srv.addr, &cs->addr, sizeof(cs->addr));
			s->srv.addrlen = cs->addrlen;
		}
		li->srv[li->nsrv++] = s;
	}
	return li;
fail:
	if (li)
		listener_destroy(li);
	return NULL;
}

/*
 * Settles what is written into shared server objects only once the whole build succeeded: weights,
 * backup flags, ids and check settings of reused servers change in place.
 */
static int listener_finish(const struct conf *conf, const struct conf_listener *cl, struct listener *li,
			   char *err, size_t errlen)
{
	char e[ERR_LEN];
	size_t i;

	for (i = 0; i < li->nsrv; i++) {
		struct rserver *s = li->srv[i];
		const struct conf_server *cs = &cl->servers[i];

		s->conf = cs;
		s->iweight = cs->weight;
		/* A weight set at run time survives a reload (admin flags do too: they are never reset here),
		 * unless the static map-based algorithm could not take it with the new initial weight. */
		if (!s->rt_weight || (cl->hash != CONF_HASH_CONSISTENT && s->srv.weight != 0))
			s->srv.weight = cs->weight;
		s->rt_weight = s->srv.weight != cs->weight;
		s->srv.backup = cs->backup;
		s->srv.id = cs->id;
		s->shutdown_sessions = cs->shutdown_sessions;
		/* HAProxy keeps slowstart in whole seconds, rounded up */
		s->srv.slowstart = (unsigned)((cs->slowstart + 999) / 1000);
		__atomic_store_n(&s->send_proxy, cs->send_proxy, __ATOMIC_RELAXED);
		__atomic_store_n(&s->maxqueue, cs->maxqueue, __ATOMIC_RELAXED);
		__atomic_store_n(&s->maxconn, cs->maxconn, __ATOMIC_RELAXED);
		daemon_queue_kick(s); /* a raised (or removed) limit serves the waiters now */
		apply_check(s, cs);
		if (s->host && s->srv.addrlen == 0) {
			/* a name without an address yet: waits in resolution maintenance (resolve.c) */
			s->srv.admin |= SRV_ADMF_RMAINT;
			s->srv.state = SRV_ST_STOPPED;
		}
	}
	if (server_assign_puids((struct server **)li->srv, li->nsrv, e, sizeof(e)) == -1) {
		set_err(err, errlen, "%s:%d: listener %s: %s", conf->file, cl->line, cl->name, e);
		return -1;
	}
	li->lb = lb_backend_new(cl->name, cl->hash == CONF_HASH_CONSISTENT ? LB_ALGO_CHASH : LB_ALGO_MAP,
				cl->avalanche, cl->allbackups, (struct server **)li->srv, li->nsrv, e, sizeof(e));
	if (!li->lb) {
		set_err(err, errlen, "%s:%d: listener %s: %s", conf->file, cl->line, cl->name, e);
		return -1;
	}
	return 0;
}

struct gen *gen_build(struct conf *conf, struct gen *old, int nthreads, char *err, size_t errlen)
{
	struct gen *g = calloc(1, sizeof(*g));
	size_t i;
	int k;

	/* struct server must stay the first member: the balancer hands back struct server pointers. */
	_Static_assert(offsetof(struct rserver, srv) == 0, "srv first");
	if (!g || !(g->li = calloc(conf->nlisteners, sizeof(*g->li)))) {
		set_err(err, errlen, "out of memory");
		free(g);
		return NULL;
	}
	g->refs = 1;
	for (i = 0; i < conf->nlisteners; i++) {
		const struct conf_listener *cl = &conf->listeners[i];
		struct listener *ol = gen_listener(old, cl->name);

		g->li[i] = listener_build(conf, cl, ol, err, errlen);
		if (!g->li[i])
			goto fail;
		g->nli++;
		g->li[i]->fds = malloc((size_t)nthreads * sizeof(int));
		if (!g->li[i]->fds) {
			set_err(err, errlen, "out of memory");
			goto fail;
		}
		g->li[i]->nfds = nthreads;
		for (k = 0; k < nthreads; k++)
			g->li[i]->fds[k] = -1;
		/* Same name, same address, same thread count: the running sockets carry on (no gap in accepting). */
		if (ol && ol->nfds == nthreads && net_addr_equal((const struct sockaddr *)&ol->addr,
								 (const struct sockaddr *)&cl->addr))
			continue;
		for (k = 0; k < nthreads; k++) {
			char e[ERR_LEN];

			/*
			 * One listening socket, one accept queue, and a dup per thread (each thread owns and closes
			 * its fd): a connection waits for whichever thread is free, not for the one the kernel's
			 * SO_REUSEPORT hash picked, which may be busy or descheduled (tail latency). The threads
			 * watch it with EV_EXCLUSIVE, so a connection wakes one of them.
			 */
			if (k > 0) {
				g->li[i]->fds[k] = fcntl(g->li[i]->fds[0], F_DUPFD_CLOEXEC, 0);
				if (g->li[i]->fds[k] == -1) {
					set_err(err, errlen, "%s:%d: listener %s: dup: %s", conf->file, cl->line, cl->name,
						strerror(errno));
					goto fail;
				}
				continue;
			}
			g->li[i]->fds[k] = net_listen((const struct sockaddr *)&cl->addr, cl->addrlen, LISTEN_BACKLOG, true,
						      e, sizeof(e));
			if (g->li[i]->fds[k] == -1) {
				set_err(err, errlen, "%s:%d: listener %s: %s", conf->file, cl->line, cl->name, e);
				goto fail;
			}
			/* Accepted sockets inherit TCP_NODELAY from here: no setsockopt per connection. */
			if (net_nodelay(g->li[i]->fds[k]) == -1) {
				set_err(err, errlen, "%s:%d: listener %s: TCP_NODELAY: %s", conf->file, cl->line, cl->name,
					strerror(errno));
				goto fail;
			}
		}
	}
	/* Nothing can fail past this point except the balancer build, which only allocates. */
	for (i = 0; i < g->nli; i++)
		if (listener_finish(conf, &conf->listeners[i], g->li[i], err, errlen) == -1)
			goto fail;
	for (i = 0; i < g->nli; i++) {
		struct listener *ol = gen_listener(old, g->li[i]->name);

		if (g->li[i]->fds[0] != -1 || !ol)
			continue;
		for (k = 0; k < nthreads; k++) {
			g->li[i]->fds[k] = ol->fds[k];
			ol->fds[k] = -1;
		}
	}
	g->conf = conf;
	return g;
fail:
	/* Reused servers got a reference only; their settings were not touched yet. */
	for (i = 0; i < g->nli; i++)
		listener_destroy(g->li[i]);
	free(g->li);
	free(g);
	return NULL;
}

/*
 * frontend: a worker thread: its listening sockets, accept, server pick, connect, relay (see daemon.h).
 */
#include "api.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "frontend_priv.h"
#include "dlog.h"
#include "ev.h"
#include "hash.h"
#include "lb.h"
#include "net.h"
#include "proxy_proto.h"
#include "relay.h"
#include "server.h"
#include "tlog.h"
#include "util.h"

/* Connections accepted per readiness event before others get a turn. */
#define ACCEPT_BATCH 64
/* How long a listener rests after EMFILE/ENFILE before accepting again. */
#define ACCEPT_RETRY_MS 100
/* Idle pipes/buffers a worker keeps for reuse. */
#define POOL_IDLE 256
/* Accepted connections that may wait in one worker's inbox (accept balance); more are kept locally. */
#define INBOX_MAX 64

/* --- sessions ----------------------------------------------------------------------------------------- */

static bool reserve(struct listener *li)
{
	int cur = __atomic_load_n(&li->conn_cur, __ATOMIC_RELAXED);

	do {
		if (cur >= li->maxconn)
			return false;
	} while (!__atomic_compare_exchange_n(&li->conn_cur, &cur, cur + 1, true, __ATOMIC_ACQ_REL,
					      __ATOMIC_RELAXED));
	return true;
}

static void release(struct worker *w, struct listener *li)
{
	int prev = __atomic_fetch_sub(&li->conn_cur, 1, __ATOMIC_ACQ_REL);

	/* This listener may be paused on any worker: let them all look again. */
	if (prev == li->maxconn)
		daemon_wake_workers(w->d);
}

static void session_free(struct session *s)
{
	struct worker *w = s->w;

	if (s->prev)
		s->prev->next = s->next;
	else
		w->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	__atomic_fetch_sub(&w->nsess, 1, __ATOMIC_RELAXED);
	if (s->sv) {
		feq_session_gone(s);
		rserver_unref(s->sv);
	}
	release(w, s->li);
	listener_unref(s->li);
	fe_s4_free(s);
	free(s->rs);
	free(s->ps);
	free(s->hin);
	free(s);
}

/* --- the connection log line ------------------------------------------------------------------------ */

static unsigned all_sessions(struct daemon *d)
{
	unsigned n = 0;
	int i;

	for (i = 0; i < d->nworkers; i++)
		n += (unsigned)__atomic_load_n(&d->workers[i].nsess, __ATOMIC_RELAXED);
	return n;
}

/*
 * Logs the end of s (tlog.h). r is NULL when no relay was set up (no server was usable): the termination
 * state is then SC. Counters are read as HAProxy logs them: this connection is still counted by the
 * process and the listener, no longer by the backend and the server.
 */
static void log_end(struct session *s, const struct relay *r, enum relay_end why)
{
	uint64_t now = ev_now(s->w->ev);
	struct tlog_sess t;

	memset(&t, 0, sizeof(t));
	t.client = s->src;
	t.accept_us = s->accept_us;
	t.tt_ms = now >= s->start_ms ? (int64_t)(now - s->start_ms) : 0;
	/*
	 * Tw ends when the session got its slot (or gave up waiting); Tc counts from there. HAProxy 2.6 logs
	 * Tw as t_queue - t_request, and a TCP stream never sets t_request, which is then -1: its Tw is the
	 * queue time + 1 (measured with haproxy 2.6.12: 1 for a session that never waited).
	 */
	t.tw_ms = s->sv && !s->nosrv ? (s->tw_ms >= 0 ? s->tw_ms : t.tt_ms) + 1 : -1;
	t.tc_ms = -1;
	if (r && r->connected_at && s->tw_ms >= 0) {
		uint64_t from = s->start_ms + (uint64_t)s->tw_ms;

		t.tc_ms = r->connected_at >= from ? (int64_t)(r->connected_at - from) : 0;
	}
	t.listener = s->li->name;
	t.server = s->sv && !s->nosrv ? s->sv->srv.name : NULL;
	t.srv_queue = s->srv_queue;
	if (r) {
		t.bytes_read = r->d[1].bytes;
		t.bytes_uploaded = r->d[0].bytes;
		tlog_term(t.term, why, r->connected_at != 0, r->err == ETIMEDOUT);
	} else {
		memcpy(t.term, "SC", 3);
	}
	/* ended while waiting in the server's queue: HAProxy's Q (sQ timeout, SQ queue full, CQ client) */
	if (s->qend) {
		t.term[0] = s->qend;
		t.term[1] = 'Q';
	} else if (s->queued) {
		t.term[1] = 'Q';
		t.srv_queue += s->qw.state == SRVQ_QUEUED ? srvq_pos(&s->sv->q, &s->qw) : s->qw.pos;
	}
	t.actconn = all_sessions(s->w->d);
	t.feconn = (unsigned)__atomic_load_n(&s->li->conn_cur, __ATOMIC_RELAXED);
	t.beconn = t.feconn ? t.feconn - 1 : 0;
	t.srv_conn = s->sv ? (unsigned)srvq_cur(&s->sv->q) : 0;
	if (t.srv_conn && s->slot)
		t.srv_conn--;
	t.retries = s->nretries;
	t.redispatched = s->redispatched;
	tlog_session(&t);
}

static void src_copy(struct sockaddr_in6 *dst, const struct sockaddr *src)
{
	memset(dst, 0, sizeof(*dst));
	if (src->sa_family == AF_INET)
		memcpy(dst, src, sizeof(struct sockaddr_in));
	else if (src->sa_family == AF_INET6)
		memcpy(dst, src, sizeof(*dst));
}

static int64_t wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static const char *connect_err_str(int e)
{
	return e == ETIMEDOUT ? "connect timeout" : strerror(e);
}

/*
 * Passive health (HAProxy's health_adjust() with `observe layer4`): a completed connect clears the
 * server's run of errors; a failed one (refused, unreachable, timed out) extends it, and the error that
 * reaches error_limit asks the main thread, which owns the health state, to apply on_error.
 */
static void observe_error(struct session *s)
{
	struct rserver *sv = s->sv;
	unsigned limit = __atomic_load_n(&sv->observe_limit, __ATOMIC_RELAXED), n;

	if (s->cerr_seen || limit == 0)
		return;
	s->cerr_seen = true;
	n = __atomic_add_fetch(&sv->consec_errors, 1, __ATOMIC_RELAXED);
	/* one thread wins the reset, so one run of errors triggers once */
	if (n < limit || !__atomic_compare_exchange_n(&sv->consec_errors, &n, 0, false, __ATOMIC_RELAXED,
						      __ATOMIC_RELAXED))
		return;
	__atomic_fetch_add(&sv->hana_pending, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&s->w->d->hana_pending, 1, __ATOMIC_RELEASE);
	ev_wakeup(s->w->d->ev);
}

static void on_server_up(struct relay *r, void *arg)
{
	struct session *s = arg;

	(void)r;
	if (__atomic_load_n(&s->sv->observe_limit, __ATOMIC_RELAXED) &&
	    __atomic_load_n(&s->sv->consec_errors, __ATOMIC_RELAXED))
		__atomic_store_n(&s->sv->consec_errors, 0, __ATOMIC_RELAXED);
}

static void on_relay_end(struct relay *r, enum relay_end why, void *arg)
{
	struct session *s = arg;
	char a[NET_ADDRSTRLEN];

	ev_timer_stop(s->w->ev, &s->ctimer);
	if (s->qend) {
		dlog_debug("%s/%s: session ended in the queue (%s)", s->li->name, s->sv->srv.name,
			   s->qend == 's' ? "timeout queue" : "maxqueue reached");
	} else if (why == RELAY_END_CONNECT) {
		observe_error(s);
		/* The last attempt failed: HAProxy's econ (failed_conns) on that server. */
		__atomic_fetch_add(&s->sv->conn_errors, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&s->li->conn_errors, 1, __ATOMIC_RELAXED);
		struct sockaddr_storage ss;
		socklen_t sl;

		rserver_addr(s->sv, &ss, &sl);
		dlog_warn("%s/%s: cannot connect to %s: %s%s", s->li->name, s->sv->srv.name,
			  net_fmt_addr((struct sockaddr *)&ss, a, sizeof(a)), connect_err_str(r->err),
			  s->nretries ? " (retries exhausted)" : "");
	} else {
		if (r->connected_at)
			feq_time_stats(s);
		dlog_debug("%s/%s: session ended (%s), %llu bytes in, %llu bytes out", s->li->name,
			   s->sv->srv.name, relay_end_str(why), (unsigned long long)r->d[0].bytes,
			   (unsigned long long)r->d[1].bytes);
	}
	if (tlog_enabled())
		log_end(s, r, why);
	session_free(s);
}

static void close_client(int cfd);

static void session_kill(struct session *s)
{
	if (s->hin) {
		/* still reading the PROXY header: no relay exists yet */
		ev_timer_stop(s->w->ev, &s->ctimer);
		ev_fd_del(s->w->ev, s->cfd);
		close_client(s->cfd);
		session_free(s);
		return;
	}
	relay_kill(&s->relay);
}

void fe_switch_server(struct session *s, struct rserver *next)
{
	struct rserver *prev = s->sv;

	feq_session_gone(s); /* the slot on prev, if any, goes to prev's next waiter */
	rserver_ref(next);
	s->sv = next;
	s->relay.ctr[1] = &next->bytes;
	/* HAProxy's assign_server() counts a pick of another server in both lbtot counters */
	__atomic_fetch_add(&next->lb_total, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&s->li->lb_total, 1, __ATOMIC_RELAXED);
	rserver_unref(prev);
}


/* Another attempt on the same server. Counted (wretr) as it is made, with the connection total it adds
 * to, so that conn_total - retries counts the sessions the balancer sent there at every instant. */
static void retry_same(struct session *s)
{
	__atomic_fetch_add(&s->sv->retries, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&s->li->retries_total, 1, __ATOMIC_RELAXED);
	fe_attempt(s);
}

/*
 * HAProxy's send-proxy / send-proxy-v2: the header with the client's addresses (those of its own PROXY
 * header when the listener accepts one, else the socket's) goes to sv before the client's bytes; none for
 * a server without send_proxy. 0, or -1 when memory ran out.
 */
static int set_preamble(struct session *s, struct rserver *sv)
{
	int version = __atomic_load_n(&sv->send_proxy, __ATOMIC_RELAXED);
	struct proxy_state *ps = s->ps;
	size_t n;

	if (version == 0) {
		relay_set_preamble(&s->relay, NULL, 0);
		return 0;
	}
	if (!ps) {
		ps = s->ps = calloc(1, sizeof(*ps));
		if (!ps)
			return -1;
	}
	if (!ps->known) {
		socklen_t l = sizeof(ps->src);

		if (getpeername(s->relay.cfd, (struct sockaddr *)&ps->src, &l) == 0 &&
		    net_local_addr(s->relay.cfd, &ps->dst, &l) == 0)
			ps->known = true;
	}
	n = pp_build(version, ps->known ? (struct sockaddr *)&ps->src : NULL,
		     ps->known ? (struct sockaddr *)&ps->dst : NULL, ps->out, sizeof(ps->out));
	relay_set_preamble(&s->relay, ps->out, n);
	return 0;
}

/*
 * One connect attempt to s->sv. The relay starts moving the client's bytes while the connect is still in
 * progress, as HAProxy does: the request goes out as soon as the kernel takes it, which on loopback is at
 * once. May end the session: the caller must not touch s afterwards.
 */
void fe_attempt(struct session *s)
{
	struct rserver *sv = s->sv;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char e[ERR_LEN];
	int sfd;

	__atomic_fetch_add(&sv->conn_total, 1, __ATOMIC_RELAXED);
	s->cerr_seen = false;
	s->kill_seq = __atomic_load_n(&sv->kill_seq, __ATOMIC_RELAXED);
	if (set_preamble(s, sv) == -1) {
		dlog_err("%s/%s: cannot build the PROXY header: out of memory", s->li->name, sv->srv.name);
		relay_end(&s->relay, RELAY_END_RESOURCE);
		return;
	}
	if (sv->socks4len) {
		addr = sv->socks4; /* the server is asked of the proxy (on_s4) */
		addrlen = sv->socks4len;
	} else {
		rserver_addr(sv, &addr, &addrlen); /* a resolver may be changing it */
	}
	sfd = net_connect((struct sockaddr *)&addr, addrlen, e, sizeof(e));
	if (sfd == -1) {
		int err = errno;

		if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
			dlog_err("%s/%s: %s", s->li->name, sv->srv.name, e);
			relay_end(&s->relay, RELAY_END_RESOURCE);
			return;
		}
		/* Refused at once (loopback answers a connect to a closed port synchronously). */
		s->relay.err = err;
		fe_connect_error(&s->relay, s);
		return;
	}
	/* cfd inherited TCP_NODELAY from the listening socket (gen.c) */
	net_nodelay(sfd);
	ev_timer_arm(s->w->ev, &s->ctimer, s->li->timeout_connect);
	if (!sv->socks4len) {
		relay_set_server(&s->relay, sfd); /* may end and free s */
		return;
	}
	fe_s4_start(s, sfd); /* may end and free s */
}

/*
 * A connect attempt failed (r->err says why) before the server took or sent a byte; the relay still holds
 * every byte the client sent. HAProxy's back_handle_st_cer() + stream_choose_redispatch(): with retries
 * left, retry; with `redispatch`, the retry goes to the pick that leaves the failed servers out on the
 * last retry or when the server is no longer up. Beyond HAProxy, a connect the server refused (a RST, an
 * unreachable host: an answer, not a silence) is redispatched at once, without HAProxy's pause: retrying
 * a dead server and waiting a second helps no one. HAProxy's pause, min(1 s, timeout connect), stays for
 * a retry on the same server after an error; a timeout retries at once (a timeout already waited).
 */
void fe_connect_error(struct relay *r, void *arg)
{
	struct session *s = arg;
	struct listener *li = s->li;
	struct rserver *prev = s->sv, *next = prev;
	bool definite = r->err != ETIMEDOUT;

	ev_timer_stop(s->w->ev, &s->ctimer);
	observe_error(s);
	if (s->nretries >= li->retries) {
		relay_end(r, RELAY_END_CONNECT); /* frees s */
		return;
	}
	s->nretries++;
	if (li->redispatch && (definite || s->nretries == li->retries || !server_usable(&prev->srv))) {
		struct server *c;

		if (!s->rs)
			s->rs = calloc(1, sizeof(*s->rs));
		if (s->rs) {
			struct retry_state *rs = s->rs;
			unsigned i;

			for (i = 0; i < rs->navoid && rs->avoid[i] != &prev->srv; i++)
				;
			if (i == rs->navoid) {
				if (rs->navoid == AVOID_MAX) {
					memmove(rs->avoid, rs->avoid + 1, (AVOID_MAX - 1) * sizeof(rs->avoid[0]));
					rs->navoid--;
				}
				rs->avoid[rs->navoid++] = &prev->srv;
			}
			c = lb_pick_key_avoid(li->lb, s->key, rs->avoid, rs->navoid);
			if (c)
				next = container_of(c, struct rserver, srv);
		}
	}
	dlog_debug("%s/%s: connect failed (%s); retry %d/%d on %s", li->name, prev->srv.name,
		   connect_err_str(r->err), s->nretries, li->retries, next->srv.name);
	if (next != prev) {
		__atomic_fetch_add(&prev->redispatches, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&li->redispatches, 1, __ATOMIC_RELAXED);
		s->redispatched = true;
		fe_switch_server(s, next);
		feq_assign(s); /* the other server may be full: HAProxy queues there */
		return;
	}
	if (definite) {
		s->pausing = true;
		ev_timer_arm(s->w->ev, &s->ctimer, MIN((uint64_t)RETRY_PAUSE_MS, li->timeout_connect));
		return;
	}
	retry_same(s);
}

/* The connect timeout (harmless once the connection is up: quiet sessions never prove it by traffic),
 * or the end of the pause before a retry. */
static void header_failed(struct session *s, const char *why);

static void on_ctimer(struct ev *ev, struct ev_timer *t, void *arg)
{
	struct session *s = arg;

	if (s->hin) {
		header_failed(s, "no complete PROXY header within timeouts.client");
		return;
	}
	if (s->queued) {
		feq_timeout(s);
		return;
	}
	if (s->pausing) {
		s->pausing = false;
		retry_same(s);
		return;
	}
	if (s->s4) {
		fe_s4_failed(s, ETIMEDOUT, "no reply within timeout connect");
		return;
	}
	if (!relay_server_connected(&s->relay))
		relay_connect_failed(&s->relay, ETIMEDOUT);
}

/* Closes a client that will not be served; reads what it sent first, so the close is a FIN, not a RST. */
static void close_client(int cfd)
{
	int i;

	for (i = 0; i < 4 && recv(cfd, NULL, 1 << 20, MSG_TRUNC | MSG_DONTWAIT) > 0; i++)
		;
	close(cfd);
}

/*
 * Picks the server for s (the client at src) and starts relaying cfd. pre[0..npre) are client bytes
 * already read (what followed a PROXY header). May end and free s.
 */
static void session_go(struct session *s, int cfd, const struct sockaddr *src, const unsigned char *pre,
		       size_t npre)
{
	struct listener *li = s->li;
	struct server *pick = NULL;
	struct rserver *sv;
	char a[NET_ADDRSTRLEN];

	if (hash_source_key(src, &s->key) == 0)
		pick = lb_pick_key(li->lb, s->key);
	if (!pick) {
		__atomic_fetch_add(&li->conn_noserver, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&li->conn_errors, 1, __ATOMIC_RELAXED);
		dlog_warn("%s: no server available for %s", li->name, net_fmt_host(src, a, sizeof(a)));
		if (tlog_enabled()) {
			src_copy(&s->src, src);
			log_end(s, NULL, RELAY_END_CONNECT);
		}
		close_client(cfd);
		session_free(s);
		return;
	}
	sv = container_of(pick, struct rserver, srv);
	s->sv = sv;
	src_copy(&s->src, src); /* the PROXY header's source when there was one */
	rserver_ref(sv);
	__atomic_fetch_add(&sv->lb_total, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&li->lb_total, 1, __ATOMIC_RELAXED);
	relay_init(&s->relay, s->w->ev, s->w->pool, cfd, -1, &li->rconf, on_relay_end, s);
	relay_set_retry(&s->relay, fe_connect_error);
	relay_set_up(&s->relay, on_server_up);
	s->relay.ctr[0] = &li->bytes;
	s->relay.ctr[1] = &sv->bytes;
	if (relay_preload(&s->relay, pre, npre) == -1 || relay_start(&s->relay) == -1) {
		dlog_err("%s: cannot watch a session: %s", li->name, strerror(errno));
		relay_kill(&s->relay);
		return;
	}
	feq_assign(s); /* may end and free s */
}

/* A client's PROXY header did not come right: close it, count it, nothing else is disturbed. */
static void header_failed(struct session *s, const char *why)
{
	struct sockaddr_storage ss;
	socklen_t l = sizeof(ss);
	char a[NET_ADDRSTRLEN] = "?";

	__atomic_fetch_add(&s->li->proxy_errors, 1, __ATOMIC_RELAXED);
	if (getpeername(s->cfd, (struct sockaddr *)&ss, &l) == 0)
		net_fmt_host((struct sockaddr *)&ss, a, sizeof(a));
	dlog_warn("%s: client %s: %s; closed (accept_proxy)", s->li->name, a, why);
	ev_timer_stop(s->w->ev, &s->ctimer);
	ev_fd_del(s->w->ev, s->cfd);
	close_client(s->cfd);
	session_free(s);
}

/*
 * accept_proxy: reads the client's PROXY header (v1 or v2, HAProxy's accept-proxy). The bytes are
 * consumed, not peeked: a partial header would otherwise keep the socket readable and spin the loop.
 * Whatever followed the header is handed to the relay.
 */
static void on_header(struct ev *ev, int fd, int mask, void *arg)
{
	struct session *s = arg;
	struct hdr_in *h = s->hin;
	struct pp_addrs pa;
	struct sockaddr_storage peer;
	socklen_t l = sizeof(peer);
	ssize_t n;
	int hl, cfd = s->cfd;

	n = recv(fd, h->buf + h->len, sizeof(h->buf) - h->len, MSG_DONTWAIT);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		header_failed(s, n == 0 ? "closed before a complete PROXY header" : "error reading the PROXY header");
		return;
	}
	h->len += (size_t)n;
	hl = pp_parse(h->buf, h->len, &pa);
	if (hl == -2)
		return;
	if (hl == -1) {
		header_failed(s, "not a valid PROXY protocol header");
		return;
	}
	ev_timer_stop(ev, &s->ctimer);
	ev_fd_del(ev, fd);
	s->hin = NULL;
	if (pa.known) {
		s->ps = calloc(1, sizeof(*s->ps));
		if (!s->ps) {
			free(h);
			dlog_err("%s: cannot start a session: out of memory", s->li->name);
			close_client(cfd);
			session_free(s);
			return;
		}
		s->ps->src = pa.src;
		s->ps->dst = pa.dst;
		s->ps->known = true;
	} else if (getpeername(cfd, (struct sockaddr *)&peer, &l) == -1) {
		memset(&peer, 0, sizeof(peer));
	}
	/* balance source hashes the address the header gave, as HAProxy does (LOCAL/UNKNOWN: the peer's) */
	session_go(s, cfd, pa.known ? (struct sockaddr *)&s->ps->src : (struct sockaddr *)&peer, h->buf + hl,
		   h->len - (size_t)hl);
	free(h);
}

/* A connection was accepted on li (a slot is reserved): [PROXY header,] pick, connect, relay. */
static void session_start(struct worker *w, struct listener *li, int cfd, const struct sockaddr_storage *src)
{
	struct session *s;

	__atomic_fetch_add(&li->conn_total, 1, __ATOMIC_RELAXED);
	s = calloc(1, sizeof(*s));
	if (s && li->accept_proxy && !(s->hin = calloc(1, sizeof(*s->hin)))) {
		free(s);
		s = NULL;
	}
	if (!s) {
		dlog_err("%s: cannot start a session: out of memory", li->name);
		close_client(cfd);
		release(w, li);
		return;
	}
	s->w = w;
	s->li = li;
	s->cfd = cfd;
	s->accept_us = tlog_enabled() ? wall_us() : 0;
	s->start_ms = ev_now(w->ev);
	s->tw_ms = -1;
	listener_ref(li);
	__atomic_fetch_add(&w->nsess, 1, __ATOMIC_RELAXED);
	s->next = w->sessions;
	if (w->sessions)
		w->sessions->prev = s;
	w->sessions = s;
	ev_timer_init(&s->ctimer, on_ctimer, s);
	if (s->hin) {
		/* HAProxy waits for the header as long as `timeout client` */
		if (ev_fd_set(w->ev, cfd, EV_READ, on_header, s) == -1) {
			header_failed(s, "cannot watch the connection");
			return;
		}
		if (li->rconf.timeout_client)
			ev_timer_arm(w->ev, &s->ctimer, li->rconf.timeout_client);
		return;
	}
	session_go(s, cfd, (const struct sockaddr *)src, NULL, 0);
}

/* --- listening sockets -------------------------------------------------------------------------------- */

static void wl_pause(struct worker *w, struct wlisten *l)
{
	if (l->paused)
		return;
	ev_fd_mask(w->ev, l->fd, EV_NONE);
	l->paused = true;
	w->npaused++;
}

/* --- accept balance ----------------------------------------------------------------------------------- */

/*
 * Every worker watches the same listening socket with EPOLLEXCLUSIVE, and the kernel wakes whichever
 * waits: a burst of connections (a client pool opening 64 keep-alive connections at once) is often
 * accepted whole by one thread while the other idles, and that thread's queueing is the p99 latency. So,
 * as HAProxy's accept queue does, a worker that is clearly busier than the least loaded one hands the
 * connection it just accepted to that worker. Load is sessions plus connections waiting in the inbox. The
 * margin keeps short-lived connections local: a hand-over costs the other thread a wakeup.
 */
static unsigned worker_load(struct worker *w)
{
	return (unsigned)__atomic_load_n(&w->nsess, __ATOMIC_RELAXED) +
	       __atomic_load_n(&w->inbox_pending, __ATOMIC_RELAXED);
}

static bool handoff(struct worker *w, struct listener *li, int cfd, const struct sockaddr_storage *src)
{
	struct daemon *d = w->d;
	struct worker *best = NULL;
	unsigned mine, least = UINT_MAX;
	int i;

	if (d->nworkers < 2)
		return false;
	for (i = 0; i < d->nworkers; i++) {
		unsigned n;

		if (&d->workers[i] == w)
			continue;
		n = worker_load(&d->workers[i]);
		if (n < least) {
			least = n;
			best = &d->workers[i];
		}
	}
	mine = worker_load(w);
	if (!best || mine < least + 2 + least / 4)
		return false;
	pthread_mutex_lock(&best->mu);
	if (!best->inbox || best->inbox_len == INBOX_MAX || best->quit || best->stop_accepting) {
		pthread_mutex_unlock(&best->mu);
		return false;
	}
	{
		struct handoff *h = &best->inbox[(best->inbox_head + best->inbox_len) % INBOX_MAX];

		h->fd = cfd;
		h->li = li;
		h->src = *src;
	}
	best->inbox_len++;
	__atomic_fetch_add(&best->inbox_pending, 1, __ATOMIC_RELAXED);
	listener_ref(li);
	pthread_mutex_unlock(&best->mu);
	__atomic_fetch_add(&w->handed_over, 1, __ATOMIC_RELAXED);
	ev_wakeup(best->ev);
	return true;
}

/* Starts the sessions handed over to w, or with start false closes them (the worker is quitting). */
static void take_inbox(struct worker *w, bool start)
{
	struct handoff got[INBOX_MAX];
	unsigned i, n;

	pthread_mutex_lock(&w->mu);
	n = w->inbox_len;
	for (i = 0; i < n; i++)
		got[i] = w->inbox[(w->inbox_head + i) % INBOX_MAX];
	w->inbox_head = (w->inbox_head + n) % INBOX_MAX;
	w->inbox_len = 0;
	__atomic_fetch_sub(&w->inbox_pending, n, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&w->mu);
	for (i = 0; i < n; i++) {
		if (start) {
			session_start(w, got[i].li, got[i].fd, &got[i].src);
		} else {
			close(got[i].fd);
			release(w, got[i].li);
		}
		listener_unref(got[i].li);
	}
}

static void on_accept(struct ev *ev, int fd, int mask, void *arg)
{
	struct wlisten *l = arg;
	struct worker *w = l->w;
	struct sockaddr_storage src;
	socklen_t srclen;
	int i, cfd;

	for (i = 0; i < ACCEPT_BATCH; i++) {
		if (!reserve(l->li)) {
			dlog_debug("%s: maxconn %d reached, pausing accept on thread %d", l->li->name, l->li->maxconn,
				   w->id);
			wl_pause(w, l);
			return;
		}
		cfd = net_accept(fd, &src, &srclen);
		if (cfd == -1) {
			int e = errno;

			release(w, l->li);
			if (e == EAGAIN || e == EINTR || e == ECONNABORTED)
				return;
			if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
				dlog_err("%s: accept: %s; pausing for %d ms", l->li->name, strerror(e), ACCEPT_RETRY_MS);
				wl_pause(w, l);
				if (!ev_timer_armed(&w->retry))
					ev_timer_arm(ev, &w->retry, ACCEPT_RETRY_MS);
				return;
			}
			dlog_err("%s: accept: %s", l->li->name, strerror(e));
			return;
		}
		if (!handoff(w, l->li, cfd, &src))
			session_start(w, l->li, cfd, &src);
	}
}

/* Resumes paused listeners that are below maxconn again. */
static void resume_paused(struct worker *w)
{
	size_t i;

	for (i = 0; i < w->nwl && w->npaused > 0; i++) {
		struct wlisten *l = &w->wl[i];

		if (!l->paused || __atomic_load_n(&l->li->conn_cur, __ATOMIC_RELAXED) >= l->li->maxconn)
			continue;
		if (ev_fd_mask(w->ev, l->fd, EV_READ | EV_EXCLUSIVE) == 0) {
			l->paused = false;
			w->npaused--;
		}
	}
}

static void on_retry(struct ev *ev, struct ev_timer *t, void *arg)
{
	resume_paused(arg);
}

static void before_sleep(struct ev *ev, void *arg)
{
	struct worker *w = arg;

	if (w->npaused > 0 && !ev_timer_armed(&w->retry))
		resume_paused(w);
}

static void close_listeners(struct worker *w)
{
	size_t i;

	for (i = 0; i < w->nwl; i++) {
		ev_fd_del(w->ev, w->wl[i].fd);
		close(w->wl[i].fd);
		if (w->wl[i].li->fds[w->id] == w->wl[i].fd)
			w->wl[i].li->fds[w->id] = -1;
	}
	free(w->wl);
	w->wl = NULL;
	w->nwl = 0;
	w->npaused = 0;
}

/* Takes g's listening sockets for this worker; closes the sockets of listeners g no longer has. */
static int adopt(struct worker *w, struct gen *g)
{
	struct wlisten *nw = calloc(g->nli ? g->nli : 1, sizeof(*nw));
	size_t i, j;

	if (!nw)
		return -1;
	for (i = 0; i < g->nli; i++) {
		nw[i].fd = g->li[i]->fds[w->id];
		nw[i].li = g->li[i];
		nw[i].w = w;
	}
	for (j = 0; j < w->nwl; j++) {
		bool kept = false;

		for (i = 0; i < g->nli; i++)
			kept |= nw[i].fd == w->wl[j].fd;
		if (kept)
			continue;
		ev_fd_del(w->ev, w->wl[j].fd);
		close(w->wl[j].fd);
		if (w->wl[j].li->fds[w->id] == w->wl[j].fd)
			w->wl[j].li->fds[w->id] = -1;
	}
	free(w->wl);
	w->wl = nw;
	w->nwl = g->nli;
	w->npaused = 0;
	for (i = 0; i < g->nli; i++) {
		if (nw[i].fd == -1)
			continue;
		if (ev_fd_set(w->ev, nw[i].fd, EV_READ | EV_EXCLUSIVE, on_accept, &nw[i]) == -1)
			dlog_err("%s: cannot watch the listening socket: %s", nw[i].li->name, strerror(errno));
	}
	if (w->gen)
		gen_unref(w->gen);
	w->gen = g;
	return 0;
}

/* --- mailbox ------------------------------------------------------------------------------------------- */

static void on_wakeup(struct ev *ev, void *arg)
{
	struct worker *w = arg;
	struct gen *g;
	bool stop, quit, scan;

	pthread_mutex_lock(&w->mu);
	g = w->next_gen;
	w->next_gen = NULL;
	stop = w->stop_accepting;
	quit = w->quit;
	scan = w->scan_kill;
	w->scan_kill = false;
	pthread_mutex_unlock(&w->mu);

	if (g) {
		if (adopt(w, g) == -1) {
			dlog_err("thread %d: out of memory adopting the new configuration", w->id);
			gen_unref(g);
		}
		__atomic_fetch_sub(&w->d->pending_acks, 1, __ATOMIC_ACQ_REL);
		ev_wakeup(w->d->ev);
	}
	if ((stop || quit) && w->nwl > 0)
		close_listeners(w);
	if (scan || quit) {
		struct session *s = w->sessions, *next;

		for (; s; s = next) {
			next = s->next;
			/* a session waiting in the queue has no server connection to shut: as in HAProxy it
			 * stays queued (or is redispatched by daemon_queue_redistribute) */
			if (quit || (s->sv && !s->queued && s->slot &&
				     __atomic_load_n(&s->sv->kill_seq, __ATOMIC_RELAXED) != s->kill_seq)) {
				if (!quit)
					dlog_info("%s/%s: session shut down (server marked down, shutdown-sessions)",
						  s->li->name, s->sv->srv.name);
				session_kill(s);
			}
		}
	}
	feq_take_ready(w);
	take_inbox(w, !quit);
	if (quit)
		ev_stop(ev);
	else
		resume_paused(w);
}

static void post(struct worker *w, struct gen *g, bool stop, bool quit, bool scan)
{
	pthread_mutex_lock(&w->mu);
	if (g) {
		BUG_ON(w->next_gen != NULL);
		w->next_gen = g;
	}
	w->stop_accepting |= stop;
	w->quit |= quit;
	w->scan_kill |= scan;
	pthread_mutex_unlock(&w->mu);
	ev_wakeup(w->ev);
}

void frontend_post_gen(struct worker *w, struct gen *g)
{
	post(w, g, false, false, false);
}

void frontend_post_stop_accepting(struct worker *w)
{
	post(w, NULL, true, false, false);
}

void frontend_post_quit(struct worker *w)
{
	post(w, NULL, false, true, false);
}

void frontend_post_scan_kill(struct worker *w)
{
	post(w, NULL, false, false, true);
}

/* --- thread --------------------------------------------------------------------------------------------- */

int frontend_worker_init(struct worker *w, struct daemon *d, int id, struct gen *g, char *err, size_t errlen)
{
	memset(w, 0, sizeof(*w));
	w->id = id;
	w->d = d;
	pthread_mutex_init(&w->mu, NULL);
	w->ev = ev_new(1024, err, errlen);
	if (!w->ev)
		return -1;
	w->inbox = calloc(INBOX_MAX, sizeof(*w->inbox));
	if (!w->inbox) {
		set_err(err, errlen, "out of memory");
		return -1;
	}
	w->pool = relay_pool_new(POOL_IDLE);
	if (!w->pool) {
		set_err(err, errlen, "out of memory");
		return -1;
	}
	ev_timer_init(&w->retry, on_retry, w);
	ev_set_before_sleep(w->ev, before_sleep, w);
	ev_set_wakeup(w->ev, on_wakeup, w);
	__atomic_fetch_add(&g->refs, 1, __ATOMIC_RELAXED);
	if (adopt(w, g) == -1) {
		gen_unref(g);
		set_err(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

void *frontend_worker_main(void *arg)
{
	struct worker *w = arg;

	ev_run(w->ev);
	return NULL;
}

void frontend_worker_free(struct worker *w)
{
	struct session *s, *next;

	if (!w->ev)
		return;
	take_inbox(w, false);
	free(w->inbox);
	w->inbox = NULL;
	for (s = w->sessions; s; s = next) {
		next = s->next;
		session_kill(s);
	}
	if (w->nwl > 0)
		close_listeners(w);
	free(w->wl);
	gen_unref(w->gen);
	gen_unref(w->next_gen);
	relay_pool_free(w->pool);
	ev_free(w->ev);
	pthread_mutex_destroy(&w->mu);
	w->ev = NULL;
}

/*
 * relay: splice/copy relay of one TCP session (see relay.h for the contract).
 */
#include "api.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ev.h"
#include "net.h"
#include "relay.h"

/* Each wakeup moves at most this many chunks per direction, so one fast session cannot starve others. */
#define RELAY_ROUNDS 8
/*
 * Pipes are grown to this size: a 1 GiB stream then takes 10.7k syscalls instead of 36k with the default
 * 64 KiB (perf stat -e raw_syscalls:sys_enter on recheckd), and bulk throughput rose in 5 of 6 A/B pairs.
 * Only the first RELAY_BIG_PIPES pipes of a pool are grown: an unprivileged user's pipes share a soft
 * limit (fs.pipe-user-pages-soft, 64 MiB by default), past which the kernel hands out tiny pipes. A pipe
 * that cannot grow keeps its size; `room` then overestimates and splice simply moves less.
 */
#define RELAY_PIPE_SIZE (256 * 1024)
#define RELAY_BIG_PIPES 64
/* A splice shorter than this (and than the room asked for) means the socket is empty. */
#define RELAY_DRAINED_SPLICE 16384

/* --- pool ------------------------------------------------------------------------------------- */

struct relay_pool *relay_pool_new(size_t maxidle)
{
	struct relay_pool *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->maxidle = maxidle;
	p->pipes = calloc(maxidle ? maxidle : 1, sizeof(*p->pipes));
	p->bufs = calloc(maxidle ? maxidle : 1, sizeof(*p->bufs));
	if (!p->pipes || !p->bufs) {
		relay_pool_free(p);
		return NULL;
	}
	p->pipesz = 65536;
	return p;
}

void relay_pool_free(struct relay_pool *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->npipes; i++) {
		close(p->pipes[i][0]);
		close(p->pipes[i][1]);
	}
	for (i = 0; i < p->nbufs; i++)
		free(p->bufs[i]);
	free(p->pipes);
	free(p->bufs);
	free(p);
}

static int pipe_get(struct relay_pool *p, int fds[2])
{
	if (p->npipes > 0) {
		p->npipes--;
		fds[0] = p->pipes[p->npipes][0];
		fds[1] = p->pipes[p->npipes][1];
	} else {
		if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) == -1)
			return -1;
		if (p->pipes_out < RELAY_BIG_PIPES)
			(void)fcntl(fds[0], F_SETPIPE_SZ, RELAY_PIPE_SIZE); /* best effort, see RELAY_PIPE_SIZE */
		if (p->pipes_out == 0 && p->npipes == 0) {
			int sz = fcntl(fds[0], F_GETPIPE_SZ);

			if (sz > 0)
				p->pipesz = sz;
		}
	}
	p->pipes_out++;
	return 0;
}

/* dirty: the pipe may still hold bytes (session ended mid-transfer); such a pipe is closed, not reused. */
static void pipe_put(struct relay_pool *p, int fds[2], bool dirty)
{
	if (fds[0] == -1)
		return;
	p->pipes_out--;
	if (!dirty && p->npipes < p->maxidle) {
		p->pipes[p->npipes][0] = fds[0];
		p->pipes[p->npipes][1] = fds[1];
		p->npipes++;
	} else {
		close(fds[0]);
		close(fds[1]);
	}
	fds[0] = fds[1] = -1;
}

static unsigned char *buf_get(struct relay_pool *p)
{
	unsigned char *b;

	if (p->nbufs > 0)
		b = p->bufs[--p->nbufs];
	else
		b = malloc(RELAY_BUFSIZE);
	if (b)
		p->bufs_out++;
	return b;
}

static void buf_put(struct relay_pool *p, struct relay_dir *d)
{
	unsigned char **b = &d->buf;

	/* An empty direction owns no buffer and has no offsets: the read side is open again. */
	d->off = d->len = 0;
	if (!*b)
		return;
	p->bufs_out--;
	if (p->nbufs < p->maxidle)
		p->bufs[p->nbufs++] = *b;
	else
		free(*b);
	*b = NULL;
}

/* --- session ---------------------------------------------------------------------------------- */

static void relay_io(struct ev *ev, int fd, int mask, void *arg);
static void relay_timeout(struct ev *ev, struct ev_timer *t, void *arg);

void relay_init(struct relay *r, struct ev *ev, struct relay_pool *pool, int cfd, int sfd,
		const struct relay_conf *conf, relay_end_cb end, void *arg)
{
	int i;

	memset(r, 0, sizeof(*r));
	r->ev = ev;
	r->pool = pool;
	r->cfd = cfd;
	r->sfd = sfd;
	for (i = 0; i < 2; i++) {
		r->d[i].pipe[0] = r->d[i].pipe[1] = -1;
		r->d[i].copy = conf->mode == RELAY_COPY;
	}
	r->tmo_client = conf->timeout_client;
	r->tmo_server = conf->timeout_server;
	r->end = end;
	r->arg = arg;
	ev_timer_init(&r->timer, relay_timeout, r);
}

static int dir_from(const struct relay *r, int i)
{
	return i == 0 ? r->cfd : r->sfd;
}

static int dir_to(const struct relay *r, int i)
{
	return i == 0 ? r->sfd : r->cfd;
}

static size_t dir_pending(const struct relay_dir *d)
{
	return (size_t)(d->len - d->off) + d->in_pipe;
}

/* What direction i still has to write, the preamble included. */
static size_t pending(const struct relay *r, int i)
{
	return dir_pending(&r->d[i]) + (i == 0 ? (size_t)(r->pre_len - r->pre_off) : 0);
}

/* Where the next idle deadline is, 0 when neither timeout is set. */
static uint64_t next_deadline(const struct relay *r)
{
	uint64_t c = r->tmo_client ? r->last_client + r->tmo_client : UINT64_MAX;
	uint64_t s = r->tmo_server ? r->last_server + r->tmo_server : UINT64_MAX;
	uint64_t m = MIN(c, s);

	return m == UINT64_MAX ? 0 : m;
}

static void relay_timeout(struct ev *ev, struct ev_timer *t, void *arg)
{
	struct relay *r = arg;
	uint64_t now = ev_now(ev), when;

	/* Activity only refreshes the stamps; the heap is touched here, once per timeout period. */
	if (r->tmo_client && now >= r->last_client + r->tmo_client) {
		relay_end(r, RELAY_END_CLIENT_TIMEOUT);
		return;
	}
	if (r->tmo_server && now >= r->last_server + r->tmo_server) {
		relay_end(r, RELAY_END_SERVER_TIMEOUT);
		return;
	}
	when = next_deadline(r);
	if (when)
		ev_timer_arm_at(ev, t, when);
}

static void touch(struct relay *r, int fd)
{
	if (fd == r->cfd)
		r->last_client = ev_now(r->ev);
	else
		r->last_server = ev_now(r->ev);
}

static void count(struct relay *r, int i, size_t n)
{
	int k;

	r->d[i].bytes += n;
	for (k = 0; k < 2; k++) {
		if (!r->ctr[k])
			continue;
		if (i == 0)
			__atomic_fetch_add(&r->ctr[k]->c2s, n, __ATOMIC_RELAXED);
		else
			__atomic_fetch_add(&r->ctr[k]->s2c, n, __ATOMIC_RELAXED);
	}
}

static bool splice_refused(int e)
{
	return e == EINVAL || e == ENOSYS || e == EOPNOTSUPP;
}

/*
 * Fills direction i from its source. Returns >0 bytes taken, 0 on EOF, -1 with errno (EAGAIN: stop
 * reading for now), -2 when the session cannot get a pipe/buffer.
 *
 * The EAGAIN ambiguity: splice(socket -> pipe) says EAGAIN both when the socket has nothing to read and
 * when the pipe has no room. With an empty pipe only the first is possible. With bytes already in the
 * pipe we cannot tell, so we assume "pipe full" (d->full) and do not read again until the pipe has been
 * drained; if the socket was merely empty, the only cost is that the next read waits for that drain.
 */
static ssize_t dir_fill(struct relay *r, int i, bool *drained)
{
	struct relay_dir *d = &r->d[i];
	int from = dir_from(r, i);
	ssize_t n;

	*drained = false;

	/*
	 * Splice mode moves bulk through the pipe but copies small messages, which costs fewer cycles (as
	 * HAProxy's splice-auto): a read that fills all the room it had marks the direction bulk, a small
	 * splice clears that. The pipe and the buffer never hold bytes at the same time, so order is kept.
	 */
	if (d->in_pipe > 0 || (!d->copy && d->bulk && d->off == d->len)) {
		size_t room;

		if (d->pipe[0] == -1 && pipe_get(r->pool, d->pipe) == -1)
			return -2;
		room = (size_t)r->pool->pipesz > d->in_pipe ? (size_t)r->pool->pipesz - d->in_pipe : 0;
		if (room == 0) {
			d->full = true;
			errno = EAGAIN;
			return -1;
		}
		n = splice(from, NULL, d->pipe[1], NULL, room, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n > 0) {
			d->in_pipe += (uint32_t)n;
			/* A small short splice emptied the socket (a larger one may only have run out of pipe
			 * slots, so bulk transfers keep reading in the same round). */
			*drained = (size_t)n < room && n < RELAY_DRAINED_SPLICE;
			if (n < RELAY_DRAINED_SPLICE)
				d->bulk = false;
			return n;
		}
		if (n == 0)
			return 0;
		if (errno == EAGAIN && d->in_pipe > 0)
			d->full = true;
		if (splice_refused(errno) && d->in_pipe == 0) {
			/* Not a socket the kernel can splice from: this direction copies from now on. */
			pipe_put(r->pool, d->pipe, false);
			d->copy = true;
		} else {
			if (d->in_pipe == 0)
				pipe_put(r->pool, d->pipe, false);
			return -1;
		}
	}
	if (!d->buf) {
		d->buf = buf_get(r->pool);
		if (!d->buf)
			return -2;
		d->off = d->len = 0;
	}
	if (d->len == RELAY_BUFSIZE) {
		errno = EAGAIN;
		return -1;
	}
	/* recv, not read: the socket call skips the VFS read path (a few % of a small request) */
	n = recv(from, d->buf + d->len, RELAY_BUFSIZE - d->len, 0);
	if (n > 0) {
		*drained = (size_t)n < (size_t)(RELAY_BUFSIZE - d->len);
		if (!*drained && !d->copy)
			d->bulk = true;
		d->len = (uint16_t)(d->len + n);
		return n;
	}
	if (d->off == d->len)
		buf_put(r->pool, d);
	return n;
}

/* Writes what direction i holds. Returns >0 bytes written, -1 with errno (EAGAIN: destination full). */
static ssize_t dir_flush(struct relay *r, int i)
{
	struct relay_dir *d = &r->d[i];
	int to = dir_to(r, i);
	ssize_t n;

	if (d->in_pipe > 0) {
		n = splice(d->pipe[0], NULL, to, NULL, d->in_pipe, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n > 0) {
			d->in_pipe -= (uint32_t)n;
			if (d->in_pipe == 0) {
				pipe_put(r->pool, d->pipe, false);
				d->full = false;
			}
		}
		return n;
	}
	n = send(to, d->buf + d->off, (size_t)(d->len - d->off), MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n > 0) {
		d->off = (uint16_t)(d->off + n);
		if (d->off == d->len)
			buf_put(r->pool, d);
	}
	return n;
}

/* A byte taken by or read from the server (or its EOF) proves the connection is up. */
static void mark_connected(struct relay *r)
{
	bool was = r->connecting;

	if (r->connecting || !r->connected_at)
		r->connected_at = ev_now(r->ev);
	r->connecting = false;
	if (was && r->up)
		r->up(r, r->arg);
}

static void server_up(struct relay *r, int fd)
{
	if (fd == r->sfd)
		mark_connected(r);
}

/* Ends the session for the failed syscall on fd (errno says why). */
static void end_error(struct relay *r, int fd)
{
	enum relay_end why = fd == r->cfd ? RELAY_END_CLIENT_ERROR : RELAY_END_SERVER_ERROR;

	r->err = errno;
	/* A reset after the server accepted is a server error; anything else before it moved a byte is the
	 * connect failing (refused, unreachable), reported as such, as before the session started. */
	if (fd == r->sfd && r->connecting && r->err != ECONNRESET && r->err != EPIPE) {
		relay_connect_failed(r, r->err);
		return;
	}
	relay_end(r, why);
}

/*
 * What a write to `to` that returned n (send() or dir_flush()) means for the loop: bytes went (the server
 * is then known to be up, `to` was active: *progress), `to` is full (wait until it is writable:
 * *can_write false), or the write failed and the session has ended (-1).
 */
static int wrote(struct relay *r, int to, ssize_t n, bool *progress, bool *can_write)
{
	if (n > 0) {
		server_up(r, to);
		touch(r, to);
		*progress = true;
		return 0;
	}
	if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
		*can_write = false;
		return 0;
	}
	end_error(r, to);
	return -1;
}

/*
 * Moves direction i as far as it goes now. can_read / can_write say whether the source / destination
 * was reported ready. Returns 0, or -1 after ending the session (r must not be used then).
 */
static int dir_pump(struct relay *r, int i, bool can_read, bool can_write)
{
	struct relay_dir *d = &r->d[i];
	int from = dir_from(r, i), to = dir_to(r, i), round;
	ssize_t n;

	for (round = 0; round < RELAY_ROUNDS; round++) {
		bool progress = false;

		if (can_read && !d->eof && !d->full && !d->shut) {
			bool drained;

			n = dir_fill(r, i, &drained);
			if (n >= 0)
				server_up(r, from);
			if (n > 0) {
				touch(r, from);
				progress = true;
				/*
				 * A short read left the socket empty: reading again now would only return EAGAIN
				 * (one wasted syscall per message, a third of a small request's syscalls). The
				 * poller is level-triggered, so bytes or a FIN arriving later are reported again.
				 */
				if (drained)
					can_read = false;
			} else if (n == 0) {
				d->eof = true;
				touch(r, from);
				progress = true;
			} else if (n == -2) {
				relay_end(r, RELAY_END_RESOURCE);
				return -1;
			} else if (errno == EAGAIN || errno == EINTR) {
				can_read = false;
			} else {
				end_error(r, from);
				return -1;
			}
		}
		/* The preamble (PROXY header) goes first, coalesced with what follows when there is more. */
		if (i == 0 && r->pre_off < r->pre_len && to != -1) {
			n = send(to, r->pre + r->pre_off, (size_t)(r->pre_len - r->pre_off),
				 MSG_NOSIGNAL | MSG_DONTWAIT | (dir_pending(d) > 0 ? MSG_MORE : 0));
			if (wrote(r, to, n, &progress, &can_write) == -1)
				return -1;
			if (n > 0)
				r->pre_off = (uint16_t)(r->pre_off + n);
		}
		/* Optimistic write: the destination is usually writable, which saves an epoll round trip. */
		if (dir_pending(d) > 0 && to != -1 && !(i == 0 && r->pre_off < r->pre_len)) {
			n = dir_flush(r, i);
			if (wrote(r, to, n, &progress, &can_write) == -1)
				return -1;
			if (n > 0)
				count(r, i, (size_t)n);
		}
		/* Forward the FIN only once every byte before it has been written, and not to a server still
		 * connecting: shutdown() would abort the connect. */
		if (d->eof && !d->shut && pending(r, i) == 0 && to != -1 && !(to == r->sfd && r->connecting)) {
			d->shut = true;
			pipe_put(r->pool, d->pipe, false);
			buf_put(r->pool, d);
			/*
			 * With the other direction finished too, the session ends now and close() sends this FIN:
			 * `to` has nothing unread (its own FIN came after all its bytes), so it is a FIN, not a
			 * RST, and the shutdown() would be a wasted syscall.
			 */
			if (!r->d[1 - i].shut && shutdown(to, SHUT_WR) == -1 && errno != ENOTCONN) {
				end_error(r, to);
				return -1;
			}
		}
		if (!progress || (!can_read && !can_write))
			break;
	}
	return 0;
}

/* Interest of each socket from the state of the two directions. */
static int update_masks(struct relay *r)
{
	int cm = 0, sm = 0;
	const struct relay_dir *c2s = &r->d[0], *s2c = &r->d[1];

	if (!c2s->eof && !c2s->full && c2s->len != RELAY_BUFSIZE)
		cm |= EV_READ;
	if (dir_pending(s2c) > 0)
		cm |= EV_WRITE;
	if (!s2c->eof && !s2c->full && s2c->len != RELAY_BUFSIZE)
		sm |= EV_READ;
	if (pending(r, 0) > 0 || (r->connecting && c2s->eof && !c2s->shut))
		sm |= EV_WRITE; /* bytes to write, or a FIN to forward once the connect completes */
	if (ev_fd_mask(r->ev, r->cfd, cm) == -1 || (r->sfd != -1 && ev_fd_mask(r->ev, r->sfd, sm) == -1))
		return -1;
	return 0;
}

static void relay_io(struct ev *ev, int fd, int mask, void *arg)
{
	struct relay *r = arg;
	bool rd = (mask & (EV_READ | EV_ERROR)) != 0, wr = (mask & (EV_WRITE | EV_ERROR)) != 0;
	int i = fd == r->cfd ? 0 : 1; /* the direction this fd feeds */

	/* Writable without an error: the connect completed. */
	if (fd == r->sfd && (mask & EV_WRITE) && !(mask & EV_ERROR))
		mark_connected(r);
	/* fd is the source of direction i and the destination of direction 1 - i. */
	if (dir_pump(r, i, rd, false) == -1)
		return;
	if (dir_pump(r, 1 - i, false, wr) == -1)
		return;
	if (r->d[0].shut && r->d[1].shut) {
		relay_end(r, RELAY_END_DONE);
		return;
	}
	/* No server connection (queued, or between connect attempts) and the client closed without a byte
	 * left to deliver: nothing is left to do, as HAProxy aborts such a connection request (CQ, CC). */
	if (r->sfd == -1 && r->d[0].eof && dir_pending(&r->d[0]) == 0) {
		relay_end(r, RELAY_END_CLIENT_ERROR);
		return;
	}
	if (update_masks(r) == -1)
		relay_end(r, RELAY_END_RESOURCE);
}

void relay_set_connecting(struct relay *r)
{
	r->connecting = true;
}

bool relay_server_connected(struct relay *r)
{
	if (r->connecting && r->sfd != -1 && net_peer_known(r->sfd))
		mark_connected(r);
	return !r->connecting;
}

void relay_connect_failed(struct relay *r, int e)
{
	r->err = e;
	if (!r->retry || r->sfd == -1 || r->d[0].bytes > 0 || r->d[1].bytes > 0 || dir_pending(&r->d[1]) > 0) {
		relay_end(r, RELAY_END_CONNECT);
		return;
	}
	/* Nothing reached the server and nothing came from it: the client's bytes are all still here. */
	ev_fd_forget(r->ev, r->sfd);
	close(r->sfd);
	r->sfd = -1;
	r->connecting = false;
	r->pre_off = 0;
	if (update_masks(r) == -1) {
		relay_end(r, RELAY_END_RESOURCE);
		return;
	}
	r->retry(r, r->arg);
}

void relay_set_retry(struct relay *r, relay_retry_cb cb)
{
	r->retry = cb;
}

void relay_set_up(struct relay *r, relay_up_cb cb)
{
	r->up = cb;
}

void relay_set_preamble(struct relay *r, const unsigned char *buf, size_t len)
{
	r->pre = buf;
	r->pre_len = (uint16_t)MIN(len, (size_t)UINT16_MAX);
	r->pre_off = 0;
}

int relay_preload(struct relay *r, const unsigned char *buf, size_t len)
{
	struct relay_dir *d = &r->d[0];

	if (len == 0)
		return 0;
	BUG_ON(len > RELAY_BUFSIZE || d->buf != NULL);
	d->buf = buf_get(r->pool);
	if (!d->buf)
		return -1;
	memcpy(d->buf, buf, len);
	d->off = 0;
	d->len = (uint16_t)len;
	return 0;
}

void relay_set_server(struct relay *r, int sfd)
{
	BUG_ON(r->sfd != -1);
	r->sfd = sfd;
	r->connecting = true;
	r->last_server = ev_now(r->ev);
	if (ev_fd_set(r->ev, sfd, EV_READ, relay_io, r) == -1) {
		relay_end(r, RELAY_END_RESOURCE);
		return;
	}
	relay_kick(r);
}

int relay_start(struct relay *r)
{
	uint64_t when;

	r->last_client = r->last_server = ev_now(r->ev);
	if (ev_fd_set(r->ev, r->cfd, EV_READ, relay_io, r) == -1 ||
	    (r->sfd != -1 && ev_fd_set(r->ev, r->sfd, EV_READ, relay_io, r) == -1))
		return -1;
	r->started = true;
	when = next_deadline(r);
	if (when)
		ev_timer_arm_at(r->ev, &r->timer, when);
	return 0;
}

void relay_kick(struct relay *r)
{
	if (dir_pump(r, 0, true, false) == -1)
		return;
	if (update_masks(r) == -1)
		relay_end(r, RELAY_END_RESOURCE);
}

void relay_set_server_timeout(struct relay *r, uint64_t ms)
{
	uint64_t when;

	r->tmo_server = ms;
	r->last_server = ev_now(r->ev);
	if (!r->started)
		return;
	ev_timer_stop(r->ev, &r->timer);
	when = next_deadline(r);
	if (when)
		ev_timer_arm_at(r->ev, &r->timer, when);
}

void relay_end(struct relay *r, enum relay_end why)
{
	int i;

	ev_timer_stop(r->ev, &r->timer);
	/* The relay owns both sockets and never shares them: close() below takes them out of the epoll
	 * set, so an EPOLL_CTL_DEL each would be two wasted syscalls per session. */
	ev_fd_forget(r->ev, r->cfd);
	if (r->sfd != -1)
		ev_fd_forget(r->ev, r->sfd);
	for (i = 0; i < 2; i++) {
		pipe_put(r->pool, r->d[i].pipe, r->d[i].in_pipe > 0);
		buf_put(r->pool, &r->d[i]);
	}
	/* A session that ends normally read the client to its FIN; others may leave bytes unread, and
	 * close() would then answer with a RST. Discard them (MSG_TRUNC: the kernel drops, nothing is
	 * copied), bounded, so the client sees a clean close. */
	if (r->cfd != -1 && !r->d[0].eof && why != RELAY_END_CLIENT_ERROR)
		for (i = 0; i < 4 && recv(r->cfd, NULL, 1 << 20, MSG_TRUNC | MSG_DONTWAIT) > 0; i++)
			;
	if (r->cfd != -1)
		close(r->cfd);
	if (r->sfd != -1)
		close(r->sfd);
	r->cfd = r->sfd = -1;
	if (r->end)
		r->end(r, why, r->arg);
}

void relay_kill(struct relay *r)
{
	relay_end(r, RELAY_END_KILLED);
}

const char *relay_end_str(enum relay_end why)
{
	static const char *const names[] = {
		[RELAY_END_DONE] = "done",
		[RELAY_END_CLIENT_TIMEOUT] = "client timeout",
		[RELAY_END_SERVER_TIMEOUT] = "server timeout",
		[RELAY_END_CLIENT_ERROR] = "client error",
		[RELAY_END_SERVER_ERROR] = "server error",
		[RELAY_END_KILLED] = "killed",
		[RELAY_END_RESOURCE] = "out of resources",
		[RELAY_END_CONNECT] = "cannot connect",
	};

	if ((size_t)why < ARRAY_SIZE(names) && names[why])
		return names[why];
	return "?";
}

const char *relay_mode_str(enum relay_mode m)
{
	return m == RELAY_COPY ? "copy" : "splice";
}

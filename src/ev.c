/*
 * ev: event loop core (see ev.h). The backend (ev_epoll.c) only reports readiness; fd bookkeeping,
 * timers and hooks live here so a second backend would be a single small file.
 */
#include "api.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "ev.h"
#include "ev_api.h"
#include "util.h"

/* Poll at most this many events per iteration: more would only delay timers. */
#define EV_FIRED_MAX 256
/* fd numbers above this are refused (a bug or an absurd RLIMIT_NOFILE). */
#define EV_FD_LIMIT (1 << 24)

static void wake_read(struct ev *ev, int fd, int mask, void *arg)
{
	uint64_t v;

	/* Drain the counter: several ev_wakeup() calls collapse into one callback. */
	if (read(fd, &v, sizeof(v)) == -1 && errno != EAGAIN)
		return;
	if (ev->wake_cb)
		ev->wake_cb(ev, ev->wake_arg);
}

struct ev *ev_new(int setsize, char *err, size_t errlen)
{
	struct ev *ev;

	ev = calloc(1, sizeof(*ev));
	if (!ev) {
		set_err(err, errlen, "event loop: out of memory");
		return NULL;
	}
	ev->wakefd = -1;
	if (setsize < 16)
		setsize = 16;
	ev->fds = calloc((size_t)setsize, sizeof(*ev->fds));
	ev->nfired_max = EV_FIRED_MAX;
	ev->fired = calloc((size_t)ev->nfired_max, sizeof(*ev->fired));
	if (!ev->fds || !ev->fired) {
		set_err(err, errlen, "event loop: out of memory");
		goto fail;
	}
	ev->nfds = setsize;
	if (ev_api_create(ev) == -1) {
		set_err(err, errlen, "event loop: %s: %s", ev_api_name(), strerror(errno));
		goto fail;
	}
	if (ev_api_resize(ev, ev->nfired_max) == -1) {
		set_err(err, errlen, "event loop: out of memory");
		goto fail;
	}
	ev->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (ev->wakefd == -1) {
		set_err(err, errlen, "event loop: eventfd: %s", strerror(errno));
		goto fail;
	}
	if (ev_fd_set(ev, ev->wakefd, EV_READ, wake_read, NULL) == -1) {
		set_err(err, errlen, "event loop: watching the eventfd: %s", strerror(errno));
		goto fail;
	}
	ev->now = now_ms();
	return ev;
fail:
	ev_free(ev);
	return NULL;
}

void ev_free(struct ev *ev)
{
	size_t i;

	if (!ev)
		return;
	if (ev->api)
		ev_api_free(ev);
	if (ev->wakefd != -1)
		close(ev->wakefd);
	/* Timers belong to their owners: only forget them. */
	for (i = 0; i < ev->nheap; i++)
		ev->heap[i]->slot = EV_TIMER_IDLE;
	free(ev->heap);
	free(ev->fds);
	free(ev->fired);
	free(ev);
}

static int grow_fds(struct ev *ev, int fd)
{
	struct ev_fd *n;
	int want = ev->nfds;

	if (fd >= EV_FD_LIMIT) {
		errno = ERANGE;
		return -1;
	}
	while (want <= fd)
		want *= 2;
	n = realloc(ev->fds, (size_t)want * sizeof(*n));
	if (!n) {
		errno = ENOMEM;
		return -1;
	}
	memset(n + ev->nfds, 0, (size_t)(want - ev->nfds) * sizeof(*n));
	ev->fds = n;
	ev->nfds = want;
	return 0;
}

int ev_fd_set(struct ev *ev, int fd, int mask, ev_fd_cb cb, void *arg)
{
	struct ev_fd *f;

	if (fd < 0) {
		errno = EBADF;
		return -1;
	}
	if (fd >= ev->nfds && grow_fds(ev, fd) == -1)
		return -1;
	f = &ev->fds[fd];
	mask &= EV_READ | EV_WRITE | EV_EXCLUSIVE;
	if (f->mask != mask && ev_api_set(ev, fd, f->mask, mask) == -1)
		return -1;
	f->known = true;
	f->mask = mask;
	f->cb = cb;
	f->arg = arg;
	return 0;
}

int ev_fd_mask(struct ev *ev, int fd, int mask)
{
	struct ev_fd *f;

	if (fd < 0 || fd >= ev->nfds || !ev->fds[fd].known) {
		errno = EBADF;
		return -1;
	}
	f = &ev->fds[fd];
	mask &= EV_READ | EV_WRITE | EV_EXCLUSIVE;
	/* The common case in a relay: nothing changes, and no syscall is made. */
	if (f->mask == mask)
		return 0;
	if (ev_api_set(ev, fd, f->mask, mask) == -1)
		return -1;
	f->mask = mask;
	return 0;
}

int ev_fd_get(const struct ev *ev, int fd)
{
	if (fd < 0 || fd >= ev->nfds || !ev->fds[fd].known)
		return EV_NONE;
	return ev->fds[fd].mask;
}

static void fd_drop(struct ev *ev, int fd, bool tell_backend)
{
	int i;

	if (fd < 0 || fd >= ev->nfds || !ev->fds[fd].known)
		return;
	if (tell_backend)
		ev_api_del(ev, fd, ev->fds[fd].mask);
	memset(&ev->fds[fd], 0, sizeof(ev->fds[fd]));
	/* Events already fetched for this fd in the current iteration must not be delivered. */
	for (i = 0; i < ev->nfired_max; i++)
		if (ev->fired[i].fd == fd)
			ev->fired[i].mask = 0;
}

void ev_fd_del(struct ev *ev, int fd)
{
	fd_drop(ev, fd, true);
}

void ev_fd_forget(struct ev *ev, int fd)
{
	fd_drop(ev, fd, false);
}

/* --- timers: a binary min-heap of pointers; each timer knows its slot so it can be removed in O(log n) */

static bool earlier(const struct ev_timer *a, const struct ev_timer *b)
{
	return a->when < b->when;
}

static void heap_place(struct ev *ev, size_t i, struct ev_timer *t)
{
	ev->heap[i] = t;
	t->slot = i;
}

static void sift_up(struct ev *ev, size_t i)
{
	struct ev_timer *t = ev->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!earlier(t, ev->heap[parent]))
			break;
		heap_place(ev, i, ev->heap[parent]);
		i = parent;
	}
	heap_place(ev, i, t);
}

static void sift_down(struct ev *ev, size_t i)
{
	struct ev_timer *t = ev->heap[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= ev->nheap)
			break;
		if (c + 1 < ev->nheap && earlier(ev->heap[c + 1], ev->heap[c]))
			c++;
		if (!earlier(ev->heap[c], t))
			break;
		heap_place(ev, i, ev->heap[c]);
		i = c;
	}
	heap_place(ev, i, t);
}

void ev_timer_init(struct ev_timer *t, ev_timer_cb cb, void *arg)
{
	t->when = 0;
	t->slot = EV_TIMER_IDLE;
	t->cb = cb;
	t->arg = arg;
}

void ev_timer_stop(struct ev *ev, struct ev_timer *t)
{
	size_t i = t->slot;
	struct ev_timer *last;

	if (i == EV_TIMER_IDLE)
		return;
	BUG_ON(i >= ev->nheap || ev->heap[i] != t);
	t->slot = EV_TIMER_IDLE;
	last = ev->heap[--ev->nheap];
	if (last == t)
		return;
	heap_place(ev, i, last);
	sift_up(ev, i);
	sift_down(ev, last->slot);
}

void ev_timer_arm_at(struct ev *ev, struct ev_timer *t, uint64_t when)
{
	if (t->slot != EV_TIMER_IDLE) {
		/* Re-arm in place: cheaper than stop + insert, and the common case for idle timeouts. */
		bool up = when < t->when;

		t->when = when;
		if (up)
			sift_up(ev, t->slot);
		else
			sift_down(ev, t->slot);
		return;
	}
	if (ev->nheap == ev->heapcap) {
		size_t cap = ev->heapcap ? ev->heapcap * 2 : 64;
		struct ev_timer **n = realloc(ev->heap, cap * sizeof(*n));

		/* Out of memory for a timer is not recoverable by the callers (a timeout must exist). */
		BUG_ON(!n);
		ev->heap = n;
		ev->heapcap = cap;
	}
	t->when = when;
	ev->heap[ev->nheap] = t;
	t->slot = ev->nheap++;
	sift_up(ev, t->slot);
}

void ev_timer_arm(struct ev *ev, struct ev_timer *t, uint64_t ms)
{
	ev_timer_arm_at(ev, t, ev->now + ms);
}

/* Fires every expired timer; returns how many. A callback that re-arms for "now" runs next iteration. */
static int run_timers(struct ev *ev)
{
	int n = 0;
	uint64_t now = ev->now;

	while (ev->nheap > 0 && ev->heap[0]->when <= now && n < 100000) {
		struct ev_timer *t = ev->heap[0];

		ev_timer_stop(ev, t);
		t->cb(ev, t, t->arg);
		n++;
	}
	return n;
}

/* --- hooks and the loop */

void ev_set_before_sleep(struct ev *ev, ev_hook_cb cb, void *arg)
{
	ev->before_sleep = cb;
	ev->before_sleep_arg = arg;
}

void ev_set_wakeup(struct ev *ev, ev_hook_cb cb, void *arg)
{
	ev->wake_cb = cb;
	ev->wake_arg = arg;
}

void ev_wakeup(struct ev *ev)
{
	uint64_t one = 1;
	ssize_t r;

	/* EAGAIN means the counter is already huge: the loop will wake anyway. */
	r = write(ev->wakefd, &one, sizeof(one));
	(void)r;
}

uint64_t ev_now(const struct ev *ev)
{
	return ev->now;
}

void ev_update_time(struct ev *ev)
{
	ev->now = now_ms();
}

int ev_run_once(struct ev *ev, int max_wait_ms)
{
	int i, n, wait = max_wait_ms, handled;

	if (ev->before_sleep)
		ev->before_sleep(ev, ev->before_sleep_arg);
	if (ev->stop)
		return 0;
	if (ev->nheap > 0) {
		uint64_t when = ev->heap[0]->when;
		uint64_t now = now_ms();
		int left = when <= now ? 0 : (when - now > INT32_MAX ? INT32_MAX : (int)(when - now));

		if (wait < 0 || left < wait)
			wait = left;
	}
	n = ev_api_poll(ev, wait);
	ev->now = now_ms();
	handled = n;
	for (i = 0; i < n; i++) {
		int fd = ev->fired[i].fd, got = ev->fired[i].mask;
		struct ev_fd *f;

		if (got == 0 || fd >= ev->nfds)
			continue;
		f = &ev->fds[fd];
		/* Report errors together with the interest bits so the owner sees them on its next read/write. */
		if (got & EV_ERROR)
			got |= f->mask;
		got &= f->mask | EV_ERROR;
		if (got && f->cb)
			f->cb(ev, fd, got, f->arg);
	}
	handled += run_timers(ev);
	return handled;
}

int ev_run(struct ev *ev)
{
	ev->stop = false;
	while (!ev->stop)
		ev_run_once(ev, -1);
	return 0;
}

void ev_stop(struct ev *ev)
{
	ev->stop = true;
}

const char *ev_backend_name(void)
{
	return ev_api_name();
}

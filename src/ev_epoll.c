/*
 * ev_epoll: the epoll backend of ev (see ev_api.h). Level-triggered: a relay that stops reading a side
 * simply drops EV_READ from its mask, and nothing is lost between iterations.
 */
#include "api.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "ev_api.h"

struct ev_epoll {
	int epfd;                   /* the epoll instance, close-on-exec */
	struct epoll_event *events; /* buffer for epoll_wait */
	int size;                   /* entries in events */
};

int ev_api_create(struct ev *ev)
{
	struct ev_epoll *st = calloc(1, sizeof(*st));

	if (!st) {
		errno = ENOMEM;
		return -1;
	}
	st->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (st->epfd == -1) {
		int e = errno;

		free(st);
		errno = e;
		return -1;
	}
	ev->api = st;
	return 0;
}

int ev_api_resize(struct ev *ev, int setsize)
{
	struct ev_epoll *st = ev->api;
	struct epoll_event *n = realloc(st->events, (size_t)setsize * sizeof(*n));

	if (!n)
		return -1;
	st->events = n;
	st->size = setsize;
	return 0;
}

void ev_api_free(struct ev *ev)
{
	struct ev_epoll *st = ev->api;

	close(st->epfd);
	free(st->events);
	free(st);
	ev->api = NULL;
}

int ev_api_set(struct ev *ev, int fd, int oldmask, int newmask)
{
	struct ev_epoll *st = ev->api;
	struct epoll_event ee = {0};

	if (newmask == 0) {
		ev_api_del(ev, fd, oldmask);
		return 0;
	}
	if (newmask & EV_EXCLUSIVE) {
		/* EPOLLEXCLUSIVE takes no EPOLLRDHUP and no EPOLL_CTL_MOD: re-add instead */
		ee.events = EPOLLIN | EPOLLEXCLUSIVE;
		ee.data.fd = fd;
		ev_api_del(ev, fd, oldmask);
		return epoll_ctl(st->epfd, EPOLL_CTL_ADD, fd, &ee);
	}
	if (newmask & EV_READ)
		ee.events |= EPOLLIN | EPOLLRDHUP;
	if (newmask & EV_WRITE)
		ee.events |= EPOLLOUT;
	ee.data.fd = fd;
	return epoll_ctl(st->epfd, oldmask ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ee);
}

void ev_api_del(struct ev *ev, int fd, int oldmask)
{
	struct ev_epoll *st = ev->api;
	struct epoll_event ee = {0};

	if (oldmask == 0)
		return;
	/* Fails only when fd was already closed, which removes it from the set anyway. */
	(void)epoll_ctl(st->epfd, EPOLL_CTL_DEL, fd, &ee);
}

int ev_api_poll(struct ev *ev, int timeout_ms)
{
	struct ev_epoll *st = ev->api;
	int n, i, max = MIN(st->size, ev->nfired_max);

	n = epoll_wait(st->epfd, st->events, max, timeout_ms);
	if (n == -1)
		return 0; /* EINTR: the caller loops */
	for (i = 0; i < n; i++) {
		uint32_t e = st->events[i].events;
		int mask = 0;

		if (e & (EPOLLIN | EPOLLRDHUP))
			mask |= EV_READ;
		if (e & EPOLLOUT)
			mask |= EV_WRITE;
		if (e & (EPOLLERR | EPOLLHUP))
			mask |= EV_ERROR;
		ev->fired[i].fd = st->events[i].data.fd;
		ev->fired[i].mask = mask;
	}
	/* Stale entries past n must not match a later ev_fd_del() scan. */
	for (; i < ev->nfired_max; i++)
		ev->fired[i].fd = -1;
	return n;
}

const char *ev_api_name(void)
{
	return "epoll";
}

/*
 * ev-t.h: types of the event loop (see ev.h). One loop per thread; nothing here is shared between
 * threads except through ev_wakeup().
 */
#ifndef RECHECK_EV_T_H
#define RECHECK_EV_T_H

#include "api.h"

struct ev;
struct ev_timer;

/* Readiness mask bits, given to ev_fd_set() as interest and to the callback as what is ready. */
enum ev_mask {
	EV_NONE = 0,
	EV_READ = 1,   /* readable, or a listening socket has a connection */
	EV_WRITE = 2,  /* writable, or a non-blocking connect finished (either way) */
	EV_ERROR = 4,  /* error or hang-up reported by the kernel (only given, never asked for) */
	/* With EV_READ, for a listening socket that several loops watch: a new connection wakes one loop
	 * that is waiting, not all of them (EPOLLEXCLUSIVE). Only ever switched between this and EV_NONE. */
	EV_EXCLUSIVE = 8,
};

/* Called with the ready subset of the interest mask (plus EV_ERROR). */
typedef void (*ev_fd_cb)(struct ev *ev, int fd, int mask, void *arg);
/* Called once when the timer expires; the timer is disarmed before the call and may be re-armed. */
typedef void (*ev_timer_cb)(struct ev *ev, struct ev_timer *t, void *arg);
/* Before-sleep hook and cross-thread wakeup callback. */
typedef void (*ev_hook_cb)(struct ev *ev, void *arg);

/* A timer is embedded by its owner (no allocation per timer); ev keeps a pointer in its min-heap. */
struct ev_timer {
	uint64_t when;   /* absolute expiry in ev_now() milliseconds */
	size_t slot;     /* index in the heap, or EV_TIMER_IDLE when not armed */
	ev_timer_cb cb;  /* set by ev_timer_init() */
	void *arg;       /* passed to cb */
};

#define EV_TIMER_IDLE ((size_t)-1)

/* One entry per fd number. */
struct ev_fd {
	int mask;        /* interest: EV_READ | EV_WRITE; the backend watches the fd only while non-zero */
	bool known;      /* a handler is set (ev_fd_set called, ev_fd_del not yet) */
	ev_fd_cb cb;     /* called when any bit of mask is ready */
	void *arg;       /* passed to cb */
};

/* A ready event as the backend reports it. */
struct ev_fired {
	int fd;
	int mask;
};

struct ev {
	struct ev_fd *fds;        /* indexed by fd number; grown on demand */
	int nfds;                 /* entries in fds */
	struct ev_fired *fired;   /* filled by the backend's poll */
	int nfired_max;           /* capacity of fired */
	struct ev_timer **heap;   /* min-heap on when */
	size_t nheap;             /* armed timers */
	size_t heapcap;           /* capacity of heap */
	uint64_t now;             /* cached monotonic ms, refreshed after every poll */
	bool stop;                /* set by ev_stop(); ev_run() returns at the next iteration */
	ev_hook_cb before_sleep;  /* called before each poll; may be NULL */
	void *before_sleep_arg;
	int wakefd;               /* eventfd written by ev_wakeup() from any thread */
	ev_hook_cb wake_cb;       /* called in the loop's thread after a wakeup; may be NULL */
	void *wake_arg;
	void *api;                /* backend state (ev_epoll.c) */
};

#endif

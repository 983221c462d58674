/*
 * ev: a small event loop in the style of Redis' ae: fd handlers with read/write interest masks, timers in
 * a min-heap (arming, re-arming and stopping are O(log n), so many thousands of timers are cheap), a
 * before-sleep hook, and a cross-thread wakeup through an eventfd. Level-triggered. One loop per thread:
 * apart from ev_wakeup() and ev_stop() called through a wakeup, nothing may be called from another thread.
 *
 * The backend (ev_epoll.c, the only one) implements the seven ev_api_* functions of ev_api.h.
 */
#ifndef RECHECK_EV_H
#define RECHECK_EV_H

#include "ev-t.h"

/* A loop prepared for about setsize fds (it grows past that). NULL with a reason in err. Free with ev_free. */
struct ev *ev_new(int setsize, char *err, size_t errlen);
void ev_free(struct ev *ev);

/*
 * Sets the interest mask (EV_READ|EV_WRITE, or EV_NONE to keep the fd known but silent), callback and
 * argument for fd, replacing any earlier ones. Returns 0, or -1 with errno set (epoll_ctl's).
 */
int ev_fd_set(struct ev *ev, int fd, int mask, ev_fd_cb cb, void *arg);
/* Changes only the interest mask of a registered fd. 0 or -1 with errno. */
int ev_fd_mask(struct ev *ev, int fd, int mask);
/* Current interest mask of fd (EV_NONE when unknown). */
int ev_fd_get(const struct ev *ev, int fd);
/* Forgets fd. Call it before close(fd): a later fd with the same number must not inherit the handler. */
void ev_fd_del(struct ev *ev, int fd);
/*
 * ev_fd_del() without asking the backend to stop watching: for an fd the caller closes right after, and
 * that no other process or descriptor shares (closing its last reference removes it from the epoll set).
 * Saves one epoll_ctl per short-lived socket (health checks).
 */
void ev_fd_forget(struct ev *ev, int fd);

void ev_timer_init(struct ev_timer *t, ev_timer_cb cb, void *arg);
/* Arms (or re-arms) t to fire in ms milliseconds from ev_now(). */
void ev_timer_arm(struct ev *ev, struct ev_timer *t, uint64_t ms);
/* Arms t to fire at the absolute time when (ev_now() scale). */
void ev_timer_arm_at(struct ev *ev, struct ev_timer *t, uint64_t when);
/* Disarms t; harmless when it is not armed. */
void ev_timer_stop(struct ev *ev, struct ev_timer *t);
static inline bool ev_timer_armed(const struct ev_timer *t)
{
	return t->slot != EV_TIMER_IDLE;
}

void ev_set_before_sleep(struct ev *ev, ev_hook_cb cb, void *arg);
/* Callback run in the loop's thread after one or more ev_wakeup() calls. */
void ev_set_wakeup(struct ev *ev, ev_hook_cb cb, void *arg);
/* Thread-safe and async-signal-safe: makes the loop return from its poll and run the wakeup callback. */
void ev_wakeup(struct ev *ev);

/* Cached monotonic time in milliseconds, refreshed after each poll. */
uint64_t ev_now(const struct ev *ev);
/* Refreshes the cached time now (after long work in a callback). */
void ev_update_time(struct ev *ev);

/*
 * Runs one iteration: before-sleep hook, poll for at most max_wait_ms (-1: until an event or the next
 * timer), fd callbacks, expired timers. Returns the number of fd events plus timers handled.
 */
int ev_run_once(struct ev *ev, int max_wait_ms);
/* Runs iterations until ev_stop(). Returns 0. */
int ev_run(struct ev *ev);
/* Makes ev_run() return after the current iteration (call from the loop's own thread). */
void ev_stop(struct ev *ev);

/* Name of the backend ("epoll"). */
const char *ev_backend_name(void);

#endif

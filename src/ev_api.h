/*
 * ev_api: the seven-function backend interface between ev.c and a poller (ev_epoll.c), as in Redis'
 * ae_*.c. Internal to ev; nothing else includes it.
 */
#ifndef RECHECK_EV_API_H
#define RECHECK_EV_API_H

#include "ev-t.h"

/* Creates the backend state in ev->api. 0 or -1 with errno. */
int ev_api_create(struct ev *ev);
/* ev->fired can now hold setsize events. 0 or -1. */
int ev_api_resize(struct ev *ev, int setsize);
void ev_api_free(struct ev *ev);
/*
 * Changes what is watched on fd from oldmask to newmask (both EV_READ|EV_WRITE). An empty mask means
 * "not watched at all": epoll reports hang-ups even on an empty interest set, and a relay side that is
 * deliberately paused must not spin on them. 0 or -1 with errno.
 */
int ev_api_set(struct ev *ev, int fd, int oldmask, int newmask);
/* Stops watching fd (its mask was oldmask). */
void ev_api_del(struct ev *ev, int fd, int oldmask);
/* Waits up to timeout_ms (-1: forever); fills ev->fired; returns the count (0 on EINTR). */
int ev_api_poll(struct ev *ev, int timeout_ms);
const char *ev_api_name(void);

#endif

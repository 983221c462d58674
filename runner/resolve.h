/*
 * resolve: server addresses given as DNS names, resolved at start and every `resolve_interval` by one
 * resolver thread, never on an event loop. A server whose name has no address waits in resolution
 * maintenance (SRV_ADMF_RMAINT, "no address", with a warning) and comes up when it resolves; a changed
 * address is followed (sessions already open keep theirs); a name that stops resolving keeps its last
 * address, as HAProxy does. `nameservers:` picks the servers asked (libresolv); without it, the system's
 * resolver (net_resolve_all(), src/net.c). All functions run on the main thread.
 */
#ifndef RECHECKD_RESOLVE_H
#define RECHECKD_RESOLVE_H

#include "api.h"

struct daemon;

/*
 * Starts the resolver when the current generation has names (a no-op otherwise, or when it runs), asks
 * for every name, and runs the main loop for at most wait_ms while answers come (start-up: names that
 * resolve are up before the first client). 0, or -1 when the thread cannot be started.
 */
int resolve_start(struct daemon *d, uint64_t wait_ms);
/* A reload was published: new names are asked at once (the resolver starts if it was not running). */
void resolve_reloaded(struct daemon *d);
/* Stops the thread (waiting for a lookup in progress) and frees everything. */
void resolve_stop(struct daemon *d);

#endif

/*
 * observe: wires the health checker (health.h) and the stats server (httpd.h + stats.h) into the daemon
 * through its hooks (daemon.h struct daemon_hooks), and builds the stats snapshot from the running
 * generation: listeners, servers, their last checks and counters.
 *
 * Served paths: "/" the HTML stats page (auto-refresh), "/stats.json", "/metrics" (Prometheus text 0.0.4).
 */
#ifndef RECHECKD_OBSERVE_H
#define RECHECKD_OBSERVE_H

struct daemon;

/* HTML auto-refresh period in seconds. */
#define OBSERVE_REFRESH_S 5

/* Sets d->hooks; call before daemon_run(). The state is allocated by the start hook, freed by stop. */
void observe_install(struct daemon *d);

#endif

/*
 * checknet: run a check against one server over a real socket, blocking the caller. This is the driver
 * `recheck replay` uses; recheckd drives the same engine (check.h) from its epoll loop. Both go through
 * the one socket driver, check_io.c (non-blocking connect, send, recv, TCP_NODELAY, close with RST unless
 * linger, local failures told apart from the server's); this file only adds the poll() loop and the
 * deadline: one deadline covers the whole check, every wait uses the time left until start + timeout.
 */
#ifndef RECHECK_CHECKNET_H
#define RECHECK_CHECKNET_H

#include <sys/socket.h>

#include "check-t.h"

struct checknet_addr {
	struct sockaddr_storage ss; /* resolved address with the server's port */
	socklen_t len;
	char host[256];             /* as given, without brackets */
	int port;                   /* the server's port */
};

/*
 * Parses "HOST:PORT" (IPv4, [IPv6] or a name; net_split_hostport) and resolves it (net_resolve).
 * Returns 0; -1 with a reason in err and *resolve_failed true when the name did not resolve (an
 * L4-class failure), false for a malformed text.
 */
int checknet_resolve(const char *hostport, struct checknet_addr *addr, bool *resolve_failed, char *err,
		     size_t errlen);

/*
 * Runs run (initialised with check_run_init()) to its end against addr within timeout_ms. Returns 0
 * when the check concluded (run->res holds the verdict), -1 on a local failure (no fd, no memory, no
 * free port: check_io_err_is_local(); or poll() failed) with a reason in err: then there is no verdict.
 */
int checknet_run(struct check_run *run, const struct checknet_addr *addr, uint64_t timeout_ms, char *err,
		 size_t errlen);

#endif

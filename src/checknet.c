/*
 * checknet: the poll() loop of `recheck replay` around the one socket driver (check_io.c): it waits with
 * poll() for what check_io asks, always for the time left until the run's one deadline, and feeds the
 * timeout. --server is parsed and resolved by net.c's one HOST:PORT parser.
 */
#include "api.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "check_io.h"
#include "checknet.h"
#include "net.h"
#include "util.h"

int checknet_resolve(const char *hostport, struct checknet_addr *addr, bool *resolve_failed, char *err,
		     size_t errlen)
{
	uint16_t port;

	memset(addr, 0, sizeof(*addr));
	*resolve_failed = false;
	if (net_split_hostport(hostport, 0, addr->host, sizeof(addr->host), &port, err, errlen) == -1)
		return -1;
	addr->port = port;
	if (net_resolve(addr->host, port, &addr->ss, &addr->len, err, errlen) == -1) {
		*resolve_failed = true;
		return -1;
	}
	return 0;
}

/* Milliseconds left until deadline (0 when passed), as poll() takes them. */
static int left_ms(uint64_t deadline)
{
	uint64_t now = now_ms();

	if (now >= deadline)
		return 0;
	return deadline - now > 3600000 ? 3600000 : (int)(deadline - now);
}

/*
 * Waits for what check_io asked (w) until the deadline, then resumes it; repeats while it asks for more.
 * Returns the last check_io result, CIO_OK after feeding the timeout, or -1 when poll() failed.
 */
static int wait_io(struct check_run *run, struct check_conn *c, enum cio_want w, uint64_t deadline)
{
	while (w == CIO_WANT_READ || w == CIO_WANT_WRITE) {
		struct pollfd p = {.fd = c->fd, .events = w == CIO_WANT_READ ? POLLIN : POLLOUT};
		int ms = left_ms(deadline), rc;

		if (ms == 0) {
			check_io_cancel(c);
			check_on_timeout(run);
			return CIO_OK;
		}
		rc = poll(&p, 1, ms);
		if (rc == -1 && errno == EINTR)
			continue;
		if (rc == -1)
			return -1;
		if (rc == 0)
			continue; /* re-check the clock: poll may wake a little early */
		w = check_io_resume(c, run, (p.revents & (POLLERR | POLLHUP)) != 0);
	}
	return (int)w;
}

int checknet_run(struct check_run *run, const struct checknet_addr *addr, uint64_t timeout_ms, char *err,
		 size_t errlen)
{
	uint64_t deadline = now_ms() + timeout_ms;
	struct check_conn c;
	struct check_action a;
	int rc;

	check_io_init(&c);
	for (;;) {
		a = check_next(run);
		switch (a.type) {
		case CHECK_ACT_CONNECT:
			rc = wait_io(run, &c, check_io_connect(&c, run, &addr->ss, addr->len, &a), deadline);
			break;
		case CHECK_ACT_SEND:
			rc = wait_io(run, &c, check_io_send(&c, run, &a), deadline);
			break;
		case CHECK_ACT_WANT_READ:
			rc = wait_io(run, &c, check_io_recv(&c, run), deadline);
			break;
		case CHECK_ACT_TLS:
			rc = wait_io(run, &c, check_io_tls(&c, run, &a), deadline);
			break;
		case CHECK_ACT_WAIT:
			/* every action above feeds its outcome, so this only means: wait for the deadline */
			if (left_ms(deadline) > 0)
				poll(NULL, 0, left_ms(deadline));
			check_on_timeout(run);
			rc = CIO_OK;
			break;
		case CHECK_ACT_DONE:
		default:
			check_io_close(&c, a.linger);
			return 0;
		}
		if (rc == -1) {
			set_err(err, errlen, "poll: %s", strerror(errno));
			goto fail;
		}
		if (rc == CIO_LOCAL) {
			check_io_local_str(&c, err, errlen);
			goto fail;
		}
	}
fail:
	check_io_close(&c, false);
	return -1;
}

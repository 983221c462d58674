/*
 * preflight: what start-up refuses, checked by the same code for `recheckd -c` and for a real start
 * (see daemon_preflight() in daemon.h), so that a configuration `-c` calls valid does start.
 */
#include "api.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "daemon.h"
#include "cli.h"
#include "health.h"
#include "httpd.h"
#include "net.h"
#include "util.h"

/* Besides sessions: signalfd, epoll and eventfds per thread, logs, and a margin. */
#define PREFLIGHT_MISC_FDS 32

/*
 * What maxconn and the checks need, as HAProxy's maxsock: two sockets per session, each thread's copy of
 * each listening socket, the checks running at once, the stats and runtime API clients when configured. Splice pipes are not counted
 * (as HAProxy's maxpipes, they are optional: a session copies when no pipe can be had).
 */
static uint64_t fds_fixed(const struct conf *c)
{
	uint64_t n = (uint64_t)c->nlisteners * (uint64_t)c->threads + (uint64_t)c->threads * 4 + PREFLIGHT_MISC_FDS;
	size_t i, k;

	if (c->stats_bind)
		n += HTTPD_MAX_CLIENTS + 1;
	if (c->stats_socket)
		n += CLI_MAX_CLIENTS + 1;
	for (i = 0; i < c->nlisteners; i++)
		for (k = 0; k < c->listeners[i].nservers; k++)
			if (c->listeners[i].servers[k].check.enabled)
				return n + HEALTH_MAX_RUNNING;
	return n;
}

static int check_fds(struct conf *c, uint64_t *fd_limit, char *err, size_t errlen)
{
	uint64_t need = fds_fixed(c), fixed, dflt = 0, room;
	struct rlimit rl;
	size_t i;

	for (i = 0; i < c->nlisteners; i++)
		need += 2 * (uint64_t)c->listeners[i].maxconn;
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		set_err(err, errlen, "getrlimit(RLIMIT_NOFILE): %s", strerror(errno));
		return -1;
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
		struct rlimit want = {(rlim_t)need, rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need ? rl.rlim_max : need};

		/* As HAProxy: raise the soft limit, and the hard one too when allowed; else up to the hard one. */
		if (setrlimit(RLIMIT_NOFILE, &want) == 0) {
			rl = want;
		} else if (rl.rlim_max != rl.rlim_cur) {
			rl.rlim_cur = rl.rlim_max;
			if (setrlimit(RLIMIT_NOFILE, &rl) == -1 && getrlimit(RLIMIT_NOFILE, &rl) == -1)
				rl.rlim_cur = 0;
		}
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
		/* Listeners without an explicit maxconn share what is left, as HAProxy derives its default
		 * maxconn from the limit; an explicit maxconn that does not fit is refused. */
		fixed = fds_fixed(c);
		for (i = 0; i < c->nlisteners; i++) {
			if (c->listeners[i].maxconn_set)
				fixed += 2 * (uint64_t)c->listeners[i].maxconn;
			else
				dflt++;
		}
		room = rl.rlim_cur > fixed ? (rl.rlim_cur - fixed) / 2 : 0;
		if (dflt == 0 || room / dflt < 1) {
			set_err(err, errlen,
				"%s: maxconn and the checks need %llu file descriptors but RLIMIT_NOFILE is %llu (hard %llu) "
				"and cannot be raised; lower maxconn or raise the limit (LimitNOFILE= in the unit, ulimit -n)",
				c->file, (unsigned long long)need, (unsigned long long)rl.rlim_cur,
				(unsigned long long)rl.rlim_max);
			return -1;
		}
		for (i = 0; i < c->nlisteners; i++)
			if (!c->listeners[i].maxconn_set && (uint64_t)c->listeners[i].maxconn > room / dflt)
				c->listeners[i].maxconn = (int)(room / dflt);
	}
	if (fd_limit)
		*fd_limit = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur;
	return 0;
}

static int check_user(const struct conf *c, char *err, size_t errlen)
{
	struct passwd *pw;

	if (geteuid() == 0 && !c->user && !c->allow_root) {
		set_err(err, errlen,
			"%s: refusing to run as root: set `user:` (and optionally `group:`) so recheckd drops privileges "
			"after binding, or `allow_root: true` to keep root deliberately", c->file);
		return -1;
	}
	if (!c->user)
		return 0;
	errno = 0;
	pw = getpwnam(c->user);
	if (!pw) {
		set_err(err, errlen, "%s: user '%s' does not exist", c->file, c->user);
		return -1;
	}
	if (c->group && !getgrnam(c->group)) {
		set_err(err, errlen, "%s: group '%s' does not exist", c->file, c->group);
		return -1;
	}
	if (geteuid() != 0 && geteuid() != pw->pw_uid) {
		set_err(err, errlen, "%s: user '%s' is set but recheckd does not run as root and cannot switch", c->file,
			c->user);
		return -1;
	}
	return 0;
}

static int check_addresses(const struct conf *c, char *err, size_t errlen)
{
	size_t i, j;

	for (i = 0; i < c->nlisteners; i++) {
		const struct conf_listener *a = &c->listeners[i];

		for (j = 0; j < i; j++) {
			const struct conf_listener *b = &c->listeners[j];

			if (net_addr_equal((const struct sockaddr *)&a->addr, (const struct sockaddr *)&b->addr)) {
				set_err(err, errlen, "%s:%d: listener %s: bind %s is already the address of listener %s (line %d)",
					c->file, a->line, a->name, a->bind, b->name, b->line);
				return -1;
			}
		}
		if (c->stats_bind &&
		    net_addr_equal((const struct sockaddr *)&a->addr, (const struct sockaddr *)&c->stats_addr)) {
			set_err(err, errlen, "%s:%d: listener %s: bind is the same address as stats.bind", c->file, a->line,
				a->name);
			return -1;
		}
	}
	return 0;
}

int daemon_preflight(struct conf *c, uint64_t *fd_limit, char *err, size_t errlen)
{
	if (check_user(c, err, errlen) == -1 || check_addresses(c, err, errlen) == -1)
		return -1;
	return check_fds(c, fd_limit, err, errlen);
}

/*
 * cli_check: `check L/S` on the runtime API — run that server's check now and print its step-by-step
 * trace and, on failure, the report `recheck replay -v` prints (check_report.h), with what the failing
 * bytes mean.
 *
 * A check may take up to its timeout; the daemon's main loop must not wait for it. The connection is
 * handed to a grandchild process (double fork: nothing to reap) that runs the check with the blocking
 * poll() driver (checknet.h), writes the answer and exits; the daemon closes its copy of the connection
 * at once. The grandchild keeps no other descriptor of the daemon's (listening sockets are closed), so
 * a restart never finds its ports still held.
 */
#include "api.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "check_report.h"
#include "check_run.h"
#include "checknet.h"
#include "cli.h"
#include "daemon.h"
#include "health.h"
#include "net.h"
#include "util.h"

void cli_check_server(struct daemon *d, char **argv, int argc, struct buf *out, int fd, bool *handed_off);

static void trace_line(void *arg, const char *line)
{
	struct buf *b = arg;

	buf_printf(b, "  %s\n", line);
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

/* In the grandchild: run the check, append the answer to out, write it all to fd. */
static void run_check(struct listener *li, struct rserver *s, struct buf *out, int fd)
{
	const struct health *h = s->health;
	const struct recipe *rcp = h && h->rcp ? h->rcp : s->conf ? s->conf->check.rcp : NULL;
	const struct recipe *loaded = s->conf ? s->conf->check.rcp : NULL;
	uint64_t timeout = s->conf && s->conf->check.timeout ? s->conf->check.timeout : s->srv.check.inter;
	struct checknet_addr addr;
	struct check_run run;
	char err[ERR_LEN], where[NET_ADDRSTRLEN + 8];
	int flags;

	/* blocking from here: this process has nothing else to do */
	flags = fcntl(fd, F_GETFL);
	if (flags != -1)
		fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
	memset(&addr, 0, sizeof(addr));
	memcpy(&addr.ss, &s->srv.addr, sizeof(addr.ss));
	addr.len = s->srv.addrlen;
	net_fmt_host((const struct sockaddr *)&s->srv.addr, addr.host, sizeof(addr.host));
	net_fmt_addr((const struct sockaddr *)&s->srv.addr, where, sizeof(where));
	addr.port = s->srv.addr.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&s->srv.addr)->sin6_port)
						       : ntohs(((struct sockaddr_in *)&s->srv.addr)->sin_port);
	if (!rcp || check_run_init(&run, rcp) == -1) {
		buf_printf(out, "%s/%s: %s\n\n", li->name, s->srv.name, rcp ? "out of memory" : "no recipe loaded");
		goto write;
	}
	buf_printf(out, "check %s/%s (%s) with recipe %s, timeout %llu ms\n", li->name, s->srv.name, where,
		   rcp->name ? rcp->name : "?", (unsigned long long)timeout);
	check_set_trace(&run, trace_line, out, false);
	if (checknet_run(&run, &addr, timeout ? timeout : 1, err, sizeof(err)) == -1) {
		buf_printf(out, "local failure: %s\n\n", err);
		check_run_free(&run);
		goto write;
	}
	buf_printf(out, "%s %s %.1fms", check_status_verdict(run.res.status) == CHECK_RES_FAILED ? "FAIL" : "OK",
		   check_status_str(run.res.status), (double)(run.res.end_us - run.res.start_us) / 1000.0);
	if (check_status_verdict(run.res.status) != CHECK_RES_FAILED) {
		buf_append_str(out, ": ");
		check_report_timings(&run, out);
		buf_append_str(out, "\n");
	} else {
		buf_printf(out, ": %s\n", run.res.desc[0] ? run.res.desc : check_status_desc(run.res.status));
		check_report_failure(&run, loaded, where, out);
		buf_append_str(out, "  timings:  ");
		check_report_timings(&run, out);
		buf_append_str(out, "\n");
	}
	buf_append_str(out, "\n");
	check_run_free(&run);
write:
	if (out->len)
		write_all(fd, (const char *)out->data, out->len);
}

void cli_check_server(struct daemon *d, char **argv, int argc, struct buf *out, int fd, bool *handed_off)
{
	struct listener *li;
	struct rserver *s;
	char name[2 * CONF_NAME_MAX + 2], *slash;
	pid_t pid;
	int st;

	if (argc < 2 || !strchr(argv[1], '/') || strlen(argv[1]) >= sizeof(name)) {
		buf_append_str(out, "Require 'backend/server'.\n");
		return;
	}
	memcpy(name, argv[1], strlen(argv[1]) + 1);
	slash = strchr(name, '/');
	*slash = '\0';
	li = gen_listener(d->gen, name);
	s = li ? listener_server(li, slash + 1) : NULL;
	if (!li || !s) {
		buf_append_str(out, li ? "No such server.\n" : "No such backend.\n");
		return;
	}
	if (!s->srv.check.enabled) {
		buf_append_str(out, "This server has no check.\n");
		return;
	}
	if (fd == -1) {
		buf_append_str(out, "check: needs a connection\n");
		return;
	}
	pid = fork();
	if (pid == -1) {
		buf_printf(out, "check: cannot fork: %s\n", strerror(errno));
		return;
	}
	if (pid == 0) {
		/* the intermediate child: let the grandchild be adopted, so the daemon has nothing to reap */
		if (fork() != 0)
			_exit(0);
		if (fd > 3)
			close_range(3, (unsigned)fd - 1, 0);
		close_range((unsigned)fd + 1, ~0U, 0);
		run_check(li, s, out, fd);
		_exit(0);
	}
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	/* the grandchild answers (what came before included) and closes; this side says nothing more */
	buf_reset(out);
	*handed_off = true;
}

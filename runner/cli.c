/*
 * cli: the runtime API's socket and connections (see cli.h); the commands are in cli_cmd.c, `show stat`
 * in cli_stat.c and `check L/S` in cli_check.c.
 */
#include "api.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"
#include "conf.h"
#include "daemon.h"
#include "dlog.h"
#include "ev.h"
#include "util.h"

struct client {
	struct cli *cli;
	struct client *prev, *next;   /* oldest first */
	int fd;
	struct cli_sess sess;         /* interactive flag, quit, the answer still streaming */
	bool was_prompt;              /* interactive when the line being answered arrived */
	bool served;                  /* a whole line was received: no longer a slowloris candidate */
	bool eof;                     /* the peer finished sending: close after the last answer */
	bool tail_line;               /* answering a last line that had no newline (no prompt after it) */
	bool closing;                 /* close once out is written */
	char in[CLI_MAX_LINE + 1];
	size_t inlen;
	struct buf out;
	size_t outoff;
	struct ev_timer timer;
};

struct cli {
	struct daemon *d;
	int lfd;
	struct client *head, *tail;
	unsigned n;
	uint64_t evicted;             /* connections closed to make room */
};

int cli_listen(const struct conf *c, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	struct stat st;
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	int fd = -1;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(c->stats_socket) >= sizeof(sa.sun_path)) {
		set_err(err, errlen, "%s: path too long", c->stats_socket);
		return -1;
	}
	memcpy(sa.sun_path, c->stats_socket, strlen(c->stats_socket) + 1);
	if (c->user) {
		struct passwd *pw = getpwnam(c->user);

		if (!pw) {
			set_err(err, errlen, "user '%s' does not exist", c->user);
			return -1;
		}
		uid = pw->pw_uid;
		gid = pw->pw_gid;
		if (c->group) {
			struct group *gr = getgrnam(c->group);

			if (!gr) {
				set_err(err, errlen, "group '%s' does not exist", c->group);
				return -1;
			}
			gid = gr->gr_gid;
		}
	}
	/* A socket left by a previous run is replaced; a regular file or anything else is not ours to remove. */
	if (lstat(c->stats_socket, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			set_err(err, errlen, "%s exists and is not a socket", c->stats_socket);
			return -1;
		}
		if (unlink(c->stats_socket) == -1) {
			set_err(err, errlen, "cannot remove the old socket %s: %s", c->stats_socket, strerror(errno));
			return -1;
		}
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		set_err(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	{
		/* created 0600 from the start: no window where another user could connect */
		mode_t old = umask(0177);
		int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
		int e = errno;

		umask(old);
		if (rc == -1) {
			set_err(err, errlen, "cannot bind %s: %s", c->stats_socket, strerror(e));
			goto fail;
		}
	}
	if (chmod(c->stats_socket, 0600) == -1 ||
	    ((uid != (uid_t)-1 && geteuid() == 0) && chown(c->stats_socket, uid, gid) == -1)) {
		set_err(err, errlen, "%s: %s", c->stats_socket, strerror(errno));
		unlink(c->stats_socket);
		goto fail;
	}
	if (listen(fd, 1024) == -1) {
		set_err(err, errlen, "listen %s: %s", c->stats_socket, strerror(errno));
		unlink(c->stats_socket);
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

static void client_close(struct client *c)
{
	struct cli *cli = c->cli;

	ev_timer_stop(cli->d->ev, &c->timer);
	ev_fd_del(cli->d->ev, c->fd);
	close(c->fd);
	buf_free(&c->out);
	cli_sess_free(&c->sess);
	if (c->prev)
		c->prev->next = c->next;
	else
		cli->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		cli->tail = c->prev;
	cli->n--;
	free(c);
}

static void on_timer(struct ev *ev, struct ev_timer *t, void *arg)
{
	(void)ev;
	(void)t;
	client_close(arg);
}

/* A line's answer is complete: non-interactive, one line then close (HAProxy); `prompt` keeps it open. */
static void line_done(struct client *c)
{
	if (c->sess.quit || (!c->was_prompt && !c->sess.prompt))
		c->closing = true;
	else if (c->sess.prompt)
		buf_append_str(&c->out, "> ");
	ev_timer_arm(c->cli->d->ev, &c->timer, CLI_TIMEOUT_MS);
}

/* Runs the complete lines in c->in, stopping at an answer that streams (flush() continues it). */
static void run_lines(struct client *c)
{
	struct cli *cli = c->cli;
	char *nl;

	while (!c->closing && !cli_pending(&c->sess) && (nl = memchr(c->in, '\n', c->inlen)) != NULL) {
		size_t len = (size_t)(nl - c->in);

		*nl = '\0';
		if (len && c->in[len - 1] == '\r')
			c->in[len - 1] = '\0';
		c->served = true;
		c->was_prompt = c->sess.prompt;
		cli_execute(cli->d, c->in, &c->out, &c->sess);
		memmove(c->in, nl + 1, c->inlen - len - 1);
		c->inlen -= len + 1;
		if (!cli_pending(&c->sess))
			line_done(c);
	}
	if (c->eof && !c->closing && !cli_pending(&c->sess) && c->inlen) {
		/* a last line without its newline */
		c->in[c->inlen] = '\0';
		c->inlen = 0;
		c->tail_line = true;
		cli_execute(cli->d, c->in, &c->out, &c->sess);
	}
	if (c->eof && !cli_pending(&c->sess))
		c->closing = true;
}

/*
 * Writes what is pending; when it is all written, produces the next part of a streamed answer (then the
 * lines that waited behind it) and writes it. One part per call: the next one waits for the next
 * writable event, so other clients and the daemon's own events run in between. Closes when done and
 * closing. Returns false when c was freed.
 */
static bool flush(struct client *c)
{
	struct ev *ev = c->cli->d->ev;
	bool produced = false;
	ssize_t r;

	for (;;) {
		while (c->outoff < c->out.len) {
			r = send(c->fd, c->out.data + c->outoff, c->out.len - c->outoff, MSG_NOSIGNAL);
			if (r > 0) {
				c->outoff += (size_t)r;
				continue;
			}
			if (r == -1 && (errno == EAGAIN || errno == EINTR)) {
				ev_fd_mask(ev, c->fd, EV_WRITE);
				return true;
			}
			client_close(c);
			return false;
		}
		buf_reset(&c->out);
		c->outoff = 0;
		if (!cli_pending(&c->sess) || c->closing)
			break;
		if (produced) {
			ev_fd_mask(ev, c->fd, EV_WRITE); /* the socket has room: called again at once */
			return true;
		}
		produced = true;
		/* the reader keeps up: its idle timer restarts with each part */
		ev_timer_arm(ev, &c->timer, CLI_TIMEOUT_MS);
		if (cli_continue(c->cli->d, &c->out, &c->sess)) {
			if (!c->tail_line)
				line_done(c);
			run_lines(c);
		}
	}
	if (c->closing) {
		client_close(c);
		return false;
	}
	ev_fd_mask(ev, c->fd, EV_READ);
	return true;
}

static void on_client(struct ev *ev, int fd, int mask, void *arg)
{
	struct client *c = arg;
	ssize_t r;

	(void)ev;
	if (mask & EV_WRITE) {
		flush(c);
		return;
	}
	if (c->closing || cli_pending(&c->sess))
		return;
	r = recv(fd, c->in + c->inlen, CLI_MAX_LINE - c->inlen, 0);
	if (r == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r == -1) {
		client_close(c);
		return;
	}
	c->inlen += (size_t)(r > 0 ? r : 0);
	if (c->inlen == CLI_MAX_LINE && !memchr(c->in, '\n', c->inlen)) {
		buf_append_str(&c->out, "Command line too long.\n\n");
		c->closing = true;
		flush(c);
		return;
	}
	if (r == 0)
		c->eof = true;
	run_lines(c);
	flush(c);
}

/* All slots taken: close the oldest connection still waiting for its first whole line. */
static bool evict(struct cli *cli)
{
	struct client *c;

	for (c = cli->head; c; c = c->next) {
		if (!c->served) {
			cli->evicted++;
			client_close(c);
			return true;
		}
	}
	return false;
}

static void on_accept(struct ev *ev, int lfd, int mask, void *arg)
{
	struct cli *cli = arg;
	struct client *c;
	int i, fd;

	(void)mask;
	for (i = 0; i < 64; i++) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1)
			return;
		if ((cli->n >= CLI_MAX_CLIENTS && !evict(cli)) || !(c = calloc(1, sizeof(*c)))) {
			close(fd);
			continue;
		}
		c->cli = cli;
		c->fd = fd;
		cli_sess_init(&c->sess, fd);
		buf_init(&c->out, CLI_MAX_OUT);
		if (ev_fd_set(ev, fd, EV_READ, on_client, c) == -1) {
			close(fd);
			free(c);
			continue;
		}
		ev_timer_init(&c->timer, on_timer, c);
		ev_timer_arm(ev, &c->timer, CLI_TIMEOUT_MS);
		c->prev = cli->tail;
		if (cli->tail)
			cli->tail->next = c;
		else
			cli->head = c;
		cli->tail = c;
		cli->n++;
	}
}

struct cli *cli_new(struct daemon *d, int lfd, char *err, size_t errlen)
{
	struct cli *cli = calloc(1, sizeof(*cli));

	if (!cli) {
		set_err(err, errlen, "out of memory");
		return NULL;
	}
	cli->d = d;
	cli->lfd = lfd;
	if (ev_fd_set(d->ev, lfd, EV_READ, on_accept, cli) == -1) {
		set_err(err, errlen, "cannot watch the runtime API socket: %s", strerror(errno));
		free(cli);
		return NULL;
	}
	return cli;
}

void cli_free(struct cli *cli)
{
	if (!cli)
		return;
	while (cli->head)
		client_close(cli->head);
	if (ev_fd_get(cli->d->ev, cli->lfd) != EV_NONE)
		ev_fd_del(cli->d->ev, cli->lfd);
	free(cli);
}

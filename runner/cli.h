/*
 * cli: recheckd's runtime API on a UNIX socket (stats.socket), speaking HAProxy 2.6's runtime API so that
 * `echo "show stat" | socat stdio unix:PATH` and operators' scripts work unchanged (docs/recheckd.8 lists
 * every command).
 *
 * Protocol, as HAProxy's: a connection sends one line; the commands in it, separated by ';' (a '\;' is a
 * literal ';'), run in order, each answer ends with an empty line, and the connection closes. `prompt`
 * makes it interactive: a "> " prompt after each answer, until `quit`, EOF or CLI_TIMEOUT_MS of silence.
 *
 * Large answers stream: `show stat` and `show servers state` are produced one listener at a time, the
 * next part only once the previous one has been written to the socket, so an answer of any size (every
 * server of every listener) is complete while recheckd holds at most CLI_PART bytes plus one listener's
 * rows for it. A reload during such an answer ends it with a line that says it is incomplete.
 *
 * Slowloris: at most CLI_MAX_CLIENTS connections; when a new one finds them all taken, the oldest
 * connection that has not sent a whole command line yet is closed to make room (as HAProxy and nginx
 * protect their listeners), so a flood of half-sent lines cannot lock operators out.
 *
 * Runs on the daemon's main thread (every state change goes through daemon.h's functions).
 */
#ifndef RECHECKD_CLI_H
#define RECHECKD_CLI_H

#include "api.h"

#include "buf.h"

#define CLI_MAX_CLIENTS 256
#define CLI_MAX_LINE    16384    /* bytes of one command line */
#define CLI_MAX_OUT     (8u << 20) /* bytes of one part of an answer (a streamed answer has many parts) */
#define CLI_PART        (256u << 10) /* a streamed answer adds listeners to a part up to this size */
#define CLI_TIMEOUT_MS  10000    /* HAProxy's default `stats timeout` */
#define CLI_MAX_ARGS    16

struct conf;
struct cli;
struct daemon;

/*
 * Creates the socket of c->stats_socket (a stale socket file there is replaced; anything else is not),
 * mode 0600, owned by c->user (and c->group) so that it stays usable after privileges are dropped.
 * Returns the listening fd, or -1 with a reason in err.
 */
int cli_listen(const struct conf *c, char *err, size_t errlen);

/* Serves lfd (owned by the caller) on d's main loop. NULL with a reason in err. */
struct cli *cli_new(struct daemon *d, int lfd, char *err, size_t errlen);
/* Closes every client and stops watching the socket. NULL is a no-op. */
void cli_free(struct cli *c);

/* One connection's session: what its lines have set, and the answer still being produced. */
struct cli_sess {
	bool prompt;                  /* interactive (the `prompt` command toggles it) */
	bool quit;                    /* set by `quit`, and by `check`, which hands fd to its process */
	int fd;                       /* the connection (-1: none) */
	int more;                     /* the command whose answer streams (index in its table), -1: none */
	uint64_t more_gen;            /* the configuration generation that answer reads */
	size_t more_next;             /* the next listener of that answer */
	char *more_only;              /* its listener filter (owned), NULL: every listener */
	char *rest;                   /* the commands after it on the same line (owned), NULL: none */
};

/* A new session on fd: not interactive, nothing pending. */
void cli_sess_init(struct cli_sess *s, int fd);
/* Frees what a session still holds (a connection closed in the middle of an answer). */
void cli_sess_free(struct cli_sess *s);
/* True while a streamed answer (and the rest of its line) is still to be produced. */
bool cli_pending(const struct cli_sess *s);

/*
 * Runs one line (commands separated by ';') and appends the answers to out. A command whose answer
 * streams stops the line there: cli_pending() is then true and cli_continue() produces the rest. When
 * `check` hands the connection to the process that runs the check, out is empty: that process writes
 * everything.
 */
void cli_execute(struct daemon *d, char *line, struct buf *out, struct cli_sess *s);
/*
 * Appends the next part of a pending answer (at least one listener, then more while out holds fewer than
 * CLI_PART bytes); at its end, the rest of its line runs. Returns true when the line is done.
 */
bool cli_continue(struct daemon *d, struct buf *out, struct cli_sess *s);

#endif

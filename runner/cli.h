/*
 * cli: recheckd's runtime API on a UNIX socket (stats.socket), speaking HAProxy 2.6's runtime API so that
 * `echo "show stat" | socat stdio unix:PATH` and operators' scripts work unchanged (docs/recheckd.8 lists
 * every command).
 *
 * Protocol, as HAProxy's: a connection sends one line; the commands in it, separated by ';' (a '\;' is a
 * literal ';'), run in order, each answer ends with an empty line, and the connection closes. `prompt`
 * makes it interactive: a "> " prompt after each answer, until `quit`, EOF or CLI_TIMEOUT_MS of silence.
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
#define CLI_MAX_OUT     (8u << 20) /* bytes of one answer */
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

/*
 * Runs one line (commands separated by ';') and appends the answers to out. *prompt is the session's
 * interactive flag (the `prompt` command toggles it); *quit is set by `quit`, and by `check`, which hands
 * the connection fd (-1: none) to the process that runs the check (out is then empty: that process
 * writes everything).
 */
void cli_execute(struct daemon *d, char *line, struct buf *out, bool *prompt, bool *quit, int fd);

#endif

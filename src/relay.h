/*
 * relay: moves the bytes of one client<->server session in both directions on an ev loop.
 *
 * Splice contract (HAProxy's raw_sock_to_pipe): each direction moves socket -> pipe -> socket with
 * SPLICE_F_MOVE|SPLICE_F_NONBLOCK. A splice that the kernel refuses (EINVAL/ENOSYS/EOPNOTSUPP on the
 * first transfer) switches that direction to read/send for good; otherwise splice moves >= 0 bytes.
 * In splice mode a direction starts with read/send and turns to splice once a read fills the whole
 * 16 KB buffer (bulk), back to read/send after a small splice: copying a small message is cheaper.
 *
 * Half-close: when one side sends FIN, the FIN is forwarded (shutdown(SHUT_WR)) only after every byte
 * before it has been written; the other direction keeps running. The session ends when both directions
 * are finished, on an error, or on an idle timeout.
 *
 * Back-pressure: a side is not read while the bytes already taken from it have not been written to the
 * other side. At most one pipe (64 KB) or one buffer (RELAY_BUFSIZE) is in flight per direction.
 *
 * The process must ignore SIGPIPE (writes to a reset peer fail with EPIPE instead).
 */
#ifndef RECHECK_RELAY_H
#define RECHECK_RELAY_H

#include "relay-t.h"

/* Copy-mode buffer size: HAProxy's default tune.bufsize. */
#define RELAY_BUFSIZE 16384

/* A pool keeping at most maxidle idle pipes and buffers. NULL when out of memory. */
struct relay_pool *relay_pool_new(size_t maxidle);
/* Closes idle pipes, frees idle buffers. Sessions must have ended. NULL is a no-op. */
void relay_pool_free(struct relay_pool *p);

/*
 * Prepares r (memory owned by the caller) for the two connected non-blocking sockets. The relay owns
 * the fds from now on and closes them when it ends. Nothing runs until relay_start(). sfd may be -1:
 * the client is read (into the relay's buffer, up to its cap) until relay_set_server() gives a server.
 */
void relay_init(struct relay *r, struct ev *ev, struct relay_pool *pool, int cfd, int sfd,
		const struct relay_conf *conf, relay_end_cb end, void *arg);
/*
 * Says that sfd's non-blocking connect() may still be in progress. Bytes for the server are sent as soon
 * as the kernel takes them (on loopback, at once), a client FIN is forwarded only once the connection is
 * up, and an error on sfd before the server has taken or sent a byte ends the session with
 * RELAY_END_CONNECT (r->err says why). Call between relay_init() and relay_start().
 */
void relay_set_connecting(struct relay *r);
/* Whether the server connection is known to be up; while connecting, asks the kernel (getpeername). */
bool relay_server_connected(struct relay *r);
/* Ends a session whose connect did not complete: RELAY_END_CONNECT with r->err = e (or, with a retry
 * callback, hands it to that callback). */
void relay_connect_failed(struct relay *r, int e);
/*
 * Retries (HAProxy's `retries`/`redispatch`): with cb set, a server connect that fails before the server
 * took or sent a byte does not end the session. The relay closes the server socket (sfd becomes -1),
 * keeps every byte the client sent, and calls cb, which must either give a new server socket with
 * relay_set_server() (now or later, from a timer) or end the session with relay_end(r,
 * RELAY_END_CONNECT). r->err says why the connect failed (ETIMEDOUT for relay_connect_failed's
 * timeout). The callback may run from inside any relay call; the caller must not touch r afterwards.
 */
void relay_set_retry(struct relay *r, relay_retry_cb cb);
/* cb (may be NULL) learns of each completed server connect, at most once per connect. */
void relay_set_up(struct relay *r, relay_up_cb cb);
/*
 * Gives the session a server socket whose non-blocking connect() is in progress (sfd must be -1 now),
 * then moves what the client already sent, as relay_kick() does: it may end the session (or call the
 * retry callback again), so the caller must not touch r afterwards. The relay must be started.
 */
void relay_set_server(struct relay *r, int sfd);
/*
 * Bytes the next server connection receives before any byte of the client (HAProxy's send-proxy):
 * call before relay_set_server() (and again before each retry's: a failed connect rewinds it). Not
 * counted in the byte counters. buf stays the caller's and must live as long as the session.
 */
void relay_set_preamble(struct relay *r, const unsigned char *buf, size_t len);
/*
 * Client bytes already read by the caller (what followed a PROXY header), relayed before anything
 * read from the client socket. At most RELAY_BUFSIZE bytes; call before relay_start(). 0, or -1 when no
 * buffer could be had.
 */
int relay_preload(struct relay *r, const unsigned char *buf, size_t len);
/* Registers both fds and starts moving bytes. 0, or -1 with errno (the caller then calls relay_kill). */
int relay_start(struct relay *r);
/*
 * Moves what the client has already sent without waiting for the poller to say so (after accept the
 * request is usually there). Call once, right after relay_start(); it may end the session, so the
 * caller must not touch r (or the memory holding it) afterwards.
 */
void relay_kick(struct relay *r);
/* Sets the server-side idle timeout (0: none) from now on, e.g. none while the session waits for a server
 * slot and `timeout server` once it has one. */
void relay_set_server_timeout(struct relay *r, uint64_t ms);
/* Ends the session now (closes both sockets, returns pipes/buffers) and calls end with RELAY_END_KILLED. */
void relay_kill(struct relay *r);
/*
 * Ends the session with the given reason (relay_kill with a custom reason). Unless the client reset,
 * what the client sent and nobody read is discarded before its socket is closed, so that the client sees
 * a FIN rather than the RST a close() with unread bytes sends.
 */
void relay_end(struct relay *r, enum relay_end why);

const char *relay_end_str(enum relay_end why);
const char *relay_mode_str(enum relay_mode m);

#endif

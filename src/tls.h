/*
 * tls: the client side of TLS for check connections, over OpenSSL (libssl). A check driver (replay,
 * recheckd) owns one struct tls_conn per TLS start; it never blocks: every call returns at once and says
 * whether the socket must become readable or writable before the next try, so many handshakes run in
 * one event loop without a thread per check.
 *
 *	c = tls_conn_new(step_tls, fd, err, errlen);       after the TCP connect (and any proxy handshake)
 *	tls_handshake(c) -> TLS_IO_OK / WANT_READ / WANT_WRITE / FAIL   (then tls_failure() says why)
 *	tls_read(c, ...), tls_write(c, ...)                  the same contract, plus TLS_IO_EOF
 *	tls_conn_free(c)                                     before close(fd); no close_notify is sent, as
 *	                                                     HAProxy closes a check connection with a RST
 *
 * Contexts (SSL_CTX: trust store, verification, ALPN) are built once per recipe by tls_prepare() and
 * shared read-only by every run and thread; a connection takes a reference for its lifetime.
 */
#ifndef RECHECK_TLS_H
#define RECHECK_TLS_H

#include <sys/types.h>

#include "recipe-t.h"
#include "tls-t.h"

struct tls_conn;

/* "untrusted", "expired", "name mismatch", "handshake failure", "protocol version", "not TLS". */
const char *tls_reason_str(enum tls_reason r);

/*
 * Builds the shared context of every TLS start of r (tcp steps and an HTTP recipe's tls) that has none
 * yet: loads the trust store (ca or the system's), sets verification and ALPN. 0, or -1 with
 * "step N (line L): tls: reason" in err (an unreadable ca file, a bad alpn list). Idempotent.
 */
int tls_prepare(struct recipe *r, char *err, size_t errlen);
/* References on a context; unref frees it with the last reference. NULL is ignored. */
struct tls_ctx *tls_ctx_ref(struct tls_ctx *c);
void tls_ctx_unref(struct tls_ctx *c);

/*
 * Starts the client side of TLS on fd (connected, non-blocking) with t's parameters; t->ctx must be set
 * (tls_prepare()). NULL with a reason in err (out of memory). fd stays the caller's.
 */
struct tls_conn *tls_conn_new(const struct step_tls *t, int fd, char *err, size_t errlen);
void tls_conn_free(struct tls_conn *c);

enum tls_io tls_handshake(struct tls_conn *c);
/* Reads at most n plaintext bytes into p; *got is set on TLS_IO_OK (> 0). */
enum tls_io tls_read(struct tls_conn *c, void *p, size_t n, size_t *got);
/* Writes up to n bytes; *put is set on TLS_IO_OK (> 0, may be less than n). */
enum tls_io tls_write(struct tls_conn *c, const void *p, size_t n, size_t *put);
/* Plaintext bytes already decrypted and buffered: read them before waiting for the socket again. */
bool tls_pending(const struct tls_conn *c);

/*
 * After TLS_IO_FAIL: the reason and a detail for messages ("certificate has expired", "connection reset
 * by peer during the handshake"). errno-like code in *err (ECONNRESET, EPROTO) when not NULL.
 */
enum tls_reason tls_failure(const struct tls_conn *c, const char **detail, int *err);
/* After the handshake: negotiated protocol ("TLSv1.3") and ALPN ("" when none), for traces. */
const char *tls_version(const struct tls_conn *c);
const char *tls_alpn(const struct tls_conn *c, char *out, size_t outlen);

#endif

/*
 * check_io_tls: the TLS transport of check_io (see check_io.h). CHECK_ACT_TLS layers a tls_conn
 * (tls.c, OpenSSL) on the open connection; the handshake and every later record go through the same
 * CIO_WANT_READ / CIO_WANT_WRITE results as plain I/O, so replay's poll() loop and recheckd's epoll loop
 * run TLS checks without a thread and without knowing about TLS. This file sits on check_io.c: it tests
 * for cio_plain and installs cio_tls, whose handshake hook check_io_resume() calls, so check_io.c never
 * names anything here.
 */
#include "api.h"

#include <errno.h>

#include "check.h"
#include "check_io.h"
#include "tls.h"

static enum cio_want want_of(enum tls_io r)
{
	return r == TLS_IO_WANT_WRITE ? CIO_WANT_WRITE : CIO_WANT_READ;
}

static ssize_t tls_tr_recv(struct check_conn *c, void *p, size_t n, enum cio_want *want)
{
	size_t got = 0;
	enum tls_io r = tls_read(c->tr_ctx, p, n, &got);
	int err = 0;

	*want = CIO_OK;
	switch (r) {
	case TLS_IO_OK:
		return (ssize_t)got;
	case TLS_IO_EOF:
		return 0;
	case TLS_IO_WANT_READ:
	case TLS_IO_WANT_WRITE:
		*want = want_of(r);
		return -1;
	case TLS_IO_FAIL:
	default:
		tls_failure(c->tr_ctx, NULL, &err);
		errno = err ? err : EPROTO;
		return -1;
	}
}

static ssize_t tls_tr_send(struct check_conn *c, const void *p, size_t n, enum cio_want *want)
{
	size_t put = 0;
	enum tls_io r = tls_write(c->tr_ctx, p, n, &put);
	int err = 0;

	*want = CIO_OK;
	switch (r) {
	case TLS_IO_OK:
		return (ssize_t)put;
	case TLS_IO_WANT_READ:
	case TLS_IO_WANT_WRITE:
		*want = want_of(r);
		return -1;
	case TLS_IO_EOF:
	case TLS_IO_FAIL:
	default:
		tls_failure(c->tr_ctx, NULL, &err);
		errno = err ? err : EPIPE;
		return -1;
	}
}

static bool tls_tr_pending(const struct check_conn *c)
{
	return tls_pending(c->tr_ctx);
}

static void tls_tr_close(struct check_conn *c)
{
	tls_conn_free(c->tr_ctx);
	c->tr_ctx = NULL;
}

/* check_io_resume() for CIO_OP_HANDSHAKE, through cio_tls.handshake */
static enum cio_want tls_tr_handshake(struct check_conn *c, struct check_run *run)
{
	enum tls_io r = tls_handshake(c->tr_ctx);
	const char *detail = NULL;
	enum tls_reason why;

	if (r == TLS_IO_WANT_READ || r == TLS_IO_WANT_WRITE)
		return want_of(r);
	c->op = CIO_OP_NONE;
	if (r == TLS_IO_OK) {
		check_on_tls_ok(run);
		return CIO_OK;
	}
	why = tls_failure(c->tr_ctx, &detail, NULL);
	check_on_tls_error(run, why, detail);
	return CIO_OK;
}

static const struct cio_transport cio_tls = {
	.name = "tls",
	.recv = tls_tr_recv,
	.send = tls_tr_send,
	.pending = tls_tr_pending,
	.close = tls_tr_close,
	.handshake = tls_tr_handshake,
};

enum cio_want check_io_tls(struct check_conn *c, struct check_run *run, const struct check_action *a)
{
	char err[ERR_LEN];
	struct tls_conn *t;

	if (c->fd == -1 || c->tr != &cio_plain) {
		/* the engine never asks for this: TLS needs an open connection, and TLS inside TLS is refused
		 * when the recipe is compiled */
		check_on_tls_error(run, TLS_R_HANDSHAKE, c->fd == -1 ? "no connection" : "TLS is already started");
		return CIO_OK;
	}
	t = tls_conn_new(a->tls, c->fd, err, sizeof(err));
	if (!t) {
		/* out of memory or an unprepared context: ours, not the server's */
		c->local_op = "tls";
		c->local_err = ENOMEM;
		c->op = CIO_OP_NONE;
		return CIO_LOCAL;
	}
	c->tr = &cio_tls;
	c->tr_ctx = t;
	c->op = CIO_OP_HANDSHAKE;
	return tls_tr_handshake(c, run);
}

/*
 * tls: OpenSSL client connections for checks (see tls.h). OpenSSL's error queue is per thread, so every
 * call clears it first and reads it at once: recheckd runs checks of many servers on one thread.
 */
#include "api.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "recipe.h"
#include "tls.h"
#include "util.h"

struct tls_ctx {
	SSL_CTX *ssl;
	atomic_int refs;
};

struct tls_conn {
	SSL *ssl;
	struct tls_ctx *ctx;         /* one reference */
	enum tls_reason reason;      /* set on TLS_IO_FAIL */
	int err;                     /* errno-like code of the failure */
	char detail[160];            /* text of the failure */
};

static const char *const reasons[TLS_R_COUNT] = {
	[TLS_R_NONE] = "none",
	[TLS_R_UNTRUSTED] = "untrusted",
	[TLS_R_EXPIRED] = "expired",
	[TLS_R_NAME] = "name mismatch",
	[TLS_R_HANDSHAKE] = "handshake failure",
	[TLS_R_VERSION] = "protocol version",
	[TLS_R_NOT_TLS] = "not TLS",
};

const char *tls_reason_str(enum tls_reason r)
{
	return (unsigned)r < TLS_R_COUNT ? reasons[r] : "?";
}

struct tls_ctx *tls_ctx_ref(struct tls_ctx *c)
{
	if (c)
		atomic_fetch_add(&c->refs, 1);
	return c;
}

void tls_ctx_unref(struct tls_ctx *c)
{
	if (!c || atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	SSL_CTX_free(c->ssl);
	free(c);
}

/* "h2,http/1.1" into ALPN's wire form (RFC 7301: length-prefixed names). -1 when malformed. */
static int alpn_wire(const char *list, unsigned char *out, size_t outlen, size_t *len)
{
	size_t o = 0;
	const char *p = list;

	while (*p) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);

		if (n == 0 || n > 255 || o + 1 + n > outlen)
			return -1;
		out[o++] = (unsigned char)n;
		memcpy(out + o, p, n);
		o += n;
		p += n;
		if (*p == ',')
			p++;
	}
	*len = o;
	return o ? 0 : -1;
}

static void last_ssl_error(char *out, size_t outlen)
{
	unsigned long e = ERR_peek_last_error();
	const char *why = e ? ERR_reason_error_string(e) : NULL;

	snprintf(out, outlen, "%s", why ? why : "unknown OpenSSL error");
	ERR_clear_error();
}

static struct tls_ctx *ctx_new(const struct step_tls *t, char *err, size_t errlen)
{
	unsigned char wire[512];
	struct tls_ctx *c = calloc(1, sizeof(*c));
	char why[160];
	size_t wlen;

	if (!c) {
		set_err(err, errlen, "out of memory");
		return NULL;
	}
	ERR_clear_error();
	atomic_init(&c->refs, 1);
	c->ssl = SSL_CTX_new(TLS_client_method());
	if (!c->ssl) {
		last_ssl_error(why, sizeof(why));
		set_err(err, errlen, "cannot create a TLS context: %s", why);
		goto fail;
	}
	/* a TCP EOF without close_notify ends a response as HAProxy's checks and curl take it */
	SSL_CTX_set_options(c->ssl, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_TICKET);
	SSL_CTX_set_mode(c->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* every check is a full handshake: a resumed session would not prove the certificate again */
	SSL_CTX_set_session_cache_mode(c->ssl, SSL_SESS_CACHE_OFF);
	if (t->verify) {
		SSL_CTX_set_verify(c->ssl, SSL_VERIFY_PEER, NULL);
		if (t->ca ? SSL_CTX_load_verify_locations(c->ssl, t->ca, NULL) != 1
			  : SSL_CTX_set_default_verify_paths(c->ssl) != 1) {
			last_ssl_error(why, sizeof(why));
			set_err(err, errlen, "cannot load %s%s: %s", t->ca ? "the ca file " : "the system trust store",
				t->ca ? t->ca : "", why);
			goto fail;
		}
	} else {
		SSL_CTX_set_verify(c->ssl, SSL_VERIFY_NONE, NULL);
	}
	if (t->alpn) {
		if (alpn_wire(t->alpn, wire, sizeof(wire), &wlen) == -1) {
			set_err(err, errlen, "alpn '%s' is not a comma list of 1-255 byte protocol names", t->alpn);
			goto fail;
		}
		/* returns 0 on success, unlike the rest of OpenSSL */
		if (SSL_CTX_set_alpn_protos(c->ssl, wire, (unsigned)wlen) != 0) {
			set_err(err, errlen, "out of memory");
			goto fail;
		}
	}
	return c;
fail:
	ERR_clear_error();
	tls_ctx_unref(c);
	return NULL;
}

static int prepare_one(struct step_tls *t, const char *file, const char *at, char *err, size_t errlen)
{
	const char *slash = file ? strrchr(file, '/') : NULL;
	char why[ERR_LEN], path[4096];

	if (t->ctx)
		return 0;
	/* a relative ca is relative to the recipe's own directory, wherever recheck runs from */
	if (t->ca && t->ca[0] != '/' && slash) {
		if (snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - file), file, t->ca) >= (int)sizeof(path)) {
			set_err(err, errlen, "%s: tls: ca path too long", at);
			return -1;
		}
		free(t->ca);
		t->ca = strdup(path);
		if (!t->ca) {
			set_err(err, errlen, "out of memory");
			return -1;
		}
	}
	t->ctx = ctx_new(t, why, sizeof(why));
	if (!t->ctx) {
		set_err(err, errlen, "%s: tls: %s", at, why);
		return -1;
	}
	return 0;
}

int tls_prepare(struct recipe *r, char *err, size_t errlen)
{
	char at[64];
	size_t i;

	if (r->tls && prepare_one(r->tls, r->file, "tls", err, errlen) == -1)
		return -1;
	for (i = 0; i < r->nsteps; i++) {
		struct step *s = &r->steps[i];

		if (s->type != STEP_TLS)
			continue;
		if (s->line > 0)
			snprintf(at, sizeof(at), "step %zu (line %d)", i + 1, s->line);
		else
			snprintf(at, sizeof(at), "step %zu", i + 1);
		if (prepare_one(&s->tls, r->file, at, err, errlen) == -1)
			return -1;
	}
	return 0;
}

static bool is_ip(const char *s)
{
	unsigned char a[16];

	return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

struct tls_conn *tls_conn_new(const struct step_tls *t, int fd, char *err, size_t errlen)
{
	struct tls_conn *c;
	X509_VERIFY_PARAM *vp;

	if (!t->ctx) {
		set_err(err, errlen, "TLS context not prepared");
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		set_err(err, errlen, "out of memory");
		return NULL;
	}
	ERR_clear_error();
	c->ctx = tls_ctx_ref(t->ctx);
	c->ssl = SSL_new(c->ctx->ssl);
	if (!c->ssl || SSL_set_fd(c->ssl, fd) != 1)
		goto fail;
	SSL_set_connect_state(c->ssl);
	if (t->sni) {
		vp = SSL_get0_param(c->ssl);
		/* RFC 6066: SNI carries host names only; an address is still what the certificate must name */
		if (is_ip(t->sni)) {
			if (t->verify && X509_VERIFY_PARAM_set1_ip_asc(vp, t->sni) != 1)
				goto fail;
		} else {
			if (SSL_set_tlsext_host_name(c->ssl, t->sni) != 1)
				goto fail;
			if (t->verify && SSL_set1_host(c->ssl, t->sni) != 1)
				goto fail;
		}
	}
	return c;
fail:
	last_ssl_error(c->detail, sizeof(c->detail));
	set_err(err, errlen, "cannot start TLS: %s", c->detail);
	tls_conn_free(c);
	return NULL;
}

void tls_conn_free(struct tls_conn *c)
{
	if (!c)
		return;
	SSL_free(c->ssl);
	tls_ctx_unref(c->ctx);
	free(c);
}

/* OpenSSL reasons that mean the bytes from the peer were not TLS records at all. */
static bool reason_not_tls(int r)
{
	return r == SSL_R_WRONG_VERSION_NUMBER || r == SSL_R_PACKET_LENGTH_TOO_LONG || r == SSL_R_UNKNOWN_PROTOCOL ||
	       r == SSL_R_RECORD_LENGTH_MISMATCH || r == SSL_R_HTTP_REQUEST || r == SSL_R_HTTPS_PROXY_REQUEST ||
	       r == SSL_R_UNEXPECTED_MESSAGE || r == SSL_R_UNEXPECTED_RECORD;
}

static bool reason_version(int r)
{
	return r == SSL_R_TLSV1_ALERT_PROTOCOL_VERSION || r == SSL_R_UNSUPPORTED_PROTOCOL ||
	       r == SSL_R_NO_PROTOCOLS_AVAILABLE || r == SSL_R_VERSION_TOO_LOW || r == SSL_R_VERSION_TOO_HIGH ||
	       r == SSL_R_UNSUPPORTED_SSL_VERSION;
}

/* Classifies a failed handshake from the verification result and the error queue. */
static void classify(struct tls_conn *c, int sslerr, int sys)
{
	unsigned long e = ERR_peek_last_error();
	long v = SSL_get_verify_result(c->ssl);
	const char *why;

	c->err = EPROTO;
	if (v != X509_V_OK && e && ERR_GET_REASON(e) == SSL_R_CERTIFICATE_VERIFY_FAILED) {
		switch (v) {
		case X509_V_ERR_CERT_HAS_EXPIRED:
		case X509_V_ERR_CERT_NOT_YET_VALID:
		case X509_V_ERR_CRL_HAS_EXPIRED:
			c->reason = TLS_R_EXPIRED;
			break;
		case X509_V_ERR_HOSTNAME_MISMATCH:
		case X509_V_ERR_IP_ADDRESS_MISMATCH:
			c->reason = TLS_R_NAME;
			break;
		default:
			c->reason = TLS_R_UNTRUSTED;
			break;
		}
		snprintf(c->detail, sizeof(c->detail), "%s", X509_verify_cert_error_string(v));
	} else if (sslerr == SSL_ERROR_SYSCALL || sslerr == SSL_ERROR_ZERO_RETURN ||
		   (e && ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
		c->reason = TLS_R_HANDSHAKE;
		c->err = sys ? sys : ECONNRESET;
		if (sys)
			snprintf(c->detail, sizeof(c->detail), "%s during the handshake", strerror(sys));
		else
			snprintf(c->detail, sizeof(c->detail), "connection closed by the peer during the handshake");
	} else if (e) {
		int r = ERR_GET_REASON(e);

		c->reason = reason_not_tls(r) ? TLS_R_NOT_TLS : reason_version(r) ? TLS_R_VERSION : TLS_R_HANDSHAKE;
		why = ERR_reason_error_string(e);
		snprintf(c->detail, sizeof(c->detail), "%s", why ? why : "unknown OpenSSL error");
	} else {
		c->reason = TLS_R_HANDSHAKE;
		snprintf(c->detail, sizeof(c->detail), "handshake failed");
	}
	ERR_clear_error();
}

/* Maps an SSL_get_error() outcome; fills the failure for a fatal one. in_hs: during the handshake. */
static enum tls_io outcome(struct tls_conn *c, int rc, bool in_hs)
{
	int sys = errno, e = SSL_get_error(c->ssl, rc);

	switch (e) {
	case SSL_ERROR_WANT_READ:
		return TLS_IO_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return TLS_IO_WANT_WRITE;
	case SSL_ERROR_ZERO_RETURN:
		if (!in_hs)
			return TLS_IO_EOF;
		break;
	case SSL_ERROR_SYSCALL:
		if (!in_hs && ERR_peek_error() == 0 && (rc == 0 || sys == 0))
			return TLS_IO_EOF;
		if (!in_hs) {
			c->reason = TLS_R_HANDSHAKE;
			c->err = sys ? sys : EIO;
			snprintf(c->detail, sizeof(c->detail), "%s", strerror(c->err));
			ERR_clear_error();
			return TLS_IO_FAIL;
		}
		if (rc == 0 || ERR_peek_error() != 0)
			sys = 0;
		break;
	default:
		break;
	}
	classify(c, e, e == SSL_ERROR_SYSCALL ? sys : 0);
	return TLS_IO_FAIL;
}

enum tls_io tls_handshake(struct tls_conn *c)
{
	int rc;

	ERR_clear_error();
	errno = 0;
	rc = SSL_do_handshake(c->ssl);
	if (rc == 1) {
		c->reason = TLS_R_NONE;
		return TLS_IO_OK;
	}
	return outcome(c, rc, true);
}

enum tls_io tls_read(struct tls_conn *c, void *p, size_t n, size_t *got)
{
	size_t r = 0;

	ERR_clear_error();
	errno = 0;
	if (SSL_read_ex(c->ssl, p, n, &r) == 1) {
		*got = r;
		return TLS_IO_OK;
	}
	return outcome(c, 0, false);
}

enum tls_io tls_write(struct tls_conn *c, const void *p, size_t n, size_t *put)
{
	size_t w = 0;

	ERR_clear_error();
	errno = 0;
	if (SSL_write_ex(c->ssl, p, n, &w) == 1) {
		*put = w;
		return TLS_IO_OK;
	}
	return outcome(c, 0, false);
}

bool tls_pending(const struct tls_conn *c)
{
	return SSL_pending(c->ssl) > 0;
}

enum tls_reason tls_failure(const struct tls_conn *c, const char **detail, int *err)
{
	if (detail)
		*detail = c->detail[0] ? c->detail : tls_reason_str(c->reason);
	if (err)
		*err = c->err;
	return c->reason;
}

const char *tls_version(const struct tls_conn *c)
{
	return SSL_get_version(c->ssl);
}

const char *tls_alpn(const struct tls_conn *c, char *out, size_t outlen)
{
	const unsigned char *p = NULL;
	unsigned n = 0;

	SSL_get0_alpn_selected(c->ssl, &p, &n);
	snprintf(out, outlen, "%.*s", (int)n, p ? (const char *)p : "");
	return out;
}

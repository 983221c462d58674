/*
 * tls-t.h: types of the TLS client module (tls.c) that the check engine and the drivers share.
 */
#ifndef RECHECK_TLS_T_H
#define RECHECK_TLS_T_H

/* Why a TLS start failed, from the most specific evidence OpenSSL gives (verification result, then the
 * error reason). The names are what messages, the stats page and /stats.json show. */
enum tls_reason {
	TLS_R_NONE = 0,   /* no failure */
	TLS_R_UNTRUSTED,  /* the chain does not lead to a trusted CA (self-signed, unknown issuer) */
	TLS_R_EXPIRED,    /* a certificate of the chain is expired or not yet valid */
	TLS_R_NAME,       /* the certificate does not name the sni */
	TLS_R_HANDSHAKE,  /* handshake failure: fatal alert, reset or close mid-handshake, bad message */
	TLS_R_VERSION,    /* no protocol version in common */
	TLS_R_NOT_TLS,    /* the peer answered with something that is not TLS (a plain-text server) */
	TLS_R_COUNT,
};

enum tls_io {
	TLS_IO_OK = 0,     /* done (handshake complete, bytes moved) */
	TLS_IO_WANT_READ,  /* call again when the socket is readable */
	TLS_IO_WANT_WRITE, /* call again when the socket is writable */
	TLS_IO_EOF,        /* tls_read(): the peer closed (close_notify or TCP EOF) */
	TLS_IO_FAIL,       /* fatal: tls_failure() has the reason; the connection is unusable */
};

#endif

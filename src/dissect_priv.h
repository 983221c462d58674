/*
 * dissect_priv.h: what the driver (dissect.c) calls in the protocol dissectors (dissect_*.c). Each
 * dissector includes it for its own prototypes; none calls the driver (the toolkit they share is dx.h).
 * Not for other modules: use dissect.h.
 */
#ifndef RECHECK_DISSECT_PRIV_H
#define RECHECK_DISSECT_PRIV_H

#include "api.h"
#include "buf.h"
#include "dissect-t.h"
#include "recipe-t.h"

/* The registry's entries. */
extern const struct dissector dissect_socks5;
extern const struct dissector dissect_socks4;
extern const struct dissector dissect_http_connect;
extern const struct dissector dissect_http_proxy;
extern const struct dissector dissect_tls;

/* dissect_http.c: one or more HTTP/1 exchanges from the current offsets (also inside a tunnel). 0 or -1;
 * *is_http 0 when the client bytes are not an HTTP request (nothing consumed), 2 when the first request
 * is cut before the end of its head (it began with a method; nothing of it is in the recipe), 1 otherwise. */
int dissect_http_exchanges(struct dissect_ctx *x, enum dissect_lead lead, int *is_http);

/* Annotators for dissect_annotate(): append one line and return true, or false when they cannot decode. */
bool dissect_socks5_annotate(const struct step *s, struct buf *out);
bool dissect_socks4_annotate(const struct step *s, struct buf *out);
bool dissect_http_annotate(const struct step *s, struct buf *out);

/* dissect_secret.c: marks (or with --redact replaces) every credential secret.h finds in the steps. 0/-1. */
int dissect_secrets(struct dissect_ctx *x);

#endif

/*
 * dissect_priv.h: helpers shared by dissect.c and the protocol dissectors (dissect_*.c). Not for other
 * modules: use dissect.h.
 */
#ifndef RECHECK_DISSECT_PRIV_H
#define RECHECK_DISSECT_PRIV_H

#include "api.h"
#include "buf.h"
#include "dissect-t.h"
#include "dissect.h"
#include "recipe-t.h"

extern const struct dissector dissect_socks5;
extern const struct dissector dissect_socks4;
extern const struct dissector dissect_http_connect;
extern const struct dissector dissect_http_proxy;
extern const struct dissector dissect_tls;

/* "s" unless n is 1: "1 byte", "2 bytes". */
#define DX_PL(n) ((n) == 1 ? "" : "s")

/* struct tok-style value to name tables (tcpdump): the last entry has s == NULL. */
struct dx_tok {
	int v;
	const char *s;
};
const char *dx_tok_name(const struct dx_tok *t, int v, const char *unknown);

/*
 * Steps. Each takes a printf comment and returns the (last) step added, or NULL with err set when out of
 * memory or over the step cap. dx_send cuts payloads over RECIPE_MAX_PAYLOAD into several sends and
 * makes a send binary when the bytes are not text (or binary is asked).
 */
struct step *dx_send(struct dissect_ctx *x, const void *p, size_t n, bool binary, const char *fmt, ...)
	PRINTF_FMT(5, 6);
struct step *dx_expect(struct dissect_ctx *x, enum expect_match m, const void *pat, size_t n, int min_recv,
		       const char *fmt, ...) PRINTF_FMT(6, 7);

/* Summary lines: "  - text" and "  warning: text". */
void dx_note(struct dissect_ctx *x, const char *fmt, ...) PRINTF_FMT(2, 3);
void dx_warn(struct dissect_ctx *x, const char *fmt, ...) PRINTF_FMT(2, 3);
int dx_oom(struct dissect_ctx *x);
/*
 * The recorded conversation failed (the one rule, docs/recipe.md): a recipe would expect an answer the
 * server never gave, so none is made. The message says what the server answered and what to do.
 * Returns 0 so that a builder can `return dx_refuse(...)`.
 */
int dx_refuse(struct dissect_ctx *x, const char *fmt, ...) PRINTF_FMT(2, 3);
/*
 * A send with side effects (a mail sent, a form posted) would be repeated on every check interval: no
 * recipe unless --allow-side-effects. Returns 0 (stop building). Same message slot as dx_refuse.
 */
int dx_side_effect(struct dissect_ctx *x, const char *fmt, ...) PRINTF_FMT(2, 3);

/*
 * Raw treatment of what is left of the conversation from the current stream offsets on, following the
 * recorded turn order: each client turn (part) is sent, each server turn (part) is expected, exactly
 * (exact) or by its first 16 bytes. Returns 0 or -1.
 */
int dx_raw_rest(struct dissect_ctx *x, bool exact);

/* True when the n bytes are printable text a "send"/"string" can carry (no NUL, no control but CR LF TAB). */
bool dx_is_text(const unsigned char *p, size_t n);

/* The tunnelled payload after a proxy handshake: HTTP, TLS (stop) or anything else (raw). 0 or -1. */
int dx_tunnel(struct dissect_ctx *x, const char *outer, enum dissect_lead lead);

/* dissect_http.c: one or more HTTP/1 exchanges from the current offsets. 0 or -1; *is_http 0 when the
 * client bytes are not an HTTP request (nothing consumed), 2 when the first request is cut before the end
 * of its head (it began with a method; nothing of it is in the recipe), 1 otherwise. */
int dissect_http_exchanges(struct dissect_ctx *x, enum dissect_lead lead, int *is_http);

/* Annotators for dissect_annotate(): append one line and return true, or false when they cannot decode. */
bool dissect_socks5_annotate(const struct step *s, struct buf *out);
bool dissect_socks4_annotate(const struct step *s, struct buf *out);
bool dissect_http_annotate(const struct step *s, struct buf *out);

/* dissect_secret.c: marks (or with --redact replaces) every credential secret.h finds in the steps. 0/-1. */
int dx_secrets(struct dissect_ctx *x);

/* Drops a trailing send that got no recorded answer, with a warning naming what was missing. */
void dx_unanswered(struct dissect_ctx *x, const char *what);

#endif

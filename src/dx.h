/*
 * dx: the dissect toolkit, the bottom layer of the recorder's dissection. The protocol dissectors
 * (dissect_*.c) and the driver (dissect.c) build a recipe's steps and its summary through these calls;
 * dx.c calls nothing above it. One way down: dissect.c -> dissect_*.c -> dx.c.
 */
#ifndef RECHECK_DX_H
#define RECHECK_DX_H

#include "api.h"
#include "dissect-t.h"
#include "recipe-t.h"

/* Bytes of each server turn the raw treatment expects (the rest of a banner differs between servers). */
#define DX_RAW_EXPECT_N 16

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
 * (exact) or by its first DX_RAW_EXPECT_N bytes. Returns 0 or -1.
 */
int dx_raw_rest(struct dissect_ctx *x, bool exact);

/* True when the n bytes are printable text a "send"/"string" can carry (no NUL, no control but CR LF TAB). */
bool dx_is_text(const unsigned char *p, size_t n);

/* Drops a trailing send that got no recorded answer, with a warning naming what was missing. */
void dx_unanswered(struct dissect_ctx *x, const char *what);

/*
 * An outer dissector's handshake succeeded: the tunnelled stream starts at the current stream offsets.
 * Records that in x->tunnel for the driver, which dissects the inner stream; returns 0.
 */
int dx_tunnel_here(struct dissect_ctx *x, enum dissect_lead lead, bool name_inner);

#endif

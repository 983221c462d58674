/*
 * dissect: turns a recorded conversation into a portable recipe. The dissector is picked from the first
 * client turn (0x05: SOCKS5, 0x04: SOCKS4/4a, "CONNECT ": HTTP CONNECT, "METHOD SP": HTTP forward proxy,
 * 0x16 0x03: TLS, anything else: raw) and generalizes the volatile bytes of the server's replies,
 * explaining each choice in the step's comment and in the summary. What runs inside a SOCKS or CONNECT
 * tunnel is dissected in turn. This is the public side of dissect.c (the driver); the dissectors and
 * their toolkit (dx.h) are internal.
 */
#ifndef RECHECK_DISSECT_H
#define RECHECK_DISSECT_H

#include "buf.h"
#include "dissect-t.h"
#include "recipe-t.h"
#include "turn-t.h"

/* Why dissect_build_rc() made no recipe. */
enum dissect_rc {
	DISSECT_OK = 0,         /* a recipe */
	DISSECT_NO_RECIPE,      /* the conversation cannot make one (empty, nothing complete, ...) */
	DISSECT_REFUSED,        /* the recorded conversation failed (method rejected, auth refused, CONNECT
				 * answered non-2xx, SOCKS REP not 00): err holds the server's answer */
	DISSECT_SIDE_EFFECT,    /* a send would change something on every check (--allow-side-effects) */
	DISSECT_LOCAL,          /* out of memory or a cap */
};

/*
 * Builds a recipe (kind RECIPE_TCP, protocol set, compiled) from the turns. Appends a human summary
 * (the detected protocol, the turns, what was generalized and why, warnings) to summary when not NULL.
 * NULL with a reason in err when the conversation cannot make a recipe (no client bytes, ...).
 */
struct recipe *dissect_build(const struct turns *t, const struct dissect_opts *o, struct buf *summary,
			     char *err, size_t errlen);
/* The same, saying in *rc why there is no recipe (the recorded failure rule: DISSECT_REFUSED). */
struct recipe *dissect_build_rc(const struct turns *t, const struct dissect_opts *o, struct buf *summary,
				enum dissect_rc *rc, char *err, size_t errlen);

/*
 * https:// recordings: appends to r (built by dissect_build() from the tunnel set-up) a tls step for the
 * URL's host (verify: chain against ca, NULL for the system store, and name), the GET request curl sent inside TLS (with user_agent) and an
 * expect of the status it got; the protocol becomes "OUTER+https". 0, or -1 with a reason in err.
 */
int dissect_https_tail(struct recipe *r, const char *url, bool verify, const char *ca, int status,
		       const char *user_agent, struct buf *summary, char *err, size_t errlen);

/*
 * Appends a one-line decoding of a send payload or expect pattern of a recipe of the given protocol
 * ("SOCKS5 greeting: methods no-auth, user/pass"), for `recheck show`. Nothing when it cannot decode.
 */
void dissect_annotate(const char *protocol, const struct recipe *r, size_t step, struct buf *out);

#endif

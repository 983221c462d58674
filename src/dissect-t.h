/*
 * dissect-t.h: the types of the recorder's dissection, shared by the driver (dissect.c), the protocol
 * dissectors (dissect_*.c) and their toolkit (dx.h). See dissect.h for the contract.
 */
#ifndef RECHECK_DISSECT_T_H
#define RECHECK_DISSECT_T_H

#include "api.h"

struct buf;
struct recipe;
struct turns;

struct dissect_opts {
	bool raw;               /* keep every byte exact: no generalization */
	bool redact;            /* write ${NAME} references in place of recorded credentials */
	bool all_exchanges;     /* keep every request/response of a keep-alive connection, not only the first */
	bool allow_side_effects; /* keep sends that change something (SMTP DATA, HTTP methods but GET/HEAD/OPTIONS) */
};

/* One direction of the conversation, reassembled: the turns of that direction back to back. */
struct dissect_stream {
	unsigned char *p;       /* owned by the context */
	size_t len;
	size_t off;             /* bytes already turned into steps */
};

/* How the HTTP dissector must anchor the status-line regex of the response it checks. */
enum dissect_lead {
	LEAD_NONE = 0,          /* the response starts the server's bytes since the last send: ^HTTP/... */
	LEAD_SOCKS5,            /* up to 252 late bytes of a SOCKS5 reply may precede it */
};

/*
 * What an outer dissector (SOCKS5, SOCKS4, HTTP CONNECT) hands back when its handshake succeeded: where
 * the tunnelled stream begins. The driver (dissect.c) then dissects that stream; a dissector never does.
 */
struct dissect_tunnel {
	bool open;              /* a tunnel starts here */
	size_t c_off, s_off;    /* where the tunnelled bytes begin in the client and the server stream */
	enum dissect_lead lead; /* which bytes may precede the first inner response */
	bool name_inner;        /* the protocol becomes OUTER+http when HTTP runs inside (SOCKS, not CONNECT) */
};

struct dissect_ctx {
	const struct turns *t;
	const struct dissect_opts *o;
	struct recipe *r;       /* the recipe being built */
	struct buf *summary;    /* the caller's, may be NULL */
	struct dissect_stream c; /* client to server */
	struct dissect_stream s; /* server to client */
	char proto[32];         /* detected protocol, e.g. "socks5+http" */
	unsigned warnings;
	bool refused;           /* the recorded conversation failed (dx_refuse): no recipe is made */
	bool side_effect;       /* a send would change something on every check (dx_side_effect): no recipe */
	char refusal[512];      /* what the server answered and what to do, for the error message */
	struct dissect_tunnel tunnel; /* set by an outer dissector (dx_tunnel_here) */
	char *err;
	size_t errlen;
};

/* A protocol dissector: probe the first client bytes, then build the steps from the streams. */
struct dissector {
	const char *name;
	/* 1 when the first client bytes look like this protocol (only the first few bytes are looked at). */
	int (*probe)(const unsigned char *p, size_t len);
	/*
	 * Appends steps and summary lines. 0 on success (even with warnings: a truncated recording gives the
	 * steps that could be built; x->tunnel.open when a tunnel starts where it stopped), 1 when the bytes
	 * are not this protocol after all (the caller falls back to raw), -1 on a local failure (out of
	 * memory, cap) with err set.
	 */
	int (*build)(struct dissect_ctx *x);
};

#endif

/*
 * turn-t.h: one TCP conversation cut into turns. A change of direction starts a new turn; a client turn
 * becomes send step(s), a server turn an expect. Produced by turn.c from the reassembled streams of
 * flow.c, consumed by the dissectors (dissect.h).
 */
#ifndef RECHECK_TURN_T_H
#define RECHECK_TURN_T_H

#include "api.h"

enum turn_dir {
	TURN_C2S = 0,           /* client (curl) to server (the proxy) */
	TURN_S2C,               /* server to client */
};

struct turn {
	enum turn_dir dir;
	unsigned char *data;    /* owned by the enclosing struct turns */
	size_t len;
	uint64_t ts_first_us;   /* capture time of the first and last byte, microseconds since the epoch */
	uint64_t ts_last_us;
	size_t *seg_len;        /* owned: the payload length of each captured segment that carried the turn,
				 * in order (the recorded segmentation; sums to len); NULL when not known */
	size_t nsegs;
};

struct turns {
	struct turn *v;         /* owned array, in conversation order */
	size_t n;
	bool client_fin;        /* the client closed (FIN) */
	bool server_fin;        /* the server closed (FIN) */
	bool reset;             /* a RST ended the conversation */
	bool truncated;         /* a stream hit its cap or had a gap; the dissector should say so */
};

#endif

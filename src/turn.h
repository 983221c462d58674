/*
 * turn: cuts the two reassembled byte streams of a TCP conversation into turns (struct turns, turn-t.h).
 *
 * flow.c hands each direction's bytes in stream order, each chunk with the capture time of the segment
 * that carried it. The builder keeps the two streams apart and interleaves them only at the end, by those
 * timestamps (a stable merge: each direction keeps its own order, and on equal times the chunk delivered
 * first wins), so an out-of-order segment that is delivered late still lands in the turn it was sent in.
 * A change of direction starts a new turn.
 *
 * Ownership: the builder owns its copies; turn_builder_finish() gives the caller a struct turns that it
 * frees with turns_free(). Every buffer is capped: bytes per direction and chunks per direction.
 */
#ifndef RECHECK_TURN_H
#define RECHECK_TURN_H

#include "buf.h"
#include "turn-t.h"

#define TURN_MAX_CHUNKS (1u << 18) /* per direction: segments carrying bytes */

struct turn_chunk {
	size_t off;             /* offset of the first byte in the direction's buffer */
	size_t len;
	uint64_t ts_us;         /* capture time of the segment that carried these bytes */
	uint64_t serial;        /* delivery order over both directions: breaks timestamp ties */
};

struct turn_stream {
	struct buf bytes;       /* the direction's bytes in stream order, capped */
	struct turn_chunk *chunks; /* owned */
	size_t nchunks;
	size_t achunks;         /* allocated */
};

struct turn_builder {
	struct turn_stream s[2]; /* indexed by enum turn_dir */
	uint64_t serial;        /* next chunk's serial */
};

/* Sets up an empty builder whose directions hold at most cap_bytes each. */
void turn_builder_init(struct turn_builder *b, size_t cap_bytes);
void turn_builder_free(struct turn_builder *b);

/*
 * Appends n in-order bytes of direction d captured at ts_us. -1 with err ("client to server stream
 * exceeds the 1048576-byte cap") when a cap is hit; the builder is unchanged then.
 */
int turn_builder_add(struct turn_builder *b, enum turn_dir d, const unsigned char *p, size_t n,
		     uint64_t ts_us, char *err, size_t errlen);

/* Bytes held for direction d. */
size_t turn_builder_len(const struct turn_builder *b, enum turn_dir d);

/*
 * Interleaves the two streams into turns. out is overwritten (its flags are cleared; the caller sets
 * client_fin/server_fin/reset/truncated). The builder stays usable. -1 with err when out of memory.
 */
int turn_builder_finish(const struct turn_builder *b, struct turns *out, char *err, size_t errlen);

/* Frees what a struct turns owns and zeroes it; NULL is a no-op. */
void turns_free(struct turns *t);

/* Human name of a direction: "client to server" / "server to client". */
const char *turn_dir_str(enum turn_dir d);

#endif

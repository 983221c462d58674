/*
 * rd.h: bounds-checked big-endian readers over (ptr, len), in the spirit of tcpdump's GET_ macros but
 * returning an error instead of longjmp-ing. Every wire field of a packet or a dissected stream is read
 * through these, so that a hostile or truncated input can never make us read past the captured bytes.
 *
 * Contract: each reader stores the value at offset off of (p, len) in *v and returns 0, or returns -1 and
 * leaves *v untouched when the field does not fit entirely in len bytes (off + size overflowing included).
 */
#ifndef RECHECK_RD_H
#define RECHECK_RD_H

#include "api.h"

#include <string.h>

/* True when n bytes starting at off lie inside len bytes (no overflow in off + n). */
static inline bool rd_has(size_t len, size_t off, size_t n)
{
	return off <= len && n <= len - off;
}

static inline int rd_u8(const unsigned char *p, size_t len, size_t off, uint8_t *v)
{
	if (!rd_has(len, off, 1))
		return -1;
	*v = p[off];
	return 0;
}

static inline int rd_be16(const unsigned char *p, size_t len, size_t off, uint16_t *v)
{
	if (!rd_has(len, off, 2))
		return -1;
	*v = (uint16_t)((unsigned)p[off] << 8 | p[off + 1]);
	return 0;
}

static inline int rd_be32(const unsigned char *p, size_t len, size_t off, uint32_t *v)
{
	if (!rd_has(len, off, 4))
		return -1;
	*v = (uint32_t)p[off] << 24 | (uint32_t)p[off + 1] << 16 | (uint32_t)p[off + 2] << 8 | p[off + 3];
	return 0;
}

/* Copies n bytes at off into dst. */
static inline int rd_bytes(const unsigned char *p, size_t len, size_t off, void *dst, size_t n)
{
	if (!rd_has(len, off, n))
		return -1;
	memcpy(dst, p + off, n);
	return 0;
}

#endif

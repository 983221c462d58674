/*
 * rd: bounds-checked readers for wire fields (tcpdump's GET_* idea without the longjmp). Each reads the
 * field at offset off of the len-byte buffer p into *v and returns 0, or returns -1 and leaves *v alone
 * when the field does not fit entirely inside the buffer. Offsets near SIZE_MAX cannot wrap.
 */
#ifndef RECHECK_RD_H
#define RECHECK_RD_H

#include "api.h"

static inline int rd_u8(const unsigned char *p, size_t len, size_t off, uint8_t *v)
{
	if (off >= len)
		return -1;
	*v = p[off];
	return 0;
}

static inline int rd_be16(const unsigned char *p, size_t len, size_t off, uint16_t *v)
{
	if (len < 2 || off > len - 2)
		return -1;
	*v = (uint16_t)((unsigned)p[off] << 8 | p[off + 1]);
	return 0;
}

static inline int rd_be32(const unsigned char *p, size_t len, size_t off, uint32_t *v)
{
	if (len < 4 || off > len - 4)
		return -1;
	*v = (uint32_t)p[off] << 24 | (uint32_t)p[off + 1] << 16 | (uint32_t)p[off + 2] << 8 | p[off + 3];
	return 0;
}

#endif

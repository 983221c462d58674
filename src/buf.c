/*
 * buf: the capped, growable byte buffer every module renders into (see buf.h): appends, printf, consume,
 * and handing the bytes over as a C string or as an owned block.
 */
#include "api.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

void buf_init(struct buf *b, size_t cap)
{
	b->data = NULL;
	b->len = 0;
	b->size = 0;
	b->cap = cap;
}

void buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->size = 0;
}

void buf_reset(struct buf *b)
{
	b->len = 0;
}

/* Makes room for n more bytes plus a NUL; -1 when that would pass the cap or memory is short. */
static int reserve(struct buf *b, size_t n)
{
	size_t want, nsize;
	unsigned char *p;

	if (n > b->cap || b->len > b->cap - n)
		return -1;
	want = b->len + n + 1;
	if (want <= b->size)
		return 0;
	nsize = b->size ? b->size : 64;
	while (nsize < want)
		nsize *= 2;
	if (nsize > b->cap + 1)
		nsize = b->cap + 1;
	p = realloc(b->data, nsize);
	if (!p)
		return -1;
	b->data = p;
	b->size = nsize;
	return 0;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	if (reserve(b, n) == -1)
		return -1;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

int buf_append_str(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int buf_putc(struct buf *b, unsigned char c)
{
	return buf_append(b, &c, 1);
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	char small[256];
	char *big;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n < sizeof(small))
		return buf_append(b, small, (size_t)n);
	big = malloc((size_t)n + 1);
	if (!big)
		return -1;
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	n = buf_append(b, big, (size_t)n);
	free(big);
	return n;
}

void buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
}

char *buf_cstr(struct buf *b)
{
	if (reserve(b, 0) == -1)
		return NULL;
	b->data[b->len] = '\0';
	return (char *)b->data;
}

char *buf_steal(struct buf *b, size_t *len)
{
	char *p;

	if (!buf_cstr(b))
		return NULL;
	p = (char *)b->data;
	if (len)
		*len = b->len;
	b->data = NULL;
	b->len = b->size = 0;
	return p;
}

/*
 * buf: a growable byte buffer with a hard cap, in the spirit of curl's dynbuf. Appending past the cap
 * fails with -1 and leaves the buffer unchanged; nothing aborts. The buffer owns its storage.
 */
#ifndef RECHECK_BUF_H
#define RECHECK_BUF_H

#include "api.h"

struct buf {
	unsigned char *data; /* owned; NULL until the first append */
	size_t len;          /* bytes in use */
	size_t size;         /* bytes allocated */
	size_t cap;          /* never grows past this many bytes */
};

void buf_init(struct buf *b, size_t cap);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);
int buf_append(struct buf *b, const void *p, size_t n);
int buf_append_str(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...) PRINTF_FMT(2, 3);
int buf_putc(struct buf *b, unsigned char c);
void buf_consume(struct buf *b, size_t n);
/* NUL-terminates the content (not counted in len); returns the data or NULL when the cap is hit. */
char *buf_cstr(struct buf *b);
/* Hands the storage to the caller (NUL-terminated, caller frees) and empties the buffer. */
char *buf_steal(struct buf *b, size_t *len);

#endif

/*
 * util: small helpers shared by every module: hex, durations, atomic file writes, hex dumps.
 */
#ifndef RECHECK_UTIL_H
#define RECHECK_UTIL_H

#include "api.h"

#include <stdarg.h>

#include "buf.h"

/*
 * Decodes an even-length hex string (upper or lower case, no separators, no 0x) into a newly allocated
 * buffer the caller frees. Returns 0, or -1 with a reason in err (odd length, the bad character and its
 * offset).
 */
int hex_decode(const char *hex, size_t hexlen, unsigned char **out, size_t *outlen, char *err, size_t errlen);
/* Appends the lowercase (or uppercase) hex form of p to b. -1 when the cap is hit. */
int hex_encode(struct buf *b, const unsigned char *p, size_t n, bool upper);

/*
 * Parses a duration as HAProxy writes them: a number with an optional unit us, ms, s, m, h, d (no unit:
 * milliseconds). Stores milliseconds (us rounds up). Returns 0, or -1 with a reason in err.
 */
int duration_parse_ms(const char *s, uint64_t *ms, char *err, size_t errlen);
/* Formats ms as HAProxy would read it back ("2s", "500ms", "1m"); returns buf. */
char *duration_fmt(uint64_t ms, char *out, size_t outlen);

/* Monotonic clock in milliseconds / microseconds. */
uint64_t now_ms(void);
uint64_t now_us(void);

/*
 * Writes data to path atomically: a temporary file in the same directory, fsync, then rename. On any
 * failure the temporary is removed and an existing file at path is left untouched. mode is applied to
 * the new file (0600 for files that carry secrets). Returns 0, or -1 with "path: reason" in err.
 */
int write_file_atomic(const char *path, const void *data, size_t len, unsigned mode, char *err, size_t errlen);

/* Reads a whole file (at most cap bytes) into a NUL-terminated buffer the caller frees. -1 with err. */
int read_file(const char *path, size_t cap, char **out, size_t *outlen, char *err, size_t errlen);

/*
 * Appends a hex + printable dump of p (16 bytes a line, offsets on the left) to b. When mark is not
 * (size_t)-1, the byte at that offset is bracketed to show where two buffers first differ.
 */
int hexdump(struct buf *b, const unsigned char *p, size_t n, size_t mark, const char *indent);

/* strdup/strndup/malloc that return NULL on failure (callers handle it). */
char *xstrndup(const char *s, size_t n);

/* snprintf into err when err is not NULL. */
void set_err(char *err, size_t errlen, const char *fmt, ...) PRINTF_FMT(3, 4);

/*
 * "FILE:LINE: reason" into err (when err is not NULL): the one formatter the configuration readers'
 * fail/warn wrappers share. The reason alone is capped at ERR_LEN, as those messages always were.
 */
void vset_err_at(char *err, size_t errlen, const char *file, int line, const char *fmt, va_list ap)
	PRINTF_FMT(5, 0);

#endif

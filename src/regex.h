/*
 * regex: PCRE2 (HAProxy's own engine) for rstring / rbinary / rstatus. A pattern is compiled once when a
 * recipe is loaded and shared read-only by every check that runs it.
 */
#ifndef RECHECK_REGEX_H
#define RECHECK_REGEX_H

#include "api.h"

struct rx;

/* Compiles pattern (len bytes, may contain NUL). NULL on error with the PCRE2 reason and offset in err. */
struct rx *rx_compile(const char *pattern, size_t len, char *err, size_t errlen);
/* 1 when the regex matches somewhere in subject[0..len), 0 when not, -1 on a matcher error (limits). */
int rx_match(const struct rx *rx, const unsigned char *subject, size_t len);
void rx_free(struct rx *rx);

#endif

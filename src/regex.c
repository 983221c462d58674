/*
 * regex: the PCRE2 wrapper behind rstring, rbinary and rstatus (see regex.h): compile once, match many
 * times from any thread with a match block of its own.
 */
#include "api.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdlib.h>

#include "regex.h"
#include "util.h"

struct rx {
	pcre2_code *code;          /* compiled pattern */
};

struct rx *rx_compile(const char *pattern, size_t len, char *err, size_t errlen)
{
	struct rx *rx;
	int errcode;
	PCRE2_SIZE erroff;
	PCRE2_UCHAR msg[256];

	rx = calloc(1, sizeof(*rx));
	if (!rx) {
		set_err(err, errlen, "out of memory");
		return NULL;
	}
	/* HAProxy compiles without flags: case-sensitive, no multiline. */
	rx->code = pcre2_compile((PCRE2_SPTR)pattern, len, 0, &errcode, &erroff, NULL);
	if (!rx->code) {
		pcre2_get_error_message(errcode, msg, sizeof(msg));
		set_err(err, errlen, "invalid regex at offset %zu: %s", (size_t)erroff, (char *)msg);
		free(rx);
		return NULL;
	}
	pcre2_jit_compile(rx->code, PCRE2_JIT_COMPLETE); /* best effort: falls back to the interpreter */
	return rx;
}

int rx_match(const struct rx *rx, const unsigned char *subject, size_t len)
{
	pcre2_match_data *md;
	int rc;

	/* Match data per call keeps a shared, immutable rx safe to use from every thread. */
	md = pcre2_match_data_create_from_pattern(rx->code, NULL);
	if (!md)
		return -1;
	rc = pcre2_match(rx->code, (PCRE2_SPTR)subject, len, 0, 0, md, NULL);
	pcre2_match_data_free(md);
	if (rc >= 0)
		return 1;
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	return -1;
}

void rx_free(struct rx *rx)
{
	if (!rx)
		return;
	pcre2_code_free(rx->code);
	free(rx);
}

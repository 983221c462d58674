/* Unit tests for buf.c (an append past the cap is refused and leaves the buffer as it was; consume) and
 * util.c's hex and durations. */
#include "api.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"
#include "util.h"

static void cap_is_enforced(void **state)
{
	struct buf b;

	buf_init(&b, 8);
	assert_int_equal(buf_append(&b, "12345678", 8), 0);
	assert_int_equal(buf_append(&b, "9", 1), -1);
	assert_int_equal(b.len, 8);
	assert_string_equal(buf_cstr(&b), "12345678");
	buf_consume(&b, 3);
	assert_string_equal(buf_cstr(&b), "45678");
	assert_int_equal(buf_printf(&b, "%d", 123), 0);
	assert_int_equal(buf_printf(&b, "%d", 4), -1);
	buf_free(&b);
}

static void hex_roundtrip(void **state)
{
	unsigned char *out;
	size_t n;
	char err[ERR_LEN];
	struct buf b;

	assert_int_equal(hex_decode("00fF41", 6, &out, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(out, "\x00\xff\x41", 3);
	buf_init(&b, 64);
	assert_int_equal(hex_encode(&b, out, n, true), 0);
	assert_string_equal(buf_cstr(&b), "00FF41");
	free(out);
	buf_free(&b);
	assert_int_equal(hex_decode("0", 1, &out, &n, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "even number"));
	assert_int_equal(hex_decode("0g", 2, &out, &n, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "'g'"));
}

static void durations(void **state)
{
	uint64_t ms;
	char err[ERR_LEN], out[32];

	assert_int_equal(duration_parse_ms("2s", &ms, err, sizeof(err)), 0);
	assert_int_equal(ms, 2000);
	assert_int_equal(duration_parse_ms("500ms", &ms, err, sizeof(err)), 0);
	assert_int_equal(ms, 500);
	assert_int_equal(duration_parse_ms("1500", &ms, err, sizeof(err)), 0);
	assert_int_equal(ms, 1500);
	assert_int_equal(duration_parse_ms("1m", &ms, err, sizeof(err)), 0);
	assert_int_equal(ms, 60000);
	assert_int_equal(duration_parse_ms("1500us", &ms, err, sizeof(err)), 0);
	assert_int_equal(ms, 2);
	assert_int_equal(duration_parse_ms("2x", &ms, err, sizeof(err)), -1);
	assert_int_equal(duration_parse_ms("", &ms, err, sizeof(err)), -1);
	assert_string_equal(duration_fmt(2000, out, sizeof(out)), "2s");
	assert_string_equal(duration_fmt(1500, out, sizeof(out)), "1500ms");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cap_is_enforced),
		cmocka_unit_test(hex_roundtrip),
		cmocka_unit_test(durations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

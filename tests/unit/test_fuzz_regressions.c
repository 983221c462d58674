/*
 * test_fuzz_regressions: the inputs tests/fuzz found, as unit tests of the module that was fixed. The
 * raw crash inputs are also kept in tests/fuzz/regressions/<target>/ and replayed through the fuzz
 * target by unit/fuzz_replay_<target>.
 */
#include "api.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"
#include "recipe.h"
#include "recipe_haproxy.h"

/*
 * fuzz_haproxy_import: a legacy `option httpchk GET / HTTP/1.1\r\nHost:` (raw CR ending the line right
 * after "Host:") imports a header with an empty value; the export wrote `hdr Host ` with no value word,
 * which neither HAProxy 2.6 nor the importer reads back. Fixed in recipe_haproxy.c (export refuses an
 * empty hdr value, except in the legacy form) and haproxy_import_http.c (`hdr Host ""` is refused as
 * HAProxy refuses it).
 */
static void empty_header_value_round_trip(void **state)
{
	static const char legacy[] = "listen l\n    option httpchk GET /x HTTP/1.1\\r\\nHost:\r\r\n";
	struct haproxy_export_opts o = {.listen = "again", .bind = "127.0.0.1:1"};
	struct recipe *r, *back;
	char err[ERR_LEN] = "";
	struct buf out;

	r = haproxy_import_mem(legacy, sizeof(legacy) - 1, "legacy.cfg", NULL, err, sizeof(err));
	assert_non_null(r);
	assert_int_equal(r->req.nhdrs, 1);
	assert_string_equal(r->req.hdrs[0].name, "Host");
	assert_string_equal(r->req.hdrs[0].value, "");

	buf_init(&out, 1 << 20);
	assert_int_equal(haproxy_export(r, &o, &out, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "empty value"));
	assert_non_null(strstr(err, "Host"));

	/* the legacy form carries it, and reads back */
	buf_reset(&out);
	o.legacy_httpchk = true;
	assert_int_equal(haproxy_export(r, &o, &out, err, sizeof(err)), 0);
	back = haproxy_import_mem((const char *)out.data, out.len, "again.cfg", "again", err, sizeof(err));
	assert_non_null(back);
	assert_int_equal(back->req.nhdrs, 1);
	assert_string_equal(back->req.hdrs[0].value, "");
	recipe_free(back);
	buf_free(&out);
	recipe_free(r);
}

static void hdr_with_empty_word_is_refused(void **state)
{
	static const char *cfgs[] = {
		"listen l\n    option httpchk\n    http-check send meth GET hdr Host \"\"\n",
		"listen l\n    option httpchk\n    http-check send meth GET hdr \"\" v\n",
		"listen l\n    option httpchk\n    http-check send meth GET hdr Host\n",
	};
	char err[ERR_LEN];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cfgs); i++) {
		struct recipe *r;

		err[0] = '\0';
		r = haproxy_import_mem(cfgs[i], strlen(cfgs[i]), "h.cfg", NULL, err, sizeof(err));
		assert_null(r);
		assert_non_null(strstr(err, "h.cfg:3:"));
		assert_non_null(strstr(err, "'hdr' expects a name and a value"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(empty_header_value_round_trip),
		cmocka_unit_test(hdr_with_empty_word_is_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

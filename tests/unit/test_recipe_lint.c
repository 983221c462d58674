/*
 * Unit tests for src/recipe_lint.c: each rule fires on the fragile recipe it describes, with the line it
 * names, and stays quiet on the portable version.
 */
#include "api.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "recipe.h"
#include "recipe_lint.h"
#include "recipe_yaml.h"

struct seen {
	int n;
	int line[8];
	char msg[8][ERR_LEN];
};

static void collect(void *arg, int line, const char *msg)
{
	struct seen *s = arg;

	if (s->n < 8) {
		s->line[s->n] = line;
		snprintf(s->msg[s->n], sizeof(s->msg[0]), "%s", msg);
	}
	s->n++;
}

static int lint(const char *text, struct seen *s)
{
	char err[ERR_LEN];
	struct recipe *r = recipe_load_mem(text, strlen(text), "t.yaml", err, sizeof(err));
	int n;

	if (!r)
		fail_msg("%s", err);
	memset(s, 0, sizeof(*s));
	n = recipe_lint(r, collect, s);
	recipe_free(r);
	assert_int_equal(n, s->n);
	return n;
}

#define SOCKS_HEAD "version: 1\nname: t\nprotocol: socks5+http\nsteps:\n  - connect: {}\n" \
	"  - send-binary: \"050100\"\n  - expect: {binary: \"0500\"}\n" \
	"  - send-binary: \"05010003096c6f63616c686f73740050\"\n"

static void socks5_bound_address_pinned(void **state)
{
	struct seen s;

	assert_int_equal(lint(SOCKS_HEAD "  - expect: {binary: \"05000001000000000000\"}\n"
			      "  - send: \"GET / HTTP/1.0\\r\\n\\r\\n\"\n  - expect: {string: \"HTTP\"}\n", &s), 1);
	assert_int_equal(s.line[0], 9);
	assert_non_null(strstr(s.msg[0], "pins the SOCKS5 reply's ATYP/BND.ADDR/BND.PORT"));
	assert_int_equal(lint(SOCKS_HEAD "  - expect: {rbinary: \"^050000\"}\n"
			      "  - send: \"GET / HTTP/1.0\\r\\n\\r\\n\"\n  - expect: {string: \"HTTP\"}\n", &s), 0);
}

static void expect_before_the_client_speaks(void **state)
{
	struct seen s;

	assert_int_equal(lint("version: 1\nname: t\nprotocol: socks5\nsteps:\n  - connect: {}\n"
			      "  - expect: {binary: \"0500\"}\n", &s), 1);
	assert_int_equal(s.line[0], 6);
	assert_non_null(strstr(s.msg[0], "expect right after connect, but in protocol socks5 the client speaks first"));
	/* a server-first protocol (no protocol named) is fine */
	assert_int_equal(lint("version: 1\nname: t\nsteps:\n  - connect: {}\n  - expect: {string: \"220 \"}\n", &s), 0);
}

static void lowercase_rbinary_and_trailing_send(void **state)
{
	struct seen s;

	assert_int_equal(lint("version: 1\nname: t\nsteps:\n  - connect: {}\n  - send: \"x\"\n"
			      "  - expect: {rbinary: \"^05ff\"}\n  - send: \"bye\"\n", &s), 2);
	assert_int_equal(s.line[0], 6);
	assert_non_null(strstr(s.msg[0], "UPPERCASE hex"));
	assert_int_equal(s.line[1], 7);
	assert_non_null(strstr(s.msg[1], "ends with a send"));
	/* \x0a and \d are escapes, not lowercase hex digits */
	assert_int_equal(lint("version: 1\nname: t\nsteps:\n  - connect: {}\n  - send: \"x\"\n"
			      "  - expect: {rbinary: \"^05FF\\\\d\"}\n", &s), 0);
}

static void http_default_status(void **state)
{
	struct seen s;

	assert_int_equal(lint("version: 1\nname: t\nkind: http\nrequest: {method: GET, uri: /}\n", &s), 1);
	assert_non_null(strstr(s.msg[0], "no expect: HAProxy's implicit 'status 200-399'"));
	assert_int_equal(lint("version: 1\nname: t\nkind: http\nrequest: {method: GET, uri: /}\n"
			      "expect:\n  - {status: \"200-399\"}\n", &s), 1);
	assert_int_equal(s.line[0], 6);
	assert_int_equal(lint("version: 1\nname: t\nkind: http\nrequest: {method: GET, uri: /}\n"
			      "expect:\n  - {status: \"204\"}\n", &s), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(socks5_bound_address_pinned),
		cmocka_unit_test(expect_before_the_client_speaks),
		cmocka_unit_test(lowercase_rbinary_and_trailing_send),
		cmocka_unit_test(http_default_status),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* HAProxy's config-line lexer, case by case from docs/haproxy-semantics.md §1 (the [T] cases were checked
 * on haproxy 2.6.12). */
#include "api.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "haproxy_lex.h"

static struct haproxy_line L;
static char err[ERR_LEN];

static int lex(const char *s, unsigned flags)
{
	haproxy_line_free(&L);
	err[0] = '\0';
	return haproxy_lex_line(s, strlen(s), flags, &L, err, sizeof(err));
}

static void word_eq(size_t i, const void *bytes, size_t n)
{
	assert_true(i < L.n);
	assert_int_equal(L.w[i].len, n);
	assert_memory_equal(L.w[i].data, bytes, n);
}

#define WORD(i, lit) word_eq((i), (lit), sizeof(lit) - 1)
/* s lexes without error and its first word is lit */
#define LEX1(s, lit)                                  \
	do {                                          \
		assert_int_equal(lex((s), 0), 0);     \
		WORD(0, lit);                         \
	} while (0)

static int teardown(void **state)
{
	haproxy_line_free(&L);
	return 0;
}

static void words_and_spaces(void **state)
{
	assert_int_equal(lex("  tcp-check \t send\v\fabc  ", 0), 0);
	assert_int_equal(L.n, 3);
	WORD(0, "tcp-check");
	WORD(1, "send");
	WORD(2, "abc");
	assert_int_equal(L.w[0].col, 3);
	assert_int_equal(lex("", 0), 0);
	assert_int_equal(L.n, 0);
	assert_int_equal(lex("   # only a comment", 0), 0);
	assert_int_equal(L.n, 0);
	/* CR and LF end the line */
	assert_int_equal(lex("a b\r\nc", 0), 0);
	assert_int_equal(L.n, 2);
}

static void comments(void **state)
{
	assert_int_equal(lex("tcp-check send-binary 50494e47 # PING", 0), 0);
	assert_int_equal(L.n, 3);
	WORD(2, "50494e47");
	assert_int_equal(lex("send a#b", 0), 0);
	assert_int_equal(L.n, 2);
	WORD(1, "a");
	assert_int_equal(lex("send a\\#b \"#\" '#'", 0), 0);
	assert_int_equal(L.n, 4);
	WORD(1, "a#b");
	WORD(2, "#");
	WORD(3, "#");
}

static void escapes(void **state)
{
	LEX1("x\\y\\.z\\\\w", "x\\y\\.z\\w"); /* [T] x\y\.z\\w gives x\y\.z\w */
	assert_int_equal(lex("a\\ b\\r\\n\\t", 0), 0);
	assert_int_equal(L.n, 1);
	WORD(0, "a b\r\n\t");
	LEX1("\\x41\\x0a\\xfF\\x00z", "A\n\xff\0z");
	LEX1("\\'\\\"", "'\"");
	/* '\$' is an escape only inside double quotes */
	assert_int_equal(lex("\\$ \"\\$\"", 0), 0);
	WORD(0, "\\$");
	WORD(1, "$");
	/* an unquoted $ is literal */
	LEX1("$HOME${HOME}", "$HOME${HOME}");
}

static void bad_hex(void **state)
{
	assert_int_equal(lex("send ab\\x4", 0), -1);
	assert_non_null(strstr(err, "column 8"));
	assert_non_null(strstr(err, "\\x"));
	assert_int_equal(lex("send \\xg0", 0), -1);
	LEX1("'\\x4'", "\\x4"); /* no escapes inside single quotes */
}

static void quotes(void **state)
{
	LEX1("\"q\\ s\\x41\\r\\n\"", "q sA\r\n"); /* [T] */
	LEX1("'q\\ s\\x41\\r\\n'", "q\\ s\\x41\\r\\n"); /* [T] sent literally */
	assert_int_equal(lex("a\"b c\"'d e'f", 0), 0);
	assert_int_equal(L.n, 1);
	WORD(0, "ab cd ef");
	assert_true(L.w[0].quoted);
	assert_int_equal(lex("a\"\"b \"\"", 0), 0); /* [T] a""b gives ab; "" alone is an empty word */
	assert_int_equal(L.n, 2);
	WORD(0, "ab");
	WORD(1, "");
	LEX1("'A'\"\\'\"", "A'"); /* [T] gives A' */
	LEX1("'\\\"'", "\\\"");
	assert_int_equal(lex("\"it's\" 'say \"hi\"'", 0), 0);
	WORD(0, "it's");
	WORD(1, "say \"hi\"");
	assert_int_equal(lex("send \"abc", 0), -1);
	assert_non_null(strstr(err, "column 6"));
	assert_non_null(strstr(err, "unmatched double quote"));
	assert_int_equal(lex("send 'abc", 0), -1);
}

static void environment(void **state)
{
	setenv("RECHECK_LEX_T", "v a l", 1);
	unsetenv("RECHECK_LEX_UNSET");
	assert_int_equal(lex("\"<${RECHECK_LEX_T}>\" \"$RECHECK_LEX_T.x\"", 0), 0);
	assert_int_equal(L.n, 2);
	WORD(0, "<v a l>");
	WORD(1, "v a l.x");
	assert_int_equal(lex("\"[${RECHECK_LEX_UNSET}]\" \"${RECHECK_LEX_UNSET-dflt}\"", 0), 0);
	WORD(0, "[]");
	WORD(1, "dflt");
	assert_int_equal(lex("\"a$ b\"", 0), -1); /* [T] forbidden first char */
	assert_int_equal(lex("\"${RECHECK_LEX_T\"", 0), -1);
	assert_non_null(strstr(err, "brace"));
	/* import keeps the reference and marks the word */
	assert_int_equal(lex("\"Basic ${PW}\" \"$PW!\" plain", HAPROXY_LEX_KEEP_ENV), 0);
	WORD(0, "Basic ${PW}");
	assert_true(L.w[0].env);
	WORD(1, "${PW}!");
	assert_true(L.w[1].env);
	assert_false(L.w[2].env);
	assert_int_equal(lex("\"\\${X}\"", HAPROXY_LEX_KEEP_ENV), 0);
	WORD(0, "${X}");
	assert_false(L.w[0].env);
	assert_true(L.w[0].literal_dollar_brace);
	assert_int_equal(lex("\"${PW-x}\"", HAPROXY_LEX_KEEP_ENV), -1);
	assert_int_equal(lex("\"${.LINE}\"", 0), -1);
}

static void word_limit(void **state)
{
	char line[400];
	size_t i;

	line[0] = '\0';
	for (i = 0; i < HAPROXY_LEX_MAX_WORDS; i++)
		strcat(line, "w ");
	assert_int_equal(lex(line, 0), 0);
	assert_int_equal(L.n, HAPROXY_LEX_MAX_WORDS);
	strcat(line, "x");
	assert_int_equal(lex(line, 0), -1);
	assert_non_null(strstr(err, "too many words"));
	strcpy(line + strlen(line) - 1, "# comment");
	assert_int_equal(lex(line, 0), 0);
}

static void nul_word(void **state)
{
	/* the length counts bytes after a NUL: callers decide what HAProxy's C-string parsers keep */
	assert_int_equal(lex("send AB\\x00CD", 0), 0);
	WORD(1, "AB\0CD");
	assert_string_equal((const char *)L.w[1].data, "AB");
	assert_true(haproxy_word_is(&L.w[0], "send"));
	assert_false(haproxy_word_is(&L.w[1], "AB"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(words_and_spaces, teardown), cmocka_unit_test_teardown(comments, teardown),
		cmocka_unit_test_teardown(escapes, teardown),          cmocka_unit_test_teardown(bad_hex, teardown),
		cmocka_unit_test_teardown(quotes, teardown),           cmocka_unit_test_teardown(environment, teardown),
		cmocka_unit_test_teardown(word_limit, teardown),       cmocka_unit_test_teardown(nul_word, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

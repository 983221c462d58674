/*
 * haproxy_lex: HAProxy 2.6's configuration-line lexer (tools.c parse_line() as cfgparse calls it), so
 * that recheck reads `tcp-check` / `http-check` lines exactly as HAProxy does and can prove that what
 * it writes reads back as the intended bytes. See docs/haproxy-semantics.md §1.
 *
 * Rules: words are split by unquoted, unescaped SP/TAB/VT/FF; an unquoted '#' starts a comment; outside
 * single quotes '\ ', '\\', '\r', '\n', '\t', '\#', '\xHH' are escapes ('\'' and '\"' too, '\$' only
 * inside double quotes; any other backslash pair is kept as is); "..." is weak quoting with $VAR /
 * ${VAR} expansion, '...' strong quoting; quotes glue to adjacent text; at most 64 words a line.
 *
 * Words are (bytes, len): '\x00' yields a real NUL, which HAProxy's keyword parsers then treat as the
 * end of the string.
 */
#ifndef RECHECK_HAPROXY_LEX_H
#define RECHECK_HAPROXY_LEX_H

#include "api.h"

#define HAPROXY_LEX_MAX_WORDS 64          /* HAProxy's MAX_LINE_ARGS */
#define HAPROXY_LEX_MAX_LINE  (1u << 20)  /* our cap on one lexed line (HAProxy has none) */

/* Flags for haproxy_lex_line(). */
#define HAPROXY_LEX_KEEP_ENV 0x1 /* keep ${NAME} (and $NAME as ${NAME}) instead of expanding: import */

struct haproxy_word {
	const unsigned char *data; /* points into the line's storage; NUL-terminated (not counted) */
	size_t len;                /* bytes, NULs included */
	int col;                   /* 1-based column where the word starts in the raw line */
	bool quoted;               /* some part of it was quoted */
	bool env;                  /* it holds ${NAME} references kept by HAPROXY_LEX_KEEP_ENV */
	bool literal_dollar_brace; /* KEEP_ENV: an escaped '$' followed by '{' (cannot be told from a ref) */
};

struct haproxy_line {
	struct haproxy_word w[HAPROXY_LEX_MAX_WORDS];
	size_t n;                  /* number of words; 0 for a blank or comment-only line */
	unsigned char *storage;    /* owned; every word's bytes */
};

/*
 * Splits one line (len bytes, no trailing newline needed: a CR, LF or NUL ends it) into words. Returns
 * 0, or -1 with "column C: reason" in err (bad \x escape, unclosed quote, bad variable name, more than
 * 64 words). Free with haproxy_line_free() in both cases.
 */
int haproxy_lex_line(const char *line, size_t len, unsigned flags, struct haproxy_line *out, char *err,
		     size_t errlen);
void haproxy_line_free(struct haproxy_line *l);

/* True when the word equals the C string s (and holds no NUL). */
bool haproxy_word_is(const struct haproxy_word *w, const char *s);

#endif

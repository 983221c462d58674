/*
 * haproxy_lex: HAProxy 2.6's configuration-line lexer, written from docs/haproxy-semantics.md §1 and checked
 * against the real haproxy 2.6.12 (tests/integration/test_haproxy_export.py sends every byte value
 * through it).
 */
#include "api.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "haproxy_lex.h"
#include "util.h"

struct lex {
	struct buf out;                            /* every word's bytes, each followed by a NUL */
	size_t start[HAPROXY_LEX_MAX_WORDS];       /* offset of each word in out */
	unsigned flags[HAPROXY_LEX_MAX_WORDS];     /* WF_* per word */
	int col[HAPROXY_LEX_MAX_WORDS];
	size_t n;                                  /* words started */
	bool in_word;
};

#define WF_QUOTED 0x1
#define WF_ENV    0x2
#define WF_LITDB  0x4

static int is_hspace(int c)
{
	return c == ' ' || c == '\t' || c == '\v' || c == '\f';
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Starts a word at column col when none is open. -1 when the line has too many words. */
static int word_open(struct lex *lx, int col, char *err, size_t errlen)
{
	if (lx->in_word)
		return 0;
	if (lx->n >= HAPROXY_LEX_MAX_WORDS) {
		set_err(err, errlen, "column %d: too many words (HAProxy accepts at most %d on a line)", col,
			HAPROXY_LEX_MAX_WORDS);
		return -1;
	}
	lx->start[lx->n] = lx->out.len;
	lx->flags[lx->n] = 0;
	lx->col[lx->n] = col;
	lx->n++;
	lx->in_word = true;
	return 0;
}

static int emit(struct lex *lx, const void *p, size_t n, char *err, size_t errlen)
{
	if (buf_append(&lx->out, p, n) == -1) {
		set_err(err, errlen, "line longer than %u bytes", HAPROXY_LEX_MAX_LINE);
		return -1;
	}
	return 0;
}

static int word_close(struct lex *lx, char *err, size_t errlen)
{
	if (!lx->in_word)
		return 0;
	lx->in_word = false;
	return emit(lx, "", 1, err, errlen);
}

/*
 * A '$' inside double quotes at line[*i]: $NAME, ${NAME} or ${NAME-default}. Expands it, or with
 * HAPROXY_LEX_KEEP_ENV writes it back as ${NAME}. Advances *i past the reference.
 */
static int env_ref(struct lex *lx, const char *line, size_t len, size_t *i, unsigned flags, char *err,
		   size_t errlen)
{
	size_t p = *i + 1, name, namelen;
	bool brace = false;
	char var[256];
	const char *val;

	if (p < len && line[p] == '{') {
		brace = true;
		p++;
	}
	if (p >= len || line[p] == '.') {
		set_err(err, errlen, "column %zu: special variables like ${.LINE} are not supported", *i + 1);
		return -1;
	}
	if (!isalpha((unsigned char)line[p]) && line[p] != '_') {
		set_err(err, errlen, "column %zu: forbidden first character in environment variable name "
			"(write \\$ for a literal '$' inside double quotes)", p + 1);
		return -1;
	}
	name = p;
	while (p < len && (isalnum((unsigned char)line[p]) || line[p] == '_'))
		p++;
	namelen = p - name;
	if (namelen >= sizeof(var)) {
		set_err(err, errlen, "column %zu: environment variable name too long", name + 1);
		return -1;
	}
	memcpy(var, line + name, namelen);
	var[namelen] = '\0';
	if (brace) {
		if (p < len && (line[p] == '-' || line[p] == '[')) {
			if (flags & HAPROXY_LEX_KEEP_ENV) {
				set_err(err, errlen, "column %zu: ${%s%c...} (default values, word expansion) is not "
					"supported; use plain ${%s}", *i + 1, var, line[p], var);
				return -1;
			}
			if (line[p] == '[') {
				set_err(err, errlen, "column %zu: ${%s[*]} word expansion is not supported", *i + 1, var);
				return -1;
			}
			/* ${NAME-default}: the default runs to the closing brace, taken literally. */
			val = getenv(var);
			name = ++p;
			while (p < len && line[p] != '}')
				p++;
			if (p >= len) {
				set_err(err, errlen, "column %zu: missing closing brace in environment variable name", *i + 1);
				return -1;
			}
			if (!val && emit(lx, line + name, p - name, err, errlen) == -1)
				return -1;
			if (val && emit(lx, val, strlen(val), err, errlen) == -1)
				return -1;
			*i = p + 1;
			return 0;
		}
		if (p >= len || line[p] != '}') {
			set_err(err, errlen, "column %zu: missing closing brace in environment variable name", *i + 1);
			return -1;
		}
		p++;
	}
	*i = p;
	if (flags & HAPROXY_LEX_KEEP_ENV) {
		lx->flags[lx->n - 1] |= WF_ENV;
		return emit(lx, "${", 2, err, errlen) || emit(lx, var, namelen, err, errlen) ||
		       emit(lx, "}", 1, err, errlen) ? -1 : 0;
	}
	val = getenv(var);
	return val ? emit(lx, val, strlen(val), err, errlen) : 0;
}

int haproxy_lex_line(const char *line, size_t len, unsigned flags, struct haproxy_line *out, char *err,
		     size_t errlen)
{
	struct lex lx;
	char quote = 0;
	int qcol = 0;
	size_t i, k, total;

	memset(out, 0, sizeof(*out));
	memset(&lx, 0, sizeof(lx));
	buf_init(&lx.out, HAPROXY_LEX_MAX_LINE);
	for (i = 0; i < len && line[i] != '\0' && line[i] != '\r' && line[i] != '\n';) {
		unsigned char c = (unsigned char)line[i];
		int col = (int)MIN(i + 1, (size_t)INT32_MAX);

		if (!quote && is_hspace(c)) {
			if (word_close(&lx, err, errlen) == -1)
				goto fail;
			i++;
			continue;
		}
		if (!quote && c == '#')
			break;
		if (word_open(&lx, col, err, errlen) == -1)
			goto fail;
		if (!quote && (c == '"' || c == '\'')) {
			quote = (char)c;
			qcol = col;
			lx.flags[lx.n - 1] |= WF_QUOTED;
			i++;
			continue;
		}
		if (quote && c == (unsigned char)quote) {
			quote = 0;
			i++;
			continue;
		}
		if (c == '\\' && quote != '\'') {
			unsigned char next = i + 1 < len ? (unsigned char)line[i + 1] : 0;
			unsigned char b;

			switch (next) {
			case ' ': case '\\': case '#': case '"':
				b = next;
				i += 2;
				break;
			case '\'':
				/* outside single quotes, which is always the case here */
				b = next;
				i += 2;
				break;
			case 't': b = '\t'; i += 2; break;
			case 'n': b = '\n'; i += 2; break;
			case 'r': b = '\r'; i += 2; break;
			case '$':
				if (quote == '"') {
					b = '$';
					i += 2;
					if ((flags & HAPROXY_LEX_KEEP_ENV) && i < len && line[i] == '{')
						lx.flags[lx.n - 1] |= WF_LITDB;
				} else {
					b = '\\';
					i++;
				}
				break;
			case 'x': {
				int hi = i + 2 < len ? hexval((unsigned char)line[i + 2]) : -1;
				int lo = i + 3 < len ? hexval((unsigned char)line[i + 3]) : -1;

				if (hi == -1 || lo == -1) {
					set_err(err, errlen, "column %d: invalid or incomplete \\x escape (two hex digits "
						"are required, as in \\x0a)", col);
					goto fail;
				}
				b = (unsigned char)(hi << 4 | lo);
				i += 4;
				break;
			}
			default:
				/* not an escape: the backslash stays (this is why regex \. \d \s pass through) */
				b = '\\';
				i++;
				break;
			}
			if (emit(&lx, &b, 1, err, errlen) == -1)
				goto fail;
			continue;
		}
		if (c == '$' && quote == '"') {
			if (env_ref(&lx, line, len, &i, flags, err, errlen) == -1)
				goto fail;
			continue;
		}
		if (emit(&lx, &c, 1, err, errlen) == -1)
			goto fail;
		i++;
	}
	if (quote) {
		set_err(err, errlen, "column %d: unmatched %s quote", qcol, quote == '"' ? "double" : "single");
		goto fail;
	}
	if (word_close(&lx, err, errlen) == -1)
		goto fail;
	out->n = lx.n;
	total = lx.out.len;
	out->storage = (unsigned char *)buf_steal(&lx.out, NULL);
	if (lx.n && !out->storage) {
		set_err(err, errlen, "out of memory");
		out->n = 0;
		goto fail;
	}
	for (k = 0; k < lx.n; k++) {
		/* each word ends at the NUL word_close() wrote, which may not be its first NUL */
		size_t stop = k + 1 < lx.n ? lx.start[k + 1] : total;

		out->w[k].data = out->storage + lx.start[k];
		out->w[k].len = stop - lx.start[k] - 1;
		out->w[k].col = lx.col[k];
		out->w[k].quoted = lx.flags[k] & WF_QUOTED;
		out->w[k].env = lx.flags[k] & WF_ENV;
		out->w[k].literal_dollar_brace = lx.flags[k] & WF_LITDB;
	}
	buf_free(&lx.out);
	return 0;
fail:
	buf_free(&lx.out);
	return -1;
}

void haproxy_line_free(struct haproxy_line *l)
{
	free(l->storage);
	l->storage = NULL;
	l->n = 0;
}

bool haproxy_word_is(const struct haproxy_word *w, const char *s)
{
	return strlen(s) == w->len && !memcmp(w->data, s, w->len);
}

/*
 * ytree: libyaml's events into a capped tree (see ytree.h). The tree is built without recursion and
 * freed with recursion bounded by YTREE_MAX_DEPTH.
 */
#include "api.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "util.h"
#include "ytree.h"

struct yread {
	struct ysink s;         /* file name and error buffer */
	const struct ytree_kind *kind;
	const char *text;       /* the input, to place reader errors that only give a byte offset */
	size_t textlen;
	size_t nnodes;
};

void ytree_free(struct ynode *n)
{
	size_t i;

	if (!n)
		return;
	for (i = 0; i < n->nkids; i++)
		ytree_free(n->kids[i]);
	free(n->kids);
	free(n->val);
	free(n);
}

int yerr_at(const struct ysink *s, int line, int col, const char *fmt, ...)
{
	char msg[ERR_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	set_err(s->err, s->errlen, "%s:%d:%d: %s", s->name, line, col, msg);
	return -1;
}

bool ytree_is_null(const struct ynode *n)
{
	return n->type == YN_SCALAR && n->plain &&
	       (n->len == 0 || !strcmp(n->val, "~") || !strcmp(n->val, "null") || !strcmp(n->val, "Null") ||
		!strcmp(n->val, "NULL"));
}

const struct ynode *ytree_get(const struct ynode *m, const char *key)
{
	size_t i;

	for (i = 0; m->type == YN_MAP && i + 1 < m->nkids; i += 2)
		if (m->kids[i]->type == YN_SCALAR && !strcmp(m->kids[i]->val, key))
			return m->kids[i + 1];
	return NULL;
}

const struct ynode *ytree_key_of(const struct ynode *m, const struct ynode *val)
{
	size_t i;

	for (i = 0; m->type == YN_MAP && i + 1 < m->nkids; i += 2)
		if (m->kids[i + 1] == val)
			return m->kids[i];
	return m;
}

/* Places a reader error (bad UTF-8, control bytes), for which libyaml gives only a byte offset. */
static void offset_to_pos(const struct yread *l, size_t off, int *line, int *col)
{
	size_t i;

	*line = 1;
	*col = 1;
	for (i = 0; i < off && i < l->textlen; i++) {
		if (l->text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)l->text[i] & 0xc0) != 0x80) {
			(*col)++;
		}
	}
}

static int parser_error(struct yread *l, const yaml_parser_t *p)
{
	int line, col;

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		return yerr_at(&l->s, 1, 1, "out of memory");
	case YAML_READER_ERROR:
		offset_to_pos(l, p->problem_offset, &line, &col);
		if (p->problem_value != -1)
			return yerr_at(&l->s, line, col, "%s (byte 0x%02x); %s are UTF-8 text", p->problem,
				       (unsigned)p->problem_value & 0xff, l->kind->whats);
		return yerr_at(&l->s, line, col, "%s; %s are UTF-8 text", p->problem, l->kind->whats);
	default:
		if (p->context)
			return yerr_at(&l->s, (int)p->problem_mark.line + 1, (int)p->problem_mark.column + 1,
				       "YAML syntax error: %s (%s at line %d, column %d)", p->problem, p->context,
				       (int)p->context_mark.line + 1, (int)p->context_mark.column + 1);
		return yerr_at(&l->s, (int)p->problem_mark.line + 1, (int)p->problem_mark.column + 1,
			       "YAML syntax error: %s", p->problem ? p->problem : "unknown error");
	}
}

static struct ynode *ynode_new(struct yread *l, enum ynode_type type, const yaml_mark_t *m)
{
	struct ynode *n;

	if (++l->nnodes > l->kind->max_nodes) {
		yerr_at(&l->s, (int)m->line + 1, (int)m->column + 1, "more than %zu YAML nodes: this is not a %s",
			l->kind->max_nodes, l->kind->what);
		return NULL;
	}
	n = calloc(1, sizeof(*n));
	if (!n) {
		yerr_at(&l->s, (int)m->line + 1, (int)m->column + 1, "out of memory");
		return NULL;
	}
	n->type = type;
	n->line = (int)m->line + 1;
	n->col = (int)m->column + 1;
	return n;
}

static int ynode_add(struct yread *l, struct ynode *parent, struct ynode *kid)
{
	struct ynode **v;

	if (parent->nkids == parent->size) {
		size_t nsize = parent->size ? parent->size * 2 : 8;

		v = realloc(parent->kids, nsize * sizeof(*v));
		if (!v)
			return YERR(&l->s, kid, "out of memory");
		parent->kids = v;
		parent->size = nsize;
	}
	parent->kids[parent->nkids++] = kid;
	return 0;
}

/* Refuses what the schema never uses and what would let a small file expand: anchors, aliases, tags. */
static int check_node_event(struct yread *l, const yaml_event_t *ev, const yaml_char_t *anchor,
			    const yaml_char_t *tag, bool implicit)
{
	int line = (int)ev->start_mark.line + 1, col = (int)ev->start_mark.column + 1;

	if (anchor)
		return yerr_at(&l->s, line, col, "anchors (&%s) are not supported in %s", (const char *)anchor,
				 l->kind->whats);
	if (tag && !implicit)
		return yerr_at(&l->s, line, col, "tags (%s) are not supported in %s", (const char *)tag, l->kind->whats);
	return 0;
}

struct ynode *ytree_read(const char *text, size_t len, const char *name, const struct ytree_kind *kind,
			 char *err, size_t errlen)
{
	struct yread rd = {.s = {name, err, errlen}, .kind = kind, .text = text, .textlen = len};
	struct yread *l = &rd;
	yaml_parser_t p;
	yaml_event_t ev;
	struct ynode *stack[YTREE_MAX_DEPTH + 1];
	struct ynode *root = NULL, *n;
	size_t depth = 0;
	int ndocs = 0;
	bool done = false, have_ev = false;

	if (!yaml_parser_initialize(&p)) {
		set_err(err, errlen, "%s: out of memory", name);
		return NULL;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)l->text, l->textlen);
	yaml_parser_set_encoding(&p, YAML_UTF8_ENCODING);
	while (!done) {
		if (!yaml_parser_parse(&p, &ev)) {
			parser_error(l, &p);
			goto fail;
		}
		have_ev = true;
		n = NULL;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++ndocs > 1) {
				yerr_at(&l->s, (int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1,
					"a %s file holds one YAML document (found a second '---')", l->kind->what);
				goto fail;
			}
			break;
		case YAML_ALIAS_EVENT:
			yerr_at(&l->s, (int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1,
				"aliases (*%s) are not supported in %s", (const char *)ev.data.alias.anchor,
				l->kind->whats);
			goto fail;
		case YAML_SCALAR_EVENT:
			if (check_node_event(l, &ev, ev.data.scalar.anchor, ev.data.scalar.tag,
					     ev.data.scalar.plain_implicit || ev.data.scalar.quoted_implicit) == -1)
				goto fail;
			n = ynode_new(l, YN_SCALAR, &ev.start_mark);
			if (!n)
				goto fail;
			n->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
			n->len = ev.data.scalar.length;
			n->val = xstrndup((const char *)ev.data.scalar.value, n->len);
			if (!n->val) {
				YERR(&l->s, n, "out of memory");
				ytree_free(n);
				goto fail;
			}
			break;
		case YAML_SEQUENCE_START_EVENT:
			if (check_node_event(l, &ev, ev.data.sequence_start.anchor, ev.data.sequence_start.tag,
					     ev.data.sequence_start.implicit) == -1)
				goto fail;
			n = ynode_new(l, YN_SEQ, &ev.start_mark);
			if (!n)
				goto fail;
			break;
		case YAML_MAPPING_START_EVENT:
			if (check_node_event(l, &ev, ev.data.mapping_start.anchor, ev.data.mapping_start.tag,
					     ev.data.mapping_start.implicit) == -1)
				goto fail;
			n = ynode_new(l, YN_MAP, &ev.start_mark);
			if (!n)
				goto fail;
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			BUG_ON(depth == 0);
			depth--;
			break;
		default:
			break;
		}
		if (n) {
			if (depth == 0) {
				BUG_ON(root != NULL);
				root = n;
			} else if (ynode_add(l, stack[depth - 1], n) == -1) {
				ytree_free(n);
				goto fail;
			}
			if (n->type != YN_SCALAR) {
				if (depth >= YTREE_MAX_DEPTH) {
					YERR(&l->s, n, "nesting deeper than %d levels: this is not a %s", YTREE_MAX_DEPTH,
					     l->kind->what);
					goto fail;
				}
				stack[depth++] = n;
			}
		}
		yaml_event_delete(&ev);
		have_ev = false;
	}
	yaml_parser_delete(&p);
	if (!root) {
		yerr_at(&l->s, 1, 1, "the file is empty (%s)", l->kind->empty);
		return NULL;
	}
	return root;
fail:
	if (have_ev)
		yaml_event_delete(&ev);
	yaml_parser_delete(&p);
	ytree_free(root);
	return NULL;
}

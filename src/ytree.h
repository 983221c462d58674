/*
 * ytree: a YAML document read with libyaml into a small tree, for the schema-driven loaders above it
 * (recipes in recipe_yaml.c, recheckd's configuration in runner/conf.c).
 *
 * Reading is capped and strict so that a loader never sees hostile shapes: at most YTREE_MAX_DEPTH
 * levels and the kind's max_nodes nodes, one document, no anchors, aliases or tags. Every node keeps
 * its 1-based line:column for the loader's messages. Errors are "NAME:LINE:COLUMN: reason", libyaml's
 * own syntax and encoding errors included; loaders report theirs through the same yerr_at().
 */
#ifndef RECHECK_YTREE_H
#define RECHECK_YTREE_H

#include "api.h"

/* Our schemas are at most 5 levels deep; anything much deeper is not one of our files. */
#define YTREE_MAX_DEPTH 32

enum ynode_type {
	YN_SCALAR = 0,
	YN_MAP,                 /* kids: key, value, key, value, ... */
	YN_SEQ,
};

struct ynode {
	enum ynode_type type;
	int line, col;          /* 1-based position of the node's start */
	bool plain;             /* scalar written without quotes: may be null, a boolean or an integer */
	char *val;              /* scalar bytes, NUL-terminated (may also hold NULs: use len) */
	size_t len;
	struct ynode **kids;    /* owned */
	size_t nkids, size;
};

/* What a file is, for messages and its node cap. */
struct ytree_kind {
	const char *what;       /* "recipe": "this is not a recipe", "a recipe file holds one document" */
	const char *whats;      /* "recipes": "anchors are not supported in recipes" */
	const char *empty;      /* hint after "the file is empty", e.g. "a recipe starts with 'version: 1'" */
	size_t max_nodes;       /* more nodes than this is an error */
};

/* Where a loader's messages go: "name:line:col: reason" into err (when err is not NULL). */
struct ysink {
	const char *name;       /* file name for messages */
	char *err;
	size_t errlen;
};

/* Fills s->err with "NAME:LINE:COL: reason"; returns -1 so that callers can `return yerr_at(...)`. */
int yerr_at(const struct ysink *s, int line, int col, const char *fmt, ...) PRINTF_FMT(4, 5);
#define YERR(s, n, ...) yerr_at((s), (n)->line, (n)->col, __VA_ARGS__)

/*
 * Reads text (len bytes, UTF-8) into a tree whose root is returned; the caller frees it with
 * ytree_free(). NULL with "name:line:col: reason" in err, also for an empty document.
 */
struct ynode *ytree_read(const char *text, size_t len, const char *name, const struct ytree_kind *kind,
			 char *err, size_t errlen);
void ytree_free(struct ynode *n);

/* A plain null scalar (empty, ~, null, Null, NULL), as YAML's core schema reads it. */
bool ytree_is_null(const struct ynode *n);
/* The value of key in mapping m, or NULL. */
const struct ynode *ytree_get(const struct ynode *m, const char *key);
/* The key node of value val in mapping m (m itself when val is not there), for messages. */
const struct ynode *ytree_key_of(const struct ynode *m, const struct ynode *val);

#endif

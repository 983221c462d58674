/*
 * ytree: a YAML document read with libyaml into a small tree, for schema-driven loaders (recipe_yaml).
 *
 * Reading is capped and strict so that the loader above it never sees hostile shapes: at most
 * YTREE_MAX_DEPTH levels and YTREE_MAX_NODES nodes, one document, no anchors, aliases or tags. Every
 * node keeps its 1-based line:column for the loader's messages. Errors are "NAME:LINE:COLUMN: reason",
 * libyaml's own syntax and encoding errors included.
 */
#ifndef RECHECK_YTREE_H
#define RECHECK_YTREE_H

#include "api.h"

/* The recipe schema is at most 4 levels deep; anything much deeper is not a recipe. */
#define YTREE_MAX_DEPTH 32
/* Enough for RECIPE_MAX_STEPS steps of a dozen nodes each, with room to spare. */
#define YTREE_MAX_NODES 100000

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

/*
 * Reads text (len bytes, UTF-8) into a tree whose root is returned; the caller frees it with
 * ytree_free(). NULL with "name:line:col: reason" in err, also for an empty document.
 */
struct ynode *ytree_read(const char *text, size_t len, const char *name, char *err, size_t errlen);
void ytree_free(struct ynode *n);

#endif

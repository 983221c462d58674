/*
 * recipe_yaml: load and save recipes as YAML (libyaml). The schema is documented in docs/recipe.md.
 *
 * Loading is strict: unknown keys, wrong types, odd hex and bad regexes are errors, reported as
 * "FILE:LINE:COLUMN: reason". The loaded recipe is validated and compiled (recipe_compile) before it is
 * returned. Saving then loading gives an identical recipe.
 */
#ifndef RECHECK_RECIPE_YAML_H
#define RECHECK_RECIPE_YAML_H

#include "buf.h"
#include "recipe-t.h"

/* Caps against hostile input. */
#define RECIPE_YAML_MAX_FILE  (4u << 20)

/* Loads a recipe from a file. NULL with "path:line:col: reason" in err. The caller frees the result. */
struct recipe *recipe_load_file(const char *path, char *err, size_t errlen);
/* Same, from memory; name is used in messages in place of a path. */
struct recipe *recipe_load_mem(const char *text, size_t len, const char *name, char *err, size_t errlen);
/* Appends the YAML form of r to out. -1 with err (out of memory, over the buffer cap). */
int recipe_emit_yaml(const struct recipe *r, struct buf *out, char *err, size_t errlen);

#endif

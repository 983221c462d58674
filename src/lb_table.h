/*
 * lb_table: helpers for lb_ops implementations (lb_map.c, lb_chash.c) and for lb.c, which owns the
 * backend and publishes the tables (see lb.h).
 */
#ifndef RECHECK_LB_TABLE_H
#define RECHECK_LB_TABLE_H

#include "api.h"

#include "lb-t.h"

/* Frees a table built by an lb_ops hook, with its derived `without` tables. NULL is a no-op. */
void lb_table_free(struct lb_table *t);
/*
 * A zeroed table with the group counts of be's current states, the servers of avoid counted as unusable
 * (with navoid 0, a main table with room for its `without` cache). NULL when memory ran out.
 */
struct lb_table *lb_table_alloc(const struct lb_backend *be, struct server *const *avoid, size_t navoid);
/* server_usable(s) and s not in avoid[0..navoid-1]. */
bool lb_usable(const struct server *s, struct server *const *avoid, size_t navoid);

#endif

/*
 * lb_table: the bottom of the balancer, what both algorithms (lb_map.c, lb_chash.c) and lb.c share: a
 * table's allocation with the group rules every algorithm applies (HAProxy backend.c
 * update_backend_weight()), its release, and the usable test with servers left out. It calls no other
 * lb file, so the algorithms never call lb.c back (tests/check_cycles.py).
 */
#include "api.h"

#include <stdlib.h>

#include "lb_table.h"
#include "server.h"

void lb_table_free(struct lb_table *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; t->without && i < t->nwithout; i++)
		lb_table_free(atomic_load(&t->without[i].t));
	free(t->without);
	free(t->map);
	free(t->ring);
	free(t);
}

bool lb_usable(const struct server *s, struct server *const *avoid, size_t navoid)
{
	size_t i;

	for (i = 0; i < navoid; i++)
		if (avoid[i] == s)
			return false;
	return server_usable(s);
}

struct lb_table *lb_table_alloc(const struct lb_backend *be, struct server *const *avoid, size_t navoid)
{
	struct lb_table *t = calloc(1, sizeof(*t));
	size_t i;

	if (t == NULL)
		return NULL;
	if (navoid == 0 && be->nsrv > 0) {
		t->without = calloc(be->nsrv, sizeof(*t->without));
		if (t->without == NULL) {
			free(t);
			return NULL;
		}
		for (i = 0; i < be->nsrv; i++)
			atomic_init(&t->without[i].t, NULL);
		t->nwithout = be->nsrv;
	}
	/* update_backend_weight(): count the usable servers of each group and remember the first usable
	 * backup when backups are not all used. */
	for (i = 0; i < be->nsrv; i++) {
		struct server *s = be->srv[i];

		if (!lb_usable(s, avoid, navoid))
			continue;
		if (s->backup) {
			if (t->backup == 0 && !be->allbackups)
				t->fbck = s;
			t->backup++;
		} else {
			t->active++;
		}
	}
	if (t->active) {
		t->tot_used = t->active;
		t->fbck = NULL;
	} else if (t->fbck) {
		t->tot_used = 1;
	} else {
		t->tot_used = t->backup;
	}
	return t;
}

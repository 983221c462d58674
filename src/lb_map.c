/*
 * lb_map: HAProxy 2.6's map-based `balance source` table (hash-type map-based, the default).
 * Reference: docs/haproxy-semantics.md §5.2 and §5.4; HAProxy lb_map.c init_server_map() and
 * recalc_server_map().
 */
#include "api.h"

#include <stdlib.h>

#include "lb.h"
#include "lb_table.h"
#include "server.h"
#include "util.h"

static unsigned gcd(unsigned a, unsigned b)
{
	while (b) {
		unsigned t = a % b;

		a = b;
		b = t;
	}
	return a;
}

static int map_init(struct lb_backend *be, char *err, size_t errlen)
{
	unsigned g = 0;
	size_t i;

	/* The GCD of every configured weight (active and backup, up or down, zeros ignored), once: the
	 * table shrinks, and (10,20,30) behaves exactly like (1,2,3). */
	for (i = 0; i < be->nsrv; i++)
		if (be->srv[i]->weight)
			g = g ? gcd(g, be->srv[i]->weight) : be->srv[i]->weight;
	if (g == 0)
		g = 1;
	be->ew = calloc(be->nsrv ? be->nsrv : 1, sizeof(*be->ew));
	if (be->ew == NULL) {
		set_err(err, errlen, "%s: out of memory", be->name);
		return -1;
	}
	for (i = 0; i < be->nsrv; i++)
		be->ew[i] = be->srv[i]->weight / g;
	return 0;
}

static void map_deinit(struct lb_backend *be)
{
	free(be->ew);
	be->ew = NULL;
}

static struct lb_table *map_rebuild(struct lb_backend *be, struct server *const *avoid, size_t navoid)
{
	struct lb_table *t = lb_table_alloc(be, avoid, navoid);
	bool backup_group;
	unsigned tot = 0, o;
	size_t i;
	int *wscore = NULL;

	if (t == NULL)
		return NULL;
	if (t->tot_used == 0)
		return t;
	backup_group = t->active == 0;
	if (t->fbck) {
		/* Only the first usable backup serves: tot is its weight and the key will be 0. */
		for (i = 0; i < be->nsrv; i++)
			if (be->srv[i] == t->fbck)
				tot = be->ew[i];
	} else {
		for (i = 0; i < be->nsrv; i++)
			if (be->srv[i]->backup == backup_group && lb_usable(be->srv[i], avoid, navoid))
				tot += be->ew[i];
	}
	t->tot_weight = tot;
	t->map = calloc(tot, sizeof(*t->map));
	wscore = calloc(be->nsrv, sizeof(*wscore));
	if (t->map == NULL || wscore == NULL)
		goto fail;

	/* recalc_server_map(): each slot goes to the server whose accumulated score, scaled by tot, is
	 * highest (strict '>' so the earlier server wins ties); the winner pays tot. The table is built
	 * over ALL usable servers of the group even when tot is only the first backup's weight: that is
	 * the map-based backup quirk (b1 weight 2 + b2 weight 5 sends everything to b2). */
	for (o = 0; o < tot; o++) {
		struct server *best = NULL;
		size_t bi = 0;
		int bestv = 0;

		for (i = 0; i < be->nsrv; i++) {
			struct server *s = be->srv[i];
			int v;

			if (s->backup != backup_group || !lb_usable(s, avoid, navoid))
				continue;
			if (tot == 1) {
				best = s;
				bi = i;
				break;
			}
			wscore[i] += (int)be->ew[i];
			v = (wscore[i] + (int)tot) / (int)tot;
			if (best == NULL || v > bestv) {
				bestv = v;
				best = s;
				bi = i;
			}
		}
		BUG_ON(best == NULL);
		t->map[o] = best;
		wscore[bi] -= (int)tot;
	}
	free(wscore);
	return t;

fail:
	free(wscore);
	lb_table_free(t);
	return NULL;
}

static struct server *map_pick(const struct lb_table *t, uint32_t key)
{
	if (t->tot_weight == 0)
		return NULL;
	return t->map[key % t->tot_weight];
}

/* No server_up/server_down hooks: almost every key can move when the set changes, so lb.c rebuilds the
 * whole table. */
const struct lb_ops lb_map_ops = {
	.name = "map-based",
	.init = map_init,
	.rebuild = map_rebuild,
	.pick = map_pick,
	.deinit = map_deinit,
};

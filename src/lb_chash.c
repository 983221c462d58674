/*
 * lb_chash: HAProxy 2.6's consistent-hash ring for `balance source` (hash-type consistent).
 * Reference: docs/haproxy-semantics.md §5.3 and §5.4; HAProxy lb_chash.c chash_init_server_tree() and
 * chash_get_server_hash().
 *
 * Every server's points are computed once at init and kept sorted by key; a rebuild filters that
 * array down to the usable servers of the serving group, so it is linear and needs no sort, and a
 * server coming back restores exactly the ring it left. A server warming up (slowstart) keeps only its
 * first weight * warm_w points, so its share of the ring ramps in 1/16 steps.
 */
#include "api.h"

#include <stdlib.h>

#include "hash.h"
#include "lb.h"
#include "lb_table.h"
#include "server.h"
#include "util.h"

#define CHASH_WEIGHT_SCALE 16   /* BE_WEIGHT_SCALE: points per unit of weight */
#define CHASH_ID_STRIDE    4096 /* SRV_EWGHT_RANGE (256 * 16): keys of one server never meet another's */

static int point_cmp(const void *a, const void *b)
{
	const struct lb_point *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	/* Cannot happen while puid <= SERVER_ID_MAX (hash_full is a bijection); keep the order total. */
	return x->srv->index < y->srv->index ? -1 : x->srv->index > y->srv->index;
}

static int chash_init(struct lb_backend *be, char *err, size_t errlen)
{
	size_t i, n = 0;
	unsigned j;

	for (i = 0; i < be->nsrv; i++)
		n += (size_t)be->srv[i]->weight * CHASH_WEIGHT_SCALE;
	be->points = calloc(n ? n : 1, sizeof(*be->points));
	if (be->points == NULL) {
		set_err(err, errlen, "%s: out of memory", be->name);
		return -1;
	}
	n = 0;
	for (i = 0; i < be->nsrv; i++) {
		struct server *s = be->srv[i];
		unsigned np = s->weight * CHASH_WEIGHT_SCALE;

		for (j = 0; j < np; j++) {
			be->points[n].key = hash_full(s->puid * CHASH_ID_STRIDE + j);
			be->points[n].node = j;
			be->points[n].srv = s;
			n++;
		}
	}
	qsort(be->points, n, sizeof(*be->points), point_cmp);
	be->total_points = n;
	return 0;
}

static void chash_deinit(struct lb_backend *be)
{
	free(be->points);
	be->points = NULL;
	be->total_points = 0;
}

static struct lb_table *chash_rebuild(struct lb_backend *be, struct server *const *avoid, size_t navoid)
{
	struct lb_table *t = lb_table_alloc(be, avoid, navoid);
	bool backup_group;
	size_t i, n = 0;

	if (t == NULL)
		return NULL;
	/* No ring when nothing serves, or when the first usable backup alone serves (returned as is). */
	if (t->tot_used == 0 || t->fbck)
		return t;
	backup_group = t->active == 0;
	t->ring = calloc(be->total_points ? be->total_points : 1, sizeof(*t->ring));
	if (t->ring == NULL) {
		lb_table_free(t);
		return NULL;
	}
	for (i = 0; i < be->total_points; i++) {
		const struct server *s = be->points[i].srv;

		/* a warming server (slowstart) has only its first points, as HAProxy queues its first
		 * eweight nodes: its share grows in place and the keys it takes are those it will keep */
		if (s->backup == backup_group && lb_usable(s, avoid, navoid) &&
		    be->points[i].node < server_chash_points(s))
			t->ring[n++] = be->points[i];
	}
	t->npoints = (unsigned)n;
	return t;
}

static struct server *chash_pick(const struct lb_table *t, uint32_t key)
{
	const struct lb_point *r = t->ring;
	unsigned lo = 0, hi = t->npoints, next, prev;
	uint32_t dp, dn;

	if (t->fbck)
		return t->fbck;
	if (t->npoints == 0)
		return NULL;
	/* First point >= key (eb32_lookup_ge), wrapping to the first; prev is the one before it. */
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (r[mid].key < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	next = lo == t->npoints ? 0 : lo;
	prev = next == 0 ? t->npoints - 1 : next - 1;
	/* Distances on the 32-bit circle; ties go to prev. */
	dp = key - r[prev].key;
	dn = r[next].key - key;
	return dp <= dn ? r[prev].srv : r[next].srv;
}

/* No server_up/server_down hooks: a rebuild filters the precomputed points (linear), so lb.c rebuilds. */
const struct lb_ops lb_chash_ops = {
	.name = "consistent",
	.init = chash_init,
	.rebuild = chash_rebuild,
	.pick = chash_pick,
	.deinit = chash_deinit,
};

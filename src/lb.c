/*
 * lb: the backend, the picks and the table publication protocol (see lb.h), on top of the algorithms
 * (lb_map.c, lb_chash.c, through be->ops), which sit on lb_table.c: calls go one way down.
 * Reference: HAProxy backend.c get_server_sh().
 */
#include "api.h"

#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "lb.h"
#include "lb_table.h"
#include "server.h"
#include "util.h"

static void wait_readers(struct lb_backend *be, unsigned slot)
{
	/* Picks hold a slot only for one lookup; yielding keeps a preempted reader's thread moving. */
	while (atomic_load(&be->readers[slot]) != 0)
		sched_yield();
}

/* Publishes t (owned from now on) and frees the table it replaces once no pick reads it. wlock held. */
static void publish(struct lb_backend *be, struct lb_table *t)
{
	unsigned old = atomic_load(&be->cur), nw = old ^ 1u;
	struct lb_table *prev;

	t->generation = ++be->generation;
	wait_readers(be, nw);
	prev = atomic_exchange(&be->slot[nw], t);
	lb_table_free(prev); /* always NULL: the spare slot is emptied below on every publish */
	atomic_store(&be->cur, nw);
	wait_readers(be, old);
	prev = atomic_exchange(&be->slot[old], NULL);
	lb_table_free(prev);
}

struct lb_backend *lb_backend_new(const char *name, enum lb_algo algo, bool avalanche, bool allbackups,
				  struct server **srv, size_t n, char *err, size_t errlen)
{
	struct lb_backend *be = calloc(1, sizeof(*be));
	struct lb_table *t;
	size_t i, len = strlen(name);

	if (be == NULL)
		goto nomem;
	if (len > SERVER_NAME_MAX)
		len = SERVER_NAME_MAX;
	memcpy(be->name, name, len);
	be->algo = algo;
	be->avalanche = avalanche;
	be->allbackups = allbackups;
	be->ops = algo == LB_ALGO_CHASH ? &lb_chash_ops : &lb_map_ops;
	atomic_init(&be->slot[0], NULL);
	atomic_init(&be->slot[1], NULL);
	atomic_init(&be->cur, 0);
	atomic_init(&be->readers[0], 0);
	atomic_init(&be->readers[1], 0);
	if (pthread_mutex_init(&be->wlock, NULL) != 0) {
		free(be);
		goto nomem;
	}
	if (n) {
		be->srv = calloc(n, sizeof(*be->srv));
		if (be->srv == NULL)
			goto fail_nomem;
		memcpy(be->srv, srv, n * sizeof(*srv));
	}
	be->nsrv = n;
	for (i = 0; i < n; i++) {
		if (srv[i]->puid == 0) {
			set_err(err, errlen, "%s: server '%s' has no id (server_assign_puids was not called)", be->name,
				srv[i]->name);
			goto fail;
		}
		if (srv[i]->weight > SERVER_WEIGHT_MAX) {
			set_err(err, errlen, "%s: server '%s': weight %u is out of range (0..%d)", be->name,
				srv[i]->name, srv[i]->weight, SERVER_WEIGHT_MAX);
			goto fail;
		}
	}
	if (be->ops->init(be, err, errlen) == -1)
		goto fail;
	t = be->ops->rebuild(be, NULL, 0);
	if (t == NULL)
		goto fail_nomem;
	publish(be, t);
	return be;

fail_nomem:
	set_err(err, errlen, "%s: out of memory building the balancer", be->name);
fail:
	lb_backend_free(be);
	return NULL;
nomem:
	set_err(err, errlen, "%s: out of memory building the balancer", name);
	return NULL;
}

void lb_backend_free(struct lb_backend *be)
{
	if (be == NULL)
		return;
	if (be->ops && be->ops->deinit)
		be->ops->deinit(be);
	lb_table_free(atomic_load(&be->slot[0]));
	lb_table_free(atomic_load(&be->slot[1]));
	pthread_mutex_destroy(&be->wlock);
	free(be->srv);
	free(be);
}

/* The server for key in table t (get_server_sh(): no hashing when a single server serves; else the
 * optional avalanche). */
static struct server *table_pick(const struct lb_backend *be, const struct lb_table *t, uint32_t key)
{
	if (t == NULL || t->tot_used == 0)
		return NULL;
	if (t->tot_used == 1)
		key = 0;
	else if (be->avalanche)
		key = hash_full(key);
	return be->ops->pick(t, key);
}

/* Announces a pick on the current slot; returns the slot index to pass to leave(). */
static unsigned enter(struct lb_backend *be)
{
	unsigned i;

	for (;;) {
		i = atomic_load(&be->cur);
		atomic_fetch_add(&be->readers[i], 1);
		if (atomic_load(&be->cur) == i)
			return i;
		/* A writer flipped meanwhile: this slot may be freed, do not touch it. */
		atomic_fetch_sub(&be->readers[i], 1);
	}
}

static void leave(struct lb_backend *be, unsigned i)
{
	atomic_fetch_sub(&be->readers[i], 1);
}

struct server *lb_pick_key(struct lb_backend *be, uint32_t key)
{
	unsigned i = enter(be);
	struct server *s = table_pick(be, atomic_load(&be->slot[i]), key);

	leave(be, i);
	return s;
}

struct server *lb_pick(struct lb_backend *be, const struct sockaddr *src)
{
	uint32_t key;

	if (hash_source_key(src, &key) == -1)
		return NULL;
	return lb_pick_key(be, key);
}

/* The slot of avoid[0] in a table's `without` cache, or -1 when it is not one of be's servers. */
static long without_slot(const struct lb_backend *be, struct server *const *avoid, size_t navoid)
{
	if (navoid != 1 || avoid[0]->index >= be->nsrv || be->srv[avoid[0]->index] != avoid[0])
		return -1;
	return (long)avoid[0]->index;
}

struct server *lb_pick_key_avoid(struct lb_backend *be, uint32_t key, struct server *const *avoid,
				 size_t navoid)
{
	long w = without_slot(be, avoid, navoid);
	struct lb_table *t, *alt;
	struct server *s;
	unsigned i;

	if (navoid == 0)
		return lb_pick_key(be, key);
	i = enter(be);
	t = atomic_load(&be->slot[i]);
	alt = t && t->without && w >= 0 ? atomic_load(&t->without[w].t) : NULL;
	if (alt) {
		s = table_pick(be, alt, key);
		leave(be, i);
		return s;
	}
	leave(be, i);

	/*
	 * Build it under the writer lock: server states change only under it, so the derived table matches
	 * the published one, and no publish can free that table while we hold the lock.
	 */
	pthread_mutex_lock(&be->wlock);
	t = atomic_load(&be->slot[atomic_load(&be->cur)]);
	alt = t && t->without && w >= 0 ? atomic_load(&t->without[w].t) : NULL;
	if (alt == NULL) {
		alt = be->ops->rebuild(be, avoid, navoid);
		if (alt && t && t->without && w >= 0)
			atomic_store(&t->without[w].t, alt);
		else
			w = -1; /* not cached: freed below */
	}
	s = table_pick(be, alt, key);
	if (w < 0)
		lb_table_free(alt);
	pthread_mutex_unlock(&be->wlock);
	return s;
}

struct server *lb_pick_avoid(struct lb_backend *be, const struct sockaddr *src, struct server *const *avoid,
			     size_t navoid)
{
	uint32_t key;

	if (hash_source_key(src, &key) == -1)
		return NULL;
	return lb_pick_key_avoid(be, key, avoid, navoid);
}

static int update(struct lb_backend *be, struct server *s, bool up)
{
	struct lb_table *t;

	if (s != NULL && up && be->ops->server_up)
		t = be->ops->server_up(be, s);
	else if (s != NULL && !up && be->ops->server_down)
		t = be->ops->server_down(be, s);
	else
		t = be->ops->rebuild(be, NULL, 0);
	if (t == NULL)
		return -1;
	publish(be, t);
	return 0;
}

int lb_server_up(struct lb_backend *be, struct server *s)
{
	int rc;

	pthread_mutex_lock(&be->wlock);
	rc = update(be, s, true);
	pthread_mutex_unlock(&be->wlock);
	return rc;
}

int lb_server_down(struct lb_backend *be, struct server *s)
{
	int rc;

	pthread_mutex_lock(&be->wlock);
	rc = update(be, s, false);
	pthread_mutex_unlock(&be->wlock);
	return rc;
}

int lb_rebuild(struct lb_backend *be)
{
	int rc;

	pthread_mutex_lock(&be->wlock);
	rc = update(be, NULL, false);
	pthread_mutex_unlock(&be->wlock);
	return rc;
}

struct server_status lb_check_result(struct lb_backend *be, struct server *s, enum srv_check_res res,
				     uint64_t now_ms, int *rc)
{
	struct server_status st;
	int r = 0;

	pthread_mutex_lock(&be->wlock);
	st = server_check_result(s, res, now_ms);
	if (st.usable_changed)
		r = update(be, s, server_usable(s));
	pthread_mutex_unlock(&be->wlock);
	if (rc)
		*rc = r;
	return st;
}

struct server_status lb_set_maint(struct lb_backend *be, struct server *s, bool maint, uint64_t now_ms, int *rc)
{
	struct server_status st;
	int r = 0;

	pthread_mutex_lock(&be->wlock);
	st = server_set_maint(s, maint, now_ms);
	if (st.usable_changed)
		r = update(be, s, server_usable(s));
	pthread_mutex_unlock(&be->wlock);
	if (rc)
		*rc = r;
	return st;
}

struct server_status lb_set_drain(struct lb_backend *be, struct server *s, bool drain, uint64_t now_ms, int *rc)
{
	struct server_status st;
	int r = 0;

	pthread_mutex_lock(&be->wlock);
	st = server_set_drain(s, drain, now_ms);
	if (st.usable_changed)
		r = update(be, s, server_usable(s));
	pthread_mutex_unlock(&be->wlock);
	if (rc)
		*rc = r;
	return st;
}

struct server_status lb_force_health(struct lb_backend *be, struct server *s, enum srv_state state, uint64_t now_ms,
				     int *rc)
{
	struct server_status st;
	int r = 0;

	pthread_mutex_lock(&be->wlock);
	st = server_force_health(s, state, now_ms);
	if (st.usable_changed)
		r = update(be, s, server_usable(s));
	pthread_mutex_unlock(&be->wlock);
	if (rc)
		*rc = r;
	return st;
}

struct server_status lb_warmup(struct lb_backend *be, struct server *s, uint64_t now_ms, int *rc)
{
	struct server_status st = {.srv = s};
	int r = 0;

	pthread_mutex_lock(&be->wlock);
	st.old_state = s->state;
	st.old_health = st.health = s->health;
	if (server_warmup_tick(s, now_ms) && be->algo == LB_ALGO_CHASH && server_usable(s))
		r = update(be, NULL, false);
	st.new_state = s->state;
	st.changed = st.old_state != st.new_state;
	pthread_mutex_unlock(&be->wlock);
	if (rc)
		*rc = r;
	return st;
}

int lb_set_weight(struct lb_backend *be, struct server *s, unsigned weight)
{
	unsigned old = s->weight;
	char err[ERR_LEN];
	int rc = 0;

	pthread_mutex_lock(&be->wlock);
	s->weight = weight;
	if (be->algo == LB_ALGO_CHASH) {
		/* The points of every server are precomputed: recompute them (picks read only tables). */
		be->ops->deinit(be);
		if (be->ops->init(be, err, sizeof(err)) == -1) {
			s->weight = old;
			if (be->ops->init(be, err, sizeof(err)) == -1)
				BUG_ON(1); /* the old points fitted a moment ago */
			rc = -1;
			goto out;
		}
	}
	rc = update(be, NULL, false);
out:
	pthread_mutex_unlock(&be->wlock);
	return rc;
}

int lb_explain(struct lb_backend *be, const struct sockaddr *src, struct lb_explain *x)
{
	struct lb_table *t;
	unsigned i, k;
	uint32_t best = 0;
	bool found = false;

	memset(x, 0, sizeof(*x));
	if (hash_source_key(src, &x->key) == -1)
		return -1;
	for (;;) {
		i = atomic_load(&be->cur);
		atomic_fetch_add(&be->readers[i], 1);
		if (atomic_load(&be->cur) == i)
			break;
		atomic_fetch_sub(&be->readers[i], 1);
	}
	t = atomic_load(&be->slot[i]);
	if (t != NULL && t->tot_used != 0) {
		x->tot_used = t->tot_used;
		x->backup_group = t->active == 0;
		x->first_backup = t->fbck != NULL;
		x->lookup = t->tot_used == 1 ? 0 : be->avalanche ? hash_full(x->key) : x->key;
		x->srv = be->ops->pick(t, x->lookup);
		x->tot_weight = t->tot_weight;
		x->npoints = t->npoints;
		if (t->tot_weight)
			x->slot = x->lookup % t->tot_weight;
		/* the chosen server's point nearest to the lookup key on the circle */
		for (k = 0; k < t->npoints; k++) {
			uint32_t d1 = t->ring[k].key - x->lookup, d2 = x->lookup - t->ring[k].key;
			uint32_t d = d1 < d2 ? d1 : d2;

			if (t->ring[k].srv == x->srv && (!found || d < best)) {
				found = true;
				best = d;
				x->point = t->ring[k].key;
			}
		}
	}
	atomic_fetch_sub(&be->readers[i], 1);
	return 0;
}

struct server_status lb_set_rmaint(struct lb_backend *be, struct server *s, bool rmaint, uint64_t now_ms, int *rc)
{
	struct server_status st;
	int r = 0;

	pthread_mutex_lock(&be->wlock);
	st = server_set_rmaint(s, rmaint, now_ms);
	if (st.usable_changed)
		r = update(be, s, server_usable(s));
	pthread_mutex_unlock(&be->wlock);
	if (rc)
		*rc = r;
	return st;
}

void lb_counts(struct lb_backend *be, unsigned *active, unsigned *backup, uint64_t *generation)
{
	unsigned i = enter(be);
	struct lb_table *t = atomic_load(&be->slot[i]);

	if (active)
		*active = t ? t->active : 0;
	if (backup)
		*backup = t ? t->backup : 0;
	if (generation)
		*generation = t ? t->generation : 0;
	leave(be, i);
}

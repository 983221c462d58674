/*
 * conf_haproxy_build: the sections conf_haproxy.c read, as recheckd's listeners: a `listen` or a
 * `frontend` with its `default_backend`, the stats section, and the check recipe of each backend,
 * imported once by haproxy_import and shared by its checked servers.
 */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_haproxy_priv.h"
#include "hash.h"
#include "net.h"
#include "recipe.h"
#include "recipe_haproxy.h"
#include "util.h"

static struct px *find_backend(struct hx *h, const char *name)
{
	size_t i;

	for (i = 0; i < h->npx; i++)
		if (!strcmp(h->px[i].name, name) && strcmp(h->px[i].type, "frontend"))
			return &h->px[i];
	return NULL;
}

/* The check recipe of backend be, imported once and kept in cf->recipes. */
static struct recipe *backend_recipe(struct hx *h, const struct px *be, char **path)
{
	struct conf *cf = h->cf;
	char key[CONF_NAME_MAX + 16];
	struct recipe *r;
	size_t i;

	snprintf(key, sizeof(key), "haproxy:%s", be->name);
	*path = strdup(key);
	if (!*path)
		return NULL;
	for (i = 0; i < cf->nrecipes; i++)
		if (!strcmp(cf->recipe_paths[i], key))
			return cf->recipes[i];
	r = haproxy_import_section(h->text, h->len, h->file, be->name, HAPROXY_IMPORT_SERVER_PROXY, h->err, h->errlen);
	if (!r)
		return NULL;
	if (conf_add_recipe(cf, key, r) == -1) {
		set_err(h->err, h->errlen, "%s: out of memory", h->file);
		return NULL;
	}
	return r;
}

/* One listener from frontend/listen fe and backend/listen be. */
static int build_listener(struct hx *h, struct px *fe, struct px *be, struct conf_listener *li)
{
	bool consistent = false, avalanche = false;
	char addr[NET_ADDRSTRLEN + 8], e[ERR_LEN];
	size_t i;

	h->line = fe->line;
	if (!fe->bind)
		return hx_fail(h, "%s %s has no 'bind'", fe->type, fe->name);
	h->line = be->line;
	if (!be->balance_source)
		return hx_fail(h, "%s %s: HAProxy's default balance is roundrobin; recheckd needs 'balance source'",
		            be->type, be->name);
	if (!be->nsrv)
		return hx_fail(h, "%s %s has no 'server'", be->type, be->name);
	if (be->hash[0] && hash_type_parse(be->hash, &consistent, &avalanche, e, sizeof(e)) == -1)
		return hx_fail(h, "hash-type: %s", e);
	h->line = fe->bind_line;
	if (hx_addr_text(h, fe->bind, addr, sizeof(addr)) == -1)
		return -1;
	li->line = fe->line;
	li->name = strdup(fe->name);
	li->bind = strdup(addr);
	if (!li->name || !li->bind)
		return hx_fail(h, "out of memory");
	if (net_parse_addr(addr, &li->addr, &li->addrlen, e, sizeof(e)) == -1)
		return hx_fail(h, "bind: %s", e);
	li->hash = consistent ? CONF_HASH_CONSISTENT : CONF_HASH_MAP_BASED;
	li->avalanche = avalanche;
	li->allbackups = be->allbackups;
	li->maxconn = fe->maxconn ? fe->maxconn : h->global_maxconn ? h->global_maxconn : 10000;
	li->maxconn_set = fe->maxconn || h->global_maxconn;
	li->retries = be->retries;
	li->redispatch = be->redispatch;
	li->accept_proxy = fe->accept_proxy;
	li->timeout_client = fe->t_client;
	li->timeout_server = be->t_server;
	li->timeout_connect = be->t_connect ? be->t_connect : 5000;
	li->timeout_queue = be->t_queue;
	li->servers = calloc(be->nsrv, sizeof(*li->servers));
	if (!li->servers)
		return hx_fail(h, "out of memory");
	for (i = 0; i < be->nsrv; i++) {
		struct conf_server *sv = &li->servers[li->nservers++];
		struct conf_check *ck = &sv->check;

		*sv = be->srv[i].cs;
		sv->name = strdup(be->srv[i].cs.name);
		sv->address = strdup(be->srv[i].cs.address);
		sv->host = be->srv[i].cs.host ? strdup(be->srv[i].cs.host) : NULL;
		ck->recipe = ck->recipe_path = NULL;
		if (!sv->name || !sv->address || (be->srv[i].cs.host && !sv->host))
			return hx_fail(h, "out of memory");
		ck->spread = h->spread;
		/* HAProxy: without `timeout check`, inter bounds the whole check */
		ck->timeout = be->has_t_check ? be->t_check : ck->inter;
		if (!be->srv[i].check)
			continue;
		ck->enabled = true;
		ck->line = sv->line;
		ck->rcp = backend_recipe(h, be, &ck->recipe_path);
		if (!ck->recipe_path || !ck->rcp)
			return ck->recipe_path ? -1 : hx_fail(h, "out of memory");
		ck->recipe = strdup(ck->recipe_path);
		if (!ck->recipe)
			return hx_fail(h, "out of memory");
	}
	be->used = true;
	return 0;
}

int hx_build(struct hx *h)
{
	struct conf *cf = h->cf;
	size_t i, j, n = 0;

	for (i = 0; i < h->npx; i++) {
		struct px *p = &h->px[i];

		if (p->mode_http_line && !p->stats) {
			h->line = p->mode_http_line;
			return hx_fail(h, "'mode http': recheckd relays TCP only (mode http is for a stats section)");
		}
		if (!p->stats) {
			n += strcmp(p->type, "backend") != 0;
			continue;
		}
		h->line = p->line;
		if (strcmp(p->type, "listen") || p->nsrv || !p->bind)
			return hx_fail(h, "stats section %s: recheckd wants a listen section with a bind and no servers",
			               p->name);
		if (cf->stats)
			return hx_fail(h, "a second stats section (%s): recheckd has one stats listener", p->name);
		h->line = p->bind_line;
		{
			char addr[NET_ADDRSTRLEN + 8], e[ERR_LEN];

			if (hx_addr_text(h, p->bind, addr, sizeof(addr)) == -1)
				return -1;
			cf->stats = true;
			cf->stats_bind = strdup(addr);
			if (!cf->stats_bind)
				return hx_fail(h, "out of memory");
			if (net_parse_addr(addr, &cf->stats_addr, &cf->stats_addrlen, e, sizeof(e)) == -1)
				return hx_fail(h, "bind: %s", e);
		}
	}
	if (!n)
		return hx_fail(h, "no listen or frontend section: nothing to serve");
	if (n > CONF_MAX_LISTENERS)
		return hx_fail(h, "more than %d listeners", CONF_MAX_LISTENERS);
	cf->listeners = calloc(n, sizeof(*cf->listeners));
	if (!cf->listeners)
		return hx_fail(h, "out of memory");
	for (i = 0; i < h->npx; i++) {
		struct px *fe = &h->px[i], *be = fe;

		if (!strcmp(fe->type, "backend") || fe->stats)
			continue;
		if (!strcmp(fe->type, "frontend")) {
			h->line = fe->default_backend_line ? fe->default_backend_line : fe->line;
			if (!fe->default_backend[0])
				return hx_fail(h, "frontend %s has no 'default_backend'", fe->name);
			be = find_backend(h, fe->default_backend);
			if (!be)
				return hx_fail(h, "frontend %s: no backend named '%s'", fe->name, fe->default_backend);
		}
		if (build_listener(h, fe, be, &cf->listeners[cf->nlisteners++]) == -1)
			return -1;
		for (j = 0; j + 1 < cf->nlisteners; j++)
			if (net_addr_equal((struct sockaddr *)&cf->listeners[j].addr,
			                   (struct sockaddr *)&cf->listeners[cf->nlisteners - 1].addr)) {
				h->line = fe->bind_line;
				return hx_fail(h, "bind %s is already used by %s", fe->bind, cf->listeners[j].name);
			}
		if (cf->stats && net_addr_equal((struct sockaddr *)&cf->stats_addr,
		                                (struct sockaddr *)&cf->listeners[cf->nlisteners - 1].addr)) {
			h->line = fe->bind_line;
			return hx_fail(h, "bind %s is the stats section's address", fe->bind);
		}
	}
	for (i = 0; i < h->npx; i++)
		if (!strcmp(h->px[i].type, "backend") && !h->px[i].used) {
			h->line = h->px[i].line;
			hx_warn(h, "backend %s is used by no frontend: recheckd neither serves nor checks it", h->px[i].name);
		}
	return 0;
}

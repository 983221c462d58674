/*
 * conf_server: the servers and health checks of recheckd's YAML configuration (conf.c reads the rest):
 * check_keys and the recipe a check replays (loaded once per distinct file), the listener's check that
 * servers inherit, server_keys and each server's own checks (duplicate names and ids, SOCKS4 and
 * check_addr consistency, `check: false|true` or an overriding mapping). Shares struct ctx, the KEY_*
 * tables and the walker with conf.c through conf_priv.h.
 */
#include "api.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "conf_priv.h"
#include "net.h"
#include "recipe.h"
#include "recipe_yaml.h"
#include "server-t.h"
#include "tls.h"
#include "ytree.h"

/* --- check ------------------------------------------------------------------------------------ */

static int check_recipe_key(struct ctx *c, const struct ynode *v, const char *key, void *obj)
{
	struct conf_check *ck = obj;

	ck->line = v->line;
	return conf_get_str(c, v, key, &ck->recipe);
}

static const struct choice observe_choices[] = {{"layer4", 1}, {"none", 0}, {NULL, 0}};

static const struct choice on_error_choices[] = {
	{"fastinter", CONF_ONERR_FASTINTER}, {"fail-check", CONF_ONERR_FAILCHK},
	{"sudden-death", CONF_ONERR_SUDDTH}, {"mark-down", CONF_ONERR_MARKDWN}, {NULL, 0},
};

static const struct key check_keys[] = {
	KEY_FN("recipe", check_recipe_key),
	KEY_DUR("inter", struct conf_check, inter, 1),
	KEY_DUR("fastinter", struct conf_check, fastinter, 1),
	KEY_DUR("downinter", struct conf_check, downinter, 1),
	KEY_INT("rise", struct conf_check, rise, 1, 1000),
	KEY_INT("fall", struct conf_check, fall, 1, 1000),
	KEY_DUR("timeout", struct conf_check, timeout, 1),
	KEY_INT("spread", struct conf_check, spread, 0, 50),
	KEY_CHOICE("observe", struct conf_check, observe, observe_choices),
	KEY_INT("error_limit", struct conf_check, error_limit, 1, 1000000),
	KEY_CHOICE("on_error", struct conf_check, on_error, on_error_choices),
};

/* Resolves the recipe path and loads it once per distinct file. at is the `check:` mapping. */
static int check_recipe(struct ctx *c, struct conf_check *ck, const struct ynode *at, const char *what)
{
	struct conf *cf = c->conf;
	const struct ynode *rv = ytree_get(at, "recipe");
	char path[PATH_MAX], e[ERR_LEN];
	struct recipe *r;
	size_t i;

	if (!ck->recipe)
		return conf_bad(c, at, "%s: 'recipe' is required (the recipe file this check replays)", what);
	if (!rv)
		rv = at; /* inherited from the listener */
	if (ck->recipe[0] == '/' || !c->dir || !*c->dir)
		snprintf(path, sizeof(path), "%s", ck->recipe);
	else if ((size_t)snprintf(path, sizeof(path), "%s/%s", c->dir, ck->recipe) >= sizeof(path))
		return conf_bad(c, rv, "%s.recipe: path too long", what);
	free(ck->recipe_path);
	ck->recipe_path = strdup(path);
	if (!ck->recipe_path)
		return conf_bad(c, rv, "out of memory");
	if (c->flags & CONF_NO_RECIPES)
		return 0;
	for (i = 0; i < cf->nrecipes; i++) {
		if (strcmp(cf->recipe_paths[i], path) == 0) {
			ck->rcp = cf->recipes[i];
			return 0;
		}
	}
	r = recipe_load_file(path, e, sizeof(e));
	if (!r)
		return conf_bad(c, rv, "%s.recipe: %s", what, e);
	/* TLS contexts (trust store, ca file) are built once here and shared by every server's check */
	if (tls_prepare(r, e, sizeof(e)) == -1) {
		recipe_free(r);
		return conf_bad(c, rv, "%s.recipe: %s: %s", what, path, e);
	}
	if (conf_add_recipe(cf, path, r) == -1)
		return conf_bad(c, rv, "out of memory");
	ck->rcp = r;
	return 0;
}

int conf_add_recipe(struct conf *cf, const char *key, struct recipe *r)
{
	struct recipe **nr;
	char **np;

	nr = realloc(cf->recipes, (cf->nrecipes + 1) * sizeof(*nr));
	if (nr)
		cf->recipes = nr;
	np = nr ? realloc(cf->recipe_paths, (cf->nrecipes + 1) * sizeof(*np)) : NULL;
	if (np)
		cf->recipe_paths = np;
	if (!nr || !np || !(np[cf->nrecipes] = strdup(key))) {
		recipe_free(r);
		return -1;
	}
	cf->recipes[cf->nrecipes++] = r;
	return 0;
}

void conf_check_defaults(struct conf_check *ck)
{
	ck->inter = 2000;
	ck->rise = 2;
	ck->fall = 3;
	ck->error_limit = 10;
	ck->on_error = CONF_ONERR_FAILCHK;
}

/*
 * Reads a `check:` mapping over ck (defaults or the listener's values). HAProxy: fastinter/downinter
 * default to inter, and without `timeout check` a run is bounded by inter; a value inherited from the
 * listener counts as given when the listener set it apart from its inter.
 */
int conf_check_parse(struct ctx *c, struct conf_check *ck, const struct ynode *n, const char *what,
		     const struct conf_check *from)
{
	bool inherit = from && from->enabled;

	if (WALK(c, n, what, check_keys, ck) == -1)
		return -1;
	if (!ytree_get(n, "fastinter") && !(inherit && from->fastinter != from->inter))
		ck->fastinter = ck->inter;
	if (!ytree_get(n, "downinter") && !(inherit && from->downinter != from->inter))
		ck->downinter = ck->inter;
	if (!ytree_get(n, "timeout") && !(inherit && from->timeout != from->inter))
		ck->timeout = ck->inter;
	ck->enabled = true;
	return check_recipe(c, ck, n, what);
}

static int check_copy(struct ctx *c, struct conf_check *dst, const struct conf_check *src, const struct ynode *at)
{
	*dst = *src;
	dst->recipe = src->recipe ? strdup(src->recipe) : NULL;
	dst->recipe_path = src->recipe_path ? strdup(src->recipe_path) : NULL;
	if ((src->recipe && !dst->recipe) || (src->recipe_path && !dst->recipe_path))
		return conf_bad(c, at, "out of memory");
	return 0;
}

void conf_check_clear(struct conf_check *ck)
{
	free(ck->recipe);
	free(ck->recipe_path);
	ck->recipe = ck->recipe_path = NULL;
}
/* --- servers ---------------------------------------------------------------------------------- */

const struct choice conf_on_down_choices[] = {{"shutdown-sessions", true}, {"none", false}, {NULL, 0}};

/*
 * HOST:PORT. An IP address is taken as it is; a name is not looked up here (a name that does not
 * resolve must not invalidate the configuration): the daemon's resolver does it, at start and every
 * resolve_interval, and the server waits in MAINT ("no address") until it has one (HAProxy's
 * init-addr last,libc,none).
 */
static int server_address(struct ctx *c, const struct ynode *v, const char *key, void *obj)
{
	struct conf_server *sv = obj;
	char e[ERR_LEN], host[256];
	int rc;

	if (conf_get_str(c, v, key, &sv->address) == -1)
		return -1;
	rc = net_parse_addr_opt(sv->address, &sv->addr, &sv->addrlen, true, host, sizeof(host), &sv->port, e,
				sizeof(e));
	if (rc == -1)
		return conf_bad(c, v, "%s: %s", key, e);
	if (rc == -2) {
		sv->addrlen = 0;
		sv->host = strdup(host);
		if (!sv->host)
			return conf_bad(c, v, "%s: out of memory", key);
	}
	return 0;
}

/* check_addr / socks4: an IP address (no name lookup), with a port for socks4. */
static int server_ip(struct ctx *c, const struct ynode *v, const char *key, bool need_port,
		     struct sockaddr_storage *ss, socklen_t *len)
{
	char e[ERR_LEN];

	if (conf_want(c, v, YN_SCALAR, key) == -1)
		return -1;
	if (net_parse_ip(v->val, need_port, ss, len, e, sizeof(e)) == -1)
		return conf_bad(c, v, "%s: %s", key, e);
	return 0;
}

static int server_check_addr(struct ctx *c, const struct ynode *v, const char *key, void *obj)
{
	struct conf_server *sv = obj;

	return server_ip(c, v, key, false, &sv->check_addr, &sv->check_addrlen);
}

static int server_socks4(struct ctx *c, const struct ynode *v, const char *key, void *obj)
{
	struct conf_server *sv = obj;

	return server_ip(c, v, key, true, &sv->socks4, &sv->socks4len);
}

static const struct choice send_proxy_choices[] = {{"v1", 1}, {"v2", 2}, {"none", 0}, {NULL, 0}};

static const struct key server_keys[] = {
	KEY_NAME("name", struct conf_server, name),
	KEY_FN("address", server_address),
	KEY_UINT("weight", struct conf_server, weight, 0, SERVER_WEIGHT_MAX),
	KEY_BOOL("backup", struct conf_server, backup),
	KEY_UINT("id", struct conf_server, id, 1, SERVER_ID_MAX),
	KEY_CHOICE("on_marked_down", struct conf_server, shutdown_sessions, conf_on_down_choices),
	KEY_LATER("check"),
	KEY_CHOICE("send_proxy", struct conf_server, send_proxy, send_proxy_choices),
	KEY_BOOL("check_send_proxy", struct conf_server, check_send_proxy),
	KEY_DUR("slowstart", struct conf_server, slowstart, 0),
	KEY_UINT("maxconn", struct conf_server, maxconn, 0, 1000000),
	KEY_UINT("maxqueue", struct conf_server, maxqueue, 0, 1000000),
	KEY_FN("check_addr", server_check_addr),
	KEY_FN("socks4", server_socks4),
	KEY_BOOL("check_via_socks4", struct conf_server, check_via_socks4),
	KEY_BOOL("disabled", struct conf_server, disabled),
};

int conf_server_parse(struct ctx *c, struct conf_listener *li, struct conf_server *sv, const struct ynode *n)
{
	const struct ynode *chk;
	size_t i;

	sv->weight = 1;
	sv->line = n->line;
	sv->shutdown_sessions = li->shutdown_sessions;
	sv->slowstart = li->slowstart;
	if (WALK(c, n, "server", server_keys, sv) == -1)
		return -1;
	if (sv->slowstart > CONF_SLOWSTART_MAX)
		return conf_bad(c, n, "server %s: slowstart is longer than a day", sv->name);
	if (!sv->name)
		return conf_bad(c, n, "server: 'name' is required");
	if (!sv->address)
		return conf_bad(c, n, "server %s: 'address' is required", sv->name);
	/* a SOCKS4 request carries an IPv4 address: the target of the traffic, and of the checks with
	 * check_via_socks4 (a name is checked once resolved) */
	if (sv->socks4len && sv->addrlen && sv->addr.ss_family != AF_INET)
		return conf_bad(c, n, "server %s: 'socks4': a SOCKS4 proxy is asked for IPv4 addresses only (address %s)",
				sv->name, sv->address);
	if (sv->socks4len && sv->check_via_socks4 && sv->check_addrlen && sv->check_addr.ss_family != AF_INET)
		return conf_bad(c, n, "server %s: 'check_via_socks4': a SOCKS4 proxy is asked for IPv4 addresses only "
				"(check_addr)", sv->name);
	for (i = 0; &li->servers[i] != sv; i++) {
		if (strcmp(li->servers[i].name, sv->name) == 0)
			return conf_bad(c, n, "server %s: the name is already used in listener %s (line %d)", sv->name,
					li->name ? li->name : "?", li->servers[i].line);
		if (sv->id && li->servers[i].id == sv->id)
			return conf_bad(c, n, "server %s: id %u is already used by server %s", sv->name, sv->id,
					li->servers[i].name);
	}
	if (check_copy(c, &sv->check, &li->check, n) == -1)
		return -1;
	chk = ytree_get(n, "check");
	if (!chk)
		return 0;
	if (chk->type == YN_SCALAR) {
		bool on;

		/* `check: false` turns checking off for this server; `true` keeps the listener's. */
		if (conf_get_bool(c, chk, "server.check", &on) == -1)
			return -1;
		if (on && !li->check.enabled)
			return conf_bad(c, chk, "server %s: check: true needs a check on the listener "
					"(or give the server a check mapping with a recipe)", sv->name);
		sv->check.enabled = on;
		return 0;
	}
	/* Overrides start from the listener's values (or the defaults when it has no check). */
	if (!li->check.enabled)
		conf_check_defaults(&sv->check);
	return conf_check_parse(c, &sv->check, chk, "server.check", &li->check);
}

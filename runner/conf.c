/*
 * conf: recheckd's YAML configuration (see conf.h). Parsed with libyaml's document API so every node
 * keeps its line for messages.
 */
#include "api.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "conf.h"
#include "hash.h"
#include "net.h"
#include "recipe.h"
#include "recipe_yaml.h"
#include "server-t.h"
#include "util.h"

struct ctx {
	const char *file;     /* for messages */
	const char *dir;      /* for recipe paths */
	int flags;
	yaml_document_t *doc;
	struct conf *conf;
	char *err;
	size_t errlen;
};

PRINTF_FMT(3, 4)
static int bad(struct ctx *c, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[ERR_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	set_err(c->err, c->errlen, "%s:%lu: %s", c->file, n ? (unsigned long)n->start_mark.line + 1 : 0UL, msg);
	return -1;
}

static yaml_node_t *node(struct ctx *c, int id)
{
	return yaml_document_get_node(c->doc, id);
}

static const char *sval(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static int want(struct ctx *c, const yaml_node_t *n, yaml_node_type_t t, const char *key)
{
	static const char *const what[] = {"", "a single value", "a list", "a mapping"};

	if (n->type == t)
		return 0;
	return bad(c, n, "%s: expected %s", key, what[t <= YAML_MAPPING_NODE ? t : 0]);
}

static int get_str(struct ctx *c, const yaml_node_t *n, const char *key, char **out)
{
	if (want(c, n, YAML_SCALAR_NODE, key) == -1)
		return -1;
	if (n->data.scalar.length == 0 || strlen(sval(n)) != n->data.scalar.length)
		return bad(c, n, "%s: must not be empty or contain NUL bytes", key);
	free(*out);
	*out = strdup(sval(n));
	if (!*out)
		return bad(c, n, "out of memory");
	return 0;
}

static int get_bool(struct ctx *c, const yaml_node_t *n, const char *key, bool *out)
{
	static const char *const yes[] = {"true", "yes", "on"}, *const no[] = {"false", "no", "off"};
	size_t i;

	if (want(c, n, YAML_SCALAR_NODE, key) == -1)
		return -1;
	for (i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcmp(sval(n), yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcmp(sval(n), no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return bad(c, n, "%s: expected true or false, not '%s'", key, sval(n));
}

static int get_int(struct ctx *c, const yaml_node_t *n, const char *key, long lo, long hi, int *out)
{
	char *end;
	long v;

	if (want(c, n, YAML_SCALAR_NODE, key) == -1)
		return -1;
	errno = 0;
	v = strtol(sval(n), &end, 10);
	if (!*sval(n) || *end || errno)
		return bad(c, n, "%s: '%s' is not a whole number", key, sval(n));
	if (v < lo || v > hi)
		return bad(c, n, "%s: %ld is out of range (%ld to %ld)", key, v, lo, hi);
	*out = (int)v;
	return 0;
}

static int get_dur(struct ctx *c, const yaml_node_t *n, const char *key, uint64_t *out)
{
	char e[ERR_LEN];

	if (want(c, n, YAML_SCALAR_NODE, key) == -1)
		return -1;
	if (duration_parse_ms(sval(n), out, e, sizeof(e)) == -1)
		return bad(c, n, "%s: %s", key, e);
	if (*out > 24ULL * 3600 * 1000 * 365)
		return bad(c, n, "%s: '%s' is longer than a year", key, sval(n));
	return 0;
}

static int get_addr(struct ctx *c, const yaml_node_t *n, const char *key, char **text,
		    struct sockaddr_storage *ss, socklen_t *len)
{
	char e[ERR_LEN];

	if (get_str(c, n, key, text) == -1)
		return -1;
	if (net_parse_addr(*text, ss, len, e, sizeof(e)) == -1)
		return bad(c, n, "%s: %s", key, e);
	return 0;
}

/*
 * Walks a mapping: checks every key is a scalar from keys[] and appears once, then calls
 * fn(c, key, value, arg) for each pair. Unknown keys are errors that list the accepted ones.
 */
typedef int (*pair_fn)(struct ctx *c, const char *key, yaml_node_t *val, void *arg);

static int walk(struct ctx *c, yaml_node_t *map, const char *what, const char *const *keys, size_t nkeys,
		pair_fn fn, void *arg)
{
	yaml_node_pair_t *p;
	bool seen[32] = {false};
	size_t i;

	BUG_ON(nkeys > ARRAY_SIZE(seen));
	if (want(c, map, YAML_MAPPING_NODE, what) == -1)
		return -1;
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(c, p->key), *v = node(c, p->value);

		if (k->type != YAML_SCALAR_NODE)
			return bad(c, k, "%s: keys must be plain words", what);
		for (i = 0; i < nkeys; i++)
			if (strcmp(sval(k), keys[i]) == 0)
				break;
		if (i == nkeys) {
			char list[256] = "";
			size_t j;

			for (j = 0; j < nkeys; j++) {
				strncat(list, keys[j], sizeof(list) - strlen(list) - 1);
				if (j + 1 < nkeys)
					strncat(list, ", ", sizeof(list) - strlen(list) - 1);
			}
			return bad(c, k, "%s: unknown key '%s' (expected one of: %s)", what, sval(k), list);
		}
		if (seen[i])
			return bad(c, k, "%s: duplicate key '%s'", what, sval(k));
		seen[i] = true;
		if (fn(c, sval(k), v, arg) == -1)
			return -1;
	}
	return 0;
}

/* --- check ------------------------------------------------------------------------------------ */

/* Which check fields were given, so server overrides and defaults apply field by field. */
struct check_in {
	struct conf_check *chk;
	bool has_fastinter, has_downinter, has_timeout;
};

static const char *const check_keys[] = {"recipe", "inter", "fastinter", "downinter", "rise", "fall", "timeout",
					 "spread"};

static int check_pair(struct ctx *c, const char *k, yaml_node_t *v, void *arg)
{
	struct check_in *in = arg;
	struct conf_check *ck = in->chk;

	if (strcmp(k, "recipe") == 0) {
		ck->line = (int)v->start_mark.line + 1;
		return get_str(c, v, "check.recipe", &ck->recipe);
	}
	if (strcmp(k, "inter") == 0 || strcmp(k, "fastinter") == 0 || strcmp(k, "downinter") == 0 ||
	    strcmp(k, "timeout") == 0) {
		uint64_t ms;
		char key[32];

		snprintf(key, sizeof(key), "check.%s", k);
		if (get_dur(c, v, key, &ms) == -1)
			return -1;
		if (ms == 0)
			return bad(c, v, "%s: must be more than 0", key);
		if (k[0] == 'i')
			ck->inter = ms;
		else if (k[0] == 'f')
			ck->fastinter = ms, in->has_fastinter = true;
		else if (k[0] == 'd')
			ck->downinter = ms, in->has_downinter = true;
		else
			ck->timeout = ms, in->has_timeout = true;
		return 0;
	}
	if (strcmp(k, "rise") == 0)
		return get_int(c, v, "check.rise", 1, 1000, &ck->rise);
	if (strcmp(k, "fall") == 0)
		return get_int(c, v, "check.fall", 1, 1000, &ck->fall);
	return get_int(c, v, "check.spread", 0, 50, &ck->spread);
}

/* Resolves the recipe path and loads it once per distinct file. */
static int check_recipe(struct ctx *c, struct conf_check *ck, const yaml_node_t *at)
{
	struct conf *cf = c->conf;
	char path[PATH_MAX], e[ERR_LEN];
	size_t i;
	struct recipe *r;

	if (!ck->recipe)
		return bad(c, at, "check: 'recipe' is required (the recipe file this check replays)");
	if (ck->recipe[0] == '/' || !c->dir || !*c->dir)
		snprintf(path, sizeof(path), "%s", ck->recipe);
	else if ((size_t)snprintf(path, sizeof(path), "%s/%s", c->dir, ck->recipe) >= sizeof(path))
		return bad(c, at, "check.recipe: path too long");
	free(ck->recipe_path);
	ck->recipe_path = strdup(path);
	if (!ck->recipe_path)
		return bad(c, at, "out of memory");
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
		return bad(c, at, "check.recipe: %s", e);
	{
		struct recipe **nr = realloc(cf->recipes, (cf->nrecipes + 1) * sizeof(*nr));
		char **np;

		if (nr)
			cf->recipes = nr;
		np = nr ? realloc(cf->recipe_paths, (cf->nrecipes + 1) * sizeof(*np)) : NULL;
		if (np)
			cf->recipe_paths = np;
		if (!nr || !np || !(np[cf->nrecipes] = strdup(path))) {
			recipe_free(r);
			return bad(c, at, "out of memory");
		}
		cf->recipes[cf->nrecipes++] = r;
	}
	ck->rcp = r;
	return 0;
}

static void check_defaults(struct conf_check *ck)
{
	ck->inter = 2000;
	ck->rise = 2;
	ck->fall = 3;
}

/* HAProxy: fastinter/downinter default to inter; without `timeout check` the run is bounded by inter. */
static void check_finish(struct conf_check *ck, const struct check_in *in)
{
	if (!in->has_fastinter)
		ck->fastinter = ck->inter;
	if (!in->has_downinter)
		ck->downinter = ck->inter;
	if (!in->has_timeout)
		ck->timeout = ck->inter;
}

static int check_copy(struct ctx *c, struct conf_check *dst, const struct conf_check *src, const yaml_node_t *at)
{
	*dst = *src;
	dst->recipe = src->recipe ? strdup(src->recipe) : NULL;
	dst->recipe_path = src->recipe_path ? strdup(src->recipe_path) : NULL;
	if ((src->recipe && !dst->recipe) || (src->recipe_path && !dst->recipe_path))
		return bad(c, at, "out of memory");
	return 0;
}

static void check_clear(struct conf_check *ck)
{
	free(ck->recipe);
	free(ck->recipe_path);
	ck->recipe = ck->recipe_path = NULL;
}

/* --- servers ---------------------------------------------------------------------------------- */

struct server_in {
	struct conf_listener *li;
	struct conf_server *sv;
	yaml_node_t *check;     /* the server's `check:` node, applied after the other keys */
	yaml_node_t *on_down;
};

static const char *const server_keys[] = {"name", "address", "weight", "backup", "id", "check", "on_marked_down"};

static int server_pair(struct ctx *c, const char *k, yaml_node_t *v, void *arg)
{
	struct server_in *in = arg;
	struct conf_server *sv = in->sv;
	int n;

	if (strcmp(k, "name") == 0) {
		if (get_str(c, v, "server.name", &sv->name) == -1)
			return -1;
		if (strlen(sv->name) > CONF_NAME_MAX)
			return bad(c, v, "server.name: longer than %d bytes", CONF_NAME_MAX);
		return 0;
	}
	if (strcmp(k, "address") == 0)
		return get_addr(c, v, "server.address", &sv->address, &sv->addr, &sv->addrlen);
	if (strcmp(k, "weight") == 0) {
		if (get_int(c, v, "server.weight", 0, SERVER_WEIGHT_MAX, &n) == -1)
			return -1;
		sv->weight = (unsigned)n;
		return 0;
	}
	if (strcmp(k, "backup") == 0)
		return get_bool(c, v, "server.backup", &sv->backup);
	if (strcmp(k, "id") == 0) {
		if (get_int(c, v, "server.id", 1, SERVER_ID_MAX, &n) == -1)
			return -1;
		sv->id = (unsigned)n;
		return 0;
	}
	if (strcmp(k, "on_marked_down") == 0) {
		in->on_down = v;
		return 0;
	}
	in->check = v;
	return 0;
}

static int on_marked_down(struct ctx *c, const yaml_node_t *v, bool *out)
{
	if (want(c, v, YAML_SCALAR_NODE, "on_marked_down") == -1)
		return -1;
	if (strcmp(sval(v), "shutdown-sessions") == 0)
		*out = true;
	else if (strcmp(sval(v), "none") == 0)
		*out = false;
	else
		return bad(c, v, "on_marked_down: expected shutdown-sessions or none, not '%s'", sval(v));
	return 0;
}

static int server_parse(struct ctx *c, struct conf_listener *li, struct conf_server *sv, yaml_node_t *n)
{
	struct server_in in = {li, sv, NULL, NULL};
	size_t i;

	sv->weight = 1;
	sv->line = (int)n->start_mark.line + 1;
	sv->shutdown_sessions = li->shutdown_sessions;
	if (walk(c, n, "server", server_keys, ARRAY_SIZE(server_keys), server_pair, &in) == -1)
		return -1;
	if (!sv->name)
		return bad(c, n, "server: 'name' is required");
	if (!sv->address)
		return bad(c, n, "server %s: 'address' is required", sv->name);
	for (i = 0; &li->servers[i] != sv; i++) {
		if (strcmp(li->servers[i].name, sv->name) == 0)
			return bad(c, n, "server %s: the name is already used in listener %s (line %d)", sv->name,
				    li->name ? li->name : "?", li->servers[i].line);
		if (sv->id && li->servers[i].id == sv->id)
			return bad(c, n, "server %s: id %u is already used by server %s", sv->name, sv->id,
				    li->servers[i].name);
	}
	if (in.on_down && on_marked_down(c, in.on_down, &sv->shutdown_sessions) == -1)
		return -1;
	if (check_copy(c, &sv->check, &li->check, n) == -1)
		return -1;
	if (in.check) {
		bool on;

		if (in.check->type == YAML_SCALAR_NODE) {
			/* `check: false` turns checking off for this server; `true` keeps the listener's. */
			if (get_bool(c, in.check, "server.check", &on) == -1)
				return -1;
			if (on && !li->check.enabled)
				return bad(c, in.check, "server %s: check: true needs a check on the listener "
					    "(or give the server a check mapping with a recipe)", sv->name);
			sv->check.enabled = on;
		} else {
			struct check_in ci = {&sv->check, false, false, false};

			/* Overrides start from the listener's values; unset derived intervals follow inter. */
			if (!li->check.enabled)
				check_defaults(&sv->check);
			ci.has_fastinter = li->check.enabled && li->check.fastinter != li->check.inter;
			ci.has_downinter = li->check.enabled && li->check.downinter != li->check.inter;
			ci.has_timeout = li->check.enabled && li->check.timeout != li->check.inter;
			if (walk(c, in.check, "server.check", check_keys, ARRAY_SIZE(check_keys), check_pair, &ci) == -1)
				return -1;
			check_finish(&sv->check, &ci);
			sv->check.enabled = true;
			if (check_recipe(c, &sv->check, in.check) == -1)
				return -1;
		}
	}
	return 0;
}

/* --- listeners -------------------------------------------------------------------------------- */

struct listener_in {
	struct conf_listener *li;
	yaml_node_t *servers;
	yaml_node_t *check;
};

static const char *const timeout_keys[] = {"client", "server", "connect"};

static int timeout_pair(struct ctx *c, const char *k, yaml_node_t *v, void *arg)
{
	struct conf_listener *li = arg;
	char key[32];

	snprintf(key, sizeof(key), "timeouts.%s", k);
	if (k[0] == 'c' && k[1] == 'l')
		return get_dur(c, v, key, &li->timeout_client);
	if (k[0] == 's')
		return get_dur(c, v, key, &li->timeout_server);
	if (get_dur(c, v, key, &li->timeout_connect) == -1)
		return -1;
	if (li->timeout_connect == 0)
		return bad(c, v, "timeouts.connect: must be more than 0");
	return 0;
}

static const char *const listener_keys[] = {"name", "bind", "balance", "hash_type", "allbackups", "maxconn",
					    "timeouts", "check", "servers", "on_marked_down"};

static int listener_pair(struct ctx *c, const char *k, yaml_node_t *v, void *arg)
{
	struct listener_in *in = arg;
	struct conf_listener *li = in->li;

	if (strcmp(k, "name") == 0) {
		if (get_str(c, v, "listener.name", &li->name) == -1)
			return -1;
		if (strlen(li->name) > CONF_NAME_MAX)
			return bad(c, v, "listener.name: longer than %d bytes", CONF_NAME_MAX);
		return 0;
	}
	if (strcmp(k, "bind") == 0)
		return get_addr(c, v, "listener.bind", &li->bind, &li->addr, &li->addrlen);
	if (strcmp(k, "balance") == 0) {
		if (want(c, v, YAML_SCALAR_NODE, "balance") == -1)
			return -1;
		if (strcmp(sval(v), "source") != 0)
			return bad(c, v, "balance: only 'source' is supported, not '%s'", sval(v));
		return 0;
	}
	if (strcmp(k, "hash_type") == 0) {
		bool consistent, avalanche;
		char why[ERR_LEN];

		if (want(c, v, YAML_SCALAR_NODE, "hash_type") == -1)
			return -1;
		/* HAProxy's rules: a bare "consistent" means sdbm + avalanche, "consistent <fn>" no avalanche. */
		if (hash_type_parse(sval(v), &consistent, &avalanche, why, sizeof(why)) == -1)
			return bad(c, v, "hash_type: %s", why);
		li->hash = consistent ? CONF_HASH_CONSISTENT : CONF_HASH_MAP_BASED;
		li->avalanche = avalanche;
		return 0;
	}
	if (strcmp(k, "allbackups") == 0)
		return get_bool(c, v, "allbackups", &li->allbackups);
	if (strcmp(k, "maxconn") == 0)
		return get_int(c, v, "maxconn", 1, 1000000, &li->maxconn);
	if (strcmp(k, "timeouts") == 0)
		return walk(c, v, "timeouts", timeout_keys, ARRAY_SIZE(timeout_keys), timeout_pair, li);
	if (strcmp(k, "on_marked_down") == 0)
		return on_marked_down(c, v, &li->shutdown_sessions);
	if (strcmp(k, "check") == 0)
		in->check = v;
	else
		in->servers = v;
	return 0;
}

static int listener_parse(struct ctx *c, struct conf_listener *li, yaml_node_t *n)
{
	struct listener_in in = {li, NULL, NULL};
	struct conf *cf = c->conf;
	yaml_node_item_t *it;
	size_t i, nitems;

	li->line = (int)n->start_mark.line + 1;
	li->maxconn = 10000;
	li->timeout_client = li->timeout_server = 300000;
	li->timeout_connect = 5000;
	check_defaults(&li->check);
	if (walk(c, n, "listener", listener_keys, ARRAY_SIZE(listener_keys), listener_pair, &in) == -1)
		return -1;
	if (!li->name)
		return bad(c, n, "listener: 'name' is required");
	if (!li->bind)
		return bad(c, n, "listener %s: 'bind' is required", li->name);
	for (i = 0; &cf->listeners[i] != li; i++) {
		if (strcmp(cf->listeners[i].name, li->name) == 0)
			return bad(c, n, "listener %s: the name is already used (line %d)", li->name,
				    cf->listeners[i].line);
		if (net_addr_equal((struct sockaddr *)&cf->listeners[i].addr, (struct sockaddr *)&li->addr))
			return bad(c, n, "listener %s: bind %s is already used by listener %s", li->name, li->bind,
				    cf->listeners[i].name);
	}
	if (in.check) {
		struct check_in ci = {&li->check, false, false, false};

		if (walk(c, in.check, "check", check_keys, ARRAY_SIZE(check_keys), check_pair, &ci) == -1)
			return -1;
		check_finish(&li->check, &ci);
		li->check.enabled = true;
		if (check_recipe(c, &li->check, in.check) == -1)
			return -1;
	} else {
		struct check_in ci = {&li->check, false, false, false};

		check_finish(&li->check, &ci);
	}
	if (!in.servers)
		return bad(c, n, "listener %s: 'servers' is required (at least one server)", li->name);
	if (want(c, in.servers, YAML_SEQUENCE_NODE, "servers") == -1)
		return -1;
	nitems = (size_t)(in.servers->data.sequence.items.top - in.servers->data.sequence.items.start);
	if (nitems == 0)
		return bad(c, in.servers, "listener %s: 'servers' is empty", li->name);
	if (nitems > CONF_MAX_SERVERS)
		return bad(c, in.servers, "listener %s: more than %d servers", li->name, CONF_MAX_SERVERS);
	li->servers = calloc(nitems, sizeof(*li->servers));
	if (!li->servers)
		return bad(c, n, "out of memory");
	for (it = in.servers->data.sequence.items.start; it < in.servers->data.sequence.items.top; it++) {
		if (server_parse(c, li, &li->servers[li->nservers++], node(c, *it)) == -1)
			return -1;
	}
	return 0;
}

/* --- top level -------------------------------------------------------------------------------- */

static const char *const stats_keys[] = {"bind"};

static int stats_pair(struct ctx *c, const char *k, yaml_node_t *v, void *arg)
{
	struct conf *cf = c->conf;

	if (get_str(c, v, "stats.bind", &cf->stats_bind) == -1)
		return -1;
	/* ":PORT" means loopback here: the stats page is not exposed unless an address says so. */
	if (cf->stats_bind[0] == ':') {
		char *s = malloc(strlen(cf->stats_bind) + 10);

		if (!s)
			return bad(c, v, "out of memory");
		snprintf(s, strlen(cf->stats_bind) + 10, "127.0.0.1%s", cf->stats_bind);
		free(cf->stats_bind);
		cf->stats_bind = s;
	}
	return 0;
}

static const char *const top_keys[] = {"threads", "stats", "listeners", "user", "group", "allow_root", "relay",
				       "log", "drain_timeout"};

static int top_pair(struct ctx *c, const char *k, yaml_node_t *v, void *arg)
{
	struct conf *cf = c->conf;
	yaml_node_t **listeners = arg;

	if (strcmp(k, "threads") == 0)
		return get_int(c, v, "threads", 1, CONF_MAX_THREADS, &cf->threads);
	if (strcmp(k, "stats") == 0) {
		cf->stats = true;
		return walk(c, v, "stats", stats_keys, ARRAY_SIZE(stats_keys), stats_pair, NULL);
	}
	if (strcmp(k, "listeners") == 0) {
		*listeners = v;
		return 0;
	}
	if (strcmp(k, "user") == 0)
		return get_str(c, v, "user", &cf->user);
	if (strcmp(k, "group") == 0)
		return get_str(c, v, "group", &cf->group);
	if (strcmp(k, "allow_root") == 0)
		return get_bool(c, v, "allow_root", &cf->allow_root);
	if (strcmp(k, "drain_timeout") == 0)
		return get_dur(c, v, "drain_timeout", &cf->drain_timeout);
	if (want(c, v, YAML_SCALAR_NODE, k) == -1)
		return -1;
	if (strcmp(k, "relay") == 0) {
		if (strcmp(sval(v), "splice") == 0)
			cf->relay = RELAY_SPLICE;
		else if (strcmp(sval(v), "copy") == 0)
			cf->relay = RELAY_COPY;
		else
			return bad(c, v, "relay: expected splice or copy, not '%s'", sval(v));
		return 0;
	}
	if (strcmp(sval(v), "stderr") == 0)
		cf->log = CONF_LOG_STDERR;
	else if (strcmp(sval(v), "syslog") == 0)
		cf->log = CONF_LOG_SYSLOG;
	else
		return bad(c, v, "log: expected stderr or syslog, not '%s'", sval(v));
	return 0;
}

static int parse_doc(struct ctx *c)
{
	struct conf *cf = c->conf;
	yaml_node_t *root = yaml_document_get_root_node(c->doc), *lis = NULL;
	yaml_node_item_t *it;
	size_t n;
	long cpus;
	char e[ERR_LEN];

	if (!root)
		return bad(c, NULL, "the file is empty (expected a mapping with 'listeners')");
	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	cf->threads = cpus < 1 ? 1 : (int)MIN(cpus, CONF_MAX_THREADS);
	cf->drain_timeout = 10000;
	if (walk(c, root, "top level", top_keys, ARRAY_SIZE(top_keys), top_pair, &lis) == -1)
		return -1;
	if (cf->stats && !cf->stats_bind) {
		cf->stats_bind = strdup("127.0.0.1:8404");
		if (!cf->stats_bind)
			return bad(c, root, "out of memory");
	}
	if (cf->stats_bind &&
	    net_parse_addr(cf->stats_bind, &cf->stats_addr, &cf->stats_addrlen, e, sizeof(e)) == -1)
		return bad(c, root, "stats.bind: %s", e);
	if (cf->group && !cf->user)
		return bad(c, root, "group: needs 'user' as well");
	if (!lis)
		return bad(c, root, "'listeners' is required (at least one listener)");
	if (want(c, lis, YAML_SEQUENCE_NODE, "listeners") == -1)
		return -1;
	n = (size_t)(lis->data.sequence.items.top - lis->data.sequence.items.start);
	if (n == 0)
		return bad(c, lis, "'listeners' is empty");
	if (n > CONF_MAX_LISTENERS)
		return bad(c, lis, "more than %d listeners", CONF_MAX_LISTENERS);
	cf->listeners = calloc(n, sizeof(*cf->listeners));
	if (!cf->listeners)
		return bad(c, lis, "out of memory");
	for (it = lis->data.sequence.items.start; it < lis->data.sequence.items.top; it++) {
		if (listener_parse(c, &cf->listeners[cf->nlisteners++], node(c, *it)) == -1)
			return -1;
		if (cf->stats_bind && net_addr_equal((struct sockaddr *)&cf->stats_addr,
						     (struct sockaddr *)&cf->listeners[cf->nlisteners - 1].addr))
			return bad(c, node(c, *it), "listener %s: bind is the same address as stats.bind",
				    cf->listeners[cf->nlisteners - 1].name);
	}
	return 0;
}

struct conf *conf_load_mem(const char *text, size_t len, const char *name, const char *dir, int flags,
			   char *err, size_t errlen)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	struct ctx c = {name, dir, flags, &doc, NULL, err, errlen};
	struct conf *cf = NULL;
	bool have_doc = false;

	if (!yaml_parser_initialize(&parser)) {
		set_err(err, errlen, "%s: out of memory", name);
		return NULL;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		set_err(err, errlen, "%s:%lu: %s%s%s", name, (unsigned long)parser.problem_mark.line + 1,
			parser.problem ? parser.problem : "YAML syntax error", parser.context ? " " : "",
			parser.context ? parser.context : "");
		goto fail;
	}
	have_doc = true;
	cf = calloc(1, sizeof(*cf));
	if (!cf || !(cf->file = strdup(name))) {
		set_err(err, errlen, "%s: out of memory", name);
		goto fail;
	}
	c.conf = cf;
	if (parse_doc(&c) == -1)
		goto fail;
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return cf;
fail:
	conf_free(cf);
	if (have_doc)
		yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return NULL;
}

struct conf *conf_load(const char *path, int flags, char *err, size_t errlen)
{
	char *text = NULL, *dir, *slash;
	size_t len;
	struct conf *cf;

	if (read_file(path, CONF_MAX_FILE, &text, &len, err, errlen) == -1)
		return NULL;
	dir = strdup(path);
	if (!dir) {
		free(text);
		set_err(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	else
		dir[0] = '\0';
	cf = conf_load_mem(text, len, path, slash == dir ? "/" : dir, flags, err, errlen);
	free(dir);
	free(text);
	return cf;
}

void conf_free(struct conf *c)
{
	size_t i, j;

	if (!c)
		return;
	for (i = 0; i < c->nlisteners; i++) {
		struct conf_listener *li = &c->listeners[i];

		for (j = 0; j < li->nservers; j++) {
			free(li->servers[j].name);
			free(li->servers[j].address);
			check_clear(&li->servers[j].check);
		}
		free(li->servers);
		free(li->name);
		free(li->bind);
		check_clear(&li->check);
	}
	free(c->listeners);
	for (i = 0; i < c->nrecipes; i++) {
		recipe_free(c->recipes[i]);
		free(c->recipe_paths[i]);
	}
	free(c->recipes);
	free(c->recipe_paths);
	free(c->stats_bind);
	free(c->user);
	free(c->group);
	free(c->file);
	free(c);
}

const struct conf_listener *conf_listener_find(const struct conf *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nlisteners; i++)
		if (strcmp(c->listeners[i].name, name) == 0)
			return &c->listeners[i];
	return NULL;
}

/*
 * conf: recheckd's YAML configuration (see conf.h). src/ytree.c reads the file into a capped tree
 * (depth, node count, no anchors, aliases or tags, every node's line:column); this file checks that tree
 * against the schema, one table of keys per section: the values, the key-table walker, the listeners and
 * the top level. The servers and the checks (server_keys, check_keys, recipe loading) are in
 * conf_server.c; what both share (struct ctx, the KEY_* tables, the walker) is in conf_priv.h.
 *
 * Adding a key: add the field to its struct in conf.h, one KEY_* line to the section's table (top_keys,
 * listener_keys, timeout_keys, stats_keys here; check_keys, server_keys in conf_server.c), its default
 * (if not zero) where that section's parser sets defaults before the walk (parse_root, listener_parse
 * here; conf_check_defaults, conf_server_parse in conf_server.c), a case in tests/unit/test_conf.c, and a
 * line in docs/recheckd.8 and samples/recheckd.yaml. KEY_INT, KEY_UINT, KEY_BOOL, KEY_STR, KEY_NAME,
 * KEY_DUR, KEY_ADDR and KEY_CHOICE read plain values (the compiler checks the field's type); KEY_SECTION
 * reads a nested mapping into the same struct; KEY_FN takes a function for anything else; KEY_LATER
 * accepts a key that the section's parser reads itself after the walk (ytree_get), e.g. a list of
 * servers.
 */
#include "api.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "conf_priv.h"
#include "hash.h"
#include "net.h"
#include "recipe.h"
#include "util.h"
#include "ytree.h"

/* A 1 MiB file holds at most about half a million nodes; real configurations need a few per server. */
static const struct ytree_kind conf_kind = {"recheckd configuration", "recheckd configurations",
					    "expected a mapping with 'listeners'", 300000};

PRINTF_FMT(3, 4)
int conf_bad(struct ctx *c, const struct ynode *n, const char *fmt, ...)
{
	char msg[ERR_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return yerr_at(&c->s, n->line, n->col, "%s", msg);
}

/* --- values ----------------------------------------------------------------------------------- */

int conf_want(struct ctx *c, const struct ynode *n, enum ynode_type t, const char *key)
{
	static const char *const what[] = {"a single value", "a mapping", "a list"};

	if (n->type == t)
		return 0;
	return conf_bad(c, n, "%s: expected %s", key, what[t]);
}

int conf_get_str(struct ctx *c, const struct ynode *n, const char *key, char **out)
{
	if (conf_want(c, n, YN_SCALAR, key) == -1)
		return -1;
	if (n->len == 0 || strlen(n->val) != n->len)
		return conf_bad(c, n, "%s: must not be empty or contain NUL bytes", key);
	free(*out);
	*out = strdup(n->val);
	if (!*out)
		return conf_bad(c, n, "out of memory");
	return 0;
}

int conf_get_bool(struct ctx *c, const struct ynode *n, const char *key, bool *out)
{
	static const char *const yes[] = {"true", "yes", "on"}, *const no[] = {"false", "no", "off"};
	size_t i;

	if (conf_want(c, n, YN_SCALAR, key) == -1)
		return -1;
	for (i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcmp(n->val, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcmp(n->val, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return conf_bad(c, n, "%s: expected true or false, not '%s'", key, n->val);
}

static int get_long(struct ctx *c, const struct ynode *n, const char *key, long lo, long hi, long *out)
{
	char *end;
	long v;

	if (conf_want(c, n, YN_SCALAR, key) == -1)
		return -1;
	errno = 0;
	v = strtol(n->val, &end, 10);
	if (!*n->val || *end || errno)
		return conf_bad(c, n, "%s: '%s' is not a whole number", key, n->val);
	if (v < lo || v > hi)
		return conf_bad(c, n, "%s: %ld is out of range (%ld to %ld)", key, v, lo, hi);
	*out = v;
	return 0;
}

static int get_dur(struct ctx *c, const struct ynode *n, const char *key, uint64_t *out)
{
	char e[ERR_LEN];

	if (conf_want(c, n, YN_SCALAR, key) == -1)
		return -1;
	if (duration_parse_ms(n->val, out, e, sizeof(e)) == -1)
		return conf_bad(c, n, "%s: %s", key, e);
	if (*out > 24ULL * 3600 * 1000 * 365)
		return conf_bad(c, n, "%s: '%s' is longer than a year", key, n->val);
	return 0;
}

static int get_addr(struct ctx *c, const struct ynode *n, const char *key, char **text,
		    struct sockaddr_storage *ss, socklen_t *len)
{
	char e[ERR_LEN];

	if (conf_get_str(c, n, key, text) == -1)
		return -1;
	if (net_parse_addr(*text, ss, len, e, sizeof(e)) == -1)
		return conf_bad(c, n, "%s: %s", key, e);
	return 0;
}

/* --- key tables: the walker (the KEY_* tables themselves are in conf_priv.h) ------------------ */

static int get_choice(struct ctx *c, const struct ynode *v, const char *key, const struct choice *ch, int *out)
{
	char list[256] = "";
	size_t i, off = 0;

	if (conf_want(c, v, YN_SCALAR, key) == -1)
		return -1;
	for (i = 0; ch[i].name; i++) {
		if (strcmp(v->val, ch[i].name) == 0) {
			*out = ch[i].val;
			return 0;
		}
	}
	for (i = 0; ch[i].name && off < sizeof(list); i++)
		off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s",
					i == 0 ? "" : ch[i + 1].name ? ", " : " or ", ch[i].name);
	return conf_bad(c, v, "%s: expected %s, not '%s'", key, list, v->val);
}

static int apply(struct ctx *c, const struct key *k, const struct ynode *v, const char *key, void *obj)
{
	char *base = obj;
	long n;

	switch (k->kind) {
	case K_INT:
		if (get_long(c, v, key, k->lo, k->hi, &n) == -1)
			return -1;
		*(int *)(base + k->off) = (int)n;
		return 0;
	case K_UINT:
		if (get_long(c, v, key, k->lo, k->hi, &n) == -1)
			return -1;
		*(unsigned *)(base + k->off) = (unsigned)n;
		return 0;
	case K_BOOL:
		return conf_get_bool(c, v, key, (bool *)(base + k->off));
	case K_STR:
		return conf_get_str(c, v, key, (char **)(base + k->off));
	case K_NAME:
		if (conf_get_str(c, v, key, (char **)(base + k->off)) == -1)
			return -1;
		if (strlen(*(char **)(base + k->off)) > CONF_NAME_MAX)
			return conf_bad(c, v, "%s: longer than %d bytes", key, CONF_NAME_MAX);
		return 0;
	case K_DUR:
		if (get_dur(c, v, key, (uint64_t *)(base + k->off)) == -1)
			return -1;
		if (k->lo > 0 && *(uint64_t *)(base + k->off) == 0)
			return conf_bad(c, v, "%s: must be more than 0", key);
		return 0;
	case K_ADDR:
		return get_addr(c, v, key, (char **)(base + k->off), (struct sockaddr_storage *)(base + k->off2),
				(socklen_t *)(base + k->off3));
	case K_CHOICE: {
		int val = 0;

		if (get_choice(c, v, key, k->choices, &val) == -1)
			return -1;
		if (k->off2 == sizeof(bool))
			*(bool *)(base + k->off) = val != 0;
		else
			*(int *)(base + k->off) = val;
		return 0;
	}
	case K_SECTION:
		return conf_walk(c, v, key, k->sub, k->nsub, obj);
	case K_FN:
		return k->fn(c, v, key, obj);
	case K_LATER:
		return 0;
	}
	BUG_ON(1);
	return -1;
}

/*
 * Walks mapping map, the section called what ("listener", "server.check"; "" for the top level): every key
 * must be a plain word from keys[] (nkeys entries) and appear once; each value is applied to obj by its
 * table entry. Messages name a key by its path: "listener.maxconn", or "threads" at the top level.
 */
int conf_walk(struct ctx *c, const struct ynode *map, const char *what, const struct key *keys, size_t nkeys,
	      void *obj)
{
	const char *sect = *what ? what : "top level";
	size_t i, j;

	if (conf_want(c, map, YN_MAP, sect) == -1)
		return -1;
	for (i = 0; i + 1 < map->nkids; i += 2) {
		const struct ynode *k = map->kids[i], *v = map->kids[i + 1];
		char key[128];

		if (k->type != YN_SCALAR || strlen(k->val) != k->len)
			return conf_bad(c, k, "%s: keys must be plain words", sect);
		for (j = 0; j < i; j += 2)
			if (strcmp(map->kids[j]->val, k->val) == 0)
				return conf_bad(c, k, "%s: duplicate key '%s' (first at line %d)", sect, k->val,
						map->kids[j]->line);
		for (j = 0; j < nkeys; j++)
			if (strcmp(k->val, keys[j].name) == 0)
				break;
		if (j == nkeys) {
			char list[384] = "";
			size_t l, off = 0;

			for (l = 0; l < nkeys && off < sizeof(list); l++)
				off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s", l ? ", " : "",
							keys[l].name);
			return conf_bad(c, k, "%s: unknown key '%s' (expected one of: %s)", sect, k->val, list);
		}
		snprintf(key, sizeof(key), "%s%s%s", what, *what ? "." : "", k->val);
		if (apply(c, &keys[j], v, key, obj) == -1)
			return -1;
	}
	return 0;
}


/* --- listeners -------------------------------------------------------------------------------- */

static int listener_balance(struct ctx *c, const struct ynode *v, const char *key, void *obj)
{
	if (conf_want(c, v, YN_SCALAR, key) == -1)
		return -1;
	if (strcmp(v->val, "source") != 0)
		return conf_bad(c, v, "%s: only 'source' is supported, not '%s'", key, v->val);
	return 0;
}

static int listener_hash_type(struct ctx *c, const struct ynode *v, const char *key, void *obj)
{
	struct conf_listener *li = obj;
	bool consistent, avalanche;
	char why[ERR_LEN];

	if (conf_want(c, v, YN_SCALAR, key) == -1)
		return -1;
	/* HAProxy's rules: a bare "consistent" means sdbm + avalanche, "consistent <fn>" no avalanche. */
	if (hash_type_parse(v->val, &consistent, &avalanche, why, sizeof(why)) == -1)
		return conf_bad(c, v, "%s: %s", key, why);
	li->hash = consistent ? CONF_HASH_CONSISTENT : CONF_HASH_MAP_BASED;
	li->avalanche = avalanche;
	return 0;
}

static int listener_maxconn(struct ctx *c, const struct ynode *v, const char *key, void *obj)
{
	struct conf_listener *li = obj;
	long n = 0;

	if (get_long(c, v, key, 1, 1000000, &n) == -1)
		return -1;
	li->maxconn = (int)n;
	li->maxconn_set = true;
	return 0;
}

static const struct key timeout_keys[] = {
	KEY_DUR("client", struct conf_listener, timeout_client, 0),
	KEY_DUR("server", struct conf_listener, timeout_server, 0),
	KEY_DUR("connect", struct conf_listener, timeout_connect, 1),
	KEY_DUR("queue", struct conf_listener, timeout_queue, 1),
};

static const struct key listener_keys[] = {
	KEY_NAME("name", struct conf_listener, name),
	KEY_ADDR("bind", struct conf_listener, bind, addr, addrlen),
	KEY_FN("balance", listener_balance),
	KEY_FN("hash_type", listener_hash_type),
	KEY_BOOL("allbackups", struct conf_listener, allbackups),
	KEY_FN("maxconn", listener_maxconn),
	KEY_SECTION("timeouts", timeout_keys),
	KEY_LATER("check"),
	KEY_LATER("servers"),
	KEY_CHOICE("on_marked_down", struct conf_listener, shutdown_sessions, conf_on_down_choices),
	KEY_INT("retries", struct conf_listener, retries, 0, 100),
	KEY_BOOL("redispatch", struct conf_listener, redispatch),
	KEY_BOOL("accept_proxy", struct conf_listener, accept_proxy),
	KEY_DUR("slowstart", struct conf_listener, slowstart, 0),
};

static int listener_parse(struct ctx *c, struct conf_listener *li, const struct ynode *n)
{
	struct conf *cf = c->conf;
	const struct ynode *chk, *svs;
	size_t i;

	li->line = n->line;
	li->maxconn = 10000;
	li->timeout_client = li->timeout_server = 300000;
	li->timeout_connect = 5000;
	li->retries = 3;
	conf_check_defaults(&li->check);
	li->check.fastinter = li->check.downinter = li->check.timeout = li->check.inter;
	if (WALK(c, n, "listener", listener_keys, li) == -1)
		return -1;
	if (!li->name)
		return conf_bad(c, n, "listener: 'name' is required");
	if (!li->bind)
		return conf_bad(c, n, "listener %s: 'bind' is required", li->name);
	for (i = 0; &cf->listeners[i] != li; i++) {
		if (strcmp(cf->listeners[i].name, li->name) == 0)
			return conf_bad(c, n, "listener %s: the name is already used (line %d)", li->name,
					cf->listeners[i].line);
		if (net_addr_equal((struct sockaddr *)&cf->listeners[i].addr, (struct sockaddr *)&li->addr))
			return conf_bad(c, n, "listener %s: bind %s is already used by listener %s", li->name, li->bind,
					cf->listeners[i].name);
	}
	chk = ytree_get(n, "check");
	if (chk && conf_check_parse(c, &li->check, chk, "listener.check", NULL) == -1)
		return -1;
	svs = ytree_get(n, "servers");
	if (!svs)
		return conf_bad(c, n, "listener %s: 'servers' is required (at least one server)", li->name);
	if (conf_want(c, svs, YN_SEQ, "listener.servers") == -1)
		return -1;
	if (svs->nkids == 0)
		return conf_bad(c, svs, "listener %s: 'servers' is empty", li->name);
	if (svs->nkids > CONF_MAX_SERVERS)
		return conf_bad(c, svs, "listener %s: more than %d servers", li->name, CONF_MAX_SERVERS);
	li->servers = calloc(svs->nkids, sizeof(*li->servers));
	if (!li->servers)
		return conf_bad(c, n, "out of memory");
	for (i = 0; i < svs->nkids; i++)
		if (conf_server_parse(c, li, &li->servers[li->nservers++], svs->kids[i]) == -1)
			return -1;
	return 0;
}

/* --- top level -------------------------------------------------------------------------------- */

/* ":PORT" means loopback here: the stats page is not exposed unless an address says so. */
static int stats_bind(struct ctx *c, const struct ynode *v, const char *key, void *obj)
{
	struct conf *cf = obj;
	size_t n;
	char *s;

	if (conf_get_str(c, v, key, &cf->stats_bind) == -1)
		return -1;
	if (cf->stats_bind[0] != ':')
		return 0;
	n = strlen(cf->stats_bind) + 10;
	s = malloc(n);
	if (!s)
		return conf_bad(c, v, "out of memory");
	snprintf(s, n, "127.0.0.1%s", cf->stats_bind);
	free(cf->stats_bind);
	cf->stats_bind = s;
	return 0;
}

static int stats_socket(struct ctx *c, const struct ynode *v, const char *key, void *obj)
{
	struct conf *cf = obj;

	if (conf_get_str(c, v, key, &cf->stats_socket) == -1)
		return -1;
	if (cf->stats_socket[0] != '/')
		return conf_bad(c, v, "%s: '%s' is not an absolute path", key, cf->stats_socket);
	if (strlen(cf->stats_socket) >= CONF_SOCKET_PATH_MAX)
		return conf_bad(c, v, "%s: longer than %d bytes (a UNIX socket path's limit)", key,
				CONF_SOCKET_PATH_MAX - 1);
	return 0;
}

static const struct key stats_keys[] = {
	KEY_FN("bind", stats_bind),
	KEY_FN("socket", stats_socket),
};

static int top_stats(struct ctx *c, const struct ynode *v, const char *key, void *obj)
{
	struct conf *cf = obj;

	cf->stats = true;
	return WALK(c, v, key, stats_keys, obj);
}

static const struct choice relay_choices[] = {{"splice", RELAY_SPLICE}, {"copy", RELAY_COPY}, {NULL, 0}};
static const struct choice log_choices[] = {{"stderr", CONF_LOG_STDERR}, {"syslog", CONF_LOG_SYSLOG}, {NULL, 0}};
static const struct choice logf_choices[] = {
	{"tcplog", CONF_LOGF_TCPLOG}, {"json", CONF_LOGF_JSON}, {"off", CONF_LOGF_OFF}, {NULL, 0}};
static const struct choice syslogf_choices[] = {{"rfc3164", 0}, {"rfc5424", 1}, {NULL, 0}};
static const struct choice facility_choices[] = {
	{"kern", 0},    {"user", 1},    {"mail", 2},    {"daemon", 3},  {"auth", 4},    {"syslog", 5},
	{"lpr", 6},     {"news", 7},    {"uucp", 8},    {"cron", 9},    {"auth2", 10},  {"ftp", 11},
	{"ntp", 12},    {"audit", 13},  {"alert", 14},  {"cron2", 15},  {"local0", 16}, {"local1", 17},
	{"local2", 18}, {"local3", 19}, {"local4", 20}, {"local5", 21}, {"local6", 22}, {"local7", 23},
	{NULL, 0}};

/* log.target: "stderr" or "udp://HOST:PORT" (a syslog server, as HAProxy's `log HOST:PORT`). */
static int log_target(struct ctx *c, const struct ynode *v, const char *key, void *obj)
{
	struct conf *cf = obj;
	char e[ERR_LEN];

	if (conf_want(c, v, YN_SCALAR, key) == -1)
		return -1;
	if (strcmp(v->val, "stderr") == 0) {
		cf->log_udp = false;
		return 0;
	}
	if (strncmp(v->val, "udp://", 6) != 0)
		return conf_bad(c, v, "%s: expected stderr or udp://HOST:PORT, not '%s'", key, v->val);
	if (net_parse_addr(v->val + 6, &cf->log_addr, &cf->log_addrlen, e, sizeof(e)) == -1)
		return conf_bad(c, v, "%s: %s", key, e);
	cf->log_udp = true;
	return 0;
}

static const struct key log_keys[] = {
	KEY_CHOICE("daemon", struct conf, log, log_choices),
	KEY_CHOICE("format", struct conf, log_format, logf_choices),
	KEY_FN("target", log_target),
	KEY_CHOICE("facility", struct conf, log_facility, facility_choices),
	KEY_CHOICE("syslog_format", struct conf, log_rfc5424, syslogf_choices),
};

/* `log: stderr|syslog` (daemon messages, the old form) or a mapping with the connection log too. */
static int top_log(struct ctx *c, const struct ynode *v, const char *key, void *obj)
{
	struct conf *cf = obj;
	int val = 0;

	if (v->type == YN_MAP)
		return WALK(c, v, key, log_keys, obj);
	if (get_choice(c, v, key, log_choices, &val) == -1)
		return -1;
	cf->log = (enum conf_log)val;
	return 0;
}

/* `nameservers: ["IP[:PORT]", ...]`: IPv4, at most CONF_MAX_NAMESERVERS, port 53 by default. */
static int top_nameservers(struct ctx *c, const struct ynode *v, const char *key, void *obj)
{
	struct conf *cf = obj;
	char e[ERR_LEN], text[300];
	size_t i;

	if (conf_want(c, v, YN_SEQ, key) == -1)
		return -1;
	if (v->nkids == 0 || v->nkids > CONF_MAX_NAMESERVERS)
		return conf_bad(c, v, "%s: 1 to %d addresses", key, CONF_MAX_NAMESERVERS);
	for (i = 0; i < v->nkids; i++) {
		const struct ynode *n = v->kids[i];
		socklen_t len;

		if (conf_want(c, n, YN_SCALAR, key) == -1)
			return -1;
		snprintf(text, sizeof(text), strchr(n->val, ':') ? "%s" : "%s:53", n->val);
		if (net_parse_addr_opt(text, &cf->nameservers[i], &len, true, NULL, 0, NULL, e, sizeof(e)) != 0)
			return conf_bad(c, n, "%s: %s", key, e[0] ? e : "an IPv4 address, optionally with :PORT");
		if (cf->nameservers[i].ss_family != AF_INET)
			return conf_bad(c, n, "%s: '%s': only IPv4 name servers are supported", key, n->val);
	}
	cf->nnameservers = (int)v->nkids;
	return 0;
}

static const struct key top_keys[] = {
	KEY_INT("threads", struct conf, threads, 1, CONF_MAX_THREADS),
	KEY_FN("stats", top_stats),
	KEY_LATER("listeners"),
	KEY_STR("user", struct conf, user),
	KEY_STR("node", struct conf, node),
	KEY_STR("group", struct conf, group),
	KEY_BOOL("allow_root", struct conf, allow_root),
	KEY_CHOICE("relay", struct conf, relay, relay_choices),
	KEY_FN("log", top_log),
	KEY_DUR("drain_timeout", struct conf, drain_timeout, 0),
	KEY_DUR("resolve_interval", struct conf, resolve_interval, 1),
	KEY_FN("nameservers", top_nameservers),
};

static int parse_root(struct ctx *c, const struct ynode *root)
{
	struct conf *cf = c->conf;
	const struct ynode *lis;
	size_t i;
	long cpus;
	char e[ERR_LEN];

	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	cf->threads = cpus < 1 ? 1 : (int)MIN(cpus, CONF_MAX_THREADS);
	cf->drain_timeout = 10000;
	cf->log_facility = 16; /* local0 */
	cf->resolve_interval = 10000;
	if (WALK(c, root, "", top_keys, cf) == -1)
		return -1;
	if (cf->stats && !cf->stats_bind && !cf->stats_socket) {
		cf->stats_bind = strdup("127.0.0.1:8404");
		if (!cf->stats_bind)
			return conf_bad(c, root, "out of memory");
	}
	if (cf->stats_bind &&
	    net_parse_addr(cf->stats_bind, &cf->stats_addr, &cf->stats_addrlen, e, sizeof(e)) == -1) {
		const struct ynode *at = ytree_get(root, "stats");

		return conf_bad(c, at && ytree_get(at, "bind") ? ytree_get(at, "bind") : root, "stats.bind: %s", e);
	}
	if (cf->group && !cf->user)
		return conf_bad(c, ytree_key_of(root, ytree_get(root, "group")), "group: needs 'user' as well");
	lis = ytree_get(root, "listeners");
	if (!lis)
		return conf_bad(c, root, "'listeners' is required (at least one listener)");
	if (conf_want(c, lis, YN_SEQ, "listeners") == -1)
		return -1;
	if (lis->nkids == 0)
		return conf_bad(c, lis, "'listeners' is empty");
	if (lis->nkids > CONF_MAX_LISTENERS)
		return conf_bad(c, lis, "more than %d listeners", CONF_MAX_LISTENERS);
	cf->listeners = calloc(lis->nkids, sizeof(*cf->listeners));
	if (!cf->listeners)
		return conf_bad(c, lis, "out of memory");
	for (i = 0; i < lis->nkids; i++) {
		if (listener_parse(c, &cf->listeners[cf->nlisteners++], lis->kids[i]) == -1)
			return -1;
		if (cf->stats_bind && net_addr_equal((struct sockaddr *)&cf->stats_addr,
						     (struct sockaddr *)&cf->listeners[i].addr))
			return conf_bad(c, lis->kids[i], "listener %s: bind is the same address as stats.bind",
					cf->listeners[i].name);
	}
	return 0;
}

struct conf *conf_load_mem(const char *text, size_t len, const char *name, const char *dir, int flags,
			   char *err, size_t errlen)
{
	struct ctx c = {{name, err, errlen}, dir, flags, NULL};
	struct ynode *root;
	struct conf *cf = NULL;

	if (conf_is_haproxy(text, len))
		return conf_haproxy_load_mem(text, len, name, flags, err, errlen);
	if (len > CONF_MAX_FILE) {
		set_err(err, errlen, "%s: %zu bytes is more than the %u-byte limit for a configuration", name, len,
			CONF_MAX_FILE);
		return NULL;
	}
	root = ytree_read(text, len, name, &conf_kind, err, errlen);
	if (!root)
		return NULL;
	cf = calloc(1, sizeof(*cf));
	if (!cf || !(cf->file = strdup(name))) {
		set_err(err, errlen, "%s: out of memory", name);
		goto fail;
	}
	c.conf = cf;
	if (parse_root(&c, root) == -1)
		goto fail;
	ytree_free(root);
	return cf;
fail:
	conf_free(cf);
	ytree_free(root);
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
			free(li->servers[j].host);
			conf_check_clear(&li->servers[j].check);
		}
		free(li->servers);
		free(li->name);
		free(li->bind);
		conf_check_clear(&li->check);
	}
	free(c->listeners);
	for (i = 0; i < c->nrecipes; i++) {
		recipe_free(c->recipes[i]);
		free(c->recipe_paths[i]);
	}
	free(c->recipes);
	free(c->recipe_paths);
	free(c->stats_bind);
	free(c->stats_socket);
	free(c->user);
	free(c->node);
	free(c->group);
	free(c->file);
	free(c->warnings);
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

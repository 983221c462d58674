/*
 * Unit tests for recheckd's config loader: every key, the defaults, and every error with its line.
 * conf.c lives in runner/ (the daemon), so it is compiled into this test directly.
 */
#include "api.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../runner/conf.c"

static struct conf *load(const char *text, char *err)
{
	return conf_load_mem(text, strlen(text), "t.yaml", "/etc/recheck", CONF_NO_RECIPES, err, ERR_LEN);
}

static void every_key(void **state)
{
	static const char text[] =
		"threads: 3\n"
		"stats: {bind: \"127.0.0.1:9000\"}\n"
		"user: nobody\n"
		"group: nogroup\n"
		"allow_root: false\n"
		"relay: copy\n"
		"log: syslog\n"
		"drain_timeout: 3s\n"
		"listeners:\n"
		"  - name: ha-socks5\n"
		"    bind: \"127.0.0.1:1080\"\n"
		"    balance: source\n"
		"    hash_type: consistent\n"
		"    allbackups: true\n"
		"    maxconn: 50\n"
		"    on_marked_down: shutdown-sessions\n"
		"    timeouts: {client: 30s, server: 1m, connect: 500ms}\n"
		"    check: {recipe: socks5-204.yaml, inter: 2s, fastinter: 500ms, downinter: 10s, rise: 4,\n"
		"            fall: 5, timeout: 3s, spread: 10}\n"
		"    servers:\n"
		"      - {name: vps1, address: \"127.0.0.1:11110\"}\n"
		"      - {name: vps2, address: \"127.0.0.1:11111\", weight: 2, id: 7}\n"
		"      - name: spare\n"
		"        address: \"[::1]:11112\"\n"
		"        backup: true\n"
		"        on_marked_down: none\n"
		"        check: {recipe: /abs/other.yaml, inter: 1s, rise: 1}\n"
		"      - {name: nocheck, address: \"127.0.0.1:11113\", check: false}\n"
		"  - name: second\n"
		"    bind: \":2080\"\n"
		"    hash_type: map-based sdbm avalanche\n"
		"    servers:\n"
		"      - {name: only, address: \"localhost:80\", weight: 0}\n";
	char err[ERR_LEN] = "";
	struct conf *c = load(text, err);
	const struct conf_listener *l, *l2;
	const struct conf_server *s;

	assert_non_null(c);
	assert_int_equal(c->threads, 3);
	assert_true(c->stats);
	assert_string_equal(c->stats_bind, "127.0.0.1:9000");
	assert_string_equal(c->user, "nobody");
	assert_string_equal(c->group, "nogroup");
	assert_false(c->allow_root);
	assert_int_equal(c->relay, RELAY_COPY);
	assert_int_equal(c->log, CONF_LOG_SYSLOG);
	assert_int_equal(c->drain_timeout, 3000);
	assert_int_equal(c->nlisteners, 2);
	l = &c->listeners[0];
	assert_string_equal(l->name, "ha-socks5");
	assert_int_equal(l->line, 10);
	assert_int_equal(l->hash, CONF_HASH_CONSISTENT);
	assert_true(l->avalanche); /* bare "consistent" is sdbm + avalanche, as in HAProxy */
	assert_true(l->allbackups);
	assert_int_equal(l->maxconn, 50);
	assert_true(l->shutdown_sessions);
	assert_int_equal(l->timeout_client, 30000);
	assert_int_equal(l->timeout_server, 60000);
	assert_int_equal(l->timeout_connect, 500);
	assert_true(l->check.enabled);
	assert_string_equal(l->check.recipe_path, "/etc/recheck/socks5-204.yaml");
	assert_int_equal(l->check.inter, 2000);
	assert_int_equal(l->check.fastinter, 500);
	assert_int_equal(l->check.downinter, 10000);
	assert_int_equal(l->check.rise, 4);
	assert_int_equal(l->check.fall, 5);
	assert_int_equal(l->check.timeout, 3000);
	assert_int_equal(l->check.spread, 10);
	assert_int_equal(l->nservers, 4);
	s = &l->servers[0];
	assert_string_equal(s->name, "vps1");
	assert_int_equal(s->weight, 1);
	assert_false(s->backup);
	assert_int_equal(s->id, 0);
	assert_true(s->shutdown_sessions);
	assert_true(s->check.enabled);
	assert_int_equal(s->check.rise, 4);
	assert_string_equal(s->check.recipe_path, "/etc/recheck/socks5-204.yaml");
	s = &l->servers[1];
	assert_int_equal(s->weight, 2);
	assert_int_equal(s->id, 7);
	s = &l->servers[2];
	assert_true(s->backup);
	assert_false(s->shutdown_sessions);
	assert_int_equal(s->addr.ss_family, AF_INET6);
	assert_string_equal(s->check.recipe_path, "/abs/other.yaml");
	assert_int_equal(s->check.inter, 1000);
	assert_int_equal(s->check.rise, 1);
	assert_int_equal(s->check.fall, 5);          /* inherited */
	assert_int_equal(s->check.fastinter, 500);   /* listener's explicit value */
	assert_int_equal(s->check.timeout, 3000);
	s = &l->servers[3];
	assert_false(s->check.enabled);
	l2 = conf_listener_find(c, "second");
	assert_non_null(l2);
	assert_int_equal(l2->hash, CONF_HASH_MAP_BASED);
	assert_true(l2->avalanche);
	assert_int_equal(l2->servers[0].weight, 0);
	assert_false(l2->check.enabled);
	assert_false(l2->servers[0].check.enabled);
	assert_null(conf_listener_find(c, "nope"));
	conf_free(c);
}

static void defaults(void **state)
{
	static const char text[] = "stats: {}\n"
				   "listeners:\n"
				   "  - name: a\n"
				   "    bind: \"127.0.0.1:1\"\n"
				   "    check: {recipe: r.yaml, inter: 4s}\n"
				   "    servers: [{name: s, address: \"127.0.0.1:2\"}]\n";
	char err[ERR_LEN] = "";
	struct conf *c = load(text, err);
	const struct conf_listener *l;

	assert_non_null(c);
	assert_true(c->threads >= 1);
	assert_string_equal(c->stats_bind, "127.0.0.1:8404");
	assert_null(c->user);
	assert_int_equal(c->relay, RELAY_SPLICE);
	assert_int_equal(c->log, CONF_LOG_STDERR);
	assert_int_equal(c->drain_timeout, 10000);
	l = &c->listeners[0];
	assert_int_equal(l->hash, CONF_HASH_MAP_BASED);
	assert_false(l->allbackups);
	assert_int_equal(l->maxconn, 10000);
	assert_int_equal(l->timeout_client, 300000);
	assert_int_equal(l->timeout_server, 300000);
	assert_int_equal(l->timeout_connect, 5000);
	/* HAProxy: fastinter, downinter and the check timeout follow inter */
	assert_int_equal(l->check.inter, 4000);
	assert_int_equal(l->check.fastinter, 4000);
	assert_int_equal(l->check.downinter, 4000);
	assert_int_equal(l->check.timeout, 4000);
	assert_int_equal(l->check.rise, 2);
	assert_int_equal(l->check.fall, 3);
	assert_int_equal(l->check.spread, 0);
	assert_int_equal(l->servers[0].weight, 1);
	conf_free(c);

	/* stats ":PORT" stays on loopback; no stats section: no stats listener */
	c = load("stats: {bind: \":9100\"}\nlisteners: [{name: a, bind: \":1\", servers: [{name: s, address: \"127.0.0.1:2\"}]}]\n",
		 err);
	assert_non_null(c);
	assert_string_equal(c->stats_bind, "127.0.0.1:9100");
	conf_free(c);
	c = load("listeners: [{name: a, bind: \":1\", servers: [{name: s, address: \"127.0.0.1:2\"}]}]\n", err);
	assert_non_null(c);
	assert_false(c->stats);
	assert_null(c->stats_bind);
	conf_free(c);
}

#define L1 "listeners:\n  - name: a\n    bind: \"127.0.0.1:1\"\n"
#define S1 "    servers:\n      - {name: s, address: \"127.0.0.1:2\"}\n"

static void errors_name_the_line(void **state)
{
	static const struct {
		const char *text;
		const char *want;
	} cases[] = {
		{"", "t.yaml:0: the file is empty"},
		{"threads: [1\n", "t.yaml:2: "},
		{"bogus: 1\n" L1 S1, "t.yaml:1: top level: unknown key 'bogus' (expected one of: threads,"},
		{"threads: 1\nthreads: 2\n" L1 S1, "t.yaml:2: top level: duplicate key 'threads'"},
		{"threads: 0\n" L1 S1, "t.yaml:1: threads: 0 is out of range (1 to 64)"},
		{"threads: two\n" L1 S1, "t.yaml:1: threads: 'two' is not a whole number"},
		{"relay: zerocopy\n" L1 S1, "t.yaml:1: relay: expected splice or copy, not 'zerocopy'"},
		{"log: file\n" L1 S1, "t.yaml:1: log: expected stderr or syslog"},
		{"allow_root: maybe\n" L1 S1, "t.yaml:1: allow_root: expected true or false, not 'maybe'"},
		{"drain_timeout: 5x\n" L1 S1, "t.yaml:1: drain_timeout: '5x' has an unknown time unit"},
		{"group: g\n" L1 S1, "t.yaml:1: group: needs 'user' as well"},
		{"stats: {bind: nowhere}\n" L1 S1, "t.yaml:1: stats.bind"},
		{"stats: {port: 1}\n" L1 S1, "t.yaml:1: stats: unknown key 'port'"},
		{"threads: 1\n", "t.yaml:1: 'listeners' is required"},
		{"listeners: []\n", "t.yaml:1: 'listeners' is empty"},
		{"listeners: {a: 1}\n", "t.yaml:1: listeners: expected a list"},
		{L1 S1 "    colour: red\n", "t.yaml:6: listener: unknown key 'colour'"},
		{"listeners:\n  - bind: \":1\"\n" S1, "t.yaml:2: listener: 'name' is required"},
		{"listeners:\n  - name: a\n" S1, "t.yaml:2: listener a: 'bind' is required"},
		{L1, "t.yaml:2: listener a: 'servers' is required"},
		{L1 "    servers: []\n", "t.yaml:4: listener a: 'servers' is empty"},
		{L1 "    bind: \":3\"\n" S1, "t.yaml:4: listener: duplicate key 'bind'"},
		{"listeners:\n  - name: a\n    bind: \"1.2.3.4\"\n" S1, "t.yaml:3: listener.bind: '1.2.3.4': expected HOST:PORT"},
		{"listeners:\n  - name: a\n    bind: \"127.0.0.1:99999\"\n" S1, "t.yaml:3: listener.bind: '127.0.0.1:99999': the port"},
		{"listeners:\n  - name: a\n    bind: \"::1:80\"\n" S1, "t.yaml:3: listener.bind: '::1:80': write IPv6 addresses in brackets"},
		{L1 "    balance: roundrobin\n" S1, "t.yaml:4: balance: only 'source' is supported"},
		{L1 "    hash_type: ring\n" S1, "t.yaml:4: hash_type: "},
		{L1 "    maxconn: 0\n" S1, "t.yaml:4: maxconn: 0 is out of range"},
		{L1 "    allbackups: 2\n" S1, "t.yaml:4: allbackups: expected true or false"},
		{L1 "    on_marked_down: kill\n" S1, "t.yaml:4: on_marked_down: expected shutdown-sessions or none"},
		{L1 "    timeouts: {client: 1s, idle: 2s}\n" S1, "t.yaml:4: timeouts: unknown key 'idle'"},
		{L1 "    timeouts: {connect: 0}\n" S1, "t.yaml:4: timeouts.connect: must be more than 0"},
		{L1 "    timeouts: {server: soon}\n" S1, "t.yaml:4: timeouts.server: 'soon' is not a duration"},
		{L1 "    check: {inter: 2s}\n" S1, "t.yaml:4: check: 'recipe' is required"},
		{L1 "    check: {recipe: r.yaml, inter: 0}\n" S1, "t.yaml:4: check.inter: must be more than 0"},
		{L1 "    check: {recipe: r.yaml, rise: 0}\n" S1, "t.yaml:4: check.rise: 0 is out of range (1 to 1000)"},
		{L1 "    check: {recipe: r.yaml, fall: -1}\n" S1, "t.yaml:4: check.fall: -1 is out of range"},
		{L1 "    check: {recipe: r.yaml, spread: 60}\n" S1, "t.yaml:4: check.spread: 60 is out of range (0 to 50)"},
		{L1 "    check: {recipe: r.yaml, port: 1}\n" S1, "t.yaml:4: check: unknown key 'port'"},
		{L1 "    check: {recipe: r.yaml, fastinter: 1d2}\n" S1, "t.yaml:4: check.fastinter:"},
		{L1 "    check: {recipe: r.yaml, downinter: 5w}\n" S1, "t.yaml:4: check.downinter:"},
		{L1 "    check: {recipe: r.yaml, timeout: 400y}\n" S1, "t.yaml:4: check.timeout:"},
		{L1 "    check: {recipe: [a]}\n" S1, "t.yaml:4: check.recipe: expected a single value"},
		{L1 "    servers:\n      - {address: \"127.0.0.1:2\"}\n", "t.yaml:5: server: 'name' is required"},
		{L1 "    servers:\n      - {name: s}\n", "t.yaml:5: server s: 'address' is required"},
		{L1 "    servers:\n      - {name: s, address: \"127.0.0.1:2\", weight: 257}\n",
		 "t.yaml:5: server.weight: 257 is out of range (0 to 256)"},
		{L1 "    servers:\n      - {name: s, address: \"127.0.0.1:2\", id: 0}\n", "t.yaml:5: server.id: 0 is out of range"},
		{L1 "    servers:\n      - {name: s, address: \"127.0.0.1:2\", backup: yes please}\n",
		 "t.yaml:5: server.backup: expected true or false"},
		{L1 "    servers:\n      - {name: s, address: \"127.0.0.1:2\", port: 3}\n", "t.yaml:5: server: unknown key 'port'"},
		{L1 "    servers:\n      - {name: s, address: \"127.0.0.1:2\"}\n      - {name: s, address: \"127.0.0.1:3\"}\n",
		 "t.yaml:6: server s: the name is already used in listener a (line 5)"},
		{L1 "    servers:\n      - {name: s, address: \"127.0.0.1:2\", id: 4}\n      - {name: t, address: \"127.0.0.1:3\", id: 4}\n",
		 "t.yaml:6: server t: id 4 is already used by server s"},
		{L1 "    servers:\n      - {name: s, address: \"127.0.0.1:2\", check: true}\n",
		 "t.yaml:5: server s: check: true needs a check on the listener"},
		{L1 "    servers:\n      - {name: s, address: \"127.0.0.1:2\", check: {inter: 1s}}\n",
		 "t.yaml:5: check: 'recipe' is required"},
		{L1 "    servers:\n      - {name: s, address: \"127.0.0.1:2\", check: {rise: 1, inter: 1}}\n",
		 "t.yaml:5: check: 'recipe' is required"},
		{L1 "    servers:\n      - {name: s, address: \"127.0.0.1:2\", check: {recipe: r.yaml, colour: 1}}\n",
		 "t.yaml:5: server.check: unknown key 'colour'"},
		{L1 "    servers:\n      - {name: s, address: \"127.0.0.1:2\", on_marked_down: maybe}\n",
		 "t.yaml:5: on_marked_down: expected shutdown-sessions or none"},
		{L1 "    servers:\n      - {name: s, address: \"no-such-host.invalid:2\"}\n", "t.yaml:5: server.address: 'no-such-host.invalid:2': cannot resolve"},
		{L1 S1 "  - name: a\n    bind: \"127.0.0.1:3\"\n" S1, "t.yaml:6: listener a: the name is already used (line 2)"},
		{L1 S1 "  - name: b\n    bind: \"127.0.0.1:1\"\n" S1, "t.yaml:6: listener b: bind 127.0.0.1:1 is already used by listener a"},
		{"stats: {bind: \"127.0.0.1:1\"}\n" L1 S1, "t.yaml:3: listener a: bind is the same address as stats.bind"},
		{"listeners:\n  - name: " "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n    bind: \":1\"\n" S1,
		 "t.yaml:2: listener.name: longer than 64 bytes"},
		{"- a\n- b\n", "t.yaml:1: top level: expected a mapping"},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		char err[ERR_LEN] = "";
		struct conf *c = load(cases[i].text, err);

		if (c || !strstr(err, cases[i].want)) {
			print_error("case %zu: want \"%s\"\n got \"%s\"\n", i, cases[i].want, c ? "(accepted)" : err);
			conf_free(c);
			fail();
		}
	}
}

static void file_and_recipes(void **state)
{
	char dir[] = "/tmp/test_conf.XXXXXX", path[256], rpath[256], err[ERR_LEN] = "";
	struct conf *c;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/recheckd.yaml", dir);
	snprintf(rpath, sizeof(rpath), "%s/missing.yaml", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(L1 "    check: {recipe: missing.yaml}\n" S1, f);
	fclose(f);
	/* A recipe that does not exist is an error naming the config line and the recipe path. */
	c = conf_load(path, 0, err, sizeof(err));
	assert_null(c);
	assert_non_null(strstr(err, "recheckd.yaml:4: check.recipe: "));
	assert_non_null(strstr(err, rpath));
	/* Without recipe loading, the path is resolved next to the config file. */
	c = conf_load(path, CONF_NO_RECIPES, err, sizeof(err));
	assert_non_null(c);
	assert_string_equal(c->listeners[0].check.recipe_path, rpath);
	conf_free(c);
	unlink(path);
	c = conf_load(path, 0, err, sizeof(err));
	assert_null(c);
	assert_non_null(strstr(err, path));
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_key),
		cmocka_unit_test(defaults),
		cmocka_unit_test(errors_name_the_line),
		cmocka_unit_test(file_and_recipes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Unit tests for recheckd's config loader (runner/conf.c, runner/conf_server.c): every key, the defaults,
 * every error with its line and column, and the shapes src/ytree.c refuses before the schema is looked at.
 */
#include "api.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "conf.h"

/* The check's intervals and timeout (ms), then rise and fall. */
static void assert_timing(const struct conf_check *c, long inter, long fastinter, long downinter, long timeout,
			  long rise, long fall)
{
	assert_int_equal(c->inter, inter);
	assert_int_equal(c->fastinter, fastinter);
	assert_int_equal(c->downinter, downinter);
	assert_int_equal(c->timeout, timeout);
	assert_int_equal(c->rise, rise);
	assert_int_equal(c->fall, fall);
}

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
		"    retries: 5\n"
		"    redispatch: true\n"
		"    on_marked_down: shutdown-sessions\n"
		"    timeouts: {client: 30s, server: 1m, connect: 500ms}\n"
		"    check: {recipe: socks5-204.yaml, inter: 2s, fastinter: 500ms, downinter: 10s, rise: 4,\n"
		"            fall: 5, timeout: 3s, spread: 10, observe: layer4, error_limit: 4}\n"
		"    servers:\n"
		"      - {name: vps1, address: \"127.0.0.1:11110\"}\n"
		"      - {name: vps2, address: \"127.0.0.1:11111\", weight: 2, id: 7}\n"
		"      - name: spare\n"
		"        address: \"[::1]:11112\"\n"
		"        backup: true\n"
		"        on_marked_down: none\n"
		"        check: {recipe: /abs/other.yaml, inter: 1s, rise: 1, on_error: mark-down}\n"
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
	assert_int_equal(l->retries, 5);
	assert_true(l->redispatch);
	assert_true(l->shutdown_sessions);
	assert_int_equal(l->timeout_client, 30000);
	assert_int_equal(l->timeout_server, 60000);
	assert_int_equal(l->timeout_connect, 500);
	assert_true(l->check.enabled);
	assert_string_equal(l->check.recipe_path, "/etc/recheck/socks5-204.yaml");
	assert_timing(&l->check, 2000, 500, 10000, 3000, 4, 5);
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
	assert_int_equal(s->check.observe, 1);        /* inherited, with error_limit */
	assert_int_equal(s->check.error_limit, 4);
	assert_int_equal(s->check.on_error, CONF_ONERR_MARKDWN);
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

/* stats.socket, the log mapping and an explicit maxconn (issue 11). */
static void runtime_keys(void **state)
{
	static const char text[] =
		"stats: {socket: /run/recheckd/admin.sock}\n"
		"log: {daemon: syslog, format: json, target: \"udp://127.0.0.1:514\", facility: local3,\n"
		"      syslog_format: rfc5424}\n"
		"listeners:\n"
		"  - {name: a, bind: \"127.0.0.1:1\", maxconn: 10000,\n"
		"     servers: [{name: s, address: \"127.0.0.1:2\"}]}\n"
		"  - {name: b, bind: \"127.0.0.1:3\", timeouts: {queue: 750ms},\n"
		"     servers: [{name: s, address: \"127.0.0.1:2\", maxconn: 2, maxqueue: 8}]}\n";
	char err[ERR_LEN] = "";
	struct conf *c = load(text, err);

	(void)state;
	assert_non_null(c);
	assert_string_equal(c->stats_socket, "/run/recheckd/admin.sock");
	assert_null(c->stats_bind); /* a socket alone opens no HTTP listener */
	assert_int_equal(c->log, CONF_LOG_SYSLOG);
	assert_int_equal(c->log_format, CONF_LOGF_JSON);
	assert_true(c->log_udp);
	assert_int_equal(c->log_facility, 19);
	assert_true(c->log_rfc5424);
	assert_true(c->listeners[0].maxconn_set);
	assert_false(c->listeners[1].maxconn_set);
	assert_int_equal(c->listeners[1].maxconn, 10000);
	/* per-server maxconn/maxqueue (0: none) and timeout queue (0: unset, timeout connect applies) */
	assert_int_equal(c->listeners[0].servers[0].maxconn, 0);
	assert_int_equal(c->listeners[0].servers[0].maxqueue, 0);
	assert_int_equal(c->listeners[0].timeout_queue, 0);
	assert_int_equal(c->listeners[1].servers[0].maxconn, 2);
	assert_int_equal(c->listeners[1].servers[0].maxqueue, 8);
	assert_int_equal(c->listeners[1].timeout_queue, 750);
	conf_free(c);
	c = load("listeners:\n  - {name: a, bind: \"127.0.0.1:1\", servers: [{name: s, address: \"127.0.0.1:2\"}]}\n", err);
	assert_non_null(c);
	assert_int_equal(c->log_format, CONF_LOGF_TCPLOG);
	assert_false(c->log_udp);
	assert_int_equal(c->log_facility, 16);
	assert_false(c->log_rfc5424);
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
	assert_int_equal(c->resolve_interval, 10000);
	assert_int_equal(c->nnameservers, 0);
	l = &c->listeners[0];
	assert_int_equal(l->hash, CONF_HASH_MAP_BASED);
	assert_false(l->allbackups);
	assert_int_equal(l->maxconn, 10000);
	assert_int_equal(l->retries, 3);
	assert_false(l->redispatch);
	assert_int_equal(l->timeout_client, 300000);
	assert_int_equal(l->timeout_server, 300000);
	assert_int_equal(l->timeout_connect, 5000);
	/* HAProxy: fastinter, downinter and the check timeout follow inter */
	assert_timing(&l->check, 4000, 4000, 4000, 4000, 2, 3);
	/* HAProxy: no observing; error-limit 10, on-error fail-check */
	assert_int_equal(l->check.observe, 0);
	assert_int_equal(l->check.error_limit, 10);
	assert_int_equal(l->check.on_error, CONF_ONERR_FAILCHK);
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
		{"", "t.yaml:1:1: the file is empty (expected a mapping with 'listeners')"},
		{"threads: [1\n", "t.yaml:2:1: YAML syntax error: did not find expected ',' or ']' (while parsing a flow sequence at line 1, column 10)"},
		{"bogus: 1\n" L1 S1, "t.yaml:1:1: top level: unknown key 'bogus' (expected one of: threads, stats, listeners, user, node, group, allow_root, relay, log, drain_timeout, resolve_interval, nameservers)"},
		{"threads: 1\nthreads: 2\n" L1 S1, "t.yaml:2:1: top level: duplicate key 'threads' (first at line 1)"},
		{"threads: 0\n" L1 S1, "t.yaml:1:10: threads: 0 is out of range (1 to 64)"},
		{"threads: two\n" L1 S1, "t.yaml:1:10: threads: 'two' is not a whole number"},
		{"relay: zerocopy\n" L1 S1, "t.yaml:1:8: relay: expected splice or copy, not 'zerocopy'"},
		{"log: file\n" L1 S1, "t.yaml:1:6: log: expected stderr or syslog, not 'file'"},
		{"log: {format: xml}\n" L1 S1, "t.yaml:1:15: log.format: expected tcplog, json or off, not 'xml'"},
		{"log: {target: \"tcp://1.2.3.4:5\"}\n" L1 S1, "log.target: expected stderr or udp://HOST:PORT"},
		{"log: {facility: local9}\n" L1 S1, "log.facility: expected kern,"},
		{"stats: {socket: rel.sock}\n" L1 S1, "t.yaml:1:17: stats.socket: 'rel.sock' is not an absolute path"},
		{"allow_root: maybe\n" L1 S1, "t.yaml:1:13: allow_root: expected true or false, not 'maybe'"},
		{"drain_timeout: 5x\n" L1 S1, "t.yaml:1:16: drain_timeout: '5x' has an unknown time unit 'x' (use us, ms, s, m, h or d)"},
		{"group: g\n" L1 S1, "t.yaml:1:1: group: needs 'user' as well"},
		{"stats: {bind: nowhere}\n" L1 S1, "t.yaml:1:15: stats.bind: 'nowhere': expected HOST:PORT, [IPV6]:PORT or :PORT"},
		{"stats: {port: 1}\n" L1 S1, "t.yaml:1:9: stats: unknown key 'port' (expected one of: bind, socket)"},
		{"threads: 1\n", "t.yaml:1:1: 'listeners' is required (at least one listener)"},
		{"listeners: []\n", "t.yaml:1:12: 'listeners' is empty"},
		{"listeners: {a: 1}\n", "t.yaml:1:12: listeners: expected a list"},
		{L1 S1 "    colour: red\n", "t.yaml:6:5: listener: unknown key 'colour' (expected one of: name, bind, balance, hash_type, allbackups, maxconn, timeouts, check, servers, on_marked_down, retries, redispatch, accept_proxy, slowstart)"},
		{"listeners:\n  - bind: \":1\"\n" S1, "t.yaml:2:5: listener: 'name' is required"},
		{"listeners:\n  - name: a\n" S1, "t.yaml:2:5: listener a: 'bind' is required"},
		{L1, "t.yaml:2:5: listener a: 'servers' is required (at least one server)"},
		{L1 "    servers: []\n", "t.yaml:4:14: listener a: 'servers' is empty"},
		{L1 "    bind: \":3\"\n" S1, "t.yaml:4:5: listener: duplicate key 'bind' (first at line 3)"},
		{"listeners:\n  - name: a\n    bind: \"1.2.3.4\"\n" S1, "t.yaml:3:11: listener.bind: '1.2.3.4': expected HOST:PORT, [IPV6]:PORT or :PORT"},
		{"listeners:\n  - name: a\n    bind: \"127.0.0.1:99999\"\n" S1, "t.yaml:3:11: listener.bind: '127.0.0.1:99999': the port must be a number from 0 to 65535"},
		{"listeners:\n  - name: a\n    bind: \"::1:80\"\n" S1, "t.yaml:3:11: listener.bind: '::1:80': write IPv6 addresses in brackets: [ADDR]:PORT"},
		{L1 "    balance: roundrobin\n" S1, "t.yaml:4:14: listener.balance: only 'source' is supported, not 'roundrobin'"},
		{L1 "    hash_type: ring\n" S1, "t.yaml:4:16: listener.hash_type: hash-type 'ring': the method must be 'map-based' or 'consistent' (got 'ring')"},
		{L1 "    maxconn: 0\n" S1, "t.yaml:4:14: listener.maxconn: 0 is out of range (1 to 1000000)"},
		{L1 "    allbackups: 2\n" S1, "t.yaml:4:17: listener.allbackups: expected true or false, not '2'"},
		{L1 "    on_marked_down: kill\n" S1, "t.yaml:4:21: listener.on_marked_down: expected shutdown-sessions or none, not 'kill'"},
		{L1 "    timeouts: {client: 1s, idle: 2s}\n" S1, "t.yaml:4:28: listener.timeouts: unknown key 'idle' (expected one of: client, server, connect, queue)"},
		{L1 "    timeouts: {connect: 0}\n" S1, "t.yaml:4:25: listener.timeouts.connect: must be more than 0"},
		{L1 "    timeouts: {server: soon}\n" S1, "t.yaml:4:24: listener.timeouts.server: 'soon' is not a duration (expected a number with an optional unit us, ms, s, m, h, d)"},
		{L1 "    check: {inter: 2s}\n" S1, "t.yaml:4:12: listener.check: 'recipe' is required (the recipe file this check replays)"},
		{L1 "    check: {recipe: r.yaml, inter: 0}\n" S1, "t.yaml:4:36: listener.check.inter: must be more than 0"},
		{L1 "    check: {recipe: r.yaml, rise: 0}\n" S1, "t.yaml:4:35: listener.check.rise: 0 is out of range (1 to 1000)"},
		{L1 "    check: {recipe: r.yaml, fall: -1}\n" S1, "t.yaml:4:35: listener.check.fall: -1 is out of range (1 to 1000)"},
		{L1 "    check: {recipe: r.yaml, spread: 60}\n" S1, "t.yaml:4:37: listener.check.spread: 60 is out of range (0 to 50)"},
		{L1 "    check: {recipe: r.yaml, port: 1}\n" S1, "t.yaml:4:29: listener.check: unknown key 'port' (expected one of: recipe, inter, fastinter, downinter, rise, fall, timeout, spread, observe, error_limit, on_error)"},
		{L1 "    check: {recipe: r.yaml, fastinter: 1d2}\n" S1, "t.yaml:4:40: listener.check.fastinter: '1d2' has an unknown time unit 'd2' (use us, ms, s, m, h or d)"},
		{L1 "    check: {recipe: r.yaml, downinter: 5w}\n" S1, "t.yaml:4:40: listener.check.downinter: '5w' has an unknown time unit 'w' (use us, ms, s, m, h or d)"},
		{L1 "    check: {recipe: r.yaml, timeout: 400y}\n" S1, "t.yaml:4:38: listener.check.timeout: '400y' has an unknown time unit 'y' (use us, ms, s, m, h or d)"},
		{L1 "    check: {recipe: [a]}\n" S1, "t.yaml:4:21: listener.check.recipe: expected a single value"},
		{L1 "    servers:\n      - {address: \"127.0.0.1:2\"}\n", "t.yaml:5:9: server: 'name' is required"},
		{L1 "    servers:\n      - {name: s}\n", "t.yaml:5:9: server s: 'address' is required"},
		{L1 "    servers:\n      - {name: s, address: \"127.0.0.1:2\", weight: 257}\n",
		 "t.yaml:5:51: server.weight: 257 is out of range (0 to 256)"},
		{L1 "    servers:\n      - {name: s, address: \"127.0.0.1:2\", id: 0}\n", "t.yaml:5:47: server.id: 0 is out of range (1 to 1048575)"},
		{L1 "    servers:\n      - {name: s, address: \"127.0.0.1:2\", backup: yes please}\n",
		 "t.yaml:5:51: server.backup: expected true or false, not 'yes please'"},
		{L1 "    servers:\n      - {name: s, address: \"127.0.0.1:2\", port: 3}\n", "t.yaml:5:43: server: unknown key 'port' (expected one of: name, address, weight, backup, id, on_marked_down, check, send_proxy, check_send_proxy, slowstart, maxconn, maxqueue, check_addr, socks4, check_via_socks4, disabled)"},
		{L1 "    servers:\n      - {name: s, address: \"127.0.0.1:2\", check_addr: db.example}\n",
		 "t.yaml:5:55: server.check_addr: 'db.example': not an IP address"},
		{L1 "    servers:\n      - {name: s, address: \"127.0.0.1:2\", socks4: \"127.0.0.1\"}\n",
		 "t.yaml:5:51: server.socks4: '127.0.0.1': expected IP:PORT"},
		{L1 "    servers:\n      - {name: s, address: \"[::1]:2\", socks4: \"127.0.0.1:3\"}\n",
		 "t.yaml:5:9: server s: 'socks4': a SOCKS4 proxy is asked for IPv4 addresses only"},
		{L1 "    servers:\n      - {name: s, address: \"127.0.0.1:2\"}\n      - {name: s, address: \"127.0.0.1:3\"}\n",
		 "t.yaml:6:9: server s: the name is already used in listener a (line 5)"},
		{L1 "    servers:\n      - {name: s, address: \"127.0.0.1:2\", id: 4}\n      - {name: t, address: \"127.0.0.1:3\", id: 4}\n",
		 "t.yaml:6:9: server t: id 4 is already used by server s"},
		{L1 "    servers:\n      - {name: s, address: \"127.0.0.1:2\", check: true}\n",
		 "t.yaml:5:50: server s: check: true needs a check on the listener (or give the server a check mapping with a recipe)"},
		{L1 "    servers:\n      - {name: s, address: \"127.0.0.1:2\", check: {inter: 1s}}\n",
		 "t.yaml:5:50: server.check: 'recipe' is required (the recipe file this check replays)"},
		{L1 "    servers:\n      - {name: s, address: \"127.0.0.1:2\", check: {rise: 1, inter: 1}}\n",
		 "t.yaml:5:50: server.check: 'recipe' is required (the recipe file this check replays)"},
		{L1 "    servers:\n      - {name: s, address: \"127.0.0.1:2\", check: {recipe: r.yaml, colour: 1}}\n",
		 "t.yaml:5:67: server.check: unknown key 'colour' (expected one of: recipe, inter, fastinter, downinter, rise, fall, timeout, spread, observe, error_limit, on_error)"},
		{L1 "    servers:\n      - {name: s, address: \"127.0.0.1:2\", on_marked_down: maybe}\n",
		 "t.yaml:5:59: server.on_marked_down: expected shutdown-sessions or none, not 'maybe'"},
		{L1 "    servers:\n      - {name: s, address: \"no-such-host.invalid\"}\n", "t.yaml:5:28: server.address: 'no-such-host.invalid': expected HOST:PORT, [IPV6]:PORT or :PORT"},
		{"nameservers: [\"ns.example\"]\n" L1 S1, "t.yaml:1:15: nameservers: 'ns.example:53': not an IP address"},
		{"nameservers: [\"::1\"]\n" L1 S1, "t.yaml:1:15: nameservers: '::1': write IPv6 addresses in brackets: [ADDR]:PORT"},
		{L1 S1 "  - name: a\n    bind: \"127.0.0.1:3\"\n" S1, "t.yaml:6:5: listener a: the name is already used (line 2)"},
		{L1 S1 "  - name: b\n    bind: \"127.0.0.1:1\"\n" S1, "t.yaml:6:5: listener b: bind 127.0.0.1:1 is already used by listener a"},
		{"stats: {bind: \"127.0.0.1:1\"}\n" L1 S1, "t.yaml:3:5: listener a: bind is the same address as stats.bind"},
		{"listeners:\n  - name: " "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n    bind: \":1\"\n" S1,
		 "t.yaml:2:11: listener.name: longer than 64 bytes"},
		{"- a\n- b\n", "t.yaml:1:1: top level: expected a mapping"},
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

/* What ytree refuses before the schema: aliases (billion laughs), tags, depth, node count, documents. */
static void hostile_shapes(void **state)
{
	static const struct {
		const char *text;
		const char *want;
	} cases[] = {
		{"threads: &a 1\n" L1 S1, "t.yaml:1:10: anchors (&a) are not supported in recheckd configurations"},
		{"threads: *a\n" L1 S1, "t.yaml:1:10: aliases (*a) are not supported in recheckd configurations"},
		{"threads: !!int 1\n" L1 S1, "t.yaml:1:10: tags (tag:yaml.org,2002:int) are not supported in recheckd "
		 "configurations"},
		{L1 S1 "---\nthreads: 1\n", "t.yaml:6:1: a recheckd configuration file holds one YAML document"},
		{"threads: \"\xff\"\n" L1 S1, "t.yaml:1:11: invalid leading UTF-8 octet (byte 0xff); recheckd "
		 "configurations are UTF-8 text"},
		{"threads: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n",
		 "t.yaml:1:41: nesting deeper than 32 levels: this is not a recheckd configuration"},
	};
	char err[ERR_LEN];
	struct conf *c;
	size_t i, n = 300001;
	char *big;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		c = load(cases[i].text, err);
		if (c || !strstr(err, cases[i].want)) {
			print_error("case %zu: want \"%s\"\n got \"%s\"\n", i, cases[i].want, c ? "(accepted)" : err);
			conf_free(c);
			fail();
		}
	}
	/* One node more than the cap, in a file under the size cap. */
	big = malloc(CONF_MAX_FILE + 16); /* read only up to the first NUL, or refused by size */
	assert_non_null(big);
	memcpy(big, "threads: [", 10);
	for (i = 0; i < n; i++)
		memcpy(big + 10 + 2 * i, "1,", 2);
	memcpy(big + 10 + 2 * n, "]\n", 3);
	c = load(big, err);
	assert_null(c);
	assert_non_null(strstr(err, "more than 300000 YAML nodes: this is not a recheckd configuration"));
	/* Over the file cap. */
	c = conf_load_mem(big, CONF_MAX_FILE + 1, "t.yaml", ".", CONF_NO_RECIPES, err, sizeof(err));
	assert_null(c);
	assert_non_null(strstr(err, "t.yaml: 1048577 bytes is more than the 1048576-byte limit"));
	free(big);
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
	assert_non_null(strstr(err, "recheckd.yaml:4:21: listener.check.recipe: "));
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
		cmocka_unit_test(runtime_keys),
		cmocka_unit_test(errors_name_the_line),
		cmocka_unit_test(hostile_shapes),
		cmocka_unit_test(file_and_recipes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

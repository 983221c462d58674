/*
 * test_conf_haproxy: recheckd's configuration read from an HAProxy 2.6 file (runner/conf_haproxy.c):
 * the seed's sections, defaults and default-server inheritance, frontend + backend, and the errors and
 * warnings that name FILE:LINE and the directive.
 */
#include "api.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"
#include "conf.h"
#include "net.h"
#include "recipe.h"
#include "recipe_haproxy.h"
#include "seed_cfg.h"
#include "recipe-t.h"

static char err[ERR_LEN];

static struct conf *load(const char *text)
{
	err[0] = '\0';
	return conf_load_mem(text, strlen(text), "h.cfg", "/etc/recheck", 0, err, sizeof(err));
}

static const char seed[] =
	SEED_SOCKS5_CONNECT
	"#tcp-check send-binary 4745\n"
	"tcp-check send GET\\ /generate_204\\ HTTP/1.1\\r\\n\n"
	"tcp-check send Host:\\ client3.google.com\\r\\n\n"
	"tcp-check send \\r\\n\n"
	"tcp-check expect rstring ^HTTP/1.1\\ 204\n"
	"balance source\n"
	"hash-type consistent # optional\n"
	"server xxx1 127.0.0.1:11110 check\n"
	"server xxx2 127.0.0.1:11111 check backup\n"
	SEED_HTTP_HEAD
	"hash-type consistent # optional\n"
	"server xxx1 127.0.0.1:11120 check\n"
	"server xxx2 127.0.0.1:11121 check backup\n";

static void seed_sections(void **state)
{
	struct conf *c = load(seed);
	const struct conf_listener *li;

	if (!c)
		fail_msg("%s", err);
	assert_int_equal(c->nlisteners, 2);
	assert_int_equal(c->nrecipes, 2);
	li = conf_listener_find(c, "ha-socks5");
	assert_non_null(li);
	assert_string_equal(li->bind, "127.0.0.1:1080");
	assert_int_equal(li->hash, CONF_HASH_CONSISTENT);
	assert_true(li->avalanche);
	assert_int_equal(li->nservers, 2);
	assert_true(li->servers[1].backup);
	assert_true(li->servers[0].check.enabled);
	assert_int_equal(li->servers[0].check.inter, 2000);
	assert_int_equal(li->servers[0].check.rise, 2);
	assert_int_equal(li->servers[0].check.fall, 3);
	assert_int_equal(li->servers[0].check.timeout, 2000);
	assert_ptr_equal(li->servers[0].check.rcp, li->servers[1].check.rcp);
	assert_int_equal(li->servers[0].check.rcp->nsteps, 9);
	li = conf_listener_find(c, "ha-http");
	assert_string_equal(li->bind, "[::]:1081");
	assert_int_equal(li->addr.ss_family, AF_INET6);
	assert_int_equal(li->servers[0].check.rcp->kind, RECIPE_HTTP);
	assert_int_equal(li->servers[0].check.rcp->req.nhdrs, 3);
	conf_free(c);
}

static void defaults_and_frontends(void **state)
{
	struct conf *c = load("global\n"
			      "    nbthread 3\n"
			      "    user nobody\n"
			      "    maxconn 77\n"
			      "    spread-checks 5\n"
			      "    log stdout format raw local0\n"
			      "defaults\n"
			      "    mode tcp\n"
			      "    log global\n"
			      "    option dontlognull\n"
			      "    option log-health-checks\n"
			      "    timeout connect 1s\n"
			      "    timeout client 3s\n"
			      "    timeout server 4s\n"
			      "    timeout check 700ms\n"
			      "    balance source\n"
			      "    retries 5\n"
			      "    option redispatch\n"
			      "    default-server inter 1s fastinter 300 rise 1 fall 4 weight 3 observe layer4 slowstart 4s\n"
			      "frontend fe\n"
			      "    bind 127.0.0.1:2000 accept-proxy\n"
			      "    default_backend be\n"
			      "backend be\n"
			      "    hash-type map-based sdbm avalanche\n"
			      "    option allbackups\n"
			      "    server a 127.0.0.1:1 check weight 5 id 9 error-limit 4 on-error sudden-death\n"
			      "    server b 127.0.0.1:2 check downinter 5s backup on-marked-down shutdown-sessions send-proxy-v2\n"
			      "    server c 127.0.0.1:3 slowstart 1500\n"
			      "backend unused\n"
			      "    server z 127.0.0.1:4\n");
	const struct conf_listener *li;

	if (!c)
		fail_msg("%s", err);
	assert_int_equal(c->threads, 3);
	assert_string_equal(c->user, "nobody");
	assert_int_equal(c->nlisteners, 1);
	li = &c->listeners[0];
	assert_string_equal(li->name, "fe");
	assert_int_equal(li->maxconn, 77);
	assert_int_equal(li->timeout_client, 3000);
	assert_int_equal(li->timeout_server, 4000);
	assert_int_equal(li->timeout_connect, 1000);
	assert_true(li->allbackups);
	assert_int_equal(li->retries, 5);
	assert_true(li->redispatch);
	assert_true(li->accept_proxy);
	assert_true(li->maxconn_set);
	assert_int_equal(li->servers[1].send_proxy, 2);
	assert_true(li->servers[1].check_send_proxy);
	assert_int_equal(li->servers[0].send_proxy, 0);
	assert_int_equal(li->servers[0].slowstart, 4000); /* from default-server */
	assert_int_equal(li->servers[2].slowstart, 1500); /* HAProxy: a bare number is milliseconds */
	assert_true(li->avalanche);
	assert_int_equal(li->hash, CONF_HASH_MAP_BASED);
	assert_int_equal(li->servers[0].weight, 5);
	assert_int_equal(li->servers[0].id, 9);
	assert_int_equal(li->servers[0].check.inter, 1000);
	assert_int_equal(li->servers[0].check.fastinter, 300);
	assert_int_equal(li->servers[0].check.downinter, 1000);
	assert_int_equal(li->servers[0].check.timeout, 700);
	assert_int_equal(li->servers[0].check.rise, 1);
	assert_int_equal(li->servers[0].check.fall, 4);
	assert_int_equal(li->servers[0].check.observe, 1);
	assert_int_equal(li->servers[0].check.error_limit, 4);
	assert_int_equal(li->servers[0].check.on_error, CONF_ONERR_SUDDTH);
	assert_int_equal(li->servers[1].check.error_limit, 10);
	assert_int_equal(li->servers[1].check.on_error, CONF_ONERR_FAILCHK);
	assert_int_equal(li->servers[0].check.spread, 5);
	/* a plain `check` with no check option: the connect-only recipe */
	assert_int_equal(li->servers[0].check.rcp->nsteps, 1);
	assert_int_equal(li->servers[1].check.downinter, 5000);
	assert_true(li->servers[1].shutdown_sessions);
	assert_int_equal(li->servers[1].weight, 3);
	assert_false(li->servers[2].check.enabled);
	assert_non_null(c->warnings);
	assert_non_null(strstr(c->warnings, "h.cfg:10: 'option dontlognull' is ignored"));
	assert_non_null(strstr(c->warnings, "h.cfg:29: backend unused is used by no frontend"));
	conf_free(c);
}

static void errors_name_file_line_directive(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{"listen l\n  bind 127.0.0.1:1\n  balance roundrobin\n", "h.cfg:3: 'balance roundrobin'"},
		{"listen l\n  bind 127.0.0.1:1\n  server s 127.0.0.1:2\n", "h.cfg:1: listen l: HAProxy's default balance is roundrobin"},
		{"listen l\n  mode http\n", "h.cfg:2: 'mode http'"},
		{"global\n  stats socket run/h.sock\n", "h.cfg:2: 'stats socket run/h.sock': an absolute path"},
		{"defaults\n  retries 300\n", "h.cfg:2: 'retries' expects an integer from 0 to 100"},
		{"global\n  chroot /x\n", "h.cfg:2: global 'chroot' is not supported"},
		{"listen l\n  bind 127.0.0.1:1\n  balance source\n  server s 127.0.0.1:2 check addr db.example\n",
		 "h.cfg:4: server 'addr' expects an IP address"},
		{"listen l\n  bind 127.0.0.1:1\n  balance source\n  server s [::1]:2 check socks4 127.0.0.1:3\n",
		 "h.cfg:4: server s: 'socks4': a SOCKS4 proxy is asked for IPv4 addresses only"},
		{"listen l\n  bind 127.0.0.1:1\n  balance source\n  server s 127.0.0.1:2 check ssl verify none\n",
		 "h.cfg:4: server 'ssl' encrypts the traffic"},
		{"listen l\n  bind 127.0.0.1:1\n  balance source\n  server s 127.0.0.1:2 maxconn -1\n",
		 "h.cfg:4: 'maxconn' expects an integer from 0 to 1000000"},
		{"listen l\n  bind 127.0.0.1:1\n  balance source\n  server s 127.0.0.1:2 maxqueue x\n",
		 "h.cfg:4: 'maxqueue' expects an integer"},
		{"listen l\n  timeout tarpit 1s\n", "h.cfg:2: 'timeout tarpit' is not supported by recheckd (client, server, "
		 "connect, queue, check)"},
		{"listen l\n  bind 127.0.0.1:1 v4v6\n", "h.cfg:2: bind option 'v4v6'"},
		{"listen l\n  bind 127.0.0.1:1\n  balance source\n  option mysql-check\n  server s 127.0.0.1:2 check\n",
		 "h.cfg:4: section 'l' uses 'option mysql-check'"},
		{"listen l\n  bind 127.0.0.1:1\n  balance source\n  option tcp-check\n  tcp-check send-lf x\n"
		 "  server s 127.0.0.1:2 check\n", "h.cfg:5: tcp-check step 1: 'send-lf'"},
		{"frontend f\n  bind 127.0.0.1:1\n  default_backend nope\n", "h.cfg:3: frontend f: no backend named 'nope'"},
		{"frontend f\n  bind 127.0.0.1:1\n  use_backend b if TRUE\n", "h.cfg:3: 'use_backend' is not supported"},
		{"global\nuserlist u\n", "h.cfg:2: 'userlist' sections are not supported"},
		{"listen l\n  bind 127.0.0.1:1\n  balance source\n  server s 127.0.0.1:2\n  server s 127.0.0.1:3\n",
		 "h.cfg:5: server 's' is already declared"},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct conf *c = load(cases[i].text);

		if (c || !strstr(err, cases[i].want))
			fail_msg("case %zu: got '%s', want '%s'", i, c ? "a config" : err, cases[i].want);
	}
}

static void stats_section(void **state)
{
	struct conf *c = load("listen stats\n  bind 127.0.0.1:9404\n  mode http\n  stats enable\n  stats uri /s\n"
			      "listen l\n  bind 127.0.0.1:1\n  balance source\n  server s 127.0.0.1:2\n");

	if (!c)
		fail_msg("%s", err);
	assert_true(c->stats);
	assert_string_equal(c->stats_bind, "127.0.0.1:9404");
	assert_int_equal(c->nlisteners, 1);
	assert_non_null(strstr(c->warnings, "h.cfg:5: 'stats uri' is ignored"));
	conf_free(c);
	c = load("listen l\n  bind 127.0.0.1:1\n  mode http\n  balance source\n  server s 127.0.0.1:2\n");
	assert_null(c);
	assert_non_null(strstr(err, "h.cfg:3: 'mode http'"));
}

/* Per-server check settings: addr, socks4 + check-via-socks4, disabled; global node. */
static void server_check_settings(void **state)
{
	struct conf *c = load("global\n  node lb7\nlisten l\n  bind 127.0.0.1:1\n  balance source\n  option tcp-check\n"
			      "  server a 127.0.0.1:2 check addr 127.0.0.3:9 send-proxy\n"
			      "  server b 127.0.0.1:4 check socks4 127.0.0.1:5 check-via-socks4 disabled\n"
			      "  server c 127.0.0.1:6 check socks4 127.0.0.1:5\n");
	const struct conf_server *a, *b, *cc;

	(void)state;
	if (!c)
		fail_msg("%s", err);
	assert_string_equal(c->node, "lb7");
	a = &c->listeners[0].servers[0];
	b = &c->listeners[0].servers[1];
	cc = &c->listeners[0].servers[2];
	assert_int_equal(a->check_addr.ss_family, AF_INET);
	assert_int_equal(net_port_of(&a->check_addr), 9);
	/* as with `port`, a check elsewhere no longer gets the PROXY header send-proxy implies */
	assert_int_equal(a->send_proxy, 1);
	assert_false(a->check_send_proxy);
	assert_false(a->disabled);
	assert_int_equal(a->socks4len, 0);
	assert_int_equal(net_port_of(&b->socks4), 5);
	assert_true(b->check_via_socks4);
	assert_true(b->disabled);
	assert_int_equal(b->check_addrlen, 0);
	assert_int_equal(net_port_of(&cc->socks4), 5);
	assert_false(cc->check_via_socks4);
	/* the shared recipe keeps none of it: recheckd applies them per server */
	assert_int_equal(a->check.rcp->steps[0].addrlen, 0);
	assert_int_equal(a->check.rcp->steps[0].socks4len, 0);
	conf_free(c);
}

/* recheck export --config: the HAProxy form of a YAML configuration reads back as the same one. */
static void export_round_trip(void **state)
{
	static const char yaml[] =
		"threads: 3\n"
		"user: nobody\n"
		"log: syslog\n"
		"stats: {bind: \"127.0.0.1:9100\", socket: /run/recheck-t.sock}\n"
		"listeners:\n"
		"  - name: socks\n"
		"    bind: \"127.0.0.1:9101\"\n"
		"    hash_type: consistent\n"
		"    allbackups: true\n"
		"    maxconn: 40\n"
		"    retries: 1\n"
		"    redispatch: true\n"
		"    accept_proxy: true\n"
		"    slowstart: 20s\n"
		"    timeouts: {client: 30s, server: 1m, connect: 700ms, queue: 2500ms}\n"
		"    check: {recipe: socks5-generate-204.yaml, inter: 3s, fastinter: 1s, rise: 4, fall: 2, timeout: 2s, spread: 7}\n"
		"    servers:\n"
		"      - {name: a, address: \"127.0.0.1:9102\", weight: 3, id: 4, send_proxy: v1, check_send_proxy: true}\n"
		"      - {name: b, address: \"[::1]:9103\", backup: true, on_marked_down: shutdown-sessions}\n"
		"      - {name: c, address: \"127.0.0.1:9104\", check: false, slowstart: 0s, maxconn: 5, maxqueue: 9}\n"
		"  - name: web\n"
		"    bind: \"[::1]:9105\"\n"
		"    hash_type: map-based sdbm avalanche\n"
		"    check: {recipe: http-proxy-generate-204.yaml, inter: 500ms, spread: 7}\n"
		"    servers:\n"
		"      - {name: w, address: \"127.0.0.1:9106\", weight: 0}\n";
	const char *src = getenv("RECHECK_SOURCE_DIR");
	char dir[4096], e2[ERR_LEN];
	struct conf *a, *b;
	struct buf out;
	size_t i, j;

	snprintf(dir, sizeof(dir), "%s/samples", src ? src : ".");
	a = conf_load_mem(yaml, strlen(yaml), "r.yaml", dir, 0, err, sizeof(err));
	if (!a)
		fail_msg("%s", err);
	buf_init(&out, 1u << 20);
	if (conf_export_haproxy(a, &out, err, sizeof(err)) == -1)
		fail_msg("%s", err);
	assert_int_equal(a->listeners[0].servers[0].slowstart, 20000); /* the listener's default */
	assert_int_equal(a->listeners[0].servers[2].slowstart, 0);
	assert_non_null(strstr(buf_cstr(&out), "server a 127.0.0.1:9102 weight 3 id 4 slowstart 20s"));
	b = conf_load_mem((const char *)out.data, out.len, "r.cfg", NULL, 0, e2, sizeof(e2));
	if (!b)
		fail_msg("%s\n%.*s", e2, (int)out.len, (const char *)out.data);
	assert_int_equal(a->threads, b->threads);
	assert_string_equal(a->user, b->user);
	assert_int_equal(a->log, b->log);
	assert_string_equal(a->stats_bind, b->stats_bind);
	assert_string_equal(a->stats_socket, b->stats_socket);
	assert_int_equal(a->nlisteners, b->nlisteners);
	for (i = 0; i < a->nlisteners; i++) {
		const struct conf_listener *x = &a->listeners[i], *y = &b->listeners[i];

		assert_string_equal(x->name, y->name);
		assert_string_equal(x->bind, y->bind);
		assert_int_equal(x->hash, y->hash);
		assert_int_equal(x->avalanche, y->avalanche);
		assert_int_equal(x->allbackups, y->allbackups);
		assert_int_equal(x->maxconn, y->maxconn);
		assert_int_equal(x->maxconn_set, y->maxconn_set);
		assert_int_equal(x->retries, y->retries);
		assert_int_equal(x->redispatch, y->redispatch);
		assert_int_equal(x->accept_proxy, y->accept_proxy);
		assert_int_equal(x->timeout_client, y->timeout_client);
		assert_int_equal(x->timeout_server, y->timeout_server);
		assert_int_equal(x->timeout_connect, y->timeout_connect);
		assert_int_equal(x->timeout_queue, y->timeout_queue);
		assert_int_equal(x->nservers, y->nservers);
		for (j = 0; j < x->nservers; j++) {
			const struct conf_server *s = &x->servers[j], *t = &y->servers[j];
			struct buf ra, rb;

			assert_string_equal(s->name, t->name);
			assert_string_equal(s->address, t->address);
			assert_int_equal(s->weight, t->weight);
			assert_int_equal(s->backup, t->backup);
			assert_int_equal(s->maxconn, t->maxconn);
			assert_int_equal(s->maxqueue, t->maxqueue);
			assert_int_equal(s->id, t->id);
			assert_int_equal(s->shutdown_sessions, t->shutdown_sessions);
			assert_int_equal(s->send_proxy, t->send_proxy);
			assert_int_equal(s->check_send_proxy, t->check_send_proxy);
			assert_int_equal(s->slowstart, t->slowstart);
			assert_int_equal(s->check.enabled, t->check.enabled);
			if (!s->check.enabled)
				continue;
			assert_int_equal(s->check.inter, t->check.inter);
			assert_int_equal(s->check.fastinter, t->check.fastinter);
			assert_int_equal(s->check.downinter, t->check.downinter);
			assert_int_equal(s->check.timeout, t->check.timeout);
			assert_int_equal(s->check.rise, t->check.rise);
			assert_int_equal(s->check.fall, t->check.fall);
			assert_int_equal(s->check.spread, t->check.spread);
			/* the same check: the same HAProxy lines */
			buf_init(&ra, 1u << 20);
			buf_init(&rb, 1u << 20);
			assert_int_equal(haproxy_export(s->check.rcp, &(struct haproxy_export_opts){0}, &ra, err, sizeof(err)), 0);
			assert_int_equal(haproxy_export(t->check.rcp, &(struct haproxy_export_opts){0}, &rb, err, sizeof(err)), 0);
			{
				/* the first line names the recipe: the file's name, the section's name */
				const char *pa = memchr(ra.data, '\n', ra.len), *pb = memchr(rb.data, '\n', rb.len);
				size_t la = ra.len - (size_t)(pa - (const char *)ra.data);
				size_t lb = rb.len - (size_t)(pb - (const char *)rb.data);

				if (la != lb || memcmp(pa, pb, la))
					fail_msg("%.*s\n----\n%.*s", (int)ra.len, (char *)ra.data, (int)rb.len,
						 (char *)rb.data);
			}
			buf_free(&ra);
			buf_free(&rb);
		}
	}
	buf_free(&out);
	conf_free(a);
	conf_free(b);
}

static void detection(void **state)
{
	assert_true(conf_is_haproxy("# c\n\n  global\n", 13));
	assert_true(conf_is_haproxy("listen x\n", 9));
	assert_false(conf_is_haproxy("listeners:\n", 11));
	assert_false(conf_is_haproxy("threads: 2\n", 11));
	assert_false(conf_is_haproxy("", 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(seed_sections),
		cmocka_unit_test(defaults_and_frontends),
		cmocka_unit_test(errors_name_file_line_directive),
		cmocka_unit_test(stats_section),
		cmocka_unit_test(server_check_settings),
		cmocka_unit_test(export_round_trip),
		cmocka_unit_test(detection),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

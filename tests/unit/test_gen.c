/*
 * Unit tests for recheckd's generations (runner/gen.c): what a reload keeps and what it replaces.
 * conf.c and gen.c come from recheckd_core_ut, the library of runner/ that tests link.
 */
#include "api.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "conf.h"
#include "daemon.h"
#include "lb.h"
#include "net.h"

/* A config with one listener on a free loopback port and the given servers. */
static struct conf *make(int port, const char *servers, const char *extra)
{
	char text[2048], err[ERR_LEN] = "";
	struct conf *c;

	snprintf(text, sizeof(text),
		 "listeners:\n"
		 "  - name: pool\n"
		 "    bind: \"127.0.0.1:%d\"\n"
		 "%s"
		 "    servers:\n%s",
		 port, extra, servers);
	c = conf_load_mem(text, strlen(text), "t.yaml", ".", CONF_NO_RECIPES, err, sizeof(err));
	if (!c)
		print_error("%s\n", err);
	assert_non_null(c);
	return c;
}

static int free_port(void)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char err[ERR_LEN];
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = net_listen((struct sockaddr *)&sin, sizeof(sin), 1, false, err, sizeof(err)), port;

	assert_true(fd >= 0);
	assert_int_equal(net_local_addr(fd, &ss, &len), 0);
	port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	close(fd);
	return port;
}

/* The server the balancer gives a client at 127.0.0.9. */
static struct rserver *pick(struct listener *li)
{
	struct sockaddr_in src = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000009)};
	struct server *s = lb_pick(li->lb, (struct sockaddr *)&src);

	return s ? container_of(s, struct rserver, srv) : NULL;
}

#define SA "      - {name: a, address: \"127.0.0.1:1001\"}\n"
#define SB "      - {name: b, address: \"127.0.0.1:1002\"}\n"
#define SC "      - {name: c, address: \"127.0.0.1:1003\", weight: 3}\n"
#define CHECK "    check: {recipe: r.yaml, rise: 2, fall: 2}\n"

static void reload_keeps_unchanged(void **state)
{
	char err[ERR_LEN] = "";
	int port = free_port(), fd0, i;
	struct gen *g1, *g2;
	struct listener *l1, *l2;
	struct rserver *a1, *b1;

	g1 = gen_build(make(port, SA SB, CHECK), NULL, 2, err, sizeof(err));
	assert_non_null(g1);
	l1 = g1->li[0];
	assert_int_equal(l1->nfds, 2);
	assert_true(l1->fds[0] >= 0 && l1->fds[1] >= 0);
	fd0 = l1->fds[0];
	a1 = listener_server(l1, "a");
	b1 = listener_server(l1, "b");
	assert_non_null(a1);
	/* HAProxy's start state with a check: up, one failure from down ("UP 1/2") */
	assert_int_equal(a1->srv.state, SRV_ST_RUNNING);
	/* two failures take a down */
	for (i = 0; i < 2; i++)
		lb_check_result(l1->lb, &a1->srv, SRV_CHK_FAILED, 1000, NULL);
	assert_int_equal(a1->srv.state, SRV_ST_STOPPED);
	assert_ptr_equal(pick(l1), b1);

	/* b leaves, c arrives, a is unchanged: same object, still down; the socket carries over */
	g2 = gen_build(make(port, SA SC, CHECK), g1, 2, err, sizeof(err));
	assert_non_null(g2);
	l2 = g2->li[0];
	assert_ptr_equal(listener_server(l2, "a"), a1);
	assert_int_equal(a1->srv.state, SRV_ST_STOPPED);
	assert_null(listener_server(l2, "b"));
	assert_int_equal(listener_server(l2, "c")->srv.state, SRV_ST_RUNNING);
	assert_int_equal(listener_server(l2, "c")->srv.weight, 3);
	assert_int_equal(l2->fds[0], fd0);
	assert_int_equal(l1->fds[0], -1);
	assert_ptr_equal(pick(l2), listener_server(l2, "c"));
	gen_unref(g1);
	/* a's address changes: a new object, in the start state again */
	g1 = gen_build(make(port, "      - {name: a, address: \"127.0.0.1:2001\"}\n" SC, CHECK), g2, 2, err,
		       sizeof(err));
	assert_non_null(g1);
	assert_ptr_not_equal(listener_server(g1->li[0], "a"), a1);
	assert_int_equal(listener_server(g1->li[0], "a")->srv.state, SRV_ST_RUNNING);
	gen_unref(g2);
	gen_unref(g1);
}

static void failed_build_leaves_old_untouched(void **state)
{
	char err[ERR_LEN] = "", text[512];
	int port = free_port(), busy_port = free_port(), busy;
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct gen *g1, *g2;
	struct conf *c;

	g1 = gen_build(make(port, SA, ""), NULL, 1, err, sizeof(err));
	assert_non_null(g1);
	/* a second listener on a port held without SO_REUSEPORT cannot bind */
	sin.sin_port = htons((uint16_t)busy_port);
	busy = net_listen((struct sockaddr *)&sin, sizeof(sin), 1, false, err, sizeof(err));
	assert_true(busy >= 0);
	snprintf(text, sizeof(text),
		 "listeners:\n  - name: pool\n    bind: \"127.0.0.1:%d\"\n    servers:\n" SA
		 "  - name: other\n    bind: \"127.0.0.1:%d\"\n    servers:\n" SB,
		 port, busy_port);
	c = conf_load_mem(text, strlen(text), "t.yaml", ".", CONF_NO_RECIPES, err, sizeof(err));
	assert_non_null(c);
	g2 = gen_build(c, g1, 1, err, sizeof(err));
	assert_null(g2);
	assert_non_null(strstr(err, "t.yaml:6: listener other: 127.0.0.1:"));
	assert_non_null(strstr(err, "cannot bind"));
	conf_free(c);
	/* the running listener still owns its socket */
	assert_true(g1->li[0]->fds[0] >= 0);
	assert_int_equal(g1->li[0]->refs, 1);
	assert_int_equal(listener_server(g1->li[0], "a")->refs, 1);
	close(busy);
	gen_unref(g1);
}

static void sessions_keep_objects_alive(void **state)
{
	char err[ERR_LEN] = "";
	int port = free_port();
	struct gen *g = gen_build(make(port, SA, ""), NULL, 1, err, sizeof(err));
	struct listener *li;
	struct rserver *a;

	assert_non_null(g);
	li = g->li[0];
	a = li->srv[0];
	/* a session holds both, as frontend.c does */
	listener_ref(li);
	rserver_ref(a);
	gen_unref(g);
	assert_int_equal(li->refs, 1);
	assert_string_equal(a->srv.name, "a");
	rserver_unref(a);
	listener_unref(li);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reload_keeps_unchanged),
		cmocka_unit_test(failed_build_leaves_old_untouched),
		cmocka_unit_test(sessions_keep_objects_alive),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

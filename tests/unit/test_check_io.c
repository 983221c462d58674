/*
 * Unit tests for the one socket driver of check runs (src/check_io.c) through checknet.c's poll() loop,
 * against loopback sockets: the one classification of local failures (a full fd table gives no verdict,
 * never a SOCKERR), the one TCP_NODELAY policy, the close with RST unless linger, HAProxy's SOCKS4
 * exchange on a connect through a proxy, and a connect's PROXY header (after the SOCKS4 grant; one
 * header when the driver has check-send-proxy's too).
 */
#include "api.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "check.h"
#include "check_io.h"
#include "checknet.h"
#include "net.h"
#include "recipe.h"

struct peer {
	int lfd;
	struct checknet_addr addr;
};

static void peer_open(struct peer *p)
{
	struct sockaddr_in *in = (struct sockaddr_in *)(void *)&p->addr.ss;

	memset(p, 0, sizeof(*p));
	p->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_not_equal(p->lfd, -1);
	in->sin_family = AF_INET;
	in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	p->addr.len = sizeof(*in);
	assert_int_equal(bind(p->lfd, (struct sockaddr *)in, p->addr.len), 0);
	assert_int_equal(listen(p->lfd, 8), 0);
	assert_int_equal(getsockname(p->lfd, (struct sockaddr *)in, &p->addr.len), 0);
	snprintf(p->addr.host, sizeof(p->addr.host), "127.0.0.1");
	p->addr.port = ntohs(in->sin_port);
}

static struct recipe *connect_send_recipe(bool linger)
{
	struct recipe *r = recipe_new(RECIPE_TCP);
	struct step *s;
	char err[ERR_LEN];

	assert_non_null(r);
	s = recipe_add_step(r, STEP_CONNECT);
	assert_non_null(s);
	s->linger = linger;
	s = recipe_add_step(r, STEP_SEND);
	assert_non_null(s);
	assert_int_equal(step_set_data(s, "ping", 4), 0);
	assert_int_equal(recipe_compile(r, err, sizeof(err)), 0);
	return r;
}

static void classification(void **state)
{
	(void)state;
	/* ours: no fd, no memory, no local port */
	assert_true(check_io_err_is_local(EMFILE));
	assert_true(check_io_err_is_local(ENFILE));
	assert_true(check_io_err_is_local(ENOMEM));
	assert_true(check_io_err_is_local(ENOBUFS));
	assert_true(check_io_err_is_local(EADDRNOTAVAIL));
	/* the server's or the network's */
	assert_false(check_io_err_is_local(ECONNREFUSED));
	assert_false(check_io_err_is_local(ECONNRESET));
	assert_false(check_io_err_is_local(ETIMEDOUT));
	assert_false(check_io_err_is_local(EHOSTUNREACH));
	assert_false(check_io_err_is_local(ENETUNREACH));
	assert_false(check_io_err_is_local(EPIPE));
}

/* With the fd table full, the run has no verdict and checknet says why; nothing counts as SOCKERR. */
static void full_fd_table_is_local(void **state)
{
	struct recipe *r = connect_send_recipe(false);
	struct check_run run;
	struct rlimit old, low;
	struct peer p;
	char err[ERR_LEN] = "";
	int spare, rc;

	(void)state;
	peer_open(&p);
	assert_int_equal(check_run_init(&run, r), 0);
	spare = dup(0);
	assert_int_not_equal(spare, -1);
	close(spare);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = (rlim_t)spare; /* the next socket() would need fd number `spare` */
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	rc = checknet_run(&run, &p.addr, 1000, err, sizeof(err));
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_int_equal(rc, -1);
	assert_string_equal(err, "socket: Too many open files");
	assert_int_equal(run.res.status, CHECK_INI);
	check_run_free(&run);

	/* and with room again, the same run passes */
	assert_int_equal(check_run_init(&run, r), 0);
	assert_int_equal(checknet_run(&run, &p.addr, 1000, err, sizeof(err)), 0);
	assert_int_equal(run.res.status, CHECK_L7OK);
	check_run_free(&run);
	close(p.lfd);
	recipe_free(r);
}

/* Drives one connection by hand: TCP_NODELAY from the start; closing with or without linger. */
static void nodelay_and_close(void **state)
{
	struct recipe *r = connect_send_recipe(false);
	struct check_run run;
	struct check_conn c;
	struct check_action a;
	struct peer p;
	int one = 0, sfd;
	socklen_t ol = sizeof(one);
	char buf[8];
	enum cio_want w;
	ssize_t n;

	(void)state;
	peer_open(&p);
	assert_int_equal(check_run_init(&run, r), 0);
	check_io_init(&c);
	a = check_next(&run);
	assert_int_equal(a.type, CHECK_ACT_CONNECT);
	w = check_io_connect(&c, &run, &p.addr.ss, p.addr.len, &a);
	assert_true(w == CIO_OK || w == CIO_WANT_WRITE);
	assert_int_not_equal(c.fd, -1);
	assert_int_equal(getsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, &ol), 0);
	assert_int_not_equal(one, 0);
	if (w == CIO_WANT_WRITE)
		assert_int_equal(check_io_resume(&c, &run, false), CIO_OK);
	a = check_next(&run);
	assert_int_equal(a.type, CHECK_ACT_SEND);
	assert_int_equal(check_io_send(&c, &run, &a), CIO_OK);
	a = check_next(&run);
	assert_int_equal(a.type, CHECK_ACT_DONE);
	assert_int_equal(run.res.status, CHECK_L7OK);
	sfd = accept(p.lfd, NULL, NULL);
	assert_int_not_equal(sfd, -1);
	n = recv(sfd, buf, 4, MSG_WAITALL);
	assert_int_equal(n, 4);
	check_io_close(&c, a.linger); /* no linger: RST */
	assert_int_equal(c.fd, -1);
	n = recv(sfd, buf, sizeof(buf), 0);
	assert_int_equal(n, -1);
	assert_int_equal(errno, ECONNRESET);
	close(sfd);
	check_io_close(&c, false); /* a closed connection: no-op */
	check_run_free(&run);
	recipe_free(r);

	/* linger: the server reads a clean EOF */
	r = connect_send_recipe(true);
	assert_int_equal(check_run_init(&run, r), 0);
	assert_int_equal(checknet_run(&run, &p.addr, 1000, buf, sizeof(buf)), 0);
	assert_int_equal(run.res.status, CHECK_L7OK);
	sfd = accept(p.lfd, NULL, NULL);
	assert_int_not_equal(sfd, -1);
	assert_int_equal(recv(sfd, buf, 4, MSG_WAITALL), 4);
	assert_int_equal(recv(sfd, buf, sizeof(buf), 0), 0);
	close(sfd);
	check_run_free(&run);
	recipe_free(r);
	close(p.lfd);
}

/* Drives one CONNECT through a SOCKS4 proxy (the peer) whose reply is given in two writes (rep1, rep2;
 * close_after: the peer closes after them); returns the run's status once the connection concluded. */
static enum check_status socks4_run(const unsigned char *rep1, size_t n1, const unsigned char *rep2, size_t n2,
				    bool close_after, int send_proxy, char *desc, size_t desclen)
{
	static const unsigned char want[16] = {0x04, 0x01, 0x00, 0x50, 10, 1, 2, 3, 'H', 'A', 'P', 'r', 'o', 'x', 'y', 0};
	struct recipe *r = recipe_new(RECIPE_TCP);
	struct sockaddr_storage target;
	struct check_run run;
	struct check_conn c;
	struct check_action a;
	struct step *s;
	struct peer p;
	socklen_t tl;
	unsigned char req[16];
	char err[ERR_LEN];
	enum cio_want w;
	enum check_status st;
	int sfd, guard;

	peer_open(&p);
	assert_non_null(r);
	s = recipe_add_step(r, STEP_CONNECT);
	assert_non_null(s);
	s->socks4 = p.addr.ss;
	s->socks4len = p.addr.len;
	s->send_proxy = send_proxy;
	s = recipe_add_step(r, STEP_SEND);
	assert_int_equal(step_set_data(s, "ping", 4), 0);
	assert_int_equal(recipe_compile(r, err, sizeof(err)), 0);
	/* the server: never connected to directly, only named to the proxy */
	assert_int_equal(net_parse_ip("10.1.2.3:80", true, &target, &tl, err, sizeof(err)), 0);
	assert_int_equal(check_run_init(&run, r), 0);
	check_io_init(&c);
	a = check_next(&run);
	assert_int_equal(a.type, CHECK_ACT_CONNECT);
	w = check_io_connect(&c, &run, &target, tl, &a);
	if (w == CIO_WANT_WRITE)
		w = check_io_resume(&c, &run, false);
	assert_int_equal(w, CIO_WANT_READ); /* the request is out, the reply awaited */
	sfd = accept(p.lfd, NULL, NULL);
	assert_int_not_equal(sfd, -1);
	assert_int_equal(recv(sfd, req, sizeof(req), MSG_WAITALL), 16);
	assert_memory_equal(req, want, sizeof(want));
	assert_int_equal(send(sfd, rep1, n1, 0), (ssize_t)n1);
	assert_int_equal(check_io_resume(&c, &run, false), n1 < 8 ? CIO_WANT_READ : CIO_OK);
	if (n2)
		assert_int_equal(send(sfd, rep2, n2, 0), (ssize_t)n2);
	if (close_after)
		shutdown(sfd, SHUT_WR);
	if (n1 < 8)
		assert_int_equal(check_io_resume(&c, &run, false), CIO_OK);
	for (guard = 0; guard < 16 && !check_done(&run); guard++) {
		a = check_next(&run);
		if (a.type == CHECK_ACT_SEND)
			assert_int_equal(check_io_send(&c, &run, &a), CIO_OK);
	}
	assert_true(check_done(&run));
	if (run.res.status == CHECK_L7OK) {
		char got[32];

		/* the proxy's reply was consumed: the server (behind it) gets the PROXY header, if any, then
		 * the check's bytes */
		if (send_proxy) {
			assert_int_equal(recv(sfd, got, 15, MSG_WAITALL), 15);
			assert_memory_equal(got, "PROXY UNKNOWN\r\n", 15);
		}
		assert_int_equal(recv(sfd, got, 4, MSG_WAITALL), 4);
		assert_memory_equal(got, "ping", 4);
	}
	st = run.res.status;
	snprintf(desc, desclen, "%s", run.res.desc);
	check_io_close(&c, false);
	close(sfd);
	close(p.lfd);
	check_run_free(&run);
	recipe_free(r);
	return st;
}

/* HAProxy's SOCKS4 exchange (connection.c): its request, the 8-byte reply in pieces, CD 5A or not. */
static void socks4_exchange(void **state)
{
	static const unsigned char ok[8] = {0x00, 0x5A, 0x00, 0x50, 10, 1, 2, 3};
	static const unsigned char deny[8] = {0x00, 0x5B, 0, 0, 0, 0, 0, 0};
	char desc[CHECK_DESC_LEN];

	(void)state;
	assert_int_equal(socks4_run(ok, 3, ok + 3, 5, false, 0, desc, sizeof(desc)), CHECK_L7OK);
	assert_int_equal(socks4_run(ok, 8, NULL, 0, false, 0, desc, sizeof(desc)), CHECK_L7OK);
	assert_int_equal(socks4_run(deny, 8, NULL, 0, false, 0, desc, sizeof(desc)), CHECK_SOCKERR);
	assert_string_equal(desc, "SOCKS4 Proxy deny the request at step 1 of tcp-check (connect)");
	assert_int_equal(socks4_run(ok, 3, NULL, 0, true, 1, desc, sizeof(desc)), CHECK_SOCKERR);
	assert_string_equal(desc, "SOCKS4 Proxy read error during handshake at step 1 of tcp-check (connect)");
	/* send_proxy: the header goes to the server, after the grant */
	assert_int_equal(socks4_run(ok, 8, NULL, 0, false, 1, desc, sizeof(desc)), CHECK_L7OK);
}

/* The run's next two actions, a connect and a send of "ping", driven by hand; returns the peer's side. */
static int connect_and_send(struct check_conn *c, struct check_run *run, struct peer *p)
{
	struct check_action a = check_next(run);
	enum cio_want w;
	int sfd;

	assert_int_equal(a.type, CHECK_ACT_CONNECT);
	w = check_io_connect(c, run, &p->addr.ss, p->addr.len, &a);
	if (w == CIO_WANT_WRITE)
		w = check_io_resume(c, run, false);
	assert_int_equal(w, CIO_OK);
	a = check_next(run);
	assert_int_equal(a.type, CHECK_ACT_SEND);
	assert_int_equal(check_io_send(c, run, &a), CIO_OK);
	sfd = accept(p->lfd, NULL, NULL);
	assert_int_not_equal(sfd, -1);
	return sfd;
}

/*
 * A connect with send_proxy v2 while the driver holds check-send-proxy's v1 header (recheckd sets it for
 * the run's first connection): one header, the connect's; a later connect without send_proxy sends none.
 */
static void proxy_header_once(void **state)
{
	static const unsigned char v2[16] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51,
					     0x55, 0x49, 0x54, 0x0A, 0x20, 0x00, 0x00, 0x00};
	struct recipe *r = recipe_new(RECIPE_TCP);
	struct check_run run;
	struct check_conn c;
	struct step *s;
	struct peer p;
	unsigned char got[32];
	char err[ERR_LEN];
	int sfd, i;

	(void)state;
	peer_open(&p);
	assert_non_null(r);
	for (i = 0; i < 2; i++) {
		s = recipe_add_step(r, STEP_CONNECT);
		assert_non_null(s);
		s->send_proxy = i == 0 ? 2 : 0;
		s = recipe_add_step(r, STEP_SEND);
		assert_int_equal(step_set_data(s, "ping", 4), 0);
	}
	assert_int_equal(recipe_compile(r, err, sizeof(err)), 0);
	assert_int_equal(check_run_init(&run, r), 0);
	check_io_init(&c);
	c.pre = check_io_proxy_header(1, &c.prelen);
	sfd = connect_and_send(&c, &run, &p);
	assert_int_equal(recv(sfd, got, 20, MSG_WAITALL), 20);
	assert_memory_equal(got, v2, sizeof(v2));
	assert_memory_equal(got + 16, "ping", 4);
	close(sfd);
	sfd = connect_and_send(&c, &run, &p);
	check_io_close(&c, true);
	/* "ping" then the FIN: no header on the second connection */
	assert_int_equal(recv(sfd, got, sizeof(got), MSG_WAITALL), 4);
	assert_memory_equal(got, "ping", 4);
	close(sfd);
	check_run_free(&run);
	recipe_free(r);
	close(p.lfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(classification),
		cmocka_unit_test(full_fd_table_is_local),
		cmocka_unit_test(nodelay_and_close),
		cmocka_unit_test(socks4_exchange),
		cmocka_unit_test(proxy_header_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

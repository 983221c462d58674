/*
 * Unit tests for the relay on real loopback TCP sockets in one event loop, in splice and copy mode:
 * byte-exact transfer both ways, back-pressure, half-close, idle timeout, and that an idle session
 * holds no pipe or buffer.
 *
 *   test side A <-> B relay C <-> D test side
 * A plays the client, D the server; the relay owns B and C.
 */
#include "api.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "ev.h"
#include "net.h"
#include "relay.h"

struct fixture {
	struct ev *ev;
	struct relay_pool *pool;
	struct relay r;
	int a, d;
	bool ended;
	enum relay_end why;
};

/* A connected pair of non-blocking TCP sockets on loopback. */
static void tcp_pair(int *x, int *y)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct sockaddr_storage ss, peer;
	socklen_t len, plen;
	char err[ERR_LEN];
	int l, i;

	l = net_listen((struct sockaddr *)&sin, sizeof(sin), 4, false, err, sizeof(err));
	assert_true(l >= 0);
	assert_int_equal(net_local_addr(l, &ss, &len), 0);
	*x = net_connect((struct sockaddr *)&ss, len, err, sizeof(err));
	assert_true(*x >= 0);
	for (i = 0, *y = -1; i < 1000 && *y == -1; i++) {
		*y = net_accept(l, &peer, &plen);
		if (*y == -1)
			usleep(1000);
	}
	assert_true(*y >= 0);
	close(l);
}

static void on_end(struct relay *r, enum relay_end why, void *arg)
{
	struct fixture *f = arg;

	f->ended = true;
	f->why = why;
}

/* The loop, the pool and the client side: f->a is the client, *b the relay's end of it. */
static void setup_loop(struct fixture *f, int *b)
{
	char err[ERR_LEN];

	memset(f, 0, sizeof(*f));
	f->ev = ev_new(64, err, sizeof(err));
	f->pool = relay_pool_new(4);
	assert_non_null(f->ev);
	assert_non_null(f->pool);
	tcp_pair(&f->a, b);
}

static void setup_relay(struct fixture *f, enum relay_mode mode, uint64_t tmo_client)
{
	struct relay_conf rc = {mode, tmo_client, 0};
	int b, c;

	setup_loop(f, &b);
	tcp_pair(&c, &f->d);
	relay_init(&f->r, f->ev, f->pool, b, c, &rc, on_end, f);
	assert_int_equal(relay_start(&f->r), 0);
}

static void teardown_relay(struct fixture *f)
{
	if (!f->ended)
		relay_kill(&f->r);
	close(f->a);
	close(f->d);
	assert_int_equal(f->pool->pipes_out, 0);
	assert_int_equal(f->pool->bufs_out, 0);
	relay_pool_free(f->pool);
	ev_free(f->ev);
}

static unsigned char pattern(size_t i)
{
	return (unsigned char)((i * 2654435761u) >> 13);
}

/*
 * Pushes n bytes into `in` and drains `out` while running the loop; returns the bytes read, which
 * must follow the pattern. When drain is false, reading stops after the first few KB.
 */
static size_t pump(struct fixture *f, int in, int out, size_t n, bool drain, bool shut)
{
	unsigned char buf[65536];
	size_t sent = 0, got = 0, k;
	int rounds;

	for (rounds = 0; rounds < 200000; rounds++) {
		if (sent < n) {
			size_t want = MIN(sizeof(buf), n - sent);
			ssize_t w;

			for (k = 0; k < want; k++)
				buf[k] = pattern(sent + k);
			w = send(in, buf, want, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (w > 0)
				sent += (size_t)w;
			if (sent == n && shut)
				shutdown(in, SHUT_WR);
		}
		ev_run_once(f->ev, 1);
		if (drain || got < 4096) {
			ssize_t r = recv(out, buf, drain ? sizeof(buf) : 4096 - got, MSG_DONTWAIT);

			for (k = 0; r > 0 && k < (size_t)r; k++)
				assert_int_equal(buf[k], pattern(got + k));
			if (r > 0)
				got += (size_t)r;
			if (r == 0 || (!drain && got >= 4096 && sent == n))
				break;
		}
		if (!drain && got >= 4096 && rounds > 2000)
			break;
		if (drain && got == n && !shut)
			break;
	}
	return got;
}

static void transfer(void **state)
{
	const enum relay_mode mode = *(enum relay_mode *)*state;
	struct fixture f;
	const size_t n = 8u << 20;

	setup_relay(&f, mode, 0);
	assert_int_equal(pump(&f, f.a, f.d, n, true, false), n);
	assert_int_equal(pump(&f, f.d, f.a, n, true, false), n);
	assert_int_equal(f.r.d[0].bytes, n);
	assert_int_equal(f.r.d[1].bytes, n);
	/* idle again: the session holds no pipe and no buffer */
	assert_int_equal(f.pool->pipes_out, 0);
	assert_int_equal(f.pool->bufs_out, 0);
	/* bulk went through a pipe in splice mode (now idle in the pool), never in copy mode */
	if (mode == RELAY_SPLICE)
		assert_true(f.pool->npipes > 0);
	else
		assert_int_equal(f.pool->npipes, 0);
	assert_false(f.ended);
	teardown_relay(&f);
}

/* Sends len bytes of msg into `in` and runs the loop until they all come out of `out` (bounded). */
static void exchange(struct fixture *f, int in, int out, const char *msg, ssize_t len)
{
	char buf[64];
	ssize_t got = 0;
	int i;

	assert_int_equal(send(in, msg, (size_t)len, 0), len);
	for (i = 0; i < 200 && got < len; i++) {
		ssize_t n;

		ev_run_once(f->ev, 5);
		n = recv(out, buf + got, sizeof(buf) - (size_t)got, MSG_DONTWAIT);
		if (n > 0)
			got += n;
	}
	assert_int_equal(got, len);
	assert_memory_equal(buf, msg, (size_t)len);
}

/* In splice mode small messages are copied: a request/response exchange never takes a pipe. */
static void small_messages_copied(void **state)
{
	struct fixture f;
	int k;

	(void)state;
	setup_relay(&f, RELAY_SPLICE, 0);
	for (k = 0; k < 20; k++) {
		exchange(&f, f.a, f.d, "GET / HTTP/1.1\r\n\r\n", 18);
		exchange(&f, f.d, f.a, "HTTP/1.1 204 No Content\r\n\r\n", 27);
	}
	assert_int_equal(f.pool->npipes + f.pool->pipes_out, 0);
	assert_true(f.pool->nbufs > 0);
	teardown_relay(&f);
}

/* A server that does not read: the relay stops reading the client instead of buffering without bound. */
static void back_pressure(void **state)
{
	const enum relay_mode mode = *(enum relay_mode *)*state;
	struct fixture f;
	unsigned char buf[65536] = {0};
	size_t sent = 0;
	int i;

	setup_relay(&f, mode, 0);
	for (i = 0; i < 20000; i++) {
		ssize_t w = send(f.a, buf, sizeof(buf), MSG_DONTWAIT | MSG_NOSIGNAL);

		if (w > 0)
			sent += (size_t)w;
		ev_run_once(f.ev, 0);
		if (w == -1 && i > 200)
			break;
	}
	/* A's send buffer filled up: the relay holds at most one pipe/buffer for that direction */
	assert_true(sent > 0);
	assert_true(f.pool->pipes_out + f.pool->bufs_out <= 1);
	assert_true(f.r.d[0].bytes < sent);
	assert_int_equal(ev_fd_get(f.ev, f.r.cfd) & EV_READ, 0);
	assert_false(f.ended);
	teardown_relay(&f);
}

/* The client's FIN reaches the server only after its bytes; the other direction keeps working. */
static void half_close(void **state)
{
	const enum relay_mode mode = *(enum relay_mode *)*state;
	struct fixture f;
	char buf[16];
	ssize_t r;
	int i;

	setup_relay(&f, mode, 0);
	assert_int_equal(pump(&f, f.a, f.d, 100000, true, true), 100000);
	assert_true(f.r.d[0].shut);
	assert_false(f.ended);
	/* the server answers after the client's FIN, then closes too */
	assert_int_equal(send(f.d, "answer", 6, 0), 6);
	shutdown(f.d, SHUT_WR);
	for (i = 0; i < 1000 && !f.ended; i++)
		ev_run_once(f.ev, 5);
	assert_true(f.ended);
	assert_int_equal(f.why, RELAY_END_DONE);
	r = recv(f.a, buf, sizeof(buf), 0);
	assert_int_equal(r, 6);
	assert_memory_equal(buf, "answer", 6);
	assert_int_equal(recv(f.a, buf, sizeof(buf), 0), 0);
	teardown_relay(&f);
}

static void idle_timeout(void **state)
{
	struct fixture f;
	uint64_t t0;
	int i;

	setup_relay(&f, RELAY_SPLICE, 60);
	t0 = ev_now(f.ev);
	/* activity pushes the deadline */
	for (i = 0; i < 5; i++) {
		assert_int_equal(send(f.a, "x", 1, 0), 1);
		ev_run_once(f.ev, 30);
		ev_run_once(f.ev, 0);
	}
	assert_false(f.ended);
	for (i = 0; i < 100 && !f.ended; i++)
		ev_run_once(f.ev, 50);
	assert_true(f.ended);
	assert_int_equal(f.why, RELAY_END_CLIENT_TIMEOUT);
	assert_true(ev_now(f.ev) - t0 >= 60);
	teardown_relay(&f);
}

/* A reset server ends the session as a server error and frees everything. */
static void server_reset(void **state)
{
	struct fixture f;
	struct linger lg = {1, 0};
	int i;

	setup_relay(&f, RELAY_SPLICE, 0);
	setsockopt(f.d, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(f.d);
	f.d = -1;
	for (i = 0; i < 200 && !f.ended; i++)
		ev_run_once(f.ev, 5);
	assert_true(f.ended);
	assert_int_equal(f.why, RELAY_END_SERVER_ERROR);
	assert_string_equal(relay_end_str(f.why), "server error");
	teardown_relay(&f);
}

/* A refused connect, seen only after the relay started (loopback reports it asynchronously too), ends
 * the session as RELAY_END_CONNECT with the errno; the client's bytes go nowhere. */
static void connect_refused(void **state)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct relay_conf rc = {RELAY_COPY, 0, 0};
	struct sockaddr_storage ss;
	socklen_t len;
	struct fixture f;
	char err[ERR_LEN];
	int b, c, l, i;

	(void)state;
	setup_loop(&f, &b);
	/* a port nobody listens on: bind a listener, note its address, close it */
	l = net_listen((struct sockaddr *)&sin, sizeof(sin), 4, false, err, sizeof(err));
	assert_true(l >= 0);
	assert_int_equal(net_local_addr(l, &ss, &len), 0);
	close(l);
	c = net_connect((struct sockaddr *)&ss, len, err, sizeof(err));
	assert_true(c >= 0);
	f.d = -1;
	relay_init(&f.r, f.ev, f.pool, b, c, &rc, on_end, &f);
	relay_set_connecting(&f.r);
	assert_int_equal(send(f.a, "hello", 5, 0), 5);
	assert_int_equal(relay_start(&f.r), 0);
	relay_kick(&f.r);
	for (i = 0; i < 200 && !f.ended; i++)
		ev_run_once(f.ev, 5);
	assert_true(f.ended);
	assert_int_equal(f.why, RELAY_END_CONNECT);
	assert_int_equal(f.r.err, ECONNREFUSED);
	assert_string_equal(relay_end_str(f.why), "cannot connect");
	teardown_relay(&f);
}

/* A client that closes before the server connection is confirmed: the FIN reaches the server. */
static void fin_while_connecting(void **state)
{
	struct relay_conf rc = {RELAY_SPLICE, 0, 0};
	struct fixture f;
	char buf[8];
	int b, c, i;

	(void)state;
	setup_loop(&f, &b);
	tcp_pair(&c, &f.d);
	relay_init(&f.r, f.ev, f.pool, b, c, &rc, on_end, &f);
	relay_set_connecting(&f.r);
	assert_int_equal(shutdown(f.a, SHUT_WR), 0);
	assert_int_equal(relay_start(&f.r), 0);
	relay_kick(&f.r);
	for (i = 0; i < 200 && recv(f.d, buf, sizeof(buf), MSG_DONTWAIT) != 0; i++)
		ev_run_once(f.ev, 5);
	assert_true(i < 200);
	assert_true(relay_server_connected(&f.r));
	assert_false(f.ended);
	teardown_relay(&f);
}

/* A test run once per relay mode, named f_splice and f_copy; *state is the mode. */
static enum relay_mode mode_splice = RELAY_SPLICE, mode_copy = RELAY_COPY;
#define MODE_TEST(f, m) {#f "_" #m, f, NULL, NULL, &mode_##m}

int main(void)
{
	const struct CMUnitTest tests[] = {
		MODE_TEST(transfer, splice),
		MODE_TEST(transfer, copy),
		cmocka_unit_test(small_messages_copied),
		MODE_TEST(back_pressure, splice),
		MODE_TEST(back_pressure, copy),
		MODE_TEST(half_close, splice),
		MODE_TEST(half_close, copy),
		cmocka_unit_test(idle_timeout),
		cmocka_unit_test(server_reset),
		cmocka_unit_test(connect_refused),
		cmocka_unit_test(fin_while_connecting),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_capture: offline open errors, the --save-pcap dumper (commit and abort), the interface that
 * reaches loopback, and (as root) a live capture on loopback with a filter, polled non-blocking.
 */
#include "api.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "buf.h"
#include "capture.h"
#include "decode.h"
#include "util.h"

static char dir[] = "/tmp/recheck-capture-XXXXXX";

static void path(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", dir, name);
}

static void write_bytes(const char *p, const void *data, size_t n)
{
	FILE *f = fopen(p, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, n, f), n);
	fclose(f);
}

/* A pcap (LINKTYPE_RAW) holding one IPv4 SYN. */
static size_t sample_pcap(unsigned char *b)
{
	static const unsigned char hdr[24] = {0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0,
					      0xff, 0xff, 0, 0, 101, 0, 0, 0};
	unsigned char pkt[40] = {0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1,
				 0x9c, 0x40, 0x04, 0x38, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0};
	unsigned char rec[16] = {1, 0, 0, 0, 2, 0, 0, 0, 40, 0, 0, 0, 40, 0, 0, 0};

	memcpy(b, hdr, 24);
	memcpy(b + 24, rec, 16);
	memcpy(b + 40, pkt, 40);
	return 80;
}

static void offline_errors(void **state)
{
	char p[256], err[ERR_LEN];
	unsigned char b[128];

	path(p, sizeof(p), "missing.pcap");
	assert_null(capture_open_offline(p, err, sizeof(err)));
	assert_non_null(strstr(err, "missing.pcap: No such file"));
	assert_null(capture_open_offline(dir, err, sizeof(err)));
	assert_non_null(strstr(err, "is a directory"));
	path(p, sizeof(p), "empty.pcap");
	write_bytes(p, "", 0);
	assert_null(capture_open_offline(p, err, sizeof(err)));
	assert_non_null(strstr(err, "empty file"));
	path(p, sizeof(p), "text.pcap");
	write_bytes(p, "hello, this is not a capture file\n", 34);
	assert_null(capture_open_offline(p, err, sizeof(err)));
	assert_non_null(strstr(err, "text.pcap: not a readable pcap/pcapng capture"));
	/* An unsupported link type (IEEE 802.11 = 105) is refused at open. */
	sample_pcap(b);
	b[20] = 105;
	path(p, sizeof(p), "wifi.pcap");
	write_bytes(p, b, 80);
	assert_null(capture_open_offline(p, err, sizeof(err)));
	assert_non_null(strstr(err, "is not supported"));
}

static void read_and_dump(void **state)
{
	char p[256], q[256], err[ERR_LEN];
	unsigned char b[128];
	struct capture *c;
	struct capture_pkt pk;
	struct pkt pp;
	struct buf out;
	size_t n = sample_pcap(b);

	path(p, sizeof(p), "one.pcap");
	write_bytes(p, b, n);
	c = capture_open_offline(p, err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(capture_fd(c), -1);
	assert_string_equal(capture_linktype_name(capture_linktype(c)), "RAW");
	assert_int_equal(capture_stats(c, &(struct capture_stats){0}, err, sizeof(err)), -1);
	buf_init(&out, 1u << 16);
	assert_int_equal(capture_pcap_header(&out, capture_linktype(c)), 0);
	assert_int_equal(capture_next(c, &pk, err, sizeof(err)), 1);
	assert_int_equal(pk.caplen, 40);
	assert_int_equal(pk.ts_us, 1000002);
	assert_int_equal(decode_frame(capture_linktype(c), pk.data, pk.caplen, pk.wirelen, pk.ts_us, &pp, NULL, 0),
			 DECODE_OK);
	assert_int_equal(pp.flags, PKT_SYN);
	assert_int_equal(capture_pcap_record(&out, &pk), 0);
	assert_int_equal(capture_next(c, &pk, err, sizeof(err)), 0);
	capture_close(c);
	/* What the writer produced reads back through libpcap, frame and timestamp intact. */
	path(q, sizeof(q), "saved.pcap");
	write_bytes(q, out.data, out.len);
	c = capture_open_offline(q, err, sizeof(err));
	assert_non_null(c);
	assert_string_equal(capture_linktype_name(capture_linktype(c)), "RAW");
	assert_int_equal(capture_next(c, &pk, err, sizeof(err)), 1);
	assert_int_equal(pk.caplen, 40);
	assert_int_equal(pk.ts_us, 1000002);
	assert_memory_equal(pk.data, b + 40, 40);
	assert_int_equal(capture_next(c, &pk, err, sizeof(err)), 0);
	capture_close(c);
	buf_free(&out);
	/* A frame that does not fit under the cap is refused whole: the buffer stays a readable file. */
	buf_init(&out, 24 + 16 + 20);
	assert_int_equal(capture_pcap_header(&out, 101), 0);
	pk.caplen = 40;
	pk.data = b + 40;
	assert_int_equal(capture_pcap_record(&out, &pk), -1);
	assert_int_equal(out.len, 24);
	buf_free(&out);
	/* A truncated record is an error naming the file. */
	path(p, sizeof(p), "cut.pcap");
	write_bytes(p, b, n - 5);
	c = capture_open_offline(p, err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(capture_next(c, &pk, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cut.pcap: corrupt or truncated capture"));
	capture_close(c);
	capture_close(NULL);
}

static void iface_for_loopback(void **state)
{
	struct sockaddr_in a = {0};
	struct sockaddr_in6 a6 = {0};
	char name[64], err[ERR_LEN];

	a.sin_family = AF_INET;
	a.sin_port = htons(1080);
	a.sin_addr.s_addr = htonl(0x7f000005);
	assert_int_equal(capture_iface_for((struct sockaddr *)&a, sizeof(a), name, sizeof(name), err, sizeof(err)),
			 0);
	assert_string_equal(name, "lo");
	a6.sin6_family = AF_INET6;
	a6.sin6_port = htons(1080);
	a6.sin6_addr = in6addr_loopback;
	assert_int_equal(capture_iface_for((struct sockaddr *)&a6, sizeof(a6), name, sizeof(name), err,
					   sizeof(err)), 0);
	assert_string_equal(name, "lo");
}

struct seen {
	int syn;
	int linktype;
	uint16_t port;
};

static void on_pkt(void *arg, const struct capture_pkt *pk)
{
	struct seen *s = arg;
	struct pkt p;

	if (decode_frame(s->linktype, pk->data, pk->caplen, pk->wirelen, pk->ts_us, &p, NULL, 0) == DECODE_OK &&
	    (p.flags & PKT_SYN) && p.dport == s->port)
		s->syn++;
}

static void live_loopback(void **state)
{
	struct capture_live_opts o = {0};
	struct capture *c;
	struct capture_stats st;
	struct sockaddr_in a = {0};
	socklen_t alen = sizeof(a);
	struct seen s = {0};
	char filter[64], err[ERR_LEN];
	int l, k, i;

	if (geteuid() != 0) {
		skip();
		return;
	}
	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(l, 4), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&a, &alen), 0);
	s.port = ntohs(a.sin_port);
	snprintf(filter, sizeof(filter), "tcp port %u", s.port);
	o.iface = "lo";
	o.filter = filter;
	o.immediate = true;
	c = capture_open_live(&o, err, sizeof(err));
	if (!c) {
		print_message("live capture unavailable: %s\n", err);
		close(l);
		skip();
		return;
	}
	assert_int_equal(capture_set_nonblock(c, true, err, sizeof(err)), 0);
	assert_true(capture_fd(c) >= 0);
	s.linktype = capture_linktype(c);
	/* Nothing pending yet: returns at once. */
	assert_true(capture_dispatch(c, 0, on_pkt, &s, err, sizeof(err)) >= 0);
	k = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(k, (struct sockaddr *)&a, sizeof(a)), 0);
	for (i = 0; i < 50 && !s.syn; i++) {
		struct pollfd pfd = {capture_fd(c), POLLIN, 0};

		poll(&pfd, 1, 100);
		assert_true(capture_dispatch(c, 0, on_pkt, &s, err, sizeof(err)) >= 0);
	}
	assert_true(s.syn >= 1);
	assert_int_equal(capture_stats(c, &st, err, sizeof(err)), 0);
	assert_true(st.recv >= 1);
	assert_int_equal(capture_set_filter(c, "tcp port nonsense", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "bad capture filter"));
	close(k);
	close(l);
	capture_close(c);
	o.iface = "no-such-iface0";
	assert_null(capture_open_live(&o, err, sizeof(err)));
	assert_non_null(strstr(err, "no-such-iface0"));
}

static int setup(void **state)
{
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(offline_errors),
		cmocka_unit_test(read_and_dump),
		cmocka_unit_test(iface_for_loopback),
		cmocka_unit_test(live_loopback),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

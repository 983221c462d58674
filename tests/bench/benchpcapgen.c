/* benchpcapgen: writes a large Ethernet pcap with many TCP flows for the from-pcap measurement of
 * tests/bench/run.sh. FLOWS HTTP downloads (10.1.0.0/16 -> 10.0.0.1:80) run interleaved until the file
 * reaches MB megabytes; one SOCKS5 + HTTP 204 conversation (10.9.9.9:40000 -> 10.0.0.2:1080, the bytes
 * curl sends) sits in the middle of the file (by bytes), after every download has started, as a check
 * caught in a busy capture would.
 *
 *   benchpcapgen OUT MB FLOWS      prints "stream=K server=10.0.0.2:1080 packets=P bytes=B"
 *                                  (K: the target's tcp.stream index, in order of first packet)
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GEN_MSS 1448

static FILE *gen_out;
static uint64_t gen_usec = 1700000000ULL * 1000000ULL;
static uint64_t gen_packets, gen_bytes;

struct gen_flow {
	uint32_t cip, sip;
	uint16_t cport, sport;
	uint32_t cseq, sseq;
};

static uint16_t gen_csum(const unsigned char *p, size_t n, uint32_t sum)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)(p[n - 1] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put16(unsigned char *p, uint16_t v) { p[0] = (unsigned char)(v >> 8); p[1] = (unsigned char)v; }
static void put32(unsigned char *p, uint32_t v) { put16(p, (uint16_t)(v >> 16)); put16(p + 2, (uint16_t)v); }

/* One segment; dir 0 client->server, 1 server->client. Sequence numbers advance by len (+1 for SYN/FIN). */
static void gen_seg(struct gen_flow *f, int dir, uint8_t flags, const void *data, size_t len)
{
	static unsigned char pkt[16 + 14 + 20 + 20 + GEN_MSS];
	unsigned char *eth = pkt + 16, *ip = eth + 14, *tcp = ip + 20;
	size_t caplen = 14 + 20 + 20 + len;
	uint32_t src = dir ? f->sip : f->cip, dst = dir ? f->cip : f->sip;
	uint16_t sp = dir ? f->sport : f->cport, dp = dir ? f->cport : f->sport;
	uint32_t *seq = dir ? &f->sseq : &f->cseq, ack = dir ? f->cseq : f->sseq;
	gen_usec += 7;
	uint32_t sec = (uint32_t)(gen_usec / 1000000), usec = (uint32_t)(gen_usec % 1000000);
	memcpy(pkt, &sec, 4); /* pcap record header in host order, like the file header */
	memcpy(pkt + 4, &usec, 4);
	uint32_t cl = (uint32_t)caplen;
	memcpy(pkt + 8, &cl, 4);
	memcpy(pkt + 12, &cl, 4);
	memcpy(eth, "\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00", 14);
	memset(ip, 0, 40);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(40 + len));
	ip[6] = 0x40;
	ip[8] = 64;
	ip[9] = 6;
	put32(ip + 12, src);
	put32(ip + 16, dst);
	put16(ip + 10, gen_csum(ip, 20, 0));
	put16(tcp, sp);
	put16(tcp + 2, dp);
	put32(tcp + 4, *seq);
	put32(tcp + 8, (flags & 0x02) && !dir ? 0 : ack);
	tcp[12] = 5 << 4;
	tcp[13] = (unsigned char)(flags | ((flags & 0x02) && !dir ? 0 : 0x10));
	put16(tcp + 14, 65535);
	if (len)
		memcpy(tcp + 20, data, len);
	unsigned char ph[12];
	put32(ph, src);
	put32(ph + 4, dst);
	ph[8] = 0;
	ph[9] = 6;
	put16(ph + 10, (uint16_t)(20 + len));
	uint32_t sum = 0;
	for (int i = 0; i < 12; i += 2)
		sum += (uint32_t)(ph[i] << 8 | ph[i + 1]);
	put16(tcp + 16, gen_csum(tcp, 20 + len, sum));
	*seq += (uint32_t)len + ((flags & 0x03) ? 1 : 0);
	fwrite(pkt, 1, 16 + caplen, gen_out);
	gen_packets++;
	gen_bytes += 16 + caplen;
}

static void gen_open(struct gen_flow *f)
{
	gen_seg(f, 0, 0x02, NULL, 0);
	gen_seg(f, 1, 0x02, NULL, 0);
	gen_seg(f, 0, 0x00, NULL, 0);
}

static void gen_close(struct gen_flow *f)
{
	gen_seg(f, 1, 0x01, NULL, 0);
	gen_seg(f, 0, 0x01, NULL, 0);
	gen_seg(f, 1, 0x00, NULL, 0);
}

static void gen_target(void)
{
	static const char get[] = "GET /generate_204 HTTP/1.1\r\nHost: 10.0.0.3:80\r\nUser-Agent: curl/7.88.1\r\n"
				  "Accept: */*\r\n\r\n";
	static const char resp[] = "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n";
	struct gen_flow f = {.cip = 0x0a090909, .sip = 0x0a000002, .cport = 40000, .sport = 1080,
			     .cseq = 1000, .sseq = 5000};
	gen_open(&f);
	gen_seg(&f, 0, 0x08, "\x05\x01\x00", 3);
	gen_seg(&f, 1, 0x08, "\x05\x00", 2);
	gen_seg(&f, 0, 0x08, "\x05\x01\x00\x01\x0a\x00\x00\x03\x00\x50", 10);
	gen_seg(&f, 1, 0x08, "\x05\x00\x00\x01\x00\x00\x00\x00\x00\x00", 10);
	gen_seg(&f, 0, 0x08, get, sizeof(get) - 1);
	gen_seg(&f, 1, 0x08, resp, sizeof(resp) - 1);
	gen_close(&f);
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: benchpcapgen OUT MB FLOWS\n");
		return 2;
	}
	uint64_t limit = strtoull(argv[2], NULL, 10) << 20;
	int nflows = atoi(argv[3]);
	if (nflows < 2 || nflows > 60000 || limit == 0) {
		fprintf(stderr, "benchpcapgen: FLOWS must be 2..60000 and MB > 0\n");
		return 2;
	}
	gen_out = fopen(argv[1], "wb");
	struct gen_flow *fl = calloc((size_t)nflows, sizeof(*fl));
	if (!gen_out || !fl) {
		perror(argv[1]);
		return 5;
	}
	setvbuf(gen_out, NULL, _IOFBF, 1 << 20);
	uint32_t hdr[6] = {0xa1b2c3d4, 0x00040002, 0, 0, 65535, 1};
	fwrite(hdr, 1, sizeof(hdr), gen_out);
	static const char req[] = "GET /big HTTP/1.1\r\nHost: 10.0.0.1\r\nAccept: */*\r\n\r\n";
	static char payload[GEN_MSS];
	for (int i = 0; i < GEN_MSS; i++)
		payload[i] = (char)('a' + i % 26);
	int stream = nflows;
	for (int i = 0; i < nflows; i++) {
		fl[i] = (struct gen_flow){.cip = 0x0a010000u | (uint32_t)(i + 1), .sip = 0x0a000001,
					  .cport = (uint16_t)(20000 + i % 40000), .sport = 80,
					  .cseq = 100000u * (uint32_t)i, .sseq = 7u * 100000u * (uint32_t)i};
		gen_open(&fl[i]);
		gen_seg(&fl[i], 0, 0x08, req, sizeof(req) - 1);
	}
	int target_done = 0;
	for (unsigned round = 0; gen_bytes < limit; round++)
		for (int i = 0; i < nflows && gen_bytes < limit; i++) {
			if (!target_done && gen_bytes >= limit / 2) {
				gen_target();
				target_done = 1;
			}
			gen_seg(&fl[i], 1, 0x00, payload, GEN_MSS);
			if (round % 8 == 7)
				gen_seg(&fl[i], 0, 0x00, NULL, 0);
		}
	for (int i = 0; i < nflows; i++)
		gen_close(&fl[i]);
	if (fclose(gen_out) != 0) {
		perror(argv[1]);
		return 5;
	}
	free(fl);
	printf("stream=%d server=10.0.0.2:1080 packets=%llu bytes=%llu\n", stream, (unsigned long long)gen_packets,
	       (unsigned long long)gen_bytes + 24);
	return 0;
}

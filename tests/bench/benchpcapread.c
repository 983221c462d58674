/* benchpcapread: the read-speed limit for the from-pcap measurement: libpcap reads every packet of FILE
 * and touches its bytes (a byte sum, so nothing is optimised away). Prints "packets=N bytes=B sum=S".
 */
#include <pcap/pcap.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	if (argc != 2) {
		fprintf(stderr, "usage: benchpcapread FILE\n");
		return 2;
	}
	pcap_t *p = pcap_open_offline(argv[1], errbuf);
	if (!p) {
		fprintf(stderr, "benchpcapread: %s\n", errbuf);
		return 3;
	}
	struct pcap_pkthdr *h;
	const unsigned char *d;
	unsigned long long n = 0, bytes = 0, sum = 0;
	int rc;
	while ((rc = pcap_next_ex(p, &h, &d)) == 1) {
		n++;
		bytes += h->caplen;
		sum += d[h->caplen - 1];
	}
	pcap_close(p);
	if (rc == PCAP_ERROR) {
		fprintf(stderr, "benchpcapread: %s\n", errbuf);
		return 3;
	}
	printf("packets=%llu bytes=%llu sum=%llu\n", n, bytes, sum);
	return 0;
}

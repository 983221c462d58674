/*
 * fuzz_pcap: a capture file's bytes -> libpcap (capture.c) -> decode -> flow reassembly -> turns ->
 * dissect, the path of `recheck flows` and `recheck from-pcap`. The bytes go to a memfd opened by path
 * (/proc/self/fd/N), so flow_pcap_load() runs exactly as on a file.
 */
#include "api.h"

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "buf.h"
#include "dissect.h"
#include "flow.h"
#include "flow_pcap.h"
#include "fuzz.h"
#include "recipe.h"
#include "turn.h"

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Small caps so that the fuzzer reaches the "cap hit" paths with small inputs. */
	struct flow_limits lim = {.max_flows = 16, .max_dir_bytes = 4096, .max_queued = 8,
				  .max_total_bytes = 16384};
	struct flow_pcap_stats st;
	struct flow_table *t = NULL;
	char path[64], err[ERR_LEN];
	size_t i, n;
	int fd;

	fd = memfd_create("fuzz_pcap", MFD_CLOEXEC);
	if (fd == -1)
		return 0;
	if (write_all(fd, data, size) == -1)
		goto out;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	t = flow_table_new(size & 1 ? &lim : NULL, true);
	if (!t)
		goto out;
	memset(&st, 0, sizeof(st));
	if (flow_pcap_load(path, t, &st, err, sizeof(err)) == -1)
		flow_table_finish(t); /* what from-pcap does not do, but the table must still be consistent */
	n = flow_table_count(t);
	for (i = 0; i < n; i++) {
		struct flow *f = flow_table_get(t, i);
		struct turns tu = {0};
		char desc[256];

		FUZZ_CHECK(f != NULL, "flow %zu of %zu is NULL", i, n);
		flow_describe(f, desc, sizeof(desc));
		(void)flow_state_str(flow_state(f));
		if (flow_turns(f, &tu, err, sizeof(err)) == 0) {
			struct dissect_opts o = {.raw = (i & 1) != 0, .redact = true};
			struct buf sum;
			struct recipe *r;

			if (tu.n)
				(void)flow_guess_proto(tu.v[0].data, tu.v[0].len);
			buf_init(&sum, 1 << 16);
			r = dissect_build(&tu, &o, &sum, err, sizeof(err));
			recipe_free(r);
			buf_free(&sum);
		}
		turns_free(&tu);
	}
out:
	flow_table_free(t);
	close(fd);
	return 0;
}

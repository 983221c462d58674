/*
 * flow_pcap: captured frames -> decoded segments -> flow table, live or from a file (see flow_pcap.h).
 */
#include "api.h"

#include <stdio.h>
#include <string.h>

#include "capture.h"
#include "decode.h"
#include "flow_pcap.h"
#include "ipfrag.h"
#include "util.h"

int flow_table_input_frame(struct flow_table *t, struct ipfrag *fr, int dlt, const struct capture_pkt *pk,
			   bool *cut, char *note, size_t notelen, char *err, size_t errlen)
{
	struct pkt p;
	enum decode_rc rc;

	*cut = false;
	rc = decode_frame_defrag(fr, dlt, pk->data, pk->caplen, pk->wirelen, pk->ts_us, &p, note, notelen);
	if (rc != DECODE_OK)
		return (int)rc;
	*cut = p.cut;
	if (flow_table_input(t, &p, err, errlen) == -1)
		return -1;
	return DECODE_OK;
}

int flow_pcap_load(const char *path, struct flow_table *t, struct flow_pcap_stats *st, char *err,
		   size_t errlen)
{
	struct capture *c;
	struct ipfrag *fr;
	struct capture_pkt cp;
	char note[160], e[ERR_LEN];
	int rc = -1, n;

	memset(st, 0, sizeof(*st));
	fr = ipfrag_new();
	if (!fr) {
		set_err(err, errlen, "out of memory");
		return -1;
	}
	c = capture_open_offline(path, err, errlen);
	if (!c) {
		ipfrag_free(fr);
		return -1;
	}
	st->linktype = capture_linktype(c);
	while ((n = capture_next(c, &cp, err, errlen)) == 1) {
		bool cut;

		st->frames++;
		switch (flow_table_input_frame(t, fr, st->linktype, &cp, &cut, note, sizeof(note), e, sizeof(e))) {
		case -1:
			set_err(err, errlen, "%s: frame %llu: %s", path, (unsigned long long)st->frames, e);
			goto out;
		case DECODE_OK:
			st->tcp++;
			break;
		case DECODE_SKIP:
			st->skipped++;
			break;
		case DECODE_HELD:
			break;
		case DECODE_BAD:
			if (!st->bad++)
				snprintf(st->first_bad, sizeof(st->first_bad), "frame %llu: %s",
					 (unsigned long long)st->frames, note);
			break;
		}
	}
	if (n == -1)
		goto out;
	flow_table_finish(t);
	st->fragments = ipfrag_stats(fr)->fragments;
	st->defragmented = ipfrag_stats(fr)->datagrams;
	st->frag_dropped = ipfrag_stats(fr)->dropped + ipfrag_pending(fr);
	rc = 0;
out:
	capture_close(c);
	ipfrag_free(fr);
	return rc;
}

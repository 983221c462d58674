/*
 * fuzz_dissect: a conversation -> the SOCKS5 / SOCKS4 / HTTP (proxy, CONNECT) / raw dissectors ->
 * recipe, then `recheck show`'s annotations, and the saved YAML must load back (recipe_yaml.h's
 * contract).
 *
 * Input: one option byte (bit 0 raw, bit 1 redact, bits 2-5 client_fin/server_fin/reset/truncated),
 * then turns, each a control byte (bit 0: 0 client, 1 server) and a 16-bit big-endian length before its
 * bytes; a short last turn takes what is left.
 */
#include "api.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "dissect.h"
#include "fuzz.h"
#include "recipe.h"
#include "recipe_yaml.h"
#include "turn-t.h"

#define FUZZ_MAX_TURNS 64

static void turns_release(struct turns *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		free(t->v[i].data);
	free(t->v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct turns t = {0};
	struct dissect_opts o = {0};
	struct buf sum, yaml, ann;
	struct recipe *r = NULL, *back = NULL;
	char err[ERR_LEN];
	size_t pos = 1, i;

	if (size < 1)
		return 0;
	o.raw = data[0] & 1;
	o.redact = (data[0] >> 1) & 1;
	t.client_fin = (data[0] >> 2) & 1;
	t.server_fin = (data[0] >> 3) & 1;
	t.reset = (data[0] >> 4) & 1;
	t.truncated = (data[0] >> 5) & 1;
	t.v = calloc(FUZZ_MAX_TURNS, sizeof(*t.v));
	if (!t.v)
		return 0;
	while (pos < size && t.n < FUZZ_MAX_TURNS) {
		struct turn *tu = &t.v[t.n];
		size_t len = 0;

		tu->dir = (data[pos] & 1) ? TURN_S2C : TURN_C2S;
		pos++;
		if (pos + 2 <= size)
			len = (size_t)data[pos] << 8 | data[pos + 1];
		pos = MIN(pos + 2, size);
		len = MIN(len, size - pos);
		/* An exact-size copy: a read past a turn's end is a sanitizer report. */
		tu->data = malloc(len ? len : 1);
		if (!tu->data)
			goto out;
		memcpy(tu->data, data + pos, len);
		tu->len = len;
		tu->ts_first_us = tu->ts_last_us = 1000000u * (t.n + 1);
		pos += len;
		t.n++;
	}

	buf_init(&sum, 1 << 16);
	r = dissect_build(&t, &o, &sum, err, sizeof(err));
	buf_free(&sum);
	if (!r)
		goto out;
	buf_init(&ann, 1 << 16);
	for (i = 0; i < r->nsteps; i++)
		dissect_annotate(r->protocol, r, i, &ann);
	buf_free(&ann);
	buf_init(&yaml, 1 << 22);
	if (recipe_emit_yaml(r, &yaml, err, sizeof(err)) == 0) {
		back = recipe_load_mem((const char *)yaml.data, yaml.len, "dissected.yaml", err, sizeof(err));
		FUZZ_CHECK(back != NULL, "the dissected recipe does not load back: %s\n%.*s", err,
			   (int)MIN(yaml.len, 4096), (const char *)yaml.data);
		FUZZ_CHECK(back->nsteps == r->nsteps, "%zu steps saved, %zu loaded", r->nsteps, back->nsteps);
	}
	buf_free(&yaml);
out:
	recipe_free(back);
	recipe_free(r);
	turns_release(&t);
	return 0;
}

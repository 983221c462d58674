/*
 * turn: interleaves the two reassembled streams of a conversation into turns by capture time.
 */
#include "api.h"

#include <stdlib.h>
#include <string.h>

#include "turn.h"
#include "util.h"

const char *turn_dir_str(enum turn_dir d)
{
	return d == TURN_C2S ? "client to server" : "server to client";
}

void turn_builder_init(struct turn_builder *b, size_t cap_bytes)
{
	memset(b, 0, sizeof(*b));
	buf_init(&b->s[0].bytes, cap_bytes);
	buf_init(&b->s[1].bytes, cap_bytes);
}

void turn_builder_free(struct turn_builder *b)
{
	int i;

	if (!b)
		return;
	for (i = 0; i < 2; i++) {
		buf_free(&b->s[i].bytes);
		free(b->s[i].chunks);
		b->s[i].chunks = NULL;
		b->s[i].nchunks = b->s[i].achunks = 0;
	}
}

size_t turn_builder_len(const struct turn_builder *b, enum turn_dir d)
{
	return b->s[d].bytes.len;
}

int turn_builder_add(struct turn_builder *b, enum turn_dir d, const unsigned char *p, size_t n,
		     uint64_t ts_us, char *err, size_t errlen)
{
	struct turn_stream *s = &b->s[d];
	struct turn_chunk *c;

	if (!n)
		return 0;
	if (s->nchunks == s->achunks) {
		size_t na = s->achunks ? s->achunks * 2 : 64;

		if (na > TURN_MAX_CHUNKS) {
			set_err(err, errlen, "the %s stream has more than %u segments", turn_dir_str(d),
				TURN_MAX_CHUNKS);
			return -1;
		}
		c = realloc(s->chunks, na * sizeof(*c));
		if (!c) {
			set_err(err, errlen, "out of memory");
			return -1;
		}
		s->chunks = c;
		s->achunks = na;
	}
	if (buf_append(&s->bytes, p, n) == -1) {
		set_err(err, errlen, "the %s stream exceeds the %zu-byte cap", turn_dir_str(d), s->bytes.cap);
		return -1;
	}
	c = &s->chunks[s->nchunks++];
	c->off = s->bytes.len - n;
	c->len = n;
	c->ts_us = ts_us;
	c->serial = b->serial++;
	return 0;
}

void turns_free(struct turns *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->n; i++) {
		free(t->v[i].data);
		free(t->v[i].seg_len);
	}
	free(t->v);
	memset(t, 0, sizeof(*t));
}

/*
 * The next chunk of the merge: the earlier capture time first, the earlier delivery on a tie. Each
 * direction keeps its own order whatever its timestamps say (a stream is never reordered).
 */
static int pick(const struct turn_builder *b, const size_t idx[2])
{
	const struct turn_chunk *c0, *c1;

	if (idx[0] == b->s[0].nchunks)
		return idx[1] == b->s[1].nchunks ? -1 : 1;
	if (idx[1] == b->s[1].nchunks)
		return 0;
	c0 = &b->s[0].chunks[idx[0]];
	c1 = &b->s[1].chunks[idx[1]];
	if (c0->ts_us != c1->ts_us)
		return c0->ts_us < c1->ts_us ? 0 : 1;
	return c0->serial < c1->serial ? 0 : 1;
}

int turn_builder_finish(const struct turn_builder *b, struct turns *out, char *err, size_t errlen)
{
	size_t idx[2] = {0, 0}, nturns = 0, i;
	int d, last = -1;
	struct turn *t = NULL;

	memset(out, 0, sizeof(*out));
	/* Pass 1: count the turns. */
	while ((d = pick(b, idx)) != -1) {
		if (d != last)
			nturns++;
		last = d;
		idx[d]++;
	}
	if (!nturns)
		return 0;
	out->v = calloc(nturns, sizeof(*out->v));
	if (!out->v)
		goto oom;
	/* Pass 2: sizes and times. */
	idx[0] = idx[1] = 0;
	last = -1;
	while ((d = pick(b, idx)) != -1) {
		const struct turn_chunk *c = &b->s[d].chunks[idx[d]];

		if (d != last) {
			t = &out->v[out->n++];
			t->dir = (enum turn_dir)d;
			t->ts_first_us = c->ts_us;
		}
		t->len += c->len;
		t->nsegs++;
		t->ts_last_us = MAX(t->ts_last_us, c->ts_us);
		last = d;
		idx[d]++;
	}
	/* Pass 3: the bytes. Chunks of one turn are contiguous in their direction's buffer. */
	idx[0] = idx[1] = 0;
	for (i = 0; i < out->n; i++) {
		t = &out->v[i];
		t->data = malloc(t->len + 1);
		t->seg_len = malloc(t->nsegs * sizeof(*t->seg_len));
		if (!t->data || !t->seg_len)
			goto oom;
		memcpy(t->data, b->s[t->dir].bytes.data + idx[t->dir], t->len);
		t->data[t->len] = 0;
		idx[t->dir] += t->len;
	}
	/* Pass 4: the segmentation, chunk by chunk in merge order (what a replaying server writes). */
	{
		size_t ci[2] = {0, 0}, k = 0;

		i = 0;
		last = -1;
		while ((d = pick(b, ci)) != -1) {
			if (last != -1 && d != last) {
				i++;
				k = 0;
			}
			out->v[i].seg_len[k++] = b->s[d].chunks[ci[d]].len;
			last = d;
			ci[d]++;
		}
	}
	return 0;
oom:
	turns_free(out);
	set_err(err, errlen, "out of memory");
	return -1;
}

/*
 * dissect_secret: the last pass over a built recipe, whatever built it (a dissector, the raw fallback,
 * --raw): every credential secret.h finds makes its step secret, or with --redact is replaced by an
 * environment reference; a Set-Cookie value in an expect is cut off (a session token is both a secret and
 * volatile). Steps a dissector already redacted (env) are scanned too: what it did not replace still
 * counts.
 */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "dissect_priv.h"
#include "dx.h"
#include "recipe.h"
#include "secret.h"

/* Appends the payload with its secrets replaced by ${NAME} references. -1 when the buffer is full. */
static int redacted(struct buf *b, const struct step *s, const struct secret_span *v, size_t k)
{
	size_t i, at = 0;

	for (i = 0; i < k; i++) {
		if (v[i].kind == SECRET_RFC1929) {
			/* The length bytes stay: replay and recheckd check the variables against them. */
			if (buf_append(b, s->data + at, v[i].off - at) == -1 ||
			    buf_append_str(b, "${RECHECK_SOCKS_USER}") == -1 ||
			    buf_append(b, s->data + v[i].off + v[i].len, v[i].off2 - v[i].off - v[i].len) == -1 ||
			    buf_append_str(b, "${RECHECK_SOCKS_PASS}") == -1)
				return -1;
			at = v[i].off2 + v[i].len2;
			continue;
		}
		if (v[i].off < at)
			continue;
		if (buf_append(b, s->data + at, v[i].off - at) == -1 || buf_printf(b, "${%s}", secret_var(v[i].kind)) == -1)
			return -1;
		at = v[i].off + v[i].len;
	}
	return buf_append(b, s->data + at, s->len - at);
}

static void note_kinds(struct dissect_ctx *x, size_t step, const struct secret_span *v, size_t k, bool redact)
{
	char kinds[200] = "", vars[300] = "";
	size_t i, a = 0, b = 0;

	for (i = 0; i < k; i++) {
		if (strstr(kinds, secret_kind_str(v[i].kind)))
			continue;
		a += (size_t)snprintf(kinds + a, sizeof(kinds) - MIN(a, sizeof(kinds)), "%s%s", a ? ", " : "",
				      secret_kind_str(v[i].kind));
		b += (size_t)snprintf(vars + b, sizeof(vars) - MIN(b, sizeof(vars)), "%s%s%s", b ? ", " : "",
				      secret_var(v[i].kind), v[i].kind == SECRET_RFC1929 ? " and RECHECK_SOCKS_PASS" : "");
		a = MIN(a, sizeof(kinds) - 1);
		b = MIN(b, sizeof(vars) - 1);
	}
	if (redact)
		dx_note(x, "step %zu: %s redacted: set %s when replaying", step + 1, kinds, vars);
	else
		dx_note(x, "step %zu carries a recorded credential (%s): the recipe is secret (use --redact to write "
			   "environment references instead)", step + 1, kinds);
}

int dissect_secrets(struct dissect_ctx *x)
{
	struct secret_span v[SECRET_MAX_SPANS];
	struct recipe *r = x->r;
	struct buf b;
	size_t i, k;
	int rc = -1;

	buf_init(&b, RECIPE_MAX_PAYLOAD);
	for (i = 0; i < r->nsteps; i++) {
		struct step *s = &r->steps[i];

		if (!s->data || !s->len)
			continue;
		if (s->type == STEP_EXPECT) {
			if (s->match != EXPECT_STRING && s->match != EXPECT_BINARY)
				continue;
			k = secret_find(s->data, s->len, v, ARRAY_SIZE(v));
			if (!k || !v[0].off)
				continue;
			/* What the server sent is no reference: cut the pattern before the first secret. */
			dx_note(x, "step %zu: the expected bytes stop before a %s value (%zu of %zu bytes kept): a "
				   "recorded credential or session token, different on every response", i + 1,
				secret_kind_str(v[0].kind), v[0].off, s->len);
			if (step_set_data(s, s->data, v[0].off) == -1)
				goto oom;
			continue;
		}
		if (s->type != STEP_SEND)
			continue;
		k = secret_find(s->data, s->len, v, ARRAY_SIZE(v));
		if (!k)
			continue;
		if (!x->o->redact || (!s->env && memmem(s->data, s->len, "${", 2))) {
			if (s->secret)
				continue;       /* the dissector said so already */
			if (x->o->redact)
				dx_warn(x, "step %zu holds a literal \"${\": its %s cannot be redacted and stays in the "
					   "recipe", i + 1, secret_kind_str(v[0].kind));
			s->secret = true;
			note_kinds(x, i, v, k, false);
			continue;
		}
		buf_reset(&b);
		if (redacted(&b, s, v, k) == -1) {
			dx_warn(x, "step %zu: its credentials cannot be redacted (the payload would pass %d bytes) and "
				   "stay in the recipe", i + 1, RECIPE_MAX_PAYLOAD);
			s->secret = true;
			continue;
		}
		if (step_set_data(s, b.data, b.len) == -1)
			goto oom;
		s->env = true;
		s->secret = false;
		s->binary = false;      /* references are only filled in text */
		note_kinds(x, i, v, k, true);
	}
	rc = 0;
	goto out;
oom:
	dx_oom(x);
out:
	buf_free(&b);
	return rc;
}

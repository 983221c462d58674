/*
 * fuzz_recipe_yaml: the recipe YAML loader (recipe_load_mem). A recipe that loads must save and load
 * back to the same YAML text (recipe_yaml.h: "Saving then loading gives an identical recipe"), and
 * `recheck export` of it must be read back by `recheck import`.
 */
#include "api.h"

#include <string.h>

#include "buf.h"
#include "fuzz.h"
#include "recipe.h"
#include "recipe_haproxy.h"
#include "recipe_yaml.h"

/*
 * Steps as HAProxy rules: connect followed by tls is one rule (tcp-check connect ssl), as is a tls that
 * starts a recipe (after the implicit connect), which import reads back as connect + tls.
 */
static size_t tcp_rules(const struct recipe *r)
{
	size_t i, n = r->nsteps;

	for (i = 0; i + 1 < r->nsteps; i++)
		if (r->steps[i].type == STEP_CONNECT && r->steps[i + 1].type == STEP_TLS)
			n--;
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct recipe *r, *back = NULL, *imp = NULL;
	struct buf y1, y2, hx;
	char err[ERR_LEN];

	r = recipe_load_mem((const char *)data, size, "fuzz.yaml", err, sizeof(err));
	if (!r)
		return 0;
	buf_init(&y1, 1 << 23);
	buf_init(&y2, 1 << 23);
	buf_init(&hx, 1 << 23);
	if (recipe_emit_yaml(r, &y1, err, sizeof(err)) == -1)
		goto out;
	back = recipe_load_mem((const char *)y1.data, y1.len, "saved.yaml", err, sizeof(err));
	FUZZ_CHECK(back != NULL, "a saved recipe does not load back: %s\n%.*s", err, (int)MIN(y1.len, 4096),
		   (const char *)y1.data);
	FUZZ_CHECK(recipe_emit_yaml(back, &y2, err, sizeof(err)) == 0, "cannot save it again: %s", err);
	FUZZ_CHECK(y1.len == y2.len && memcmp(y1.data, y2.data, y1.len) == 0,
		   "save/load/save differs:\n%.*s\n---\n%.*s", (int)MIN(y1.len, 4096), (const char *)y1.data,
		   (int)MIN(y2.len, 4096), (const char *)y2.data);
	{
		struct haproxy_export_opts o = {.listen = "fuzz", .bind = "127.0.0.1:1", .nservers = 1};

		o.servers[0].name = "s1";
		o.servers[0].addr = "127.0.0.1:2";
		if (haproxy_export(r, &o, &hx, err, sizeof(err)) == 0) {
			imp = haproxy_import_mem((const char *)hx.data, hx.len, "exported.cfg", "fuzz", err,
						 sizeof(err));
			FUZZ_CHECK(imp != NULL, "an exported recipe does not import back: %s\n%.*s", err,
				   (int)MIN(hx.len, 4096), (const char *)hx.data);
			FUZZ_CHECK(imp->kind == r->kind && tcp_rules(imp) == tcp_rules(r) && imp->nhexp == r->nhexp,
				   "export/import changed the recipe's shape\n%.*s", (int)MIN(hx.len, 4096),
				   (const char *)hx.data);
		}
	}
out:
	buf_free(&y1);
	buf_free(&y2);
	buf_free(&hx);
	recipe_free(imp);
	recipe_free(back);
	recipe_free(r);
	return 0;
}

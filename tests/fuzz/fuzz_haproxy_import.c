/*
 * fuzz_haproxy_import: the HAProxy configuration importer (haproxy_import_mem, with haproxy_lex.c under
 * it). An imported recipe must export again, and that export must import back to the same shape.
 */
#include "api.h"

#include <string.h>

#include "buf.h"
#include "fuzz.h"
#include "recipe.h"
#include "recipe_haproxy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct haproxy_export_opts o = {.listen = "again", .bind = "127.0.0.1:1"};
	struct recipe *r, *back = NULL;
	struct buf hx;
	char err[ERR_LEN];

	r = haproxy_import_mem((const char *)data, size, "fuzz.cfg", NULL, err, sizeof(err));
	if (!r)
		return 0;
	buf_init(&hx, 1 << 23);
	/* ${NAME} kept from double quotes makes a recipe export re-expands; still it must import. */
	if (haproxy_export(r, &o, &hx, err, sizeof(err)) == 0) {
		back = haproxy_import_mem((const char *)hx.data, hx.len, "again.cfg", "again", err, sizeof(err));
		FUZZ_CHECK(back != NULL, "an imported recipe's export does not import: %s\n%.*s", err,
			   (int)MIN(hx.len, 4096), (const char *)hx.data);
		FUZZ_CHECK(back->kind == r->kind && back->nsteps == r->nsteps && back->nhexp == r->nhexp,
			   "import/export/import changed the shape\n%.*s", (int)MIN(hx.len, 4096),
			   (const char *)hx.data);
	}
	buf_free(&hx);
	recipe_free(back);
	recipe_free(r);
	return 0;
}

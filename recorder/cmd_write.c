/*
 * cmd_write: how every recheck command writes what it produced (see cmd.h): a recipe rendered as YAML or
 * HAProxy lines, or bytes already rendered, go to a file atomically (util.c's write_file_atomic: a
 * temporary file in the same directory, fsync, rename; mode 0600 when it carries a credential) or to
 * standard output, with every write and the final flush checked.
 */
#include "api.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "cmd.h"
#include "recipe.h"
#include "recipe_haproxy.h"
#include "recipe_yaml.h"
#include "util.h"

/* The largest rendering a command writes (a recipe is capped far below this). */
#define CMD_OUT_CAP (8u << 20)

int cmd_write_output(const char *cmd, const char *path, const void *data, size_t len, bool secret)
{
	char err[ERR_LEN];

	if (!path || !strcmp(path, "-")) {
		if ((len && fwrite(data, 1, len, stdout) != len) || fflush(stdout) == EOF) {
			cmd_err(cmd, "standard output: write failed: %s", strerror(errno));
			return RC_EXIT_IO;
		}
		return RC_EXIT_OK;
	}
	if (write_file_atomic(path, len ? data : "", len, secret ? 0600 : 0644, err, sizeof(err)) == -1) {
		cmd_err(cmd, "%s", err);
		return RC_EXIT_IO;
	}
	return RC_EXIT_OK;
}

int cmd_write_recipe(const char *cmd, const struct recipe *r, const struct haproxy_export_opts *haproxy,
		     const char *path, const char *what)
{
	struct buf out;
	char err[ERR_LEN];
	int rc;

	buf_init(&out, CMD_OUT_CAP);
	if (haproxy ? haproxy_export(r, haproxy, &out, err, sizeof(err)) : recipe_emit_yaml(r, &out, err, sizeof(err))) {
		cmd_err(cmd, "%s: %s", what, err);
		rc = RC_EXIT_BAD_INPUT;
	} else {
		rc = cmd_write_output(cmd, path, out.data, out.len, recipe_has_secret(r));
	}
	buf_free(&out);
	return rc;
}

int cmd_write_read_recipe(const char *cmd, struct recipe *r, const char *err,
			  const struct haproxy_export_opts *haproxy, const char *path, const char *what)
{
	int rc;

	if (!r) {
		cmd_err(cmd, "%s", err);
		return RC_EXIT_BAD_INPUT;
	}
	rc = cmd_write_recipe(cmd, r, haproxy, path, what);
	recipe_free(r);
	return rc;
}

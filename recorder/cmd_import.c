/*
 * recheck import: read the checks of an HAProxy listen/backend section into a recipe (YAML, or the
 * HAProxy lines recheck would write for it).
 */
#include "api.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "cmd.h"
#include "recipe.h"
#include "recipe_haproxy.h"
#include "recipe_yaml.h"
#include "util.h"

#define OUT_CAP (8u << 20)

static void usage(FILE *f)
{
	fprintf(f,
		"usage: recheck import HAPROXY.cfg [--section NAME] [--format yaml|haproxy] [--legacy-httpchk]\n"
		"                      [-o FILE]\n"
		"\n"
		"Reads the health check of one 'listen' or 'backend' section of an HAProxy 2.6 configuration and\n"
		"prints it as a recipe. Lines are read exactly as HAProxy reads them (quotes, backslash escapes,\n"
		"'#' comments). Imported: 'option tcp-check' with 'tcp-check connect [port N] [linger]', 'send',\n"
		"'send-binary', 'expect [min-recv N] [!] string|binary|rstring|rbinary', 'comment' (kept as the\n"
		"next step's comment); 'option httpchk [[METH] URI [VER]]' (also the old VER\\r\\nHdr:\\ v form)\n"
		"with 'http-check send meth/uri/ver/hdr/body' and 'http-check expect [!] status|rstatus|string|\n"
		"rstring'. ${NAME} references inside double quotes are kept, not expanded, and the step is\n"
		"marked env. Keywords whose meaning recheck cannot reproduce (send-lf, set-var, expect hdr,\n"
		"connect ssl/addr, ok-status L7OKC, ...) are errors naming the file, line and keyword;\n"
		"error-status, tout-status and ok-status L7OK/L6OK/L4OK are dropped and listed in the notes.\n"
		"'defaults' sections are not consulted.\n"
		"\n"
		"Options:\n"
		"  --section NAME          the listen/backend section to read (default: the only section\n"
		"                          with 'option tcp-check' or 'option httpchk')\n"
		"  -f, --format yaml|haproxy\n"
		"                          output form (default yaml); haproxy prints the lines recheck\n"
		"                          would export for the imported recipe\n"
		"  --legacy-httpchk        with --format haproxy: the one-line 'option httpchk' form\n"
		"  -o, --output FILE       write to FILE atomically (mode 0600 when the recipe carries a\n"
		"                          credential) instead of standard output\n"
		"  -h, --help              this help\n"
		"\n"
		"Exit: 0 ok, 2 usage, 3 unreadable or unsupported configuration (file:line and reason on\n"
		"stderr), 5 cannot write the output.\n");
}

int cmd_import(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"section", required_argument, NULL, 's'},
		{"format", required_argument, NULL, 'f'},
		{"legacy-httpchk", no_argument, NULL, 'L'},
		{"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct haproxy_export_opts o;
	const char *format = "yaml", *output = NULL, *section = NULL;
	char err[ERR_LEN];
	struct recipe *r = NULL;
	struct buf out;
	int c, rc = RC_EXIT_USAGE;

	memset(&o, 0, sizeof(o));
	buf_init(&out, OUT_CAP);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":f:o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 's': section = optarg; break;
		case 'f':
			format = optarg;
			if (strcmp(format, "haproxy") && strcmp(format, "yaml")) {
				cmd_usage(argv[0], "--format must be yaml or haproxy (got '%s')", optarg);
				goto out;
			}
			break;
		case 'L': o.legacy_httpchk = true; break;
		case 'o': output = optarg; break;
		case 'h':
			usage(stdout);
			rc = RC_EXIT_OK;
			goto out;
		default:
			cmd_opt_error(argv[0], c, argv, optind, optopt);
			goto out;
		}
	}
	if (optind != argc - 1) {
		cmd_usage(argv[0], optind >= argc ? "expects an HAProxy configuration file"
						: "expects exactly one configuration file");
		goto out;
	}
	if (o.legacy_httpchk && strcmp(format, "haproxy")) {
		cmd_usage(argv[0], "--legacy-httpchk only applies to --format haproxy");
		goto out;
	}
	r = haproxy_import_file(argv[optind], section, err, sizeof(err));
	if (!r) {
		cmd_err(argv[0], "%s", err);
		rc = RC_EXIT_BAD_INPUT;
		goto out;
	}
	if (!strcmp(format, "yaml") ? recipe_emit_yaml(r, &out, err, sizeof(err)) : haproxy_export(r, &o, &out, err, sizeof(err))) {
		cmd_err(argv[0], "%s: %s", argv[optind], err);
		rc = RC_EXIT_BAD_INPUT;
		goto out;
	}
	if (!output) {
		rc = out.len && fwrite(out.data, 1, out.len, stdout) != out.len ? RC_EXIT_IO : RC_EXIT_OK;
		if (fflush(stdout))
			rc = RC_EXIT_IO;
		if (rc != RC_EXIT_OK)
			cmd_err(argv[0], "standard output: write failed");
	} else if (write_file_atomic(output, out.data ? (const void *)out.data : "", out.len,
				     recipe_has_secret(r) ? 0600 : 0644, err, sizeof(err)) == -1) {
		cmd_err(argv[0], "%s", err);
		rc = RC_EXIT_IO;
	} else {
		rc = RC_EXIT_OK;
	}
out:
	recipe_free(r);
	buf_free(&out);
	return rc;
}

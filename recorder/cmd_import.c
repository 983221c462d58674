/*
 * recheck import: read the checks of an HAProxy listen/backend section into a recipe (YAML, or the
 * HAProxy lines recheck would write for it).
 */
#include "api.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cmd.h"
#include "haproxy_lex.h"
#include "recipe.h"
#include "recipe_haproxy.h"
#include "recipe_yaml.h"
#include "util.h"

#define MAX_SECTIONS 1024
/* What haproxy_import_mem() says of a section named explicitly that has no check option: --all skips
 * such sections (test_import_all pins the wording). */
#define NO_CHECK_MSG "has no 'option tcp-check' or 'option httpchk'"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: recheck import HAPROXY.cfg [--section NAME] [--format yaml|haproxy] [--legacy-httpchk]\n"
		"                      [-o FILE]\n"
		"       recheck import HAPROXY.cfg --all [--output-dir DIR] [--format yaml|haproxy]\n"
		"\n"
		"Reads the health check of one 'listen' or 'backend' section of an HAProxy 2.6 configuration and\n"
		"prints it as a recipe. Lines are read exactly as HAProxy reads them (quotes, backslash escapes,\n"
		"'#' comments). Imported: 'option tcp-check' with 'tcp-check connect [port N] [linger]', 'send',\n"
		"'send-binary', 'expect [min-recv N] [!] string|binary|rstring|rbinary', 'comment' (kept as the\n"
		"next step's comment); 'option httpchk [[METH] URI [VER]]' (also the old VER\\r\\nHdr:\\ v form)\n"
		"with 'http-check send meth/uri/ver/hdr/body' and 'http-check expect [!] status|rstatus|string|\n"
		"rstring|hdr|fhdr'. ${NAME} references inside double quotes are kept, not expanded, and the step is\n"
		"marked env. Keywords whose meaning recheck cannot reproduce (send-lf, set-var, name-lf,\n"
		"connect ssl/addr, ok-status L7OKC, ...) are errors naming the file, line and keyword;\n"
		"error-status, tout-status and ok-status L7OK/L6OK/L4OK are dropped and listed in the notes.\n"
		"The check option and rules may come from the 'defaults' section above; 'option tcp-check' with no\n"
		"rules, or a server 'check' with no check option, is a connect-only check; 'option redis-check'\n"
		"and 'smtpchk' become the rules HAProxy expands them to. Server settings port, addr, check-ssl,\n"
		"socks4 + check-via-socks4 and check-send-proxy become recipe settings; the others that change the\n"
		"check (send-proxy without check-send-proxy, proto h2, agent-check, ...) are errors naming it.\n"
		"\n"
		"Options:\n"
		"  --section NAME          the listen/backend section to read (default: the only section\n"
		"                          with 'option tcp-check' or 'option httpchk')\n"
		"  --all                   every section with checks: one recipe per section, written as\n"
		"                          DIR/SECTION.yaml (.cfg with --format haproxy); nothing is\n"
		"                          written unless every one of them imports\n"
		"  --output-dir DIR        where --all writes (default: the current directory)\n"
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

/* The names of the listen and backend sections, in file order, lexed as HAProxy reads them. */
static int section_names(const char *text, size_t len, char **names, size_t *n)
{
	const char *p = text, *end = text + len;
	char why[ERR_LEN];

	*n = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t ll = (size_t)((nl ? nl : end) - p);
		struct haproxy_line l;

		if (haproxy_lex_line(p, ll, HAPROXY_LEX_KEEP_ENV, &l, why, sizeof(why)) == 0 && l.n >= 2 &&
		    (haproxy_word_is(&l.w[0], "listen") || haproxy_word_is(&l.w[0], "backend"))) {
			if (*n >= MAX_SECTIONS) {
				haproxy_line_free(&l);
				return -1;
			}
			names[*n] = strdup((const char *)l.w[1].data);
			if (!names[*n]) {
				haproxy_line_free(&l);
				return -1;
			}
			(*n)++;
		}
		haproxy_line_free(&l);
		p = nl ? nl + 1 : end;
	}
	return 0;
}

/*
 * --all: imports every section that has checks, then writes DIR/SECTION.yaml for each. Nothing is
 * written unless every checked section imports, so a partial set never looks complete.
 */
static int import_all(const char *cmd, const char *path, const char *dir, bool haproxy,
		      const struct haproxy_export_opts *o)
{
	char err[ERR_LEN], *text = NULL, **names = NULL, out_path[4096];
	struct recipe **rs = NULL;
	size_t len, n = 0, i, nr = 0;
	int rc = RC_EXIT_BAD_INPUT;

	if (read_file(path, HAPROXY_MAX_CFG, &text, &len, err, sizeof(err)) == -1) {
		cmd_err(cmd, "%s", err);
		goto out;
	}
	names = calloc(MAX_SECTIONS, sizeof(*names));
	rs = calloc(MAX_SECTIONS, sizeof(*rs));
	if (!names || !rs || section_names(text, len, names, &n) == -1) {
		cmd_err(cmd, "%s: out of memory or more than %d sections", path, MAX_SECTIONS);
		rc = RC_EXIT_IO;
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct recipe *r = haproxy_import_mem(text, len, path, names[i], err, sizeof(err));

		if (!r && strstr(err, NO_CHECK_MSG)) {
			free(names[i]);
			names[i] = NULL;
			continue;
		}
		if (!r) {
			cmd_err(cmd, "%s (nothing written)", err);
			goto out;
		}
		if (!names[i][0] || names[i][0] == '.' || strchr(names[i], '/')) {
			cmd_err(cmd, "%s: section '%s' cannot be a file name (nothing written)", path, names[i]);
			recipe_free(r);
			goto out;
		}
		rs[nr] = r;
		names[nr++] = names[i];
		if (nr - 1 != i)
			names[i] = NULL;
	}
	if (!nr) {
		cmd_err(cmd, "%s: no listen or backend section has 'option tcp-check' or 'option httpchk'", path);
		goto out;
	}
	for (i = 0; i < nr; i++) {
		char what[512];

		if ((size_t)snprintf(out_path, sizeof(out_path), "%s/%s.%s", dir, names[i], haproxy ? "cfg" : "yaml") >=
		    sizeof(out_path)) {
			cmd_err(cmd, "%s/%s: path too long", dir, names[i]);
			rc = RC_EXIT_IO;
			goto out;
		}
		snprintf(what, sizeof(what), "%s: section '%s'", path, names[i]);
		rc = cmd_write_recipe(cmd, rs[i], haproxy ? o : NULL, out_path, what);
		if (rc != RC_EXIT_OK)
			goto out;
		fprintf(stderr, "recheck %s: wrote %s (section '%s', %s check)\n", cmd, out_path, names[i],
			rs[i]->kind == RECIPE_HTTP ? "http" : "tcp");
	}
	rc = RC_EXIT_OK;
out:
	for (i = 0; names && i < MAX_SECTIONS; i++)
		free(names[i]);
	for (i = 0; rs && i < nr; i++)
		recipe_free(rs[i]);
	free(names);
	free(rs);
	free(text);
	return rc;
}

int cmd_import(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"section", required_argument, NULL, 's'},
		{"all", no_argument, NULL, 'A'},
		{"output-dir", required_argument, NULL, 'D'},
		{"format", required_argument, NULL, 'f'},
		{"legacy-httpchk", no_argument, NULL, 'L'},
		{"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct haproxy_export_opts o;
	const char *format = "yaml", *output = NULL, *section = NULL, *dir = NULL;
	bool all = false;
	char err[ERR_LEN];
	int c;

	memset(&o, 0, sizeof(o));
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":f:o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 's': section = optarg; break;
		case 'A': all = true; break;
		case 'D': dir = optarg; break;
		case 'f':
			format = optarg;
			if (strcmp(format, "haproxy") && strcmp(format, "yaml"))
				return cmd_usage(argv[0], "--format must be yaml or haproxy (got '%s')", optarg);
			break;
		case 'L': o.legacy_httpchk = true; break;
		case 'o': output = optarg; break;
		case 'h':
			usage(stdout);
			return RC_EXIT_OK;
		default:
			return cmd_opt_error(argv[0], c, argv, optind, optopt);
		}
	}
	if (optind != argc - 1)
		return cmd_usage(argv[0], optind >= argc ? "expects an HAProxy configuration file"
							 : "expects exactly one configuration file");
	if (o.legacy_httpchk && strcmp(format, "haproxy"))
		return cmd_usage(argv[0], "--legacy-httpchk only applies to --format haproxy");
	if (all && (section || output))
		return cmd_usage(argv[0],
				 "--all writes one file per section into --output-dir: no --section or -o with it");
	if (dir && !all)
		return cmd_usage(argv[0], "--output-dir goes with --all");
	if (all)
		return import_all(argv[0], argv[optind], dir ? dir : ".", !strcmp(format, "haproxy"), &o);
	return cmd_write_read_recipe(argv[0], haproxy_import_file(argv[optind], section, err, sizeof(err)), err,
				     strcmp(format, "yaml") ? &o : NULL, output, argv[optind]);
}

/*
 * recheck lint: validates recipes the way replay and export load them, and prints the warnings of
 * src/recipe_lint.c about recipes that load but are fragile in ways that bite later (a pinned SOCKS5
 * bound address, an expect that waits for a server that never speaks first, an HTTP expectation that is
 * HAProxy's lax default).
 */
#include "api.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "recipe.h"
#include "recipe_lint.h"
#include "recipe_yaml.h"
#include "tls.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: recheck lint [--strict] [--quiet] RECIPE.yaml...\n"
		"\n"
		"Checks each recipe the way `recheck replay` and `recheck export` load it: YAML syntax, the\n"
		"schema (docs/recipe.md), hex, regexes (compiled with PCRE2, as HAProxy does), ${NAME}\n"
		"references and HAProxy's rules (the first step must be a connect when any step is).\n"
		"Prints \"FILE: ok (N steps, protocol P)\" or \"FILE:LINE:COLUMN: reason\".\n"
		"\n"
		"It also warns, without failing, about recipes that work today but are fragile:\n"
		"  - an unanchored binary expect of a SOCKS5 CONNECT reply that pins BND.ADDR/BND.PORT,\n"
		"    which differ between servers and restarts (use rbinary ^050000...);\n"
		"  - an expect right after connect in a protocol where the client speaks first (SOCKS, HTTP):\n"
		"    the server sends nothing, so the check waits for its timeout;\n"
		"  - an rbinary pattern with lowercase hex: rbinary matches the UPPERCASE hex of the bytes;\n"
		"  - a tcp recipe that ends with a send: HAProxy reports success without reading a reply;\n"
		"  - an HTTP expect of status 200-399, or none: that is HAProxy's implicit default, which\n"
		"    also passes redirects and captive portals.\n"
		"\n"
		"Options:\n"
		"      --strict   treat warnings as errors (exit 3)\n"
		"  -q, --quiet    print only problems\n"
		"  -h, --help     this text\n"
		"\n"
		"Exit codes: 0 every recipe is valid, 2 usage error, 3 a recipe is unreadable or invalid.\n");
}

struct lint_print {
	const char *file;
};

static void print_warning(void *arg, int line, const char *msg)
{
	const struct lint_print *p = arg;

	if (line > 0)
		printf("%s:%d: warning: %s\n", p->file, line, msg);
	else
		printf("%s: warning: %s\n", p->file, msg);
}

int cmd_lint(int argc, char **argv)
{
	static const struct option opts[] = {
		{"strict", no_argument, NULL, 'S'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	bool strict = false, quiet = false;
	int c, i, rc = RC_EXIT_OK;

	optind = 1;
	while ((c = getopt_long(argc, argv, ":qh", opts, NULL)) != -1) {
		switch (c) {
		case 'S':
			strict = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			usage(stdout);
			return RC_EXIT_OK;
		default:
			return cmd_opt_error("lint", c, argv, optind, optopt);
		}
	}
	if (optind >= argc)
		return cmd_usage("lint", "no recipe given (recheck lint RECIPE.yaml...)");
	for (i = optind; i < argc; i++) {
		struct lint_print pr = {argv[i]};
		int nwarn;
		char err[ERR_LEN];
		struct recipe *r;

		r = recipe_load_file(argv[i], err, sizeof(err));
		if (!r) {
			fflush(stdout);
			cmd_err("lint", "%s", err);
			rc = RC_EXIT_BAD_INPUT;
			continue;
		}
		/* the ca file is read here, as replay and recheckd will read it */
		if (tls_prepare(r, err, sizeof(err)) == -1) {
			fflush(stdout);
			fprintf(stderr, "%s: %s\n", argv[i], err);
			recipe_free(r);
			rc = RC_EXIT_BAD_INPUT;
			continue;
		}
		if (recipe_check_env_lengths(r, err, sizeof(err)) == -1) {
			fflush(stdout);
			cmd_err("lint", "%s: %s", argv[i], err);
			rc = RC_EXIT_BAD_INPUT;
			recipe_free(r);
			continue;
		}
		nwarn = recipe_lint(r, print_warning, &pr);
		if (strict && nwarn) {
			fflush(stdout);
			cmd_err("lint", "%s: %d warning%s (--strict)", argv[i], nwarn, nwarn == 1 ? "" : "s");
			rc = RC_EXIT_BAD_INPUT;
		} else if (!quiet) {
			if (r->kind == RECIPE_TCP)
				printf("%s: ok (%zu step%s, protocol %s)%s\n", argv[i], r->nsteps, r->nsteps == 1 ? "" : "s",
				       r->protocol ? r->protocol : "unknown", nwarn ? " with warnings" : "");
			else
				printf("%s: ok (HTTP check, %zu expect%s, protocol %s)%s\n", argv[i], r->nhexp,
				       r->nhexp == 1 ? "" : "s", r->protocol ? r->protocol : "unknown",
				       nwarn ? " with warnings" : "");
		}
		recipe_free(r);
	}
	fflush(stdout);
	return rc;
}

/*
 * recheck replay: run a recipe once (or --count times) against one server with the check engine and
 * the poll() driver, and report the verdict the way a person debugging a proxy needs it: the failing
 * step, what it expected, what arrived (hex + text, first difference marked) and the verdict class.
 */
#include "api.h"

#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "buf.h"
#include "check.h"
#include "check_report.h"
#include "checknet.h"
#include "cmd.h"
#include "net.h"
#include "recipe.h"
#include "recipe_yaml.h"
#include "tls.h"
#include "util.h"

#define REPLAY_DEFAULT_TIMEOUT_MS 5000
#define REPLAY_MAX_COUNT          100000

static void usage(FILE *f)
{
	fprintf(f,
		"usage: recheck replay RECIPE --server HOST:PORT [--timeout DUR] [--count N] [-v]\n"
		"\n"
		"Runs the recipe against one server exactly as HAProxy 2.6's tcp-check / http-check would, and\n"
		"reports the verdict with HAProxy's status names (L7OK, L7RSP, L7TOUT, L7STS, L4CON, L4TOUT, ...).\n"
		"\n"
		"Options:\n"
		"  -s, --server HOST:PORT  the server to check: 127.0.0.1:1080, [::1]:1080 or proxy.example:1080\n"
		"  -t, --timeout DUR       one deadline for the whole check, connect included (default 5s);\n"
		"                          a unit is required: us, ms, s, m, h, d (e.g. 500ms, 5s)\n"
		"  -c, --count N           run the check N times in a row (default 1), one summary line each\n"
		"  -v, --verbose           print every step as it concludes (use twice for the engine's trace)\n"
		"  -h, --help              this help\n"
		"\n"
		"On success it prints one line with per-step timings:\n"
		"  OK L7OK 12.3ms: connect 1 0.2ms, send-binary 2 0.0ms, expect binary 3 1.1ms, ...\n"
		"On failure it names the failing step (number as HAProxy counts them, kind, comment), what it\n"
		"expected, what was received (hex and text, the first differing byte in [brackets]) and the\n"
		"verdict class. Like HAProxy, an expect that does not match keeps waiting for more data unless\n"
		"min-recv is set: a wrong answer from a server that keeps the connection open ends in L7TOUT.\n"
		"Environment references ${NAME} in the recipe are filled from the environment first.\n"
		"\n"
		"Exit codes:\n"
		"  0  the check passed (every run with --count)\n"
		"  1  the server answered wrongly or too late (L7RSP, L7STS, L7TOUT, SOCKERR)\n"
		"  2  usage error\n"
		"  3  the recipe is unreadable or invalid, or an environment variable it needs is not set\n"
		"  4  the server could not be reached (L4CON: refused/unreachable, L4TOUT, name resolution)\n"
		"  5  local failure (cannot create a socket)\n");
}

struct replay_opts {
	const char *recipe;
	const char *server;
	uint64_t timeout_ms;
	unsigned long count;
	int verbose;
	const struct recipe *loaded; /* as read, ${NAME} unresolved: tells which values are secrets */
};

static void trace_line(void *arg, const char *line)
{
	(void)arg;
	printf("  %s\n", line);
	fflush(stdout);
}

static int exit_code(enum check_status st)
{
	if (check_status_verdict(st) == CHECK_RES_PASSED)
		return RC_EXIT_OK;
	if (check_status_is_l4(st))
		return RC_EXIT_UNREACHABLE;
	return RC_EXIT_CHECK_FAILED;
}

/* "delay: connect 0.1ms, tls 2.3ms, first byte 0.4ms, total 3.0ms", as mihomo's url-test reports it. */
static void delays(const struct check_run *run, struct buf *b)
{
	const struct check_result *res = &run->res;

	buf_append_str(b, "  delay:    ");
	if (res->connect_us >= 0)
		buf_printf(b, "connect %.1fms, ", (double)res->connect_us / 1000.0);
	if (res->tls_us >= 0)
		buf_printf(b, "tls %.1fms, ", (double)res->tls_us / 1000.0);
	if (res->ttfb_us >= 0)
		buf_printf(b, "first byte %.1fms, ", (double)res->ttfb_us / 1000.0);
	buf_printf(b, "total %.1fms\n", (double)(res->end_us - res->start_us) / 1000.0);
}

/* One run: prints its summary (and report when it failed); returns its exit code. */
static int replay_once(const struct recipe *r, const struct checknet_addr *addr, const struct replay_opts *o)
{
	struct check_run run;
	char err[ERR_LEN], where[300];
	struct buf b;
	int rc;

	if (check_run_init(&run, r) == -1) {
		cmd_err("replay", "out of memory");
		return RC_EXIT_IO;
	}
	if (r->kind == RECIPE_HTTP && r->req.send_state) {
		/*
		 * http-check send-state: what a single run knows. The server is taken as fully up (as HAProxy
		 * would say once it is), alone in its backend, with no session and no queue.
		 */
		char node[256], state[1400];

		if (gethostname(node, sizeof(node)) == -1)
			snprintf(node, sizeof(node), "localhost");
		node[sizeof(node) - 1] = '\0';
		snprintf(state, sizeof(state), "UP; address=%s; port=%d; name=%.255s/%s; node=%s; weight=1/1; "
			 "scur=0/0; qcur=0", addr->host, addr->port, r->name ? r->name : "replay", addr->host, node);
		if (check_run_send_state(&run, state) == -1) {
			cmd_err("replay", "out of memory");
			check_run_free(&run);
			return RC_EXIT_IO;
		}
	}
	if (o->verbose)
		check_set_trace(&run, trace_line, NULL, o->verbose > 1);
	if (checknet_run(&run, addr, o->timeout_ms, err, sizeof(err)) == -1) {
		cmd_err("replay", "%s", err);
		check_run_free(&run);
		return RC_EXIT_IO;
	}
	buf_init(&b, 1 << 20);
	rc = exit_code(run.res.status);
	buf_printf(&b, "%s %s %.1fms", rc == RC_EXIT_OK ? "OK" : "FAIL", check_status_str(run.res.status),
		   (double)(run.res.end_us - run.res.start_us) / 1000.0);
	if (rc == RC_EXIT_OK) {
		buf_printf(&b, ": ");
		check_report_timings(&run, &b);
		buf_printf(&b, "\n");
		if (o->verbose)
			delays(&run, &b);
	} else {
		net_fmt_addr((const struct sockaddr *)&addr->ss, err, sizeof(err));
		snprintf(where, sizeof(where), strchr(addr->host, ':') ? "[%s]:%d" : "%s:%d", addr->host, addr->port);
		if (strcmp(where, err) && strlen(where) + strlen(err) + 4 < sizeof(where))
			snprintf(where + strlen(where), sizeof(where) - strlen(where), " (%.64s)", err);
		buf_printf(&b, ": %s\n", run.res.desc[0] ? run.res.desc : check_status_desc(run.res.status));
		check_report_failure(&run, o->loaded, where, &b);
		buf_printf(&b, "  timings:  ");
		check_report_timings(&run, &b);
		buf_printf(&b, "\n");
		delays(&run, &b);
	}
	fwrite(b.data, 1, b.len, stdout);
	fflush(stdout);
	buf_free(&b);
	check_run_free(&run);
	return rc;
}

static int parse_opts(int argc, char **argv, struct replay_opts *o)
{
	static const struct option longopts[] = {
		{"server", required_argument, NULL, 's'}, {"timeout", required_argument, NULL, 't'},
		{"count", required_argument, NULL, 'c'},  {"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
	};
	char *end;
	int c;

	o->timeout_ms = REPLAY_DEFAULT_TIMEOUT_MS;
	o->count = 1;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":s:t:c:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			o->server = optarg;
			break;
		case 't':
			if (cmd_duration("replay", "--timeout", optarg, &o->timeout_ms))
				return -1;
			if (o->timeout_ms == 0) {
				cmd_usage("replay", "--timeout %s: must be more than 0", optarg);
				return -1;
			}
			break;
		case 'c':
			o->count = strtoul(optarg, &end, 10);
			if (!*optarg || *end || o->count < 1 || o->count > REPLAY_MAX_COUNT) {
				cmd_usage("replay", "--count: '%s' is not a number from 1 to %d", optarg, REPLAY_MAX_COUNT);
				return -1;
			}
			break;
		case 'v':
			o->verbose++;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			cmd_opt_error("replay", c, argv, optind, optopt);
			return -1;
		}
	}
	if (optind != argc - 1) {
		cmd_usage("replay", optind >= argc ? "missing RECIPE" : "one RECIPE only (got '%s' too)",
			  optind < argc - 1 ? argv[optind + 1] : "");
		return -1;
	}
	o->recipe = argv[optind];
	if (!o->server) {
		cmd_usage("replay", "missing --server HOST:PORT");
		return -1;
	}
	return 0;
}

int cmd_replay(int argc, char **argv)
{
	struct replay_opts o = {0};
	struct recipe *loaded = NULL, *r = NULL;
	struct checknet_addr addr;
	char err[ERR_LEN];
	bool resolve_failed;
	unsigned long i;
	int rc, worst = RC_EXIT_OK;

	rc = parse_opts(argc, argv, &o);
	if (rc != 0)
		return rc == 1 ? RC_EXIT_OK : RC_EXIT_USAGE;
	if (checknet_resolve(o.server, &addr, &resolve_failed, err, sizeof(err)) == -1) {
		if (!resolve_failed) {
			return cmd_usage("replay", "--server: %s", err);
		}
		printf("FAIL L4CON: %s\n  verdict:  L4CON (%s): name resolution failed\n", err,
		       check_status_desc(CHECK_L4CON));
		return RC_EXIT_UNREACHABLE;
	}
	loaded = recipe_load_file(o.recipe, err, sizeof(err));
	if (!loaded) {
		cmd_err("replay", "%s", err);
		return RC_EXIT_BAD_INPUT;
	}
	r = recipe_resolve_env(loaded, err, sizeof(err));
	if (!r || tls_prepare(r, err, sizeof(err)) == -1) {
		cmd_err("replay", "%s: %s", o.recipe, err);
		recipe_free(r);
		recipe_free(loaded);
		return RC_EXIT_BAD_INPUT;
	}
	o.loaded = loaded;
	for (i = 0; i < o.count; i++) {
		if (o.count > 1)
			printf("[%lu/%lu] ", i + 1, o.count);
		rc = replay_once(r, &addr, &o);
		if (rc == RC_EXIT_IO) {
			worst = rc;
			break;
		}
		if (rc != RC_EXIT_OK)
			worst = rc;
	}
	recipe_free(r);
	recipe_free(loaded);
	return worst;
}

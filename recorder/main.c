/*
 * recheck: record a proxy health check from a real request, and work with the recipes it writes.
 */
#include "api.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "buildinfo.h"
#include "cmd.h"
#include "util.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{"record",    cmd_record,    "capture a real curl request through a proxy and write a recipe"},
	{"from-pcap", cmd_from_pcap, "build a recipe from a capture file (tcpdump -w)"},
	{"flows",     cmd_flows,     "list the TCP conversations in a capture file"},
	{"replay",    cmd_replay,    "run a recipe once against a server and report the verdict"},
	{"export",    cmd_export,    "print a recipe as HAProxy tcp-check/http-check lines or YAML"},
	{"import",    cmd_import,    "read the checks of an HAProxy listen/backend section into a recipe"},
	{"show",      cmd_show,      "print a readable, annotated listing of a recipe"},
	{"lint",      cmd_lint,      "validate a recipe"},
};

/* "recheck CMD: message" and the end of the line (tail) on stderr. */
static void cmd_vmsg(const char *cmd, const char *tail, const char *fmt, va_list ap)
{
	fprintf(stderr, "recheck %s: ", cmd);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "%s\n", tail);
}

void cmd_err(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cmd_vmsg(cmd, "", fmt, ap);
	va_end(ap);
}

int cmd_usage(const char *cmd, const char *fmt, ...)
{
	char tail[128];
	va_list ap;

	snprintf(tail, sizeof(tail), " (see recheck %s --help)", cmd);
	va_start(ap, fmt);
	cmd_vmsg(cmd, tail, fmt, ap);
	va_end(ap);
	return RC_EXIT_USAGE;
}

int cmd_opt_error(const char *cmd, int c, char **argv, int optind, int optopt)
{
	const char *arg = optind > 0 ? argv[optind - 1] : "";
	const char *eq;

	if (strncmp(arg, "--", 2)) /* a short option, maybe inside a cluster such as -qz */
		return cmd_usage(cmd, c == ':' ? "option '-%c' needs a value" : "unknown option '-%c'", optopt);
	eq = strchr(arg, '=');
	if (c == ':')
		return cmd_usage(cmd, "option '%s' needs a value", arg);
	if (optopt && eq) /* a known long option that takes no value, given one */
		return cmd_usage(cmd, "option '%.*s' takes no value", (int)(eq - arg), arg);
	return cmd_usage(cmd, "unknown option '%.*s'", eq ? (int)(eq - arg) : (int)strlen(arg), arg);
}

void cmd_bad_option(const char *cmd, char **argv, int optind, int optopt)
{
	cmd_opt_error(cmd, '?', argv, optind, optopt);
}

int cmd_duration(const char *cmd, const char *opt, const char *arg, uint64_t *ms)
{
	char err[ERR_LEN];
	size_t n = strlen(arg);

	/* HAProxy reads a bare number as milliseconds; on a command line that surprises (--timeout 5 would
	 * be 5 ms), so the unit is required here. */
	if (n && arg[n - 1] >= '0' && arg[n - 1] <= '9')
		return cmd_usage(cmd, "%s %s: a duration needs a unit: %ss or %sms (us ms s m h d)", opt, arg, arg, arg);
	if (duration_parse_ms(arg, ms, err, sizeof(err)) == -1)
		return cmd_usage(cmd, "%s: %s", opt, err);
	return RC_EXIT_OK;
}

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: recheck <command> [options]\n"
		   "       recheck <command> --help\n"
		   "       recheck --version [-v]   (-v: libraries, build type, features)\n\n"
		   "Commands:\n");
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nExit codes:\n"
		   "  0  success (for replay: the check passed)\n"
		   "  1  the check ran and the server answered wrongly (Layer 7 verdicts)\n"
		   "  2  usage error\n"
		   "  3  an input file (recipe, HAProxy config, pcap) is unreadable or invalid\n"
		   "  4  the server or proxy could not be reached (Layer 4 verdicts, name resolution)\n"
		   "  5  local failure: cannot write the output, capture, permissions\n");
}

static bool is_version(const char *a)
{
	return !strcmp(a, "--version") || !strcmp(a, "-V");
}

static bool is_verbose(const char *a)
{
	return !strcmp(a, "-v") || !strcmp(a, "--verbose");
}

int main(int argc, char **argv)
{
	size_t i;

	opterr = 0; /* every command reports a refused option itself, in one line (cmd_opt_error) */
	if (argc < 2) {
		usage(stderr);
		return RC_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return RC_EXIT_OK;
	}
	if (is_version(argv[1]) || (argc > 2 && is_verbose(argv[1]) && is_version(argv[2]))) {
		if (argc > 3 || (argc == 3 && !is_verbose(argv[1]) && !is_verbose(argv[2]))) {
			fprintf(stderr, "recheck: --version takes only -v (see recheck --help)\n");
			return RC_EXIT_USAGE;
		}
		buildinfo_print(stdout, "recheck", argc == 3);
		return RC_EXIT_OK;
	}
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "recheck: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return RC_EXIT_USAGE;
}

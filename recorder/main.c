/*
 * recheck: record a proxy health check from a real request, and work with the recipes it writes.
 */
#include "api.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"

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

void cmd_err(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "recheck %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void cmd_bad_option(const char *cmd, char **argv, int optind, int optopt)
{
	if (optopt)
		cmd_err(cmd, "option '-%c' is unknown or needs an argument (see --help)", optopt);
	else
		cmd_err(cmd, "option '%s' is unknown or needs an argument (see --help)", argv[optind - 1]);
}

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: recheck <command> [options]\n"
		   "       recheck <command> --help\n"
		   "       recheck --version\n\n"
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

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		usage(stderr);
		return RC_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return RC_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("recheck %s\n", RECHECK_VERSION);
		return RC_EXIT_OK;
	}
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "recheck: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return RC_EXIT_USAGE;
}

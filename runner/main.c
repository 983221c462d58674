/*
 * recheckd: replays recipes as health checks and balances TCP by source address like HAProxy 2.6.
 * Entry point: options, config check (-c), root policy, then daemon_run(). See docs/recheckd.8.
 */
#include "api.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buildinfo.h"
#include "conf.h"
#include "daemon.h"
#include "dlog.h"
#include "observe.h" /* health: checks and stats through the daemon hooks */

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: recheckd -f FILE [-c] [-d]\n"
		"\n"
		"Replays recorded recipes as health checks and relays TCP to the healthy servers, picking the\n"
		"server by client source address exactly as HAProxy 2.6's `balance source` does.\n"
		"\n"
		"Options:\n"
		"  -f, --config FILE  the YAML configuration (see recheckd(8) and samples/recheckd.yaml)\n"
		"  -c, --check        check the configuration and every recipe it names, then exit\n"
		"  -d, --debug        log debug lines (per-session ends, accept pauses)\n"
		"  -h, --help         this help\n"
		"  -V, --version      print the version; with -v also the libraries, build type, features\n"
		"  -v, --verbose      with --version: the build information\n"
		"\n"
		"Runs in the foreground and logs to stderr (or syslog with `log: syslog`). Signals:\n"
		"  SIGHUP           reload the configuration (validated first; a bad one is refused and the\n"
		"                   running one stays; open connections and the health of unchanged servers survive)\n"
		"  SIGTERM, SIGINT  stop accepting, wait up to drain_timeout for sessions to end, exit 0\n"
		"Speaks systemd's Type=notify protocol when $NOTIFY_SOCKET is set.\n"
		"\n"
		"Running as root needs `user:` (privileges are dropped after binding) or `allow_root: true`.\n"
		"\n"
		"Exit status: 0 ok (or the configuration is valid), 2 usage, 3 invalid configuration or recipe,\n"
		"5 a local failure (cannot bind, cannot drop privileges).\n");
}

/* What getopt_long refused (c is its '?' or ':'), in one line. */
static int bad_option(int c, char **argv)
{
	const char *arg = argv[optind - 1], *eq = strchr(arg, '=');
	int n = eq ? (int)(eq - arg) : (int)strlen(arg);

	if (strncmp(arg, "--", 2))
		fprintf(stderr, c == ':' ? "recheckd: option '-%c' needs a value" : "recheckd: unknown option '-%c'",
			optopt);
	else if (c == ':')
		fprintf(stderr, "recheckd: option '%s' needs a value", arg);
	else if (optopt && eq)
		fprintf(stderr, "recheckd: option '%.*s' takes no value", n, arg);
	else
		fprintf(stderr, "recheckd: unknown option '%.*s'", n, arg);
	fprintf(stderr, " (see recheckd --help)\n");
	return RD_EXIT_USAGE;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'f'}, {"check", no_argument, NULL, 'c'},
		{"debug", no_argument, NULL, 'd'},        {"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},      {"verbose", no_argument, NULL, 'v'},
		{NULL, 0, NULL, 0},
	};
	const char *file = NULL;
	bool check = false, debug = false, version = false, verbose = false;
	char err[ERR_LEN];
	struct conf *conf;
	struct daemon d;
	size_t i, nsrv = 0;
	uint64_t fd_limit = 0;
	int c;

	opterr = 0; /* a refused option is one line, as recheck's commands report it */
	while ((c = getopt_long(argc, argv, ":f:cdhVv", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			file = optarg;
			break;
		case 'c':
			check = true;
			break;
		case 'd':
			debug = true;
			break;
		case 'h':
			usage(stdout);
			return RD_EXIT_OK;
		case 'V':
			version = true;
			break;
		case 'v':
			verbose = true;
			break;
		default:
			return bad_option(c, argv);
		}
	}
	if (version) {
		buildinfo_print(stdout, "recheckd", verbose);
		return RD_EXIT_OK;
	}
	if (optind < argc) {
		fprintf(stderr, "recheckd: unexpected argument '%s' (see recheckd --help)\n", argv[optind]);
		return RD_EXIT_USAGE;
	}
	if (!file) {
		fprintf(stderr, "recheckd: -f FILE is required (see recheckd --help)\n");
		return RD_EXIT_USAGE;
	}
	conf = conf_load(file, 0, err, sizeof(err));
	if (!conf) {
		fprintf(stderr, "recheckd: %s\n", err);
		return RD_EXIT_BAD_CONFIG;
	}
	for (const char *w = conf->warnings, *nl; w && *w; w = nl + 1) {
		nl = strchr(w, '\n');
		if (!nl)
			break;
		fprintf(stderr, "recheckd: warning: %.*s\n", (int)(nl - w), w);
	}
	if (daemon_preflight(conf, &fd_limit, err, sizeof(err)) == -1) {
		fprintf(stderr, "recheckd: %s\n", err);
		conf_free(conf);
		return RD_EXIT_BAD_CONFIG;
	}
	if (check) {
		for (i = 0; i < conf->nlisteners; i++)
			nsrv += conf->listeners[i].nservers;
		printf("%s: configuration is valid: %zu listeners, %zu servers, %zu recipes\n", file,
		       conf->nlisteners, nsrv, conf->nrecipes);
		conf_free(conf);
		return RD_EXIT_OK;
	}
	dlog_init(conf->log == CONF_LOG_SYSLOG, debug);
	memset(&d, 0, sizeof(d));
	d.conf_path = file;
	d.debug = debug;
	d.fd_limit = fd_limit;
	observe_install(&d); /* health: health checks and the stats server */
	return daemon_run(&d, conf);
}

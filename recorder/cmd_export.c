/*
 * recheck export: print a recipe as HAProxy 2.6 check lines (optionally a whole listen section) or YAML,
 * written by cmd_write.c as import's output is (cmd_write_read_recipe()); with --config, a whole recheckd
 * configuration as an HAProxy configuration (runner/conf_export.c).
 */
#include "api.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cmd.h"
#include "conf.h"
#include "recipe.h"
#include "recipe_haproxy.h"
#include "recipe_yaml.h"
#include "util.h"

#define OUT_CAP (8u << 20) /* the --config rendering */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: recheck export RECIPE [--format haproxy|yaml] [--legacy-httpchk] [-o FILE]\n"
		"       recheck export --config RECHECKD.yaml [-o FILE]\n"
		"       recheck export RECIPE --listen NAME --bind ADDR --server NAME=HOST:PORT[,backup] ...\n"
		"                             [--hash-type consistent] [--inter DUR] [--rise N] [--fall N]\n"
		"                             [--timeout DUR] [--timeout-queue DUR] [--retries N] [--redispatch]\n"
		"                             [--accept-proxy] [--legacy-httpchk] [-o FILE]\n"
		"\n"
		"Prints the recipe as HAProxy 2.6 lines: 'option tcp-check' + 'tcp-check ...' for TCP recipes,\n"
		"'option httpchk' + 'http-check send/expect' for HTTP recipes. Payloads are escaped for HAProxy's\n"
		"lexer (spaces, '#', quotes, backslashes, control bytes); a text payload holding a NUL byte is\n"
		"written as send-binary / expect binary, since HAProxy would cut it at the NUL. Steps with\n"
		"${NAME} references are written in double quotes, so HAProxy fills them from its environment\n"
		"and the secret never appears in the file.\n"
		"\n"
		"Options:\n"
		"  -f, --format haproxy|yaml\n"
		"                          output form (default haproxy)\n"
		"  --legacy-httpchk        HTTP recipes: the one-line 'option httpchk M URI VER\\r\\nHdr:\\ v' form\n"
		"                          (HAProxy 2.6 accepts it with a deprecation warning)\n"
		"  --listen NAME           wrap the lines in a complete 'listen NAME' section (mode tcp,\n"
		"                          balance source) that 'haproxy -c' accepts; needs --bind and --server\n"
		"  --bind ADDR             the section's bind address, e.g. 127.0.0.1:1080 or :::1080\n"
		"  --server NAME=HOST:PORT[,backup][,send-proxy|,send-proxy-v2][,check-send-proxy][,slowstart=DUR]\n"
		"               [,maxconn=N][,maxqueue=N]\n"
		"                          a checked server (repeat for several, at most %d); a HOST that is a\n"
		"                          name gets 'init-addr last,libc,none' (up once it resolves)\n"
		"  --hash-type consistent  consistent hashing for balance source (default: map-based)\n"
		"  --inter DUR --rise N --fall N\n"
		"                          a 'default-server' line with the check interval and thresholds\n"
		"  --timeout DUR           timeout connect and timeout check (default 5s)\n"
		"  --timeout-queue DUR     'timeout queue': how long a client waits for a server under maxconn\n"
		"  --retries N             'retries N' (HAProxy's default: 3)\n"
		"  --redispatch            'option redispatch'\n"
		"  --accept-proxy          'accept-proxy' on the bind line: clients send a PROXY header\n"
		"  --config                the argument is a recheckd configuration: write it as a complete\n"
		"                          HAProxy configuration (global, defaults, stats, one listen section\n"
		"                          per listener with its check lines) that recheckd -f also reads\n"
		"  -o, --output FILE       write to FILE atomically (mode 0600 when the recipe carries a\n"
		"                          credential) instead of standard output\n"
		"  -h, --help              this help\n"
		"\n"
		"Durations need a unit: 500ms, 2s, 1m. Exit: 0 ok, 2 usage, 3 unreadable or inexpressible\n"
		"recipe (file:line and reason on stderr), 5 cannot write the output.\n",
		HAPROXY_MAX_SERVERS);
}

/* NAME=HOST:PORT[,backup][,send-proxy|,send-proxy-v2][,check-send-proxy][,slowstart=DUR][,maxconn=N]
 * [,maxqueue=N] into srv, pointing into the modifiable arg. */
static int parse_server(char *arg, struct haproxy_server *srv)
{
	char *eq = strchr(arg, '='), *comma, *save = NULL, *flag;

	if (!eq || eq == arg || !eq[1])
		return -1;
	*eq = '\0';
	comma = strchr(eq + 1, ',');
	if (comma) {
		*comma = '\0';
		for (flag = strtok_r(comma + 1, ",", &save); flag; flag = strtok_r(NULL, ",", &save)) {
			if (!strcmp(flag, "backup"))
				srv->backup = true;
			else if (!strcmp(flag, "send-proxy"))
				srv->send_proxy = 1;
			else if (!strcmp(flag, "send-proxy-v2"))
				srv->send_proxy = 2;
			else if (!strcmp(flag, "check-send-proxy"))
				srv->check_send_proxy = true;
			else if (!strncmp(flag, "slowstart=", 10)) {
				char e[ERR_LEN];

				if (duration_parse_ms(flag + 10, &srv->slowstart, e, sizeof(e)) == -1 ||
				    srv->slowstart > CONF_SLOWSTART_MAX)
					return -1;
			} else if (!strncmp(flag, "maxconn=", 8) || !strncmp(flag, "maxqueue=", 9)) {
				const char *v = strchr(flag, '=') + 1;
				char *end;
				long n = strtol(v, &end, 10);

				if (!*v || *end || n < 0 || n > 1000000)
					return -1;
				if (flag[3] == 'c')
					srv->maxconn = (unsigned)n;
				else
					srv->maxqueue = (unsigned)n;
			} else
				return -1;
		}
	}
	if (!strchr(eq + 1, ':'))
		return -1;
	srv->name = arg;
	srv->addr = eq + 1;
	return 0;
}

static int parse_count(const char *s, int *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!*s || *end || v < 1 || v > 1000)
		return -1;
	*out = (int)v;
	return 0;
}

int cmd_export(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"format", required_argument, NULL, 'f'},
		{"legacy-httpchk", no_argument, NULL, 'L'},
		{"listen", required_argument, NULL, 'l'},
		{"bind", required_argument, NULL, 'b'},
		{"server", required_argument, NULL, 's'},
		{"hash-type", required_argument, NULL, 'H'},
		{"inter", required_argument, NULL, 'i'},
		{"rise", required_argument, NULL, 'r'},
		{"fall", required_argument, NULL, 'F'},
		{"timeout", required_argument, NULL, 't'},
		{"timeout-queue", required_argument, NULL, 'Q'},
		{"retries", required_argument, NULL, 'R'},
		{"redispatch", no_argument, NULL, 'D'},
		{"accept-proxy", no_argument, NULL, 'A'},
		{"output", required_argument, NULL, 'o'},
		{"config", no_argument, NULL, 'C'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct haproxy_export_opts o;
	const char *format = "haproxy", *output = NULL;
	bool config = false;
	char err[ERR_LEN];
	uint64_t ms;
	int c, rc = RC_EXIT_USAGE;

	memset(&o, 0, sizeof(o));
	o.retries = -1;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":f:o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			format = optarg;
			if (strcmp(format, "haproxy") && strcmp(format, "yaml")) {
				cmd_usage(argv[0], "--format must be haproxy or yaml (got '%s')", optarg);
				goto out;
			}
			break;
		case 'L': o.legacy_httpchk = true; break;
		case 'l': o.listen = optarg; break;
		case 'b': o.bind = optarg; break;
		case 's':
			if (o.nservers >= HAPROXY_MAX_SERVERS) {
				cmd_usage(argv[0], "at most %d --server options", HAPROXY_MAX_SERVERS);
				goto out;
			}
			if (parse_server(optarg, &o.servers[o.nservers]) == -1) {
				cmd_usage(argv[0], "--server expects NAME=HOST:PORT[,backup][,send-proxy|,send-proxy-v2]"
					  "[,check-send-proxy][,slowstart=DUR][,maxconn=N][,maxqueue=N] (got '%s')", optarg);
				goto out;
			}
			o.nservers++;
			break;
		case 'H':
			if (strcmp(optarg, "consistent") && strcmp(optarg, "map-based")) {
				cmd_usage(argv[0], "--hash-type must be consistent or map-based (got '%s')", optarg);
				goto out;
			}
			o.hash_consistent = !strcmp(optarg, "consistent");
			break;
		case 'i':
		case 't':
			if (cmd_duration(argv[0], c == 'i' ? "--inter" : "--timeout", optarg, &ms))
				goto out;
			if (c == 'i')
				o.inter = optarg;
			else
				o.timeout = optarg;
			break;
		case 'Q':
			if (cmd_duration(argv[0], "--timeout-queue", optarg, &ms))
				goto out;
			o.timeout_queue = optarg;
			break;
		case 'r':
		case 'F':
			if (parse_count(optarg, c == 'r' ? &o.rise : &o.fall) == -1) {
				cmd_usage(argv[0], "--%s expects a number from 1 to 1000 (got '%s')", c == 'r' ? "rise" : "fall",
					optarg);
				goto out;
			}
			break;
		case 'R': {
			char *end;
			long v = strtol(optarg, &end, 10);

			if (!*optarg || *end || v < 0 || v > 100) {
				cmd_usage(argv[0], "--retries expects a number from 0 to 100 (got '%s')", optarg);
				goto out;
			}
			o.retries = (int)v;
			break;
		}
		case 'D': o.redispatch = true; break;
		case 'A': o.accept_proxy = true; break;
		case 'o': output = optarg; break;
		case 'C': config = true; break;
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
		cmd_usage(argv[0], optind >= argc ? "expects a recipe file" : "expects exactly one recipe file");
		goto out;
	}
	if (config) {
		struct conf *cf;
		struct buf cfg;
		bool secret = false;
		size_t i;

		if (o.listen || o.bind || o.nservers || o.hash_consistent || o.inter || o.rise || o.fall || o.timeout ||
		    o.timeout_queue ||
		    o.retries >= 0 || o.redispatch || o.accept_proxy || o.legacy_httpchk || strcmp(format, "haproxy")) {
			cmd_usage(argv[0], "--config takes only -o");
			goto out;
		}
		cf = conf_load(argv[optind], 0, err, sizeof(err));
		if (!cf) {
			cmd_err(argv[0], "%s", err);
			rc = RC_EXIT_BAD_INPUT;
			goto out;
		}
		for (i = 0; i < cf->nrecipes; i++)
			secret = secret || recipe_has_secret(cf->recipes[i]);
		buf_init(&cfg, OUT_CAP);
		if (conf_export_haproxy(cf, &cfg, err, sizeof(err)) == -1) {
			cmd_err(argv[0], "%s: %s", argv[optind], err);
			rc = RC_EXIT_BAD_INPUT;
		} else {
			rc = cmd_write_output(argv[0], output, cfg.data, cfg.len, secret);
		}
		conf_free(cf);
		buf_free(&cfg);
		goto out;
	}
	if (!o.listen && (o.bind || o.nservers || o.hash_consistent || o.inter || o.rise || o.fall || o.timeout ||
			  o.timeout_queue || o.retries >= 0 || o.redispatch || o.accept_proxy)) {
		cmd_usage(argv[0], "--bind, --server, --hash-type, --inter, --rise, --fall, --timeout, --timeout-queue, "
			  "--retries, --redispatch and --accept-proxy need --listen");
		goto out;
	}
	if (o.listen && (!o.bind || !o.nservers)) {
		cmd_usage(argv[0], "--listen needs --bind and at least one --server");
		goto out;
	}
	if (!strcmp(format, "yaml") && (o.listen || o.legacy_httpchk)) {
		cmd_usage(argv[0], "--listen and --legacy-httpchk only apply to --format haproxy");
		goto out;
	}
	rc = cmd_write_read_recipe(argv[0], recipe_load_file(argv[optind], err, sizeof(err)), err,
				   strcmp(format, "yaml") ? &o : NULL, output, argv[optind]);
out:
	return rc;
}

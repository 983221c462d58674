/*
 * cmd.h: the recheck subcommands. Each lives in cmd_<name>.c and takes the argv that starts at its own
 * name. Each returns an exit code from enum rc_exit below. Output files go through cmd_write_output().
 */
#ifndef RECHECK_CMD_H
#define RECHECK_CMD_H

#include "api.h"

/* Exit codes shared by the recheck commands (documented in README.md and recheck --help). */
enum rc_exit {
	RC_EXIT_OK = 0,          /* success; for a check: it passed */
	RC_EXIT_CHECK_FAILED = 1, /* the check ran and the server answered wrongly (L7 verdicts) */
	RC_EXIT_USAGE = 2,       /* bad command line */
	RC_EXIT_BAD_INPUT = 3,   /* an input file (recipe, config, pcap) is unreadable or invalid */
	RC_EXIT_UNREACHABLE = 4, /* the server or proxy could not be reached (L4 verdicts, DNS) */
	RC_EXIT_IO = 5,          /* a local failure: cannot write the output, capture, permissions */
};

int cmd_record(int argc, char **argv);
int cmd_from_pcap(int argc, char **argv);
int cmd_flows(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_lint(int argc, char **argv);

/*
 * The one command-line convention of every command: a refused option or value is one line
 * "recheck CMD: reason (see recheck CMD --help)" on stderr and exit 2 (RC_EXIT_USAGE).
 * Option strings start with ':' so that getopt_long returns ':' for a missing value; main() sets
 * opterr = 0 so getopt prints nothing itself.
 */
/* Prints the usage error line; returns RC_EXIT_USAGE. */
int cmd_usage(const char *cmd, const char *fmt, ...) PRINTF_FMT(2, 3);
/* Reports what getopt_long refused (c is its '?' or ':' return); returns RC_EXIT_USAGE. */
int cmd_opt_error(const char *cmd, int c, char **argv, int optind, int optopt);
/* Same, for a '?' return (kept for callers written before cmd_opt_error). */
void cmd_bad_option(const char *cmd, char **argv, int optind, int optopt);
/* Parses a duration option value; a unit is required. 0 or RC_EXIT_USAGE (already reported). */
int cmd_duration(const char *cmd, const char *opt, const char *arg, uint64_t *ms);

/* Prints "recheck <cmd>: <message>" on stderr. */
void cmd_err(const char *cmd, const char *fmt, ...) PRINTF_FMT(2, 3);

struct recipe;
struct haproxy_export_opts;

/*
 * Writes len bytes of data to path atomically (temporary file, fsync, rename; mode 0600 when secret,
 * else 0644), or to standard output when path is NULL or "-" (every byte written and flushed). Returns
 * RC_EXIT_OK, or RC_EXIT_IO after reporting the reason with cmd_err().
 */
int cmd_write_output(const char *cmd, const char *path, const void *data, size_t len, bool secret);
/*
 * Renders r as HAProxy lines with the given options (haproxy_export), or as YAML when haproxy is NULL,
 * and writes it with cmd_write_output() (mode 0600 when r carries a credential). Returns RC_EXIT_OK,
 * RC_EXIT_BAD_INPUT when r cannot be rendered (reported as "what: reason"), or RC_EXIT_IO.
 */
int cmd_write_recipe(const char *cmd, const struct recipe *r, const struct haproxy_export_opts *haproxy,
		     const char *path, const char *what);
/*
 * How export and import end: r is the recipe they read, or NULL when reading failed (err says why:
 * reported, RC_EXIT_BAD_INPUT). r is written as cmd_write_recipe() does, then freed.
 */
int cmd_write_read_recipe(const char *cmd, struct recipe *r, const char *err,
			  const struct haproxy_export_opts *haproxy, const char *path, const char *what);

#endif

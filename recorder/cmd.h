/*
 * cmd.h: the recheck subcommands. Each lives in cmd_<name>.c and takes the argv that starts at its own
 * name. Each returns an exit code from enum rc_exit (api.h).
 */
#ifndef RECHECK_CMD_H
#define RECHECK_CMD_H

#include "api.h"

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

#endif

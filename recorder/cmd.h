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

/* Reports the option getopt refused (unknown, or missing its argument) after getopt_long returned '?'. */
void cmd_bad_option(const char *cmd, char **argv, int optind, int optopt);

/* Prints "recheck <cmd>: <message>" on stderr. */
void cmd_err(const char *cmd, const char *fmt, ...) PRINTF_FMT(2, 3);

#endif

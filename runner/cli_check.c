/*
 * cli_check: `check L/S` — placeholder until the shared failure report lands.
 */
#include "api.h"

#include "cli.h"
#include "daemon.h"

void cli_check_server(struct daemon *d, char **argv, int argc, struct buf *out);

void cli_check_server(struct daemon *d, char **argv, int argc, struct buf *out)
{
	(void)d;
	(void)argv;
	(void)argc;
	buf_append_str(out, "check: not implemented yet\n");
}

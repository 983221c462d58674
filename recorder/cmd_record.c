#include "api.h"

#include "cmd.h"

/* Placeholder until the command is implemented. */
int cmd_record(int argc, char **argv)
{
	(void)argc;
	cmd_err(argv[0], "not implemented yet");
	return RC_EXIT_USAGE;
}

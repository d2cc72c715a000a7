/* main.c — the trucker executable: hands argv to the command dispatcher. */
#include "cli/cli.h"

int
main(int argc, char **argv)
{
	return trk_cli_main(argc, argv);
}

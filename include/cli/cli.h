/*
 * cli.h — trucker's commands: argv in, exit status out.
 *
 * Each command is a function taking the arguments after its name.  They live
 * in the core library so tests can run them exactly as the binary does.
 *
 * Exit status: 0 success, 1 the input has errors (or the work failed), 2 the
 * command line itself is wrong.
 */
#ifndef TRK_CLI_CLI_H
#define TRK_CLI_CLI_H

#include <stdio.h>

#include "config/config.h"

#define TRK_EXIT_OK 0
#define TRK_EXIT_FAIL 1
#define TRK_EXIT_USAGE 2

int			trk_cli_main(int argc, char **argv);

int			trk_cmd_check(int argc, char **argv);
int			trk_cmd_render(int argc, char **argv);
int			trk_cmd_run(int argc, char **argv);
int			trk_cmd_skip(int argc, char **argv);
int			trk_cmd_resume(int argc, char **argv);
int			trk_cmd_backfill(int argc, char **argv);

/*
 * trk_cli_connections_file picks the connections file: -c FILE, else
 * $TRUCKER_CONFIG, else DIR/trucker.yml.  Owned result.
 */
char	   *trk_cli_connections_file(const char *flag, const char *dir);

/*
 * trk_cli_load loads DIR with its connections file (as above), printing
 * every diagnostic to stderr.  NULL when it has errors.
 */
trk_config_t *trk_cli_load(const char *flag, const char *dir);

#endif

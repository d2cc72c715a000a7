/* cli.c — command dispatch, --help and version. */
#include "cli/cli.h"
#include "base/file.h"
#include "base/mem.h"

#include <stdlib.h>
#include <string.h>

typedef struct command
{
	const char *name;
	int			(*run) (int argc, char **argv);
	const char *summary;
} command_t;

static int	cmd_version(int argc, char **argv);
static int	cmd_help(int argc, char **argv);

static const command_t commands[] = {
	{"run", trk_cmd_run, "stream every pipeline of DIR (after checking it)"},
	{"check", trk_cmd_check, "check a pipelines folder and report every error"},
	{"render", trk_cmd_render, "show the SQL a pipeline would run for a change"},
	{"skip", trk_cmd_skip, "send a stopped pipeline's failing transaction to the dead letters"},
	{"resume", trk_cmd_resume, "have a stopped pipeline try its failing transaction again"},
	{"backfill", trk_cmd_backfill, "copy a pipeline again from a new snapshot of its input"},
	{"version", cmd_version, "print the version"},
	{"help", cmd_help, "show help for a command"},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void
usage(FILE *out)
{
	fprintf(out,
			"trucker — change data capture from PostgreSQL into PostgreSQL and DuckLake\n"
			"\n"
			"Usage: trucker COMMAND [OPTIONS] [ARGS]\n"
			"\n"
			"Commands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
	fprintf(out,
			"\n"
			"Run 'trucker COMMAND --help' for a command's options.\n"
			"Documentation: docs/configuration.md and docs/templates.md.\n");
}

static int
cmd_version(int argc, char **argv)
{
	(void) argc;
	(void) argv;
	printf("trucker %s\n", TRUCKER_VERSION);
	return TRK_EXIT_OK;
}

static int
cmd_help(int argc, char **argv)
{
	if (argc >= 2)
	{
		for (size_t i = 0; i < NCOMMANDS; i++)
			if (strcmp(argv[1], commands[i].name) == 0 && commands[i].run != cmd_help &&
				commands[i].run != cmd_version)
			{
				char	   *args[] = {argv[1], "--help", NULL};

				return commands[i].run(2, args);
			}
	}
	usage(stdout);
	return TRK_EXIT_OK;
}

char *
trk_cli_connections_file(const char *flag, const char *dir)
{
	const char *env = getenv("TRUCKER_CONFIG");

	if (flag)
		return trk_strdup(flag);
	if (env && env[0])
		return trk_strdup(env);
	return trk_path_join(dir, "trucker.yml");
}

trk_config_t *
trk_cli_load(const char *flag, const char *dir)
{
	trk_diags_t diags = {0};
	char	   *file = trk_cli_connections_file(flag, dir);
	trk_config_t *cfg = trk_config_load(dir, file, &diags);

	trk_diags_sort(&diags);
	trk_diags_print(&diags, stderr);
	free(file);
	trk_diags_free(&diags);
	return cfg;
}

int
trk_cli_main(int argc, char **argv)
{
	if (argc < 2)
	{
		usage(stderr);
		return TRK_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
	{
		usage(stdout);
		return TRK_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)
		return cmd_version(0, NULL);
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "trucker: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return TRK_EXIT_USAGE;
}

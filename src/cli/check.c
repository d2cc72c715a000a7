/* check.c — `trucker check`: every error of a pipelines folder, at once. */
#include "cli/cli.h"
#include "cli/online.h"
#include "config/config.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static void
check_usage(FILE *out)
{
	fprintf(out,
			"Usage: trucker check [OPTIONS] DIR\n"
			"\n"
			"Check the pipelines folder DIR: trucker.yml, every pipeline's config.yml\n"
			"and SQL templates.  Every problem is printed as file:line:col: error: …;\n"
			"the exit status is 0 when there is no error, 1 otherwise.\n"
			"\n"
			"Options:\n"
			"  -c, --config FILE  connections file (default: $TRUCKER_CONFIG, else DIR/trucker.yml)\n"
			"      --online       also connect: tables, columns, keys, replica identity,\n"
			"                     and every SQL file prepared on its database\n"
			"      --keys         print every configuration key as a Markdown table\n"
			"  -q, --quiet        print errors only, no summary\n"
			"  -h, --help         show this help\n");
}

int
trk_cmd_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"online", no_argument, NULL, 'o'},
		{"keys", no_argument, NULL, 'k'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *config_flag = NULL;
	bool		online = false;
	bool		quiet = false;
	trk_diags_t diags = {0};
	trk_config_t *cfg;
	char	   *file;
	int			c;
	int			rc;

	optind = 0;
	while ((c = getopt_long(argc, argv, "c:qh", opts, NULL)) != -1)
	{
		switch (c)
		{
			case 'c':
				config_flag = optarg;
				break;
			case 'o':
				online = true;
				break;
			case 'k':
				trk_config_print_keys(stdout);
				return TRK_EXIT_OK;
			case 'q':
				quiet = true;
				break;
			case 'h':
				check_usage(stdout);
				return TRK_EXIT_OK;
			default:
				check_usage(stderr);
				return TRK_EXIT_USAGE;
		}
	}
	if (optind != argc - 1)
	{
		check_usage(stderr);
		return TRK_EXIT_USAGE;
	}

	file = trk_cli_connections_file(config_flag, argv[optind]);
	cfg = trk_config_load(argv[optind], file, &diags);
	if (cfg && online)
		trk_online_check(cfg, &diags);
	trk_diags_sort(&diags);
	trk_diags_print(&diags, stderr);
	if (diags.nerrors > 0)
	{
		if (!quiet)
			fprintf(stderr, "%zu error%s\n", diags.nerrors, diags.nerrors == 1 ? "" : "s");
		rc = TRK_EXIT_FAIL;
	}
	else
	{
		if (!quiet)
			printf("ok: %zu pipeline%s, %zu connection%s%s\n", cfg->npipelines,
				   cfg->npipelines == 1 ? "" : "s", cfg->nconnections,
				   cfg->nconnections == 1 ? "" : "s", online ? " (checked online)" : "");
		rc = TRK_EXIT_OK;
	}
	trk_config_free(cfg);
	trk_diags_free(&diags);
	free(file);
	return rc;
}

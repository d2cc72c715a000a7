/* run.c — `trucker run`: load and check DIR, then stream its pipelines. */
#include "cli/cli.h"
#include "base/diag.h"
#include "base/log.h"
#include "base/mem.h"
#include "config/config.h"
#include "daemon/daemon.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

typedef struct reload_arg
{
	const char *config_flag;
	const char *dir;
} reload_arg_t;

/*
 * reload_folder loads the folder again, on SIGHUP: each diagnostic goes to
 * the log as a line of its own, naming its file:line:col.
 */
static trk_config_t *
reload_folder(void *arg)
{
	reload_arg_t *r = arg;
	trk_diags_t diags = {0};
	char	   *file = trk_cli_connections_file(r->config_flag, r->dir);
	trk_config_t *cfg = trk_config_load(r->dir, file, &diags);
	char		line[1024];

	trk_diags_sort(&diags);
	for (size_t i = 0; i < diags.n; i++)
	{
		trk_diag_format(&diags.items[i], line, sizeof(line));
		if (diags.items[i].severity == TRK_ERROR)
			trk_log_error("the pipelines folder has an error", "diagnostic", line, NULL);
		else
			trk_log_warn("the pipelines folder has a warning", "diagnostic", line, NULL);
	}
	free(file);
	trk_diags_free(&diags);
	return cfg;
}

static void
run_usage(FILE *out)
{
	fprintf(out,
			"Usage: trucker run [OPTIONS] DIR\n"
			"\n"
			"Check the pipelines folder DIR, then stream every pipeline until SIGTERM\n"
			"or SIGINT.  Logs go to stderr.\n"
			"\n"
			"Options:\n"
			"  -c, --config FILE           connections file (default: $TRUCKER_CONFIG,\n"
			"                              else DIR/trucker.yml)\n"
			"      --log-format FORMAT     logfmt (default) or json\n"
			"      --log-level LEVEL       debug, info (default), warn or error\n"
			"      --shutdown-timeout SECS how long a stop may wait for the batch in\n"
			"                              flight to commit before rolling it back (5)\n"
			"      --control PATH          the control socket `trucker skip`, `resume`\n"
			"                              and `backfill` reach (default: DIR/.trucker.sock)\n"
			"      --accept-changed        a pipeline changed since its checkpoint runs\n"
			"                              by its new definition as is, without a backfill\n"
			"\n"
			"SIGHUP reloads DIR: added pipelines are backfilled, removed ones stop,\n"
			"changed ones keep their old definition until `trucker backfill`.\n"
			"  -h, --help                  show this help\n");
}

int
trk_cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"log-format", required_argument, NULL, 'F'},
		{"log-level", required_argument, NULL, 'L'},
		{"shutdown-timeout", required_argument, NULL, 'T'},
		{"control", required_argument, NULL, 'C'},
		{"accept-changed", no_argument, NULL, 'A'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *config_flag = NULL;
	const char *control = NULL;
	char	   *control_path;
	trk_config_t *cfg;
	int			c;
	int			rc;
	trk_log_format_t format = TRK_LOG_LOGFMT;
	trk_log_level_t level = TRK_LOG_INFO;
	trk_daemon_options_t dopts = {.shutdown_timeout_ms = 5000};
	reload_arg_t rarg;
	char	   *end;
	double		secs;

	optind = 0;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1)
	{
		switch (c)
		{
			case 'c':
				config_flag = optarg;
				break;
			case 'F':
				if (!trk_log_parse_format(optarg, &format))
				{
					fprintf(stderr, "trucker run: unknown log format \"%s\" (logfmt or json)\n", optarg);
					return TRK_EXIT_USAGE;
				}
				break;
			case 'L':
				if (!trk_log_parse_level(optarg, &level))
				{
					fprintf(stderr, "trucker run: unknown log level \"%s\" (debug, info, warn or error)\n", optarg);
					return TRK_EXIT_USAGE;
				}
				break;
			case 'T':
				errno = 0;
				secs = strtod(optarg, &end);
				if (errno != 0 || end == optarg || *end != '\0' || secs < 0 || secs > 3600)
				{
					fprintf(stderr, "trucker run: --shutdown-timeout wants seconds from 0 to 3600, not \"%s\"\n", optarg);
					return TRK_EXIT_USAGE;
				}
				dopts.shutdown_timeout_ms = (int64_t) (secs * 1000);
				break;
			case 'C':
				control = optarg;
				break;
			case 'A':
				dopts.accept_changed = true;
				break;
			case 'h':
				run_usage(stdout);
				return TRK_EXIT_OK;
			default:
				run_usage(stderr);
				return TRK_EXIT_USAGE;
		}
	}
	if (optind != argc - 1)
	{
		run_usage(stderr);
		return TRK_EXIT_USAGE;
	}
	cfg = trk_cli_load(config_flag, argv[optind]);
	if (cfg == NULL)
		return TRK_EXIT_FAIL;

	trk_log_setup(format, level);
	control_path = control ? trk_strdup(control) : trk_control_default_path(argv[optind]);
	dopts.control_path = control_path;
	dopts.reload = reload_folder;
	dopts.reload_arg = &rarg;
	rarg.config_flag = config_flag;
	rarg.dir = argv[optind];
	rc = trk_daemon_run(cfg, &dopts);
	free(control_path);
	trk_config_free(cfg);
	return rc == 0 ? TRK_EXIT_OK : TRK_EXIT_FAIL;
}

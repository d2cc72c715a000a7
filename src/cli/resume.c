/*
 * resume.c — `trucker skip` and `trucker resume`: move a stopped pipeline on.
 *
 * A pipeline that stopped on a failing transaction stays stopped, recorded
 * in its row of trucker.checkpoints in its output, until one of these:
 *
 *   resume  clears the stop: the pipeline tries the transaction again (after
 *           the cause was fixed — a constraint relaxed, a column added);
 *   skip    clears it and marks the transaction to be passed over: its
 *           changes go to trucker.dead_letters, in the same destination
 *           transaction that moves the checkpoint past it.
 *
 * Both work on the output directly, so they work whether or not a daemon
 * runs; a running daemon is then asked, through its control socket, to read
 * the row again.  Nobody edits trucker.checkpoints by hand.
 */
#include "cli/cli.h"
#include "base/buf.h"
#include "base/lsn.h"
#include "base/mem.h"
#include "checkpoint/checkpoint.h"
#include "config/config.h"
#include "daemon/daemon.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static void
usage(FILE *out, bool skip)
{
	if (skip)
		fprintf(out,
				"Usage: trucker skip [OPTIONS] DIR PIPELINE --lsn LSN\n"
				"\n"
				"Move a pipeline stopped at the source transaction LSN (its end LSN, as the\n"
				"log line of its stop says) past it: the transaction's changes go to\n"
				"trucker.dead_letters in the pipeline's output, and the pipeline goes on.\n");
	else
		fprintf(out,
				"Usage: trucker resume [OPTIONS] DIR PIPELINE\n"
				"\n"
				"Have a stopped pipeline try the transaction it failed on again, once the\n"
				"cause is fixed.\n");
	fprintf(out,
			"\n"
			"A running trucker on DIR is told through its control socket; without one,\n"
			"the change takes effect when trucker starts.\n"
			"\n"
			"Options:\n"
			"  -c, --config FILE   connections file (default: $TRUCKER_CONFIG, else\n"
			"                      DIR/trucker.yml)\n"
			"      --control PATH  the daemon's control socket (default: DIR/.trucker.sock)\n"
			"  -h, --help          show this help\n");
}

static int
command(int argc, char **argv, bool skip)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"control", required_argument, NULL, 'C'},
		{"lsn", required_argument, NULL, 'l'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *name = skip ? "skip" : "resume";
	const char *config_flag = NULL;
	const char *control = NULL;
	const char *lsn_text = NULL;
	const trk_pipeline_t *p;
	const trk_connection_t *out;
	trk_config_t *cfg;
	trk_buf_t	err = {0};
	trk_buf_t	line = {0};
	trk_lsn_t	lsn = 0;
	char		lsn_buf[TRK_LSN_BUFSIZE];
	char	   *path;
	PGconn	   *pg;
	int			c;
	int			rc = TRK_EXIT_FAIL;

	optind = 0;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1)
	{
		switch (c)
		{
			case 'c':
				config_flag = optarg;
				break;
			case 'C':
				control = optarg;
				break;
			case 'l':
				lsn_text = optarg;
				break;
			case 'h':
				usage(stdout, skip);
				return TRK_EXIT_OK;
			default:
				usage(stderr, skip);
				return TRK_EXIT_USAGE;
		}
	}
	if (optind != argc - 2 || (skip && lsn_text == NULL) || (!skip && lsn_text != NULL))
	{
		usage(stderr, skip);
		return TRK_EXIT_USAGE;
	}
	if (skip && !trk_lsn_parse(lsn_text, strlen(lsn_text), &lsn))
	{
		fprintf(stderr, "trucker skip: --lsn wants an LSN such as 0/16B3748, not \"%s\"\n", lsn_text);
		return TRK_EXIT_USAGE;
	}
	cfg = trk_cli_load(config_flag, argv[optind]);
	if (cfg == NULL)
		return TRK_EXIT_FAIL;
	p = trk_config_pipeline(cfg, argv[optind + 1]);
	out = p ? trk_config_connection(cfg, p->output_connection) : NULL;
	if (p == NULL)
	{
		fprintf(stderr, "trucker %s: %s has no pipeline \"%s\"\n", name, argv[optind], argv[optind + 1]);
		goto done;
	}
	if (out == NULL || out->adapter != TRK_ADAPTER_POSTGRES)
	{
		fprintf(stderr, "trucker %s: pipeline %s does not write to PostgreSQL\n", name, p->name);
		goto done;
	}
	pg = trk_input_connect(out, false, false, &err);
	if (pg == NULL)
	{
		fprintf(stderr, "trucker %s: %s\n", name, trk_buf_cstr(&err));
		goto done;
	}
	if (trk_checkpoint_ensure_table(pg, &err) != 0 ||
		(skip ? trk_checkpoint_skip(pg, p->name, lsn, &err)
		 : trk_checkpoint_resume(pg, p->name, &lsn, &err)) != 0)
	{
		fprintf(stderr, "trucker %s: %s\n", name, trk_buf_cstr(&err));
		PQfinish(pg);
		goto done;
	}
	PQfinish(pg);
	trk_lsn_format(lsn, lsn_buf);
	if (skip)
		printf("pipeline %s: transaction %s goes to trucker.dead_letters\n", p->name, lsn_buf);
	else
		printf("pipeline %s: resumed; it tries transaction %s again\n", p->name, lsn_buf);

	path = control ? trk_strdup(control) : trk_control_default_path(argv[optind]);
	trk_buf_appendf(&line, "reload %s", p->name);
	trk_buf_reset(&err);
	switch (trk_control_request(path, trk_buf_cstr(&line), &err))
	{
		case 0:
			if (strcmp(trk_buf_cstr(&err), "ok") == 0)
				printf("the running trucker took it up\n");
			else
				printf("the running trucker answered: %s\n", trk_buf_cstr(&err));
			break;
		case 1:
			printf("no trucker runs on %s (%s): it takes effect when trucker starts\n",
				   argv[optind], path);
			break;
		default:
			printf("could not tell the running trucker (%s): it takes effect when trucker "
				   "starts again\n", trk_buf_cstr(&err));
			break;
	}
	free(path);
	rc = TRK_EXIT_OK;
done:
	trk_buf_free(&err);
	trk_buf_free(&line);
	trk_config_free(cfg);
	return rc;
}

int
trk_cmd_skip(int argc, char **argv)
{
	return command(argc, argv, true);
}

int
trk_cmd_resume(int argc, char **argv)
{
	return command(argc, argv, false);
}

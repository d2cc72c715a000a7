/*
 * backfill.c — `trucker backfill DIR PIPELINE [--truncate]`: copy one
 * pipeline again from a new snapshot, leaving the others be.
 *
 * With a trucker running on DIR, the command asks it through the control
 * socket: the daemon starts the pipeline's input again, empties the output
 * (or finds it empty), marks the pipeline's checkpoint row 'backfilling',
 * and copies it beside the stream, which the other pipelines go on with
 * (daemon/backfill.c).  The command then waits for the row's backfilled_at
 * to move, drawing a progress bar on a terminal from what the daemon
 * answers to "progress PIPELINE".  Without a running trucker it does the emptying
 * and marking itself, and the next `trucker run` copies.
 */
#include "cli/cli.h"
#include "backfill/copy.h"
#include "backfill/job.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/mem.h"
#include "checkpoint/checkpoint.h"
#include "config/config.h"
#include "daemon/daemon.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* how long the daemon has to start the copy before the command gives up */
#define START_WAIT_S 60

static void
usage(FILE *out)
{
	fprintf(out,
			"Usage: trucker backfill [OPTIONS] DIR PIPELINE\n"
			"\n"
			"Copy a pipeline again from a new snapshot of its input (its output lost\n"
			"or damaged, or its definition changed), without disturbing the others.\n"
			"The output must be empty; --truncate empties it first (its output table\n"
			"only: what insert.sql wrote elsewhere is for its author to remove).\n"
			"\n"
			"A running trucker on DIR does it, streaming the other pipelines meanwhile,\n"
			"and the command waits for the copy to end (a progress bar on a terminal).\n"
			"Without one, the output is emptied and the pipeline marked: the next\n"
			"`trucker run` copies it.\n"
			"\n"
			"Options:\n"
			"  -c, --config FILE   connections file (default: $TRUCKER_CONFIG, else\n"
			"                      DIR/trucker.yml)\n"
			"      --control PATH  the daemon's control socket (default: DIR/.trucker.sock)\n"
			"      --truncate      empty the output first (TRUNCATE)\n"
			"      --no-wait       return once the running trucker has taken it up\n"
			"  -h, --help          show this help\n");
}

/* shared: another pipeline of cfg writes def's output table */
static bool
shared(const trk_config_t *cfg, const trk_pipeline_t *def)
{
	for (size_t i = 0; i < cfg->npipelines; i++)
	{
		const trk_pipeline_t *o = &cfg->pipelines[i];

		if (o != def && strcmp(o->output_connection, def->output_connection) == 0 &&
			strcmp(o->output_table.schema, def->output_table.schema) == 0 &&
			strcmp(o->output_table.name, def->output_table.name) == 0)
			return true;
	}
	return false;
}

static void
draw(double rows, double total, double seconds)
{
	char		bar[31];
	double		f = total > 0 ? rows / total : 0;
	double		rate = seconds > 0 ? rows / seconds : 0;
	int			filled;

	if (f > 1)
		f = 1;
	filled = (int) (f * 30);
	memset(bar, '#', (size_t) filled);
	memset(bar + filled, '.', (size_t) (30 - filled));
	bar[30] = '\0';
	if (total > 0 && rate > 0 && total > rows)
		printf("\r[%s] %3.0f%%  %.0f of ~%.0f rows  %.0f rows/s  ETA %.0fs   ", bar, f * 100,
			   rows, total, rate, (total - rows) / rate);
	else
		printf("\r[%s]  %.0f rows  %.0f rows/s            ", bar, rows, rate);
	fflush(stdout);
}

/*
 * wait_done waits until the pipeline's row says its backfill ended after
 * since (the output's clock), asking the daemon on control how far the
 * copy is, for the bar.  0 done; -1 given up.
 */
static int
wait_done(PGconn *pg, const trk_pipeline_t *def, const char *since, const char *control,
		  trk_buf_t *err)
{
	const char *values[2] = {def->name, since};
	trk_buf_t	line = {0};
	trk_buf_t	answer = {0};
	bool		tty = isatty(STDOUT_FILENO);
	bool		started = false;
	bool		drawn = false;
	double		t0 = trk_mono_s();
	double		copy_t0 = 0;
	int			rc = -1;

	trk_buf_appendf(&line, "progress %s", def->name);
	for (;;)
	{
		PGresult   *r = PQexecParams(pg,
									 "SELECT state = 'streaming' AND backfilled_at > $2::timestamptz,"
									 " lsn::text FROM trucker.checkpoints WHERE pipeline = $1",
									 2, NULL, values, NULL, NULL, 0);
		struct timespec pause = {0, 500 * 1000 * 1000};
		double		now = trk_mono_s();
		long long	rows = 0,
					total = 0;

		if (PQresultStatus(r) != PGRES_TUPLES_OK)
		{
			trk_buf_appendf(err, "cannot read the pipeline's checkpoint: %s", PQerrorMessage(pg));
			PQclear(r);
			break;
		}
		if (PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0)
		{
			if (drawn)
				printf("\n");
			printf("pipeline %s: backfilled again; it streams from %s on\n", def->name,
				   PQgetvalue(r, 0, 1));
			PQclear(r);
			rc = 0;
			break;
		}
		PQclear(r);
		trk_buf_reset(&answer);
		if (trk_control_request(control, trk_buf_cstr(&line), &answer) == 1)
		{
			trk_buf_append(err, "the running trucker stopped: the next `trucker run` copies it");
			break;
		}
		if (sscanf(trk_buf_cstr(&answer), "ok copying %lld %lld", &rows, &total) == 2)
		{
			if (!started)
				copy_t0 = now;
			started = true;
			if (tty)
			{
				draw((double) rows, (double) total, now - copy_t0);
				drawn = true;
			}
		}
		else if (strcmp(trk_buf_cstr(&answer), "ok parked") == 0)
		{
			trk_buf_append(err, "the running trucker could not backfill it: its log says why");
			break;
		}
		if (!started && now - t0 > START_WAIT_S)
		{
			trk_buf_appendf(err, "the running trucker has not started the copy in %d s: its log "
							"says why", START_WAIT_S);
			break;
		}
		nanosleep(&pause, NULL);
	}
	if (drawn && rc != 0)
		printf("\n");
	trk_buf_free(&line);
	trk_buf_free(&answer);
	return rc;
}

int
trk_cmd_backfill(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"control", required_argument, NULL, 'C'},
		{"truncate", no_argument, NULL, 't'},
		{"no-wait", no_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *config_flag = NULL;
	const char *control = NULL;
	bool		truncate = false;
	bool		wait = true;
	const trk_pipeline_t *p;
	const trk_connection_t *out;
	trk_config_t *cfg;
	trk_buf_t	err = {0};
	trk_buf_t	line = {0};
	trk_buf_t	answer = {0};
	char	   *path = NULL;
	char	   *since = NULL;
	PGconn	   *pg = NULL;
	PGresult   *r;
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
			case 't':
				truncate = true;
				break;
			case 'n':
				wait = false;
				break;
			case 'h':
				usage(stdout);
				return TRK_EXIT_OK;
			default:
				usage(stderr);
				return TRK_EXIT_USAGE;
		}
	}
	if (optind != argc - 2)
	{
		usage(stderr);
		return TRK_EXIT_USAGE;
	}
	cfg = trk_cli_load(config_flag, argv[optind]);
	if (cfg == NULL)
		return TRK_EXIT_FAIL;
	p = trk_config_pipeline(cfg, argv[optind + 1]);
	out = p ? trk_config_connection(cfg, p->output_connection) : NULL;
	if (p == NULL)
	{
		fprintf(stderr, "trucker backfill: %s has no pipeline \"%s\"\n", argv[optind],
				argv[optind + 1]);
		goto done;
	}
	if (out == NULL || out->adapter != TRK_ADAPTER_POSTGRES)
	{
		fprintf(stderr, "trucker backfill: pipeline %s does not write to PostgreSQL\n", p->name);
		goto done;
	}
	if (!trk_backfill_serves(p))
	{
		fprintf(stderr, "trucker backfill: pipeline %s applies no inserts: a backfill "
				"passes the input's rows as inserts, and it would take none\n", p->name);
		goto done;
	}
	if (shared(cfg, p))
	{
		fprintf(stderr, "trucker backfill: another pipeline writes the output of pipeline %s "
				"(%s.%s): emptying it would take that one's rows too\n", p->name,
				p->output_table.schema, p->output_table.name);
		goto done;
	}
	pg = trk_input_connect(out, false, false, &err);
	if (pg == NULL || trk_checkpoint_ensure_table(pg, &err) != 0)
	{
		fprintf(stderr, "trucker backfill: %s\n", trk_buf_cstr(&err));
		goto done;
	}
	if (!truncate)
	{
		bool		empty = false;

		if (trk_backfill_output_empty(pg, &p->output_table, &empty, &err) != 0)
		{
			fprintf(stderr, "trucker backfill: %s\n", trk_buf_cstr(&err));
			goto done;
		}
		if (!empty)
		{
			fprintf(stderr, "trucker backfill: the output of pipeline %s, %s.%s, holds rows: "
					"a backfill copies into an empty output (--truncate empties it first)\n",
					p->name, p->output_table.schema, p->output_table.name);
			goto done;
		}
	}
	r = PQexec(pg, "SELECT clock_timestamp()::text");
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
	{
		fprintf(stderr, "trucker backfill: %s", PQerrorMessage(pg));
		PQclear(r);
		goto done;
	}
	since = trk_strdup(PQgetvalue(r, 0, 0));
	PQclear(r);

	path = control ? trk_strdup(control) : trk_control_default_path(argv[optind]);
	trk_buf_appendf(&line, "backfill %s%s", p->name, truncate ? " truncate" : "");
	switch (trk_control_request(path, trk_buf_cstr(&line), &answer))
	{
		case 0:
			if (strncmp(trk_buf_cstr(&answer), "error ", 6) == 0)
			{
				fprintf(stderr, "trucker backfill: %s\n", trk_buf_cstr(&answer) + 6);
				goto done;
			}
			printf("the running trucker backfills pipeline %s again%s\n", p->name,
				   truncate ? ", its output emptied first" : "");
			if (wait && wait_done(pg, p, since, path, &err) != 0)
			{
				fprintf(stderr, "trucker backfill: %s\n", trk_buf_cstr(&err));
				goto done;
			}
			break;
		case 1:
			if (trk_backfill_rebuild(pg, p, truncate, &err) != 0)
			{
				fprintf(stderr, "trucker backfill: %s\n", trk_buf_cstr(&err));
				goto done;
			}
			printf("pipeline %s: %smarked for a backfill; no trucker runs on %s, and the next "
				   "`trucker run` copies it\n", p->name, truncate ? "output emptied and " : "",
				   argv[optind]);
			break;
		default:
			fprintf(stderr, "trucker backfill: could not tell the running trucker: %s\n",
					trk_buf_cstr(&answer));
			goto done;
	}
	rc = TRK_EXIT_OK;
done:
	if (pg)
		PQfinish(pg);
	free(path);
	free(since);
	trk_buf_free(&err);
	trk_buf_free(&line);
	trk_buf_free(&answer);
	trk_config_free(cfg);
	return rc;
}

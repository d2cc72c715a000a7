/*
 * daemon.c — `trucker run`'s root: the loop, the signals, and one input per
 * input connection, each started on a worker thread and then streamed on
 * the loop (input.c).
 */
#include "internal.h"
#include "base/log.h"
#include "base/mem.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct carried_stop
{
	char	   *pipeline;
	trk_lsn_t	lsn;
	char	   *why;
};

struct trk_daemon
{
	uv_loop_t	loop;
	const trk_config_t *cfg;	/* the newest good config: its connections */
	const trk_pipeline_t **defs;	/* owned array: the definitions that run,
									 * borrowed from cfg or an older one */
	size_t		ndefs;
	trk_config_t **kept;		/* owned: configs loaded by reloads, which
								 * defs may still borrow from */
	size_t		nkept;
	trk_daemon_options_t opts;
	trk_input_t *inputs;		/* owned */
	size_t		ninputs;
	/* a reload: the inputs drain, close, and are built again */
	bool		reloading;
	const trk_pipeline_t **next_defs;	/* owned; what runs after it */
	size_t		next_ndefs;
	const trk_config_t *next_cfg;
	char	  **rebuilds;		/* owned: pipelines `trucker backfill` asked
								 * for, to rebuild once built again … */
	bool	   *truncates;		/* … emptying their output first */
	size_t		nrebuilds;
	struct carried_stop *stops; /* owned: stops not yet recorded in their
								 * outputs, carried to the new inputs */
	size_t		nstops;
	int			builds;			/* how many times the inputs were built */
	int			closing;		/* input handles still closing */
	uv_signal_t sigterm;
	uv_signal_t sigint;
	uv_signal_t sighup;
	uv_timer_t	shutdown_timer;
	uv_pipe_t	control;
	bool		has_control;
	bool		stopping;
	bool		closed;
	int			exit_code;
};

static void start_work(trk_input_t *in);
static void start_reload(trk_daemon_t *d);

/* ------------------------------------------------------------------ */
/* building the inputs                                                */
/* ------------------------------------------------------------------ */

static run_dest_t *
find_or_add_dest(trk_input_t *in, const trk_connection_t *c)
{
	for (size_t i = 0; i < in->ndests; i++)
		if (in->dests[i].conn == c)
			return &in->dests[i];
	return NULL;
}

static void
build_inputs(trk_daemon_t *d)
{
	const trk_config_t *cfg = d->cfg;

	d->inputs = trk_calloc(cfg->nconnections + 1, sizeof(trk_input_t));
	d->ninputs = 0;
	for (size_t i = 0; i < d->ndefs; i++)
		if (trk_config_connection(cfg, d->defs[i]->input_connection) == NULL ||
			trk_config_connection(cfg, d->defs[i]->output_connection) == NULL)
			trk_log_error("pipeline not streamed: the definition it keeps names a connection "
						  "trucker.yml no longer has", "pipeline", d->defs[i]->name, NULL);
	for (size_t c = 0; c < cfg->nconnections; c++)
	{
		const trk_connection_t *conn = &cfg->connections[c];
		trk_input_t *in = &d->inputs[d->ninputs];

		for (size_t i = 0; i < d->ndefs; i++)
		{
			const trk_pipeline_t *p = d->defs[i];
			const trk_connection_t *out = trk_config_connection(cfg, p->output_connection);
			run_pipeline_t *rp;
			run_dest_t *rd;

			if (strcmp(p->input_connection, conn->name) != 0 || out == NULL)
				continue;
			if (out->adapter != TRK_ADAPTER_POSTGRES)
			{
				trk_log_warn("pipeline not streamed: ducklake outputs are not part of this "
							 "version yet", "pipeline", p->name, "output", out->name, NULL);
				continue;
			}
			in->pipes = trk_realloc(in->pipes, (in->npipes + 1) * sizeof(run_pipeline_t));
			rp = &in->pipes[in->npipes++];
			memset(rp, 0, sizeof(*rp));
			rp->def = p;
			rd = find_or_add_dest(in, out);
			if (rd == NULL)
			{
				in->dests = trk_realloc(in->dests, (in->ndests + 1) * sizeof(run_dest_t));
				rd = &in->dests[in->ndests++];
				memset(rd, 0, sizeof(*rd));
				rd->conn = out;
				rd->max_rows = p->batch_max_rows;
				rd->max_bytes = p->batch_max_bytes;
				rd->max_delay_ms = p->batch_max_delay_ms;
			}
			if (p->batch_max_rows < rd->max_rows)
				rd->max_rows = p->batch_max_rows;
			if (p->batch_max_bytes < rd->max_bytes)
				rd->max_bytes = p->batch_max_bytes;
			if (p->batch_max_delay_ms < rd->max_delay_ms)
				rd->max_delay_ms = p->batch_max_delay_ms;
		}
		if (in->npipes == 0)
			continue;
		/* the dests array moved while growing: point pipelines at it now */
		for (size_t i = 0; i < in->npipes; i++)
		{
			const trk_connection_t *out =
				trk_config_connection(cfg, in->pipes[i].def->output_connection);

			in->pipes[i].dest = find_or_add_dest(in, out);
		}
		in->daemon = d;
		in->conn = conn;
		/* (a reload keeps a changed pipeline's old definition instead) */
		in->accept_changed = d->opts.accept_changed && d->builds == 0;
		for (size_t i = 0; i < in->npipes; i++)
		{
			run_pipeline_t *p = &in->pipes[i];

			for (size_t r = 0; r < d->nrebuilds; r++)
				if (strcmp(d->rebuilds[r], p->def->name) == 0)
					p->rebuild = d->truncates[r] ? REBUILD_TRUNCATE : REBUILD;
			for (size_t k = 0; k < d->nstops; k++)
				if (strcmp(d->stops[k].pipeline, p->def->name) == 0)
				{
					p->pos.stop = d->stops[k].lsn;
					p->stop_unrecorded = true;
					p->stop_why = trk_strdup(d->stops[k].why);
				}
		}
		trk_input_xform_init(in);
		in->backoff_ms = TRK_BACKOFF_MIN_MS;
		uv_timer_init(&d->loop, &in->timer);
		uv_timer_init(&d->loop, &in->commit_timer);
		uv_timer_init(&d->loop, &in->probe_timer);
		in->probe_timer.data = in;
		uv_timer_init(&d->loop, &in->quiet_timer);
		in->quiet_timer.data = in;
		uv_timer_init(&d->loop, &in->bf.timer);
		in->bf.timer.data = in;
		in->bf.backoff_ms = TRK_BACKOFF_MIN_MS;
		in->timer.data = in;
		in->commit_timer.data = in;
		d->ninputs++;
	}
	d->builds++;
}

/* ------------------------------------------------------------------ */
/* start-up on a worker thread                                        */
/* ------------------------------------------------------------------ */

static void
after_work(uv_work_t *w, int status)
{
	trk_input_t *in = w->data;

	in->work_running = false;
	for (size_t i = 0; i < in->npipes; i++)
		if (in->pipes[i].rebuild_done)
			in->pipes[i].rebuild = NO_REBUILD;
	if (in->draining && !in->daemon->stopping)
	{
		/* a reload: this input is built again */
		trk_input_setup_release(in);
		in->state = IN_CLOSED;
		trk_daemon_input_changed(in->daemon);
		return;
	}
	if (in->reload && !in->daemon->stopping && status != UV_ECANCELED)
	{
		/* a pipeline changed while it started: read it again */
		in->reload = false;
		trk_input_setup_release(in);
		trk_daemon_schedule_start(in, 0);
		return;
	}
	if (in->daemon->stopping || status == UV_ECANCELED)
	{
		trk_input_setup_release(in);
		in->state = IN_CLOSED;
		trk_daemon_input_changed(in->daemon);
		return;
	}
	switch (in->setup)
	{
		case SETUP_OK:
			/* what a reload may know of the pipelines, the start-up done */
			for (size_t i = 0; i < in->npipes; i++)
				in->pipes[i].keeps_def = in->pipes[i].has_row && !in->pipes[i].changed;
			trk_input_begin_streaming(in);
			break;
		case SETUP_RETRY:
			trk_input_fail(in, true, "%s", trk_buf_cstr(&in->setup_error));
			break;
		case SETUP_REFUSE:
			trk_input_fail(in, false, "%s", trk_buf_cstr(&in->setup_error));
			break;
	}
}

static void
start_work(trk_input_t *in)
{
	/* what the start-up may read of the loop's state, fixed now */
	for (size_t i = 0; i < in->npipes; i++)
	{
		in->pipes[i].copying_seen = in->pipes[i].copying;
		in->pipes[i].rebuild_seen = in->pipes[i].rebuild;
		in->pipes[i].rebuild_done = false;
		free(in->pipes[i].refused_seen);
		in->pipes[i].refused_seen = in->pipes[i].refused ? trk_strdup(in->pipes[i].refused) : NULL;
	}
	in->state = IN_STARTING;
	in->work.data = in;
	in->work_running = true;
	uv_queue_work(in->timer.loop, &in->work, trk_input_setup_work, after_work);
}

static void
on_retry_timer(uv_timer_t *t)
{
	trk_input_t *in = t->data;

	if (in->state == IN_WAITING && !in->daemon->stopping)
		start_work(in);
}

void
trk_daemon_schedule_start(trk_input_t *in, int delay_ms)
{
	in->state = IN_WAITING;
	uv_timer_stop(&in->timer);
	uv_timer_start(&in->timer, on_retry_timer, (uint64_t) (delay_ms < 0 ? 0 : delay_ms), 0);
}

/* find_pipeline: the input and pipeline called name, or NULL */
static trk_input_t *
find_pipeline(trk_daemon_t *d, const char *name, run_pipeline_t **pipe)
{
	for (size_t i = 0; i < d->ninputs; i++)
		for (size_t j = 0; j < d->inputs[i].npipes; j++)
			if (strcmp(d->inputs[i].pipes[j].def->name, name) == 0)
			{
				*pipe = &d->inputs[i].pipes[j];
				return &d->inputs[i];
			}
	return NULL;
}

/* start_again starts in again, whatever it is doing, so it reads the checkpoints afresh */
static void
start_again(trk_daemon_t *d, trk_input_t *in, const char *why)
{
	if (d->stopping)
		return;
	switch (in->state)
	{
		case IN_STARTING:
			in->reload = true;
			break;
		case IN_STREAMING:
			trk_input_restart(in, "%s", why);
			break;
		case IN_WAITING:
		case IN_REFUSED:
			trk_daemon_schedule_start(in, 0);
			trk_daemon_input_changed(d);
			break;
		case IN_CLOSED:
			break;
	}
}

/*
 * trk_daemon_reload_pipeline starts the input of pipeline name again, so
 * that it reads the pipeline's checkpoint row afresh (after `trucker skip`
 * or `resume` changed it).  -1: no such pipeline runs here.
 */
int
trk_daemon_reload_pipeline(trk_daemon_t *d, const char *name)
{
	run_pipeline_t *p;
	trk_input_t *in = find_pipeline(d, name, &p);
	trk_buf_t	why = {0};

	if (in == NULL)
		return -1;
	if (d->reloading)
		return 0;				/* its new input reads the checkpoints afresh anyway */
	trk_log_info("pipeline changed by a command; starting its input again",
				 "pipeline", name, "connection", in->conn->name, NULL);
	trk_buf_appendf(&why, "pipeline %s changed by a command", name);
	start_again(d, in, trk_buf_cstr(&why));
	trk_buf_free(&why);
	return 0;
}

int
trk_daemon_backfill_pipeline(trk_daemon_t *d, const char *name, bool truncate, trk_buf_t *reply)
{
	run_pipeline_t *p;
	trk_input_t *in = find_pipeline(d, name, &p);
	const trk_pipeline_t *newest;
	bool		shared = false;
	trk_buf_t	why = {0};

	if (in == NULL)
	{
		trk_buf_appendf(reply, "this trucker runs no pipeline \"%s\"", name);
		return -1;
	}
	/* the definition a rebuild would run by: the newest */
	newest = trk_config_pipeline(d->cfg, name) ? trk_config_pipeline(d->cfg, name) : p->def;
	if (!trk_backfill_serves(newest))
	{
		trk_buf_appendf(reply, "pipeline %s applies no inserts: a backfill passes the "
						"input's rows as inserts, and it would take none", name);
		return -1;
	}
	for (size_t i = 0; i < d->ndefs; i++)
		shared |= strcmp(d->defs[i]->name, name) != 0 &&
			strcmp(d->defs[i]->output_connection, newest->output_connection) == 0 &&
			strcmp(d->defs[i]->output_table.schema, newest->output_table.schema) == 0 &&
			strcmp(d->defs[i]->output_table.name, newest->output_table.name) == 0;
	if (shared)
	{
		trk_buf_appendf(reply, "another pipeline writes the output of pipeline %s: emptying "
						"it would take that one's rows too", name);
		return -1;
	}
	if (p->copying || p->rebuild || d->reloading)
	{
		trk_buf_appendf(reply, "pipeline %s is being backfilled or reloaded already", name);
		return -1;
	}
	if (newest != p->def)
	{
		/* it runs by an older definition: the rebuild takes the newest */
		const trk_pipeline_t **defs = trk_calloc(d->ndefs + 1, sizeof(trk_pipeline_t *));

		for (size_t i = 0; i < d->ndefs; i++)
			defs[i] = strcmp(d->defs[i]->name, name) == 0 ? newest : d->defs[i];
		d->rebuilds = trk_realloc(d->rebuilds, (d->nrebuilds + 1) * sizeof(char *));
		d->truncates = trk_realloc(d->truncates, (d->nrebuilds + 1) * sizeof(bool));
		d->rebuilds[d->nrebuilds] = trk_strdup(name);
		d->truncates[d->nrebuilds++] = truncate;
		free(d->next_defs);
		d->next_defs = defs;
		d->next_ndefs = d->ndefs;
		d->next_cfg = d->cfg;
		trk_log_info("pipeline to be backfilled again with its new definition, by a command",
					 "pipeline", name, "truncate", truncate ? "yes" : "no", NULL);
		start_reload(d);
		return 0;
	}
	p->rebuild = truncate ? REBUILD_TRUNCATE : REBUILD;
	free(p->refused);
	p->refused = NULL;
	trk_log_info("pipeline to be backfilled again, by a command; starting its input again",
				 "pipeline", name, "connection", in->conn->name,
				 "truncate", truncate ? "yes" : "no", NULL);
	trk_buf_appendf(&why, "pipeline %s to be backfilled again", name);
	start_again(d, in, trk_buf_cstr(&why));
	trk_buf_free(&why);
	return 0;
}

int
trk_daemon_backfill_progress(trk_daemon_t *d, const char *name, trk_buf_t *reply)
{
	run_pipeline_t *p;
	trk_input_t *in = find_pipeline(d, name, &p);

	if (in == NULL)
	{
		trk_buf_appendf(reply, "this trucker runs no pipeline \"%s\"", name);
		return -1;
	}
	for (size_t i = 0; p->copying && i < in->bf.nitems; i++)
		if (&in->pipes[in->bf.pipe[i]] == p)
		{
			trk_buf_appendf(reply, "copying %lld %lld",
							(long long) atomic_load(&in->bf.items[i].copied),
							(long long) atomic_load(&in->bf.items[i].estimate));
			return 0;
		}
	/* (only what the loop owns: a start-up may be running) */
	trk_buf_append(reply, p->refused ? "parked" : "waiting");
	return 0;
}

/* ------------------------------------------------------------------ */
/* reloading the folder                                               */
/* ------------------------------------------------------------------ */

/* start_reload drains every input; they are built again from next_defs */
/*
 * on_reload_timeout: inputs that have not drained within the shutdown
 * timeout roll their batches in flight back, as a stop would; start-ups
 * and copies were told to give up, and are waited for.
 */
static void
on_reload_timeout(uv_timer_t *t)
{
	trk_daemon_t *d = t->data;

	if (!d->reloading || d->stopping)
		return;
	trk_log_warn("reload: rolling back the batches still in flight", NULL);
	for (size_t i = 0; i < d->ninputs; i++)
	{
		trk_input_t *in = &d->inputs[i];

		if (in->state != IN_CLOSED && !in->work_running)
		{
			trk_input_close_sessions(in);
			uv_timer_stop(&in->timer);
			in->state = IN_CLOSED;
		}
	}
	trk_daemon_input_changed(d);
}

/*
 * drain_inputs has every input finish its open transaction and close, its
 * copies called off; on_timeout runs if that takes longer than the
 * shutdown timeout.  A stop and a reload both begin so.
 */
static void
drain_inputs(trk_daemon_t *d, uv_timer_cb on_timeout)
{
	uv_timer_start(&d->shutdown_timer, on_timeout, (uint64_t) d->opts.shutdown_timeout_ms, 0);
	for (size_t i = 0; i < d->ninputs; i++)
	{
		trk_input_backfill_cancel(&d->inputs[i]);
		trk_input_shutdown(&d->inputs[i]);
	}
	trk_daemon_input_changed(d);
}

static void
start_reload(trk_daemon_t *d)
{
	d->reloading = true;
	drain_inputs(d, on_reload_timeout);
}

/*
 * carry_over keeps, by pipeline name, what only the old inputs know: the
 * rebuilds `trucker backfill` asked for that no start-up has done yet, and
 * the stops not yet recorded in their outputs.  Taken just before the old
 * inputs are freed.
 */
static void
carry_over(trk_daemon_t *d)
{
	for (size_t i = 0; i < d->ninputs; i++)
		for (size_t j = 0; j < d->inputs[i].npipes; j++)
		{
			run_pipeline_t *p = &d->inputs[i].pipes[j];
			bool		known = false;

			for (size_t r = 0; r < d->nrebuilds; r++)
				known |= strcmp(d->rebuilds[r], p->def->name) == 0;
			if (p->rebuild != NO_REBUILD && !known)
			{
				d->rebuilds = trk_realloc(d->rebuilds, (d->nrebuilds + 1) * sizeof(char *));
				d->truncates = trk_realloc(d->truncates, (d->nrebuilds + 1) * sizeof(bool));
				d->rebuilds[d->nrebuilds] = trk_strdup(p->def->name);
				d->truncates[d->nrebuilds++] = p->rebuild == REBUILD_TRUNCATE;
			}
			if (p->stop_unrecorded)
			{
				d->stops = trk_realloc(d->stops, (d->nstops + 1) * sizeof(struct carried_stop));
				d->stops[d->nstops].pipeline = trk_strdup(p->def->name);
				d->stops[d->nstops].lsn = p->pos.stop;
				d->stops[d->nstops++].why = trk_strdup(p->stop_why ? p->stop_why : "");
			}
		}
}

/* free_carried drops what carry_over kept, once the new inputs have it */
static void
free_carried(trk_daemon_t *d)
{
	for (size_t i = 0; i < d->nrebuilds; i++)
		free(d->rebuilds[i]);
	free(d->rebuilds);
	free(d->truncates);
	d->rebuilds = NULL;
	d->truncates = NULL;
	d->nrebuilds = 0;
	for (size_t i = 0; i < d->nstops; i++)
	{
		free(d->stops[i].pipeline);
		free(d->stops[i].why);
	}
	free(d->stops);
	d->stops = NULL;
	d->nstops = 0;
}

/* uses: some definition that runs borrows from cfg */
static bool
uses(const trk_daemon_t *d, const trk_config_t *cfg)
{
	if (cfg == d->cfg)
		return true;
	for (size_t i = 0; i < d->ndefs; i++)
		if (d->defs[i] >= cfg->pipelines && d->defs[i] < cfg->pipelines + cfg->npipelines)
			return true;
	return false;
}

static void free_inputs(trk_daemon_t *d);

/* rebuild_inputs: the old inputs are closed; the new ones start */
static void
rebuild_inputs(trk_daemon_t *d)
{
	char		n[24];
	size_t		kept = 0;

	carry_over(d);
	free_inputs(d);
	free(d->defs);
	d->defs = d->next_defs;
	d->ndefs = d->next_ndefs;
	d->cfg = d->next_cfg;
	d->next_defs = NULL;
	d->next_ndefs = 0;
	build_inputs(d);
	free_carried(d);
	/* configs no definition borrows from any more */
	for (size_t i = 0; i < d->nkept; i++)
		if (uses(d, d->kept[i]))
			d->kept[kept++] = d->kept[i];
		else
			trk_config_free(d->kept[i]);
	d->nkept = kept;
	d->reloading = false;
	uv_timer_stop(&d->shutdown_timer);
	snprintf(n, sizeof(n), "%zu", d->ndefs);
	trk_log_info("pipelines reloaded", "pipelines", n, NULL);
	for (size_t i = 0; i < d->ninputs; i++)
		start_work(&d->inputs[i]);
	trk_daemon_input_changed(d);
}

/* running: the definition pipeline name runs by, and whether it has a checkpoint */
static const trk_pipeline_t *
running(trk_daemon_t *d, const char *name, bool *established)
{
	*established = false;
	for (size_t i = 0; i < d->ninputs; i++)
		for (size_t j = 0; j < d->inputs[i].npipes; j++)
		{
			run_pipeline_t *p = &d->inputs[i].pipes[j];

			if (strcmp(p->def->name, name) == 0)
			{
				/* (the loop's own knowledge: a start-up may be running) */
				*established = p->keeps_def;
				return p->def;
			}
		}
	for (size_t i = 0; i < d->ndefs; i++)
		if (strcmp(d->defs[i]->name, name) == 0)
			return d->defs[i];	/* not streamed: nothing is known of its output */
	return NULL;
}

static bool
same_str(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool
same_endpoint(const trk_endpoint_t *a, const trk_endpoint_t *b)
{
	return same_str(a->host, b->host) && a->port == b->port &&
		same_str(a->database, b->database) && same_str(a->user, b->user) &&
		same_str(a->pass, b->pass);
}

static bool
same_connection(const trk_connection_t *a, const trk_connection_t *b)
{
	if (!same_str(a->name, b->name) || a->adapter != b->adapter ||
		!same_endpoint(&a->primary, &b->primary) || a->has_replica != b->has_replica ||
		(a->has_replica && !same_endpoint(&a->replica, &b->replica)) ||
		a->replica_wait_ms != b->replica_wait_ms || !same_str(a->sslmode, b->sslmode) ||
		a->noptions != b->noptions || !same_str(a->slot, b->slot) ||
		a->catalog_kind != b->catalog_kind || !same_str(a->catalog, b->catalog) ||
		!same_str(a->data_path, b->data_path))
		return false;
	for (size_t i = 0; i < a->noptions; i++)
		if (!same_str(a->options[i].key, b->options[i].key) ||
			!same_str(a->options[i].value, b->options[i].value))
			return false;
	return true;
}

/* same_pipeline: what it makes, and how */
static bool
same_pipeline(const trk_pipeline_t *a, const trk_pipeline_t *b)
{
	if (strcmp(a->name, b->name) != 0 || strcmp(a->fingerprint, b->fingerprint) != 0 ||
		a->batch_max_rows != b->batch_max_rows || a->batch_max_bytes != b->batch_max_bytes ||
		a->batch_max_delay_ms != b->batch_max_delay_ms ||
		a->backfill_workers != b->backfill_workers || a->on_error != b->on_error ||
		a->nredact != b->nredact)
		return false;
	for (size_t i = 0; i < a->nredact; i++)
		if (strcmp(a->redact[i], b->redact[i]) != 0)
			return false;
	return true;
}

/* unchanged: cfg would run exactly what runs now */
static bool
unchanged(const trk_daemon_t *d, const trk_config_t *cfg)
{
	if (cfg->nconnections != d->cfg->nconnections || cfg->npipelines != d->ndefs)
		return false;
	for (size_t i = 0; i < cfg->nconnections; i++)
		if (!same_connection(&cfg->connections[i], &d->cfg->connections[i]))
			return false;
	for (size_t i = 0; i < cfg->npipelines; i++)
		if (!same_pipeline(&cfg->pipelines[i], d->defs[i]))
			return false;
	return true;
}

/*
 * reload takes cfg, a newly loaded folder: added pipelines are backfilled,
 * removed ones stop (their checkpoints stay), and a pipeline whose
 * definition changed while it has a checkpoint keeps the old one until
 * `trucker backfill` rebuilds it — its output was made by the old.
 */
static void
reload(trk_daemon_t *d, trk_config_t *cfg)
{
	const trk_pipeline_t **defs = trk_calloc(cfg->npipelines + 1, sizeof(trk_pipeline_t *));
	size_t		n = 0;

	size_t		streamable = 0;

	for (size_t i = 0; i < cfg->npipelines; i++)
	{
		const trk_connection_t *out =
			trk_config_connection(cfg, cfg->pipelines[i].output_connection);

		streamable += out != NULL && out->adapter == TRK_ADAPTER_POSTGRES;
	}
	if (streamable == 0)
	{
		trk_log_error("reload refused: the folder leaves no pipeline to stream; every "
					  "pipeline keeps its last good definition", NULL);
		trk_config_free(cfg);
		free(defs);
		return;
	}
	if (unchanged(d, cfg))
	{
		/* nothing to drain for: copies under way go on */
		trk_log_info("pipelines reloaded: nothing changed", NULL);
		trk_config_free(cfg);
		free(defs);
		return;
	}
	d->kept = trk_realloc(d->kept, (d->nkept + 1) * sizeof(trk_config_t *));
	d->kept[d->nkept++] = cfg;
	for (size_t i = 0; i < cfg->npipelines; i++)
	{
		const trk_pipeline_t *p = &cfg->pipelines[i];
		bool		established;
		const trk_pipeline_t *old = running(d, p->name, &established);

		if (old == NULL)
			trk_log_info("pipeline added", "pipeline", p->name, NULL);
		else if (strcmp(old->fingerprint, p->fingerprint) != 0 && established)
		{
			trk_log_warn("pipeline changed (its input, output, key, operations or SQL files): "
						 "it keeps its old definition, which its output was made by, until "
						 "`trucker backfill` rebuilds it", "pipeline", p->name,
						 "was", old->fingerprint, "now", p->fingerprint, NULL);
			p = old;
		}
		defs[n++] = p;
	}
	for (size_t i = 0; i < d->ndefs; i++)
		if (trk_config_pipeline(cfg, d->defs[i]->name) == NULL)
			trk_log_info("pipeline removed: it stops, and its checkpoint stays", "pipeline",
						 d->defs[i]->name, NULL);
	free(d->next_defs);
	d->next_defs = defs;
	d->next_ndefs = n;
	d->next_cfg = cfg;
	start_reload(d);
}

static void
on_sighup(uv_signal_t *s, int signum)
{
	trk_daemon_t *d = s->data;
	trk_config_t *cfg;

	(void) signum;
	if (d->stopping)
		return;
	if (d->reloading)
	{
		trk_log_warn("a reload is under way already: send SIGHUP again once it is done", NULL);
		return;
	}
	if (d->opts.reload == NULL)
		return;
	trk_log_info("reloading the pipelines folder", "signal", "SIGHUP", NULL);
	cfg = d->opts.reload(d->opts.reload_arg);
	if (cfg == NULL)
	{
		trk_log_error("reload refused: every pipeline keeps its last good definition", NULL);
		return;
	}
	reload(d, cfg);
}

/* ------------------------------------------------------------------ */
/* stopping                                                           */
/* ------------------------------------------------------------------ */

static void rebuild_inputs(trk_daemon_t *d);

static void
on_input_handle_closed(uv_handle_t *h)
{
	trk_daemon_t *d = h->data;

	if (--d->closing == 0 && !d->stopping)
		rebuild_inputs(d);
}

/* close_inputs closes every input's timers; then (cb) they may be freed */
static void
close_inputs(trk_daemon_t *d, uv_close_cb cb)
{
	for (size_t i = 0; i < d->ninputs; i++)
	{
		uv_handle_t *h[] = {
			(uv_handle_t *) &d->inputs[i].timer, (uv_handle_t *) &d->inputs[i].commit_timer,
			(uv_handle_t *) &d->inputs[i].probe_timer, (uv_handle_t *) &d->inputs[i].quiet_timer,
			(uv_handle_t *) &d->inputs[i].bf.timer,
		};

		for (size_t k = 0; k < sizeof(h) / sizeof(h[0]); k++)
		{
			if (uv_is_closing(h[k]))
				continue;
			h[k]->data = d;
			d->closing += cb != NULL;
			uv_close(h[k], cb);
		}
	}
}

static void
close_all(trk_daemon_t *d)
{
	if (d->closed)
		return;
	d->closed = true;
	close_inputs(d, NULL);
	if (d->has_control)
		trk_control_close(&d->control, d->opts.control_path);
	uv_close((uv_handle_t *) &d->sigterm, NULL);
	uv_close((uv_handle_t *) &d->sigint, NULL);
	uv_close((uv_handle_t *) &d->sighup, NULL);
	uv_close((uv_handle_t *) &d->shutdown_timer, NULL);
}

void
trk_daemon_input_changed(trk_daemon_t *d)
{
	bool		all_closed = true;
	bool		any_alive = false;
	bool		any_work = false;

	for (size_t i = 0; i < d->ninputs; i++)
	{
		input_state_t s = d->inputs[i].state;

		all_closed &= s == IN_CLOSED;
		any_alive |= s == IN_STARTING || s == IN_STREAMING || s == IN_WAITING;
		any_work |= d->inputs[i].work_running || d->inputs[i].bf.running;
	}
	if (d->stopping)
	{
		/* (a thread still running keeps the shutdown timeout armed) */
		if (all_closed && !any_work)
			close_all(d);
		return;
	}
	if (d->reloading)
	{
		/* every input drained and no thread of theirs running: build again */
		if (all_closed && !any_work && d->closing == 0)
		{
			close_inputs(d, on_input_handle_closed);
			if (d->closing == 0)
				rebuild_inputs(d);
		}
		return;
	}
	if (!any_alive)
	{
		trk_log_error("no input connection can stream; exiting", NULL);
		d->exit_code = 1;
		d->stopping = true;
		for (size_t i = 0; i < d->ninputs; i++)
			trk_input_backfill_cancel(&d->inputs[i]);
		for (size_t i = 0; i < d->ninputs; i++)
			if (d->inputs[i].state != IN_STARTING)
				d->inputs[i].state = IN_CLOSED;
		close_all(d);
	}
}

static void
on_shutdown_timeout(uv_timer_t *t)
{
	trk_daemon_t *d = t->data;

	trk_log_warn("shutdown timeout: rolling back the batches in flight", NULL);
	for (size_t i = 0; i < d->ninputs; i++)
	{
		trk_input_t *in = &d->inputs[i];

		if (in->work_running || in->bf.running)
		{
			/* blocked in libpq: a start-up has committed nothing; a backfill
			 * cut short is done again at the next start */
			trk_log_warn("start-up or backfill still running at exit", "connection",
						 in->conn->name, NULL);
			_exit(0);
		}
		if (in->state != IN_CLOSED)
		{
			trk_input_close_sessions(in);
			uv_timer_stop(&in->timer);
			in->state = IN_CLOSED;
		}
	}
	trk_daemon_input_changed(d);
}

static void
on_signal(uv_signal_t *s, int signum)
{
	trk_daemon_t *d = s->data;

	if (d->stopping)
		return;
	trk_log_info("shutting down", "signal", signum == SIGTERM ? "SIGTERM" : "SIGINT", NULL);
	d->stopping = true;
	drain_inputs(d, on_shutdown_timeout);
}

/* ------------------------------------------------------------------ */
/* run                                                                */
/* ------------------------------------------------------------------ */

static void
free_inputs(trk_daemon_t *d)
{
	for (size_t i = 0; i < d->ninputs; i++)
	{
		trk_input_t *in = &d->inputs[i];

		for (size_t j = 0; j < in->npipes; j++)
		{
			free(in->pipes[j].row_sysid);
			free(in->pipes[j].row_database);
			free(in->pipes[j].row_slot);
			free(in->pipes[j].stop_why);
			free(in->pipes[j].skip_why);
			free(in->pipes[j].refused);
			free(in->pipes[j].refused_seen);
		}
		free(in->pipes);
		for (size_t j = 0; j < in->ndests; j++)
			trk_rowbatch_free(&in->dests[j].rows);
		free(in->dests);
		trk_router_free(&in->router);
		trk_backfill_items_free(in->bf.items, in->bf.nitems);
		free(in->bf.pipe);
		trk_buf_free(&in->bf.err);
		trk_buf_free(&in->setup_error);
		trk_buf_free(&in->refused);
		trk_buf_free(&in->err);
		trk_buf_free(&in->sql);
		trk_mirror_stmt_free(&in->stmt);
		trk_write_free(&in->write);
		trk_input_xform_free(in);
		trk_buf_free(&in->about);
		trk_arena_free(&in->arena);
		free(in->values);
		free(in->types);
	}
	free(d->inputs);
	d->inputs = NULL;
	d->ninputs = 0;
}

int
trk_daemon_run(const trk_config_t *cfg, const trk_daemon_options_t *opts)
{
	trk_daemon_t d;
	int			rc;

	memset(&d, 0, sizeof(d));
	d.cfg = cfg;
	d.opts = *opts;
	d.defs = trk_calloc(cfg->npipelines + 1, sizeof(trk_pipeline_t *));
	for (size_t i = 0; i < cfg->npipelines; i++)
		d.defs[d.ndefs++] = &cfg->pipelines[i];
	srand((unsigned) time(NULL) ^ (unsigned) getpid());
	signal(SIGPIPE, SIG_IGN);
	if (uv_loop_init(&d.loop) != 0)
	{
		trk_log_error("cannot create the event loop", NULL);
		return 1;
	}
	build_inputs(&d);
	if (d.ninputs == 0)
	{
		trk_log_error("no pipeline to stream", NULL);
		free_inputs(&d);
		free(d.defs);
		uv_loop_close(&d.loop);
		return 1;
	}
	if (getenv("UV_THREADPOOL_SIZE") == NULL)
	{
		/*
		 * Each input's start-up, and its backfill beside the stream — which
		 * may take hours — hold one of libuv's worker threads each (4 unless
		 * told): two per connection of trucker.yml, so that none waits for
		 * another's, even after a reload makes more of them inputs.  Read at
		 * its first use.
		 */
		char		n[24];
		size_t		want = 2 * (cfg->nconnections > d.ninputs ? cfg->nconnections : d.ninputs) + 1;

		snprintf(n, sizeof(n), "%zu", want < 4 ? 4 : want);
		setenv("UV_THREADPOOL_SIZE", n, 0);
	}
	uv_signal_init(&d.loop, &d.sigterm);
	uv_signal_init(&d.loop, &d.sigint);
	uv_signal_init(&d.loop, &d.sighup);
	uv_timer_init(&d.loop, &d.shutdown_timer);
	d.sigterm.data = d.sigint.data = d.sighup.data = d.shutdown_timer.data = &d;
	uv_signal_start(&d.sigterm, on_signal, SIGTERM);
	uv_signal_start(&d.sigint, on_signal, SIGINT);
	uv_signal_start(&d.sighup, on_sighup, SIGHUP);
	if (d.opts.control_path)
		d.has_control = trk_control_open(&d.loop, &d.control, d.opts.control_path, &d) == 0;
	for (size_t i = 0; i < d.ninputs; i++)
		start_work(&d.inputs[i]);

	uv_run(&d.loop, UV_RUN_DEFAULT);

	rc = uv_loop_close(&d.loop);
	if (rc != 0)
		trk_log_warn("event loop closed with handles still open", NULL);
	free_inputs(&d);
	free(d.defs);
	free(d.next_defs);
	free_carried(&d);
	for (size_t i = 0; i < d.nkept; i++)
		trk_config_free(d.kept[i]);
	free(d.kept);
	if (d.exit_code == 0)
		trk_log_info("stopped", NULL);
	return d.exit_code;
}

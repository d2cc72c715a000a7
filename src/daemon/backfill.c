/*
 * backfill.c — new pipelines copied while the others stream.
 *
 * At start-up (start.c), a pipeline that applies inserts and has no
 * checkpoint — or whose row says 'backfilling': a copy cut short, or a
 * rebuild asked for — is marked pending when the slot exists already: it applies nothing and does
 * not count for the slot's position, and the others start streaming.  Then,
 * on the loop:
 *
 *   1. launch: the slot's confirmed position is held where the stream has
 *      stored everything (hold), before anything else — so that the slot
 *      keeps every change after the snapshot about to be taken.
 *   2. on a worker thread: a temporary slot, created with an exported
 *      snapshot, gives the consistent point; the copy runs from that
 *      snapshot (backfill/job.c), and ends with each pipeline's checkpoint
 *      at the consistent point.
 *   3. back on the loop: if some pipeline was copied, the input starts again
 *      from its checkpoints — the smallest is now at most the consistent
 *      point, which the hold kept in the slot — and the copied pipelines
 *      catch up on the one stream with the others, who skip what they have
 *      applied.  A pipeline refused is parked; one that failed is tried
 *      again after a backoff.
 *
 * The catch-up is thus a rejoin of the main stream, not a second stream:
 * the source decodes again the WAL written during the copy, and nothing
 * has to be merged.
 */
#include "internal.h"
#include "base/log.h"
#include "base/mem.h"
#include "stream/slot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BACKFILL_BACKOFF_MAX_MS 60000

PGconn *
trk_input_backfill_connect(const trk_connection_t *c, trk_buf_t *err)
{
	return trk_input_connect(c, false, false, err);
}

bool
trk_input_slot_waiting(void *arg, double seconds)
{
	trk_slot_wait_t *w = arg;
	PGresult   *r;
	char		secs[24];

	if (w->cancel != NULL && atomic_load(w->cancel))
		return false;
	if (seconds < 2 || (w->logged > 0 && seconds - w->logged < 10))
		return true;
	w->logged = seconds;
	snprintf(secs, sizeof(secs), "%.0f", seconds);
	/* sessions holding an xid (any role's: backend_type hides from others),
	 * and prepared transactions, which have no session */
	r = PQexec(w->src, "SELECT (SELECT string_agg(pid || ':' || backend_xid, ',' ORDER BY pid)"
			   "  FROM pg_stat_activity WHERE backend_xid IS NOT NULL"
			   "  AND backend_type IS DISTINCT FROM 'walsender'),"
			   " (SELECT string_agg(quote_literal(gid) || ':' || transaction, ',')"
			   "  FROM pg_prepared_xacts)");
	trk_log_warn("creating the replication slot waits for the transactions running on the "
				 "source to end", "connection", w->conn->name, "seconds", secs,
				 "pid_xid", PQresultStatus(r) == PGRES_TUPLES_OK && !PQgetisnull(r, 0, 0) ?
				 PQgetvalue(r, 0, 0) : NULL,
				 "prepared", PQresultStatus(r) == PGRES_TUPLES_OK && !PQgetisnull(r, 0, 1) ?
				 PQgetvalue(r, 0, 1) : NULL, NULL);
	PQclear(r);
	return true;
}

bool
trk_input_shares_output(const trk_input_t *in, const run_pipeline_t *p)
{
	for (size_t i = 0; i < in->npipes; i++)
	{
		const run_pipeline_t *o = &in->pipes[i];

		if (o != p && o->dest == p->dest &&
			strcmp(o->def->output_table.schema, p->def->output_table.schema) == 0 &&
			strcmp(o->def->output_table.name, p->def->output_table.name) == 0)
			return true;
	}
	return false;
}

void
trk_input_park(run_pipeline_t *p, const char *why)
{
	trk_log_error("pipeline not backfilled: it applies nothing until this is fixed; trucker "
				  "tries again when it starts next, or when `trucker backfill` asks",
				  "pipeline", p->def->name, "error", why, NULL);
	p->parked = true;
	p->pending = false;
	p->pos.stored = 0;
	p->pos.stop = 1;			/* skips every transaction */
}

trk_backfill_item_t *
trk_input_backfill_items(const trk_input_t *in, bool (*pick) (const run_pipeline_t *p),
						 int **index, size_t *n)
{
	trk_backfill_item_t *items = trk_calloc(in->npipes + 1, sizeof(trk_backfill_item_t));

	*index = trk_calloc(in->npipes + 1, sizeof(int));
	*n = 0;
	for (size_t i = 0; i < in->npipes; i++)
	{
		const run_pipeline_t *p = &in->pipes[i];

		if (!pick(p))
			continue;
		items[*n].def = p->def;
		items[*n].output = p->dest->conn;
		items[*n].shared = trk_input_shares_output(in, p);
		items[*n].reset = p->reset;
		(*index)[*n] = (int) i;
		(*n)++;
	}
	return items;
}

/* ------------------------------------------------------------------ */
/* beside the stream                                                  */
/* ------------------------------------------------------------------ */

static bool
pick_pending(const run_pipeline_t *p)
{
	return p->pending && !p->copying;
}

/* backfill_work: on a worker thread — the temporary slot, then the copy */
static void
backfill_work(uv_work_t *w)
{
	trk_input_t *in = w->data;
	trk_input_backfill_t *bf = &in->bf;
	trk_buf_t	err = {0};
	trk_slot_wait_t wait = {in->conn, NULL, &bf->cancel, 0};
	PGconn	   *repl = NULL;
	PGresult   *r = NULL;
	char		slot[64];
	char		snapshot[TRK_SNAPSHOT_NAME_SIZE];
	char		at[TRK_LSN_BUFSIZE];
	trk_backfill_job_t job;
	struct timespec ts;
	int			rc;

	bf->rc = -1;
	/* unique in the cluster: the connection's slot is, and one run is one pid */
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(slot, sizeof(slot), "%.36s_backfill_%ld_%04lx", in->conn->slot, (long) getpid(),
			 (unsigned long) (ts.tv_nsec & 0xffff));
	wait.src = trk_input_connect(in->conn, false, false, &err);
	if (wait.src == NULL)
		goto done;
	r = PQexec(wait.src, "SELECT system_identifier::text, current_database() "
			   "FROM pg_control_system()");
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
	{
		trk_buf_appendf(&err, "cannot read the source's identity: %s", PQerrorMessage(wait.src));
		goto done;
	}
	if ((repl = trk_input_connect(in->conn, false, true, &err)) == NULL)
		goto done;
	rc = trk_slot_create(repl, slot, true, &bf->lsn, snapshot, trk_input_slot_waiting, &wait,
						 &err);
	if (rc == TRK_SLOT_FULL)
		trk_buf_append(&err, " (every one of max_replication_slots is taken; a temporary "
					   "slot is needed while a backfill runs)");
	if (rc != 0)
		goto done;				/* tried again after a backoff */
	trk_log_info("temporary replication slot created for a backfill", "connection",
				 in->conn->name, "slot", slot, "lsn", trk_lsn_format(bf->lsn, at), NULL);
	memset(&job, 0, sizeof(job));
	job.input = in->conn;
	job.connect = trk_input_backfill_connect;
	job.snapshot = snapshot;
	job.lsn = bf->lsn;
	job.system_identifier = PQgetvalue(r, 0, 0);
	job.database = PQgetvalue(r, 0, 1);
	job.slot = in->conn->slot;
	job.cancel = &bf->cancel;
	job.items = bf->items;
	job.nitems = bf->nitems;
	/* (repl stays open and idle: the snapshot lives as long) */
	bf->rc = trk_backfill_run(&job, &err);
done:
	trk_buf_reset(&bf->err);
	trk_buf_append(&bf->err, trk_buf_cstr(&err));
	PQclear(r);
	if (repl)
		PQfinish(repl);			/* the temporary slot goes with it */
	if (wait.src)
		PQfinish(wait.src);
	trk_buf_free(&err);
}

static void
on_retry(uv_timer_t *t)
{
	trk_input_t *in = t->data;

	trk_input_backfill_launch(in);
}

/* after_backfill: on the loop — park, retry, or rejoin the stream */
static void
after_backfill(uv_work_t *w, int status)
{
	trk_input_t *in = w->data;
	trk_input_backfill_t *bf = &in->bf;
	size_t		done = 0,
				failed = 0;

	/* a start-up running owns the pipelines' state: it takes the outcome later */
	bool		starting = in->work_running;

	bf->running = false;
	for (size_t i = 0; i < bf->nitems; i++)
	{
		run_pipeline_t *p = &in->pipes[bf->pipe[i]];
		trk_backfill_item_t *item = &bf->items[i];

		p->copying = false;
		if (item->outcome == TRK_BACKFILL_DONE && !starting)
		{
			/*
			 * Its checkpoint is stored: it counts for the slot now, even
			 * if the input drains instead of starting again — the others
			 * have moved past it meanwhile.  It still applies nothing
			 * until it rejoins.
			 */
			trk_progress_start(&p->pos, bf->lsn);
			p->pos.stop = 1;
			p->has_row = true;
			p->keeps_def = true;
			p->parked = p->pending = false;
		}
		if (status == UV_ECANCELED)
			continue;
		if (bf->rc != 0 && item->outcome == TRK_BACKFILL_RETRY && item->why.len == 0)
			trk_buf_append(&item->why, trk_buf_cstr(&bf->err));
		switch (item->outcome)
		{
			case TRK_BACKFILL_DONE:
				done++;
				break;
			case TRK_BACKFILL_PARK:
				/* parked for this run, or until `trucker backfill` asks again */
				free(p->refused);
				p->refused = trk_strdup(trk_buf_cstr(&item->why));
				if (!starting)
					trk_input_park(p, p->refused);
				break;
			case TRK_BACKFILL_RETRY:
				failed++;
				trk_log_error("backfill failed; trying again", "pipeline", p->def->name,
							  "error", trk_buf_cstr(&item->why), NULL);
				break;
		}
	}
	trk_backfill_items_free(bf->items, bf->nitems);
	free(bf->pipe);
	bf->items = NULL;
	bf->pipe = NULL;
	bf->nitems = 0;
	if (in->draining || status == UV_ECANCELED)
	{
		trk_daemon_input_changed(in->daemon);
		return;
	}
	if (starting)
	{
		/* the start-up reads the checkpoints, and the refusals, once more */
		in->reload = true;
		return;
	}
	if (failed > 0)
	{
		char		ms[24];

		bf->not_before = uv_now(in->timer.loop) + (uint64_t) bf->backoff_ms;
		snprintf(ms, sizeof(ms), "%d", bf->backoff_ms);
		trk_log_info("next backfill attempt", "connection", in->conn->name, "in_ms", ms, NULL);
		bf->backoff_ms = bf->backoff_ms * 2 > BACKFILL_BACKOFF_MAX_MS ?
			BACKFILL_BACKOFF_MAX_MS : bf->backoff_ms * 2;
	}
	else
		bf->backoff_ms = TRK_BACKOFF_MIN_MS;
	if (done > 0)
	{
		/* the copied pipelines rejoin the stream at their checkpoints */
		if (in->state == IN_STREAMING)
			trk_input_restart(in, "backfilled pipelines join the stream");
		return;					/* (else the next start reads their checkpoints) */
	}
	trk_input_backfill_launch(in);
}

void
trk_input_backfill_launch(trk_input_t *in)
{
	trk_input_backfill_t *bf = &in->bf;
	uint64_t	now = uv_now(in->timer.loop);
	size_t		n = 0;

	if (bf->running || in->state != IN_STREAMING || in->draining)
		return;
	for (size_t i = 0; i < in->npipes; i++)
		n += pick_pending(&in->pipes[i]);
	if (n == 0)
		return;
	if (now < bf->not_before)
	{
		uv_timer_start(&bf->timer, on_retry, bf->not_before - now, 0);
		return;
	}
	/* first the hold: the slot must keep every change after the snapshot */
	bf->hold = trk_input_min_stored(in);
	bf->items = trk_input_backfill_items(in, pick_pending, &bf->pipe, &bf->nitems);
	for (size_t i = 0; i < bf->nitems; i++)
		in->pipes[bf->pipe[i]].copying = true;
	atomic_store(&bf->cancel, false);
	bf->running = true;
	bf->work.data = in;
	uv_queue_work(in->timer.loop, &bf->work, backfill_work, after_backfill);
}

void
trk_input_backfill_cancel(trk_input_t *in)
{
	atomic_store(&in->bf.cancel, true);
	uv_timer_stop(&in->bf.timer);
}

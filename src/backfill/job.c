/* job.c — one backfill: the pipelines of an input copied from one snapshot. */
#include "backfill/job.h"
#include "apply/mirror.h"
#include "backfill/copy.h"
#include "backfill/rows.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/pqmsg.h"
#include "checkpoint/checkpoint.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* a worker's share of a table: the table in this many ranges per worker */
#define RANGES_PER_WORKER 4

/* run_sql runs a command; its failure classified by trk_backfill_refusal */
static int
run_sql(PGconn *pg, const char *sql, trk_buf_t *err)
{
	PGresult   *r = PQexec(pg, sql);
	int			rc;

	if (PQresultStatus(r) == PGRES_COMMAND_OK)
	{
		PQclear(r);
		return 0;
	}
	rc = trk_backfill_refusal(pg, r);
	trk_pq_fail(err, sql, pg, r);
	return rc;
}

/* ------------------------------------------------------------------ */
/* the copy of one table, over one or more workers                    */
/* ------------------------------------------------------------------ */

typedef struct copy_run
{
	const trk_backfill_job_t *job;
	const trk_backfill_item_t *item;
	const trk_backfill_table_t *t;
	uint32_t	nranges;
	atomic_uint next;			/* the next range to take */
	atomic_int	running;		/* workers not finished */
	trk_backfill_shared_t sh;
	pthread_mutex_t lock;		/* the first failure: */
	int			rc;
	trk_buf_t	err;
} copy_run_t;

typedef struct worker
{
	copy_run_t *run;
	pthread_t	thread;
	bool		borrowed;		/* src and dst are the caller's, each in its
								 * open transaction, which it ends */
	PGconn	   *src;
	PGconn	   *dst;
} worker_t;

/* worker_open: a session on each side, in the snapshot and a transaction */
static int
worker_open(worker_t *w, trk_buf_t *err)
{
	const trk_backfill_job_t *job = w->run->job;
	int			rc;

	if ((w->src = job->connect(job->input, err)) == NULL ||
		trk_backfill_begin(w->src, job->snapshot, err) != 0 ||
		(w->dst = job->connect(w->run->item->output, err)) == NULL ||
		trk_checkpoint_prepare_session(w->dst, err) != 0)
		return -1;
	if ((rc = run_sql(w->dst, "BEGIN", err)) != 0)
		return rc;
	return run_sql(w->dst, "SET LOCAL statement_timeout = 0", err);
}

static void *
work(void *arg)
{
	worker_t   *w = arg;
	copy_run_t *run = w->run;
	const trk_pipeline_t *def = run->item->def;
	trk_buf_t	where = {0};
	trk_buf_t	err = {0};
	int			rc = 0;

	if (!w->borrowed)
		rc = worker_open(w, &err);
	if (rc == 0 && trk_backfill_by_rows(def))
		rc = trk_backfill_rows(w->src, w->dst, def, run->t, run->job->lsn, &run->sh, &err);
	while (rc == 0 && !trk_backfill_by_rows(def) && !atomic_load(&run->sh.stop))
	{
		unsigned	i = atomic_fetch_add(&run->next, 1);

		if (i >= run->nranges)
			break;
		if (run->t->partitioned && run->nranges > 1)
		{
			/* a range is a leaf partition, read ONLY it */
			trk_backfill_table_t leaf = *run->t;

			leaf.partitioned = false;
			rc = trk_backfill_copy(w->src, w->dst, &run->t->leaves[i], &leaf,
								   &def->output_table, NULL, &run->sh, &err);
			continue;
		}
		trk_backfill_range_where(i, run->nranges, run->t->blocks, &where);
		rc = trk_backfill_copy(w->src, w->dst, &def->input_table, run->t, &def->output_table,
							   trk_buf_cstr(&where), &run->sh, &err);
	}
	/* a deferred constraint may refuse the rows only now */
	if (rc == 0 && !w->borrowed && !atomic_load(&run->sh.stop))
		rc = run_sql(w->dst, "COMMIT", &err);
	if (rc != 0)
	{
		pthread_mutex_lock(&run->lock);
		if (run->rc == 0)
		{
			run->rc = rc;
			trk_buf_append(&run->err, trk_buf_cstr(&err));
		}
		pthread_mutex_unlock(&run->lock);
		atomic_store(&run->sh.stop, true);
	}
	if (!w->borrowed)
	{
		if (w->src)
			PQfinish(w->src);
		if (w->dst)
			PQfinish(w->dst);	/* an open transaction rolls back */
	}
	trk_buf_free(&where);
	trk_buf_free(&err);
	atomic_fetch_sub(&run->running, 1);
	return NULL;
}

/* log_progress: rows copied, the planner's estimate, rate and ETA */
static void
log_progress(const trk_backfill_item_t *item, const trk_backfill_table_t *t, int64_t rows,
			 double seconds)
{
	char		n[24],
				total[24],
				rate[24],
				eta[24];
	double		r = seconds > 0 ? (double) rows / seconds : 0;

	snprintf(n, sizeof(n), "%lld", (long long) rows);
	snprintf(total, sizeof(total), "%.0f", t->estimate);
	snprintf(rate, sizeof(rate), "%.0f", r);
	if (r > 0 && t->estimate > (double) rows)
		snprintf(eta, sizeof(eta), "%.0fs", (t->estimate - (double) rows) / r);
	else
		snprintf(eta, sizeof(eta), "?");
	trk_log_info("backfilling", "pipeline", item->def->name, "rows", n, "estimate", total,
				 "rows_per_s", rate, "eta", eta, NULL);
}

/*
 * copy_table copies item's input into its output: on src and dst, in their
 * open transactions, when given; else over fresh sessions of up to
 * backfill_workers workers, each committing its own.  Logs progress every
 * 5 s until every worker is done.
 */
static int
copy_table(const trk_backfill_job_t *job, trk_backfill_item_t *item,
		   const trk_backfill_table_t *t, PGconn *src, PGconn *dst, trk_buf_t *err)
{
	copy_run_t	run;
	worker_t   *w;
	uint32_t	nworkers = 1;
	double		start = trk_mono_s();
	double		logged = start;
	char		nw[16],
				nr[16];
	int			rc;

	memset(&run, 0, sizeof(run));
	run.job = job;
	run.item = item;
	run.t = t;
	run.nranges = 1;
	run.sh.cancel = job->cancel;
	run.sh.rows = &item->copied;
	atomic_store(&item->copied, 0);
	pthread_mutex_init(&run.lock, NULL);
	if (src == NULL && t->partitioned && item->def->backfill_workers > 1 && t->nleaves > 1)
	{
		/* one range per leaf partition */
		run.nranges = (uint32_t) t->nleaves;
		nworkers = (uint32_t) item->def->backfill_workers;
	}
	else if (src == NULL && !t->partitioned && item->def->backfill_workers > 1 && t->blocks > 1)
	{
		uint64_t	want = (uint64_t) item->def->backfill_workers * RANGES_PER_WORKER;

		run.nranges = (uint32_t) (t->blocks < want ? t->blocks : want);
		nworkers = (uint32_t) item->def->backfill_workers;
	}
	if (nworkers > run.nranges)
		nworkers = run.nranges;
	snprintf(nw, sizeof(nw), "%u", nworkers);
	snprintf(nr, sizeof(nr), "%u", run.nranges);
	trk_log_info("backfill copying", "pipeline", item->def->name, "workers", nw, "ranges", nr,
				 NULL);
	w = trk_calloc(nworkers, sizeof(worker_t));
	atomic_store(&run.running, (int) nworkers);
	for (uint32_t i = 0; i < nworkers; i++)
	{
		w[i].run = &run;
		w[i].borrowed = src != NULL;
		w[i].src = src;
		w[i].dst = dst;
		if (pthread_create(&w[i].thread, NULL, work, &w[i]) != 0)
		{
			/* the ones started see the stop; this one never ran */
			pthread_mutex_lock(&run.lock);
			if (run.rc == 0)
			{
				run.rc = -1;
				trk_buf_append(&run.err, "cannot start a copy thread");
			}
			pthread_mutex_unlock(&run.lock);
			atomic_store(&run.sh.stop, true);
			atomic_fetch_sub(&run.running, (int) (nworkers - i));
			nworkers = i;
			break;
		}
	}
	while (atomic_load(&run.running) > 0)
	{
		/* short waits first: most tables are small, and done in a blink */
		struct timespec pause = {0, (trk_mono_s() - start < 0.2 ? 5 : 100) * 1000 * 1000};

		nanosleep(&pause, NULL);
		if (trk_mono_s() - logged >= 5)
		{
			logged = trk_mono_s();
			log_progress(item, t, atomic_load(&item->copied), logged - start);
		}
	}
	for (uint32_t i = 0; i < nworkers; i++)
		pthread_join(w[i].thread, NULL);
	free(w);
	item->rows = atomic_load(&item->copied);
	rc = run.rc;
	if (rc != 0)
		trk_buf_append(err, trk_buf_cstr(&run.err));
	trk_buf_free(&run.err);
	pthread_mutex_destroy(&run.lock);
	return rc;
}

/* ------------------------------------------------------------------ */
/* one pipeline                                                       */
/* ------------------------------------------------------------------ */

/* empty_output: REFUSED unless item's output holds no row */
static int
empty_output(PGconn *dst, const trk_backfill_item_t *item, trk_buf_t *err)
{
	const trk_table_name_t *ot = &item->def->output_table;
	bool		empty = false;
	int			rc = trk_backfill_output_empty(dst, ot, &empty, err);

	if (rc != 0 || empty)
		return rc;
	trk_buf_appendf(err, "it has no checkpoint, but its output %s.%s holds rows: a new "
					"pipeline is backfilled into an empty output (empty it, or point the "
					"pipeline at another table)", ot->schema, ot->name);
	return TRK_BACKFILL_REFUSED;
}

/*
 * one_transaction: the whole copy and the checkpoint row in one output
 * transaction — for shards (whose output another pipeline's rows share),
 * and for pipelines with templates (whose writes only they can undo).  A
 * crash leaves nothing behind, so a row left 'backfilling' (by `trucker
 * backfill`, which emptied the output) needs no reset.
 */
static int
one_transaction(const trk_backfill_job_t *job, trk_backfill_item_t *item,
				const trk_backfill_table_t *t, PGconn *src, PGconn *dst, trk_buf_t *err)
{
	int			rc;

	if ((rc = run_sql(dst, "BEGIN", err)) != 0 ||
		(rc = run_sql(dst, "SET LOCAL statement_timeout = 0", err)) != 0 ||
		(!item->shared && (rc = empty_output(dst, item, err)) != 0) ||
		(rc = copy_table(job, item, t, src, dst, err)) != 0)
		return rc;
	if (trk_checkpoint_insert(dst, item->def->name, item->def->fingerprint, job->lsn,
							  job->system_identifier, job->database, job->slot, true, err) != 0)
		return -1;
	return run_sql(dst, "COMMIT", err);
}

/* truncate_output empties item's output (in dst's open transaction) */
static int
truncate_output(PGconn *dst, const trk_pipeline_t *def, trk_buf_t *err)
{
	trk_buf_t	sql = {0};
	int			rc;

	trk_buf_append(&sql, "TRUNCATE ");
	trk_quote_table(&sql, &def->output_table);
	rc = run_sql(dst, trk_buf_cstr(&sql), err);
	trk_buf_free(&sql);
	return rc;
}

/*
 * in_steps: 'backfilling', the copy over workers, then the checkpoint, on
 * a session of its own (*dst sat idle through the copy, and may be gone)
 */
static int
in_steps(const trk_backfill_job_t *job, trk_backfill_item_t *item,
		 const trk_backfill_table_t *t, PGconn **dst, trk_buf_t *err)
{
	bool		marked = false;
	int			rc;

	if ((rc = run_sql(*dst, "BEGIN", err)) != 0 ||
		(rc = run_sql(*dst, "SET LOCAL statement_timeout = 0", err)) != 0)
		return rc;
	/* the row itself says whether an attempt before this one left rows */
	if (trk_checkpoint_backfilling(*dst, item->def->name, &marked, err) != 0)
		return -1;
	if (item->reset || marked)
	{
		/* the rows of the attempt cut short: they were all copied ones */
		rc = truncate_output(*dst, item->def, err);
		if (rc == 0)
			trk_log_info("backfill emptied the output first: its checkpoint row said "
						 "'backfilling'", "pipeline", item->def->name, NULL);
	}
	else
		rc = empty_output(*dst, item, err);
	if (rc != 0)
		return rc;
	if (trk_checkpoint_begin_backfill(*dst, item->def->name, item->def->fingerprint,
									  job->system_identifier, job->database, job->slot,
									  err) != 0)
		return -1;
	if ((rc = run_sql(*dst, "COMMIT", err)) != 0)
		return rc;
	if ((rc = copy_table(job, item, t, NULL, NULL, err)) != 0)
		return rc;
	PQfinish(*dst);
	if ((*dst = job->connect(item->output, err)) == NULL ||
		trk_checkpoint_prepare_session(*dst, err) != 0)
		return -1;
	return trk_checkpoint_end_backfill(*dst, item->def->name, job->lsn, err) == 0 ? 0 : -1;
}

/*
 * backfill_item copies one pipeline, under a savepoint of src's snapshot
 * transaction; -1 when src itself failed (the items after it cannot go on).
 */
static int
backfill_item(const trk_backfill_job_t *job, trk_backfill_item_t *item, PGconn *src)
{
	trk_backfill_table_t t = {0};
	PGconn	   *dst = NULL;
	double		start = trk_mono_s();
	int			rc;
	char		at[TRK_LSN_BUFSIZE];

	trk_buf_reset(&item->why);
	if (trk_backfill_savepoint(src, false, &item->why) != 0)
		return -1;
	rc = trk_backfill_describe(src, &item->def->input_table, &t, &item->why);
	if (rc == 0)
	{
		atomic_store(&item->estimate, (int64_t) t.estimate);
		dst = job->connect(item->output, &item->why);
		if (dst == NULL || trk_checkpoint_prepare_session(dst, &item->why) != 0)
			rc = -1;
	}
	if (rc == 0)
	{
		trk_log_info("backfill started", "pipeline", item->def->name,
					 "input", item->def->input_table.name,
					 "lsn", trk_lsn_format(job->lsn, at), NULL);
		rc = item->shared || trk_backfill_by_rows(item->def) ?
			one_transaction(job, item, &t, src, dst, &item->why) :
			in_steps(job, item, &t, &dst, &item->why);
	}
	item->seconds = trk_mono_s() - start;
	item->outcome = rc == 0 ? TRK_BACKFILL_DONE :
		rc == TRK_BACKFILL_REFUSED ? TRK_BACKFILL_PARK : TRK_BACKFILL_RETRY;
	if (rc == 0)
	{
		char		n[24],
					secs[24];

		snprintf(n, sizeof(n), "%lld", (long long) item->rows);
		snprintf(secs, sizeof(secs), "%.1f", item->seconds);
		trk_log_info("backfill done", "pipeline", item->def->name, "rows", n, "seconds", secs,
					 "lsn", at, NULL);
	}
	if (dst)
		PQfinish(dst);			/* a failed transaction rolls back */
	trk_backfill_table_free(&t);
	{
		trk_buf_t	why = {0};
		int			broken = trk_backfill_savepoint(src, true, &why);

		if (broken && rc == 0)
			trk_buf_append(&item->why, trk_buf_cstr(&why));
		trk_buf_free(&why);
		return broken ? -1 : 0;
	}
}

/* ------------------------------------------------------------------ */
/* the job                                                            */
/* ------------------------------------------------------------------ */

int
trk_backfill_run(trk_backfill_job_t *job, trk_buf_t *err)
{
	PGconn	   *src = job->connect(job->input, err);
	bool	   *locked = trk_calloc(job->nitems + 1, sizeof(bool));
	int			rc = 0;

	for (size_t i = 0; i < job->nitems; i++)
	{
		job->items[i].outcome = TRK_BACKFILL_RETRY;
		trk_buf_reset(&job->items[i].why);
	}
	if (src == NULL || trk_backfill_begin(src, job->snapshot, err) != 0)
		rc = -1;
	/* every table locked before any is copied, as pg_dump does */
	for (size_t i = 0; rc == 0 && i < job->nitems; i++)
	{
		trk_backfill_item_t *item = &job->items[i];
		int			r;

		if (trk_backfill_savepoint(src, false, err) != 0)
			rc = -1;
		else if ((r = trk_backfill_lock(src, &item->def->input_table, &item->why)) != 0)
			item->outcome = r == TRK_BACKFILL_REFUSED ? TRK_BACKFILL_PARK : TRK_BACKFILL_RETRY;
		else
			locked[i] = true;
		if (rc == 0 && trk_backfill_savepoint(src, true, err) != 0)
			rc = -1;
	}
	for (size_t i = 0; rc == 0 && i < job->nitems; i++)
	{
		if (!locked[i])
			continue;
		if (job->cancel && atomic_load(job->cancel))
		{
			trk_buf_append(&job->items[i].why, "trucker is stopping");
			continue;
		}
		if (backfill_item(job, &job->items[i], src) != 0)
		{
			trk_buf_append(err, trk_buf_cstr(&job->items[i].why));
			rc = -1;
		}
	}
	/* what the input's failure left undecided fails with it */
	for (size_t i = 0; rc != 0 && i < job->nitems; i++)
		if (job->items[i].outcome == TRK_BACKFILL_RETRY && job->items[i].why.len == 0)
			trk_buf_append(&job->items[i].why, trk_buf_cstr(err));
	if (src)
		PQfinish(src);
	free(locked);
	return rc;
}

bool
trk_backfill_serves(const trk_pipeline_t *def)
{
	return (def->operations & TRK_OP_INSERT) != 0;
}

bool
trk_backfill_by_rows(const trk_pipeline_t *def)
{
	return def->sql[TRK_SQL_TRANSFORM] != NULL || def->sql[TRK_SQL_INSERT] != NULL;
}

int
trk_backfill_rebuild(PGconn *dst, const trk_pipeline_t *def, bool truncate, trk_buf_t *err)
{
	const trk_table_name_t *ot = &def->output_table;
	bool		empty = true;
	int			rc;

	if ((rc = run_sql(dst, "BEGIN", err)) != 0)
		return rc;
	if (truncate)
		rc = truncate_output(dst, def, err);
	else if ((rc = trk_backfill_output_empty(dst, ot, &empty, err)) == 0 && !empty)
	{
		trk_buf_appendf(err, "its output %s.%s holds rows: a backfill copies into an empty "
						"output (--truncate empties it first)", ot->schema, ot->name);
		rc = TRK_BACKFILL_REFUSED;
	}
	if (rc == 0 && trk_checkpoint_mark_rebuild(dst, def->name, err) != 0)
		rc = -1;
	if (rc == 0)
		rc = run_sql(dst, "COMMIT", err);
	if (PQtransactionStatus(dst) != PQTRANS_IDLE)
		PQclear(PQexec(dst, "ROLLBACK"));
	return rc;
}

void
trk_backfill_items_free(trk_backfill_item_t *items, size_t n)
{
	for (size_t i = 0; i < n; i++)
		trk_buf_free(&items[i].why);
	free(items);
}

/*
 * job.h — one backfill: the pipelines of an input copied from one exported
 * snapshot.  Blocking libpq, on whatever thread calls it; each copy worker
 * is a thread of its own with its own two sessions.
 *
 * The snapshot is imported by a coordinating session on the input, which
 * locks every input table ACCESS SHARE first (as pg_dump does), and by each
 * worker.  Each pipeline is then copied by one of two protocols:
 *
 *   its own output table: the row of trucker.checkpoints goes to
 *   'backfilling' (after a TRUNCATE, when the row was 'backfilling'
 *   already: the output holds part of a copy cut short; else only into an
 *   empty output), committed; then up to def->backfill_workers workers
 *   each copy ctid ranges of the input (or its leaf partitions) in a
 *   transaction of their own; once
 *   every one has committed, the row gets the snapshot's LSN and
 *   'streaming'.  A crash on the way leaves 'backfilling', and the next
 *   attempt starts over from a new snapshot — never resuming ranges across
 *   two snapshots.
 *
 *   an output table another pipeline of the input writes too (shards),
 *   or a pipeline with transform.sql or insert.sql (backfill/rows.c): one
 *   output transaction holds the whole copy and ends with the checkpoint
 *   row, so a crash leaves nothing to reset — a TRUNCATE would take the
 *   other pipeline's rows with it, and only a template's author knows how
 *   to undo its writes.
 */
#ifndef TRK_BACKFILL_JOB_H
#define TRK_BACKFILL_JOB_H

#include <libpq-fe.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/lsn.h"
#include "config/config.h"

typedef enum trk_backfill_outcome
{
	TRK_BACKFILL_RETRY = 0,		/* worth another attempt: a lost connection,
								 * a timeout, trucker stopping */
	TRK_BACKFILL_DONE,			/* copied; its checkpoint is the snapshot's */
	TRK_BACKFILL_PARK			/* refused on its own account (a server said
								 * so, or its output holds rows): the same
								 * attempt would fail again */
} trk_backfill_outcome_t;

typedef struct trk_backfill_item
{
	const trk_pipeline_t *def;	/* borrowed */
	const trk_connection_t *output; /* borrowed */
	bool		shared;			/* another pipeline writes its output table */
	bool		reset;			/* its row is 'backfilling': empty the output
								 * first */
	/* progress, read by any thread */
	atomic_int_least64_t copied;	/* rows so far */
	atomic_int_least64_t estimate;	/* the planner's count of the input's */
	/* results */
	trk_backfill_outcome_t outcome;
	trk_buf_t	why;			/* RETRY, PARK: the reason */
	int64_t		rows;
	double		seconds;
} trk_backfill_item_t;

typedef PGconn *(*trk_backfill_connect_fn) (const trk_connection_t *c, trk_buf_t *err);

typedef struct trk_backfill_job
{
	const trk_connection_t *input;	/* borrowed */
	trk_backfill_connect_fn connect;	/* a session with trucker's settings */
	const char *snapshot;		/* exported by a slot's creation, whose
								 * session must stay open and idle */
	trk_lsn_t	lsn;			/* that slot's consistent point */
	const char *system_identifier;	/* the source, for the checkpoint rows */
	const char *database;
	const char *slot;
	const atomic_bool *cancel;	/* NULL, or set when trucker stops */
	trk_backfill_item_t *items;
	size_t		nitems;
} trk_backfill_job_t;

/*
 * trk_backfill_run copies every item and sets its outcome.  -1 when the
 * input failed as a whole before any copy (err says why; every item is
 * RETRY), else 0.
 */
int			trk_backfill_run(trk_backfill_job_t *job, trk_buf_t *err);

void		trk_backfill_items_free(trk_backfill_item_t *items, size_t n);

/*
 * trk_backfill_serves: def is one a backfill copies — one that applies
 * inserts (one applying only deletes, say, follows rows loaded some other
 * way, and starts from the stream).  trk_backfill_by_rows: its rows go
 * through its templates one by one (transform.sql, insert.sql), in one
 * output transaction; else the default mirror's COPY.
 */
bool		trk_backfill_serves(const trk_pipeline_t *def);
bool		trk_backfill_by_rows(const trk_pipeline_t *def);

/*
 * trk_backfill_rebuild readies def's output for a new backfill, in one
 * transaction on dst: empties it (truncate) or checks that it is empty,
 * and sets the pipeline's row of trucker.checkpoints, if it has one, to
 * 'backfilling'.  0; TRK_BACKFILL_REFUSED when the output holds rows and
 * truncate is off, or a server refused; else -1.
 */
int			trk_backfill_rebuild(PGconn *dst, const trk_pipeline_t *def, bool truncate,
								 trk_buf_t *err);

#endif

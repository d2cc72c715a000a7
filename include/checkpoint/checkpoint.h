/*
 * checkpoint.h — trucker.checkpoints: each pipeline's applied position,
 * kept in its output database.
 *
 *     pipeline           text primary key
 *     lsn                pg_lsn   end LSN of the last source transaction applied
 *     system_identifier  text     the source it came from …
 *     database           text
 *     slot               text     … and through which slot
 *     updated_at         timestamptz
 *     stopped_lsn        pg_lsn   a stopped pipeline: the transaction it
 *     stopped_error      text     failed on, and why (NULL = running)
 *     skip_lsn           pg_lsn   a transaction `trucker skip` sends to the
 *                                 dead letters instead of applying it
 *     state              text     'streaming', or 'backfilling': a backfill
 *                                 over several transactions is under way (or
 *                                 was cut short); lsn means nothing yet, and
 *                                 the output may hold part of the copy
 *     backfilled_at      timestamptz  when its last backfill ended
 *     fingerprint        text     of the definition its output was made by
 *                                 (trk_pipeline_t.fingerprint)
 *
 * trucker.dead_letters holds the changes a pipeline did not apply: with
 * on_error: dead_letter, each change whose statement failed, written by
 * trucker.try_apply (which runs the statement under a savepoint of its
 * own), and each change of a transaction `trucker skip` passed over.
 *
 * The row is updated in the same transaction as the pipeline's writes
 * (TRK_CHECKPOINT_UPDATE_SQL, sent by the streaming code), so the output and
 * its position never disagree.  The update moves the checkpoint only from
 * the value trucker expects and otherwise fails the transaction (a division
 * by zero, SQLSTATE 22012): a batch sent while the one before it was still
 * committing never lands when that one failed, and two daemons writing the
 * same pipeline's output cannot both advance it.  The functions here run at
 * start-up, with blocking libpq.
 */
#ifndef TRK_CHECKPOINT_CHECKPOINT_H
#define TRK_CHECKPOINT_CHECKPOINT_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/lsn.h"

/* $1 pipeline, $2 the lsn it moves from, $3 the lsn it moves to */
#define TRK_CHECKPOINT_UPDATE_SQL \
	"WITH trk_moved AS (UPDATE trucker.checkpoints SET lsn = $3::pg_lsn, updated_at = now(), " \
	"skip_lsn = CASE WHEN skip_lsn <= $3::pg_lsn THEN NULL ELSE skip_lsn END, " \
	"stopped_error = CASE WHEN skip_lsn <= $3::pg_lsn THEN NULL ELSE stopped_error END " \
	"WHERE pipeline = $1 AND lsn = $2::pg_lsn RETURNING 1) " \
	"SELECT 1 / count(*)::int FROM trk_moved"

/*
 * One change's statement run under a savepoint of its own; on failure the
 * change goes to trucker.dead_letters and the transaction goes on.  $1
 * pipeline, $2 the change's LSN, $3 its transaction's end LSN, $4 xid, $5
 * the change as wal2json sent it, $6 the statement, $7 its parameters,
 * $8 their type OIDs (0 = infer).
 */
#define TRK_TRY_APPLY_SQL \
	"SELECT trucker.try_apply($1, $2::pg_lsn, $3::pg_lsn, $4::bigint, $5, $6, " \
	"$7::text[], $8::oid[])"

/* a change of a transaction `trucker skip` passed over: $1 … $5 as above, $6 why */
#define TRK_DEAD_LETTER_SQL \
	"INSERT INTO trucker.dead_letters (pipeline, lsn, end_lsn, xid, change, error) " \
	"VALUES ($1, $2::pg_lsn, $3::pg_lsn, $4::bigint, $5, $6)"

/*
 * a change whose transform.sql failed, with on_error: dead_letter: $1 … $5
 * as above, $6 the transform's statement, $7 its parameters, $8 SQLSTATE,
 * $9 the error
 */
#define TRK_DEAD_TRANSFORM_SQL \
	"INSERT INTO trucker.dead_letters (pipeline, lsn, end_lsn, xid, change, statement, " \
	"params, sqlstate, error) " \
	"VALUES ($1, $2::pg_lsn, $3::pg_lsn, $4::bigint, $5, $6, $7::text[], $8, $9)"

typedef struct trk_checkpoint_row
{
	char	   *pipeline;		/* owned */
	trk_lsn_t	lsn;
	char	   *system_identifier;	/* owned */
	char	   *database;		/* owned */
	char	   *slot;			/* owned */
	trk_lsn_t	stopped_lsn;	/* 0 = running */
	char	   *stopped_error;	/* owned; NULL when none */
	trk_lsn_t	skip_lsn;		/* 0 = none */
	bool		backfilling;	/* state = 'backfilling' */
	char	   *fingerprint;	/* owned; NULL when none was recorded */
} trk_checkpoint_row_t;

/*
 * trk_checkpoint_prepare_session makes an output session durable enough:
 * synchronous_commit no weaker than local.
 */
int			trk_checkpoint_prepare_session(PGconn *pg, trk_buf_t *err);

/* trk_checkpoint_ensure_table creates the schema and table if missing. */
int			trk_checkpoint_ensure_table(PGconn *pg, trk_buf_t *err);

/*
 * trk_checkpoint_claim takes the session-level advisory lock of a pipeline
 * on its output, held for as long as the session writes the pipeline.  Only
 * one session at a time may write a pipeline: a second daemon, or a session
 * of this one that was given up while its last batches were still running
 * on the server, which could otherwise commit after the new session read
 * the checkpoints.  Returns 0 when taken, 1 when another session holds it,
 * -1 on error.
 */
int			trk_checkpoint_claim(PGconn *pg, const char *pipeline, trk_buf_t *err);

/* trk_checkpoint_read returns every row (owned array). */
int			trk_checkpoint_read(PGconn *pg, trk_checkpoint_row_t **rows,
								size_t *nrows, trk_buf_t *err);

/*
 * trk_checkpoint_insert gives a pipeline its first streaming checkpoint, in
 * place of a 'backfilling' row (backfilled: at the end of its backfill); it
 * fails when the pipeline has a streaming one already (another trucker
 * wrote it since it was read).
 */
int			trk_checkpoint_insert(PGconn *pg, const char *pipeline, const char *fingerprint,
								  trk_lsn_t lsn, const char *sysid, const char *database,
								  const char *slot, bool backfilled, trk_buf_t *err);

/*
 * trk_checkpoint_backfilling: the pipeline's row says 'backfilling' (a copy
 * cut short, or a rebuild asked for); the row is locked for the rest of
 * the transaction.
 */
int			trk_checkpoint_backfilling(PGconn *pg, const char *pipeline, bool *backfilling,
									   trk_buf_t *err);

/* trk_checkpoint_set_fingerprint records the definition a pipeline now runs by */
int			trk_checkpoint_set_fingerprint(PGconn *pg, const char *pipeline,
										   const char *fingerprint, trk_buf_t *err);

/*
 * trk_checkpoint_mark_rebuild sets a pipeline's row, if it has one, to
 * 'backfilling', so that its output is emptied and copied again.
 */
int			trk_checkpoint_mark_rebuild(PGconn *pg, const char *pipeline, trk_buf_t *err);

/*
 * trk_checkpoint_begin_backfill sets a pipeline's row to 'backfilling'
 * (made if missing; any stop or skip cleared), committed before the copy's
 * transactions start; trk_checkpoint_end_backfill, once they have all
 * committed, gives it its checkpoint lsn and 'streaming' — failing when the
 * row is not 'backfilling' any more.
 */
int			trk_checkpoint_begin_backfill(PGconn *pg, const char *pipeline,
										  const char *fingerprint, const char *sysid,
										  const char *database, const char *slot,
										  trk_buf_t *err);
int			trk_checkpoint_end_backfill(PGconn *pg, const char *pipeline, trk_lsn_t lsn,
										trk_buf_t *err);

/* trk_checkpoint_record_stop marks a pipeline stopped at lsn, and why. */
int			trk_checkpoint_record_stop(PGconn *pg, const char *pipeline, trk_lsn_t lsn,
									   const char *why, trk_buf_t *err);

/*
 * trk_checkpoint_resume clears a pipeline's stop, so that it tries its
 * failing transaction again; trk_checkpoint_skip (lsn: the transaction it
 * stopped at) has it send that transaction to the dead letters instead.
 * Both fail, saying why, when the pipeline is not stopped (at lsn).  *was
 * gets the transaction it was stopped at.
 */
int			trk_checkpoint_resume(PGconn *pg, const char *pipeline, trk_lsn_t *was,
								  trk_buf_t *err);
int			trk_checkpoint_skip(PGconn *pg, const char *pipeline, trk_lsn_t lsn,
								trk_buf_t *err);

void		trk_checkpoint_rows_free(trk_checkpoint_row_t *rows, size_t n);

#endif

/* checkpoint.c — create, read and seed trucker.checkpoints in an output. */
#include "checkpoint/checkpoint.h"
#include "base/mem.h"
#include "base/pqmsg.h"

#include <stdlib.h>
#include <string.h>

static int
exec_ok(PGconn *pg, const char *sql, const char *what, trk_buf_t *err)
{
	PGresult   *r = PQexec(pg, sql);

	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
		return trk_pq_fail(err, what, pg, r);
	PQclear(r);
	return 0;
}

int
trk_checkpoint_prepare_session(PGconn *pg, trk_buf_t *err)
{
	PGresult   *r = PQexec(pg, "SELECT current_setting('synchronous_commit')");

	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		return trk_pq_fail(err, "cannot read synchronous_commit", pg, r);
	/* off would let a checkpoint be reported before it is on disk */
	if (strcmp(PQgetvalue(r, 0, 0), "off") == 0)
	{
		PQclear(r);
		return exec_ok(pg, "SET synchronous_commit = local", "cannot set synchronous_commit", err);
	}
	PQclear(r);
	return 0;
}

int
trk_checkpoint_ensure_table(PGconn *pg, trk_buf_t *err)
{
	/*
	 * Two inputs may start against the same output at once: the advisory
	 * lock keeps their CREATE … IF NOT EXISTS from racing.
	 */
	static const char sql[] =
		"BEGIN;"
		"SELECT pg_advisory_xact_lock(hashtext('trucker.checkpoints'));"
		"CREATE SCHEMA IF NOT EXISTS trucker;"
		"CREATE TABLE IF NOT EXISTS trucker.checkpoints ("
		" pipeline text PRIMARY KEY,"
		" lsn pg_lsn NOT NULL,"
		" system_identifier text NOT NULL,"
		" database text NOT NULL,"
		" slot text NOT NULL,"
		" updated_at timestamptz NOT NULL DEFAULT now());"
		/* columns of later versions: ALTER only when one is missing, as
		 * ALTER TABLE locks out the other inputs' checkpoint writes */
		"DO $trk$ BEGIN"
		" IF NOT EXISTS (SELECT FROM pg_attribute WHERE attrelid = 'trucker.checkpoints'::regclass"
		"  AND attname = 'fingerprint' AND NOT attisdropped) THEN"
		"  ALTER TABLE trucker.checkpoints"
		"   ADD COLUMN IF NOT EXISTS stopped_lsn pg_lsn,"
		"   ADD COLUMN IF NOT EXISTS stopped_error text,"
		"   ADD COLUMN IF NOT EXISTS skip_lsn pg_lsn,"
		"   ADD COLUMN IF NOT EXISTS state text NOT NULL DEFAULT 'streaming'"
		"    CHECK (state IN ('backfilling', 'streaming')),"
		"   ADD COLUMN IF NOT EXISTS backfilled_at timestamptz,"
		"   ADD COLUMN IF NOT EXISTS fingerprint text;"
		" END IF;"
		"END $trk$;"
		"CREATE TABLE IF NOT EXISTS trucker.dead_letters ("
		" id bigserial PRIMARY KEY,"
		" pipeline text NOT NULL,"
		" lsn pg_lsn,"
		" end_lsn pg_lsn NOT NULL,"
		" xid bigint,"
		" change text,"
		" statement text,"
		" params text[],"
		" sqlstate text,"
		" error text NOT NULL,"
		" created_at timestamptz NOT NULL DEFAULT now());"
		/*
		 * try_apply: the statement is prepared as it is, never edited, and
		 * its parameters are passed as quoted literals, coerced to the
		 * parameter types as bound parameters would be; the EXCEPTION
		 * block is a savepoint of its own.
		 */
		"CREATE OR REPLACE FUNCTION trucker.try_apply(p_pipeline text, p_lsn pg_lsn,"
		" p_end_lsn pg_lsn, p_xid bigint, p_change text, p_sql text, p_params text[],"
		" p_types oid[]) RETURNS text LANGUAGE plpgsql AS $trk$"
		"DECLARE n int := coalesce(array_length(p_params, 1), 0); types text; args text;"
		"BEGIN"
		" IF EXISTS (SELECT FROM pg_prepared_statements WHERE name = 'trk_try_apply') THEN"
		"  DEALLOCATE trk_try_apply;"
		" END IF;"
		" SELECT string_agg(CASE WHEN coalesce(p_types[i], 0) = 0 THEN 'unknown'"
		"  ELSE format_type(p_types[i], NULL) END, ', ' ORDER BY i),"
		"  string_agg(quote_nullable(p_params[i]), ', ' ORDER BY i)"
		"  INTO types, args FROM generate_series(1, n) i;"
		" BEGIN"
		"  IF n > 0 THEN"
		"   EXECUTE format('PREPARE trk_try_apply (%s) AS %s', types, p_sql);"
		"   EXECUTE format('EXECUTE trk_try_apply (%s)', args);"
		"  ELSE"
		"   EXECUTE format('PREPARE trk_try_apply AS %s', p_sql);"
		"   EXECUTE 'EXECUTE trk_try_apply';"
		"  END IF;"
		"  DEALLOCATE trk_try_apply;"
		"  RETURN NULL;"
		" EXCEPTION WHEN OTHERS THEN"
		"  IF EXISTS (SELECT FROM pg_prepared_statements WHERE name = 'trk_try_apply') THEN"
		"   DEALLOCATE trk_try_apply;"
		"  END IF;"
		/* only the change's fault goes to the dead letters: a deadlock, a
		 * full disk or a cancel fails the batch, which is tried again */
		"  IF left(SQLSTATE, 2) NOT IN ('21', '22', '23', '42') THEN"
		"   RAISE;"
		"  END IF;"
		"  INSERT INTO trucker.dead_letters (pipeline, lsn, end_lsn, xid, change, statement,"
		"   params, sqlstate, error)"
		"  VALUES (p_pipeline, p_lsn, p_end_lsn, p_xid, p_change, p_sql, p_params, SQLSTATE,"
		"   SQLERRM);"
		"  RETURN SQLSTATE || ': ' || SQLERRM;"
		" END;"
		"END $trk$;"
		"COMMIT";

	if (exec_ok(pg, sql, "cannot create trucker.checkpoints", err) != 0)
	{
		PQclear(PQexec(pg, "ROLLBACK"));
		return -1;
	}
	return 0;
}

int
trk_checkpoint_claim(PGconn *pg, const char *pipeline, trk_buf_t *err)
{
	const char *values[1] = {pipeline};
	PGresult   *r = PQexecParams(pg, "SELECT pg_try_advisory_lock(hashtextextended("
								 "'trucker.pipeline ' || $1, 0))",
								 1, NULL, values, NULL, NULL, 0);
	int			held;

	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
		return trk_pq_fail(err, "cannot take the pipeline's lock", pg, r);
	held = strcmp(PQgetvalue(r, 0, 0), "t") != 0;
	PQclear(r);
	return held;
}

int
trk_checkpoint_read(PGconn *pg, trk_checkpoint_row_t **rows, size_t *nrows, trk_buf_t *err)
{
	PGresult   *r = PQexec(pg, "SELECT pipeline, lsn::text, system_identifier, database, slot, "
						   "stopped_lsn::text, stopped_error, skip_lsn::text, "
						   "state = 'backfilling', fingerprint FROM trucker.checkpoints");
	int			n;

	*rows = NULL;
	*nrows = 0;
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		return trk_pq_fail(err, "cannot read trucker.checkpoints", pg, r);
	n = PQntuples(r);
	*rows = trk_calloc((size_t) n + 1, sizeof(trk_checkpoint_row_t));
	for (int i = 0; i < n; i++)
	{
		trk_checkpoint_row_t *row = &(*rows)[i];
		const char *lsn = PQgetvalue(r, i, 1);

		row->pipeline = trk_strdup(PQgetvalue(r, i, 0));
		if (!trk_lsn_parse(lsn, strlen(lsn), &row->lsn))
			row->lsn = 0;
		row->system_identifier = trk_strdup(PQgetvalue(r, i, 2));
		row->database = trk_strdup(PQgetvalue(r, i, 3));
		row->slot = trk_strdup(PQgetvalue(r, i, 4));
		if (!PQgetisnull(r, i, 5) &&
			!trk_lsn_parse(PQgetvalue(r, i, 5), (size_t) PQgetlength(r, i, 5), &row->stopped_lsn))
			row->stopped_lsn = 0;
		row->stopped_error = PQgetisnull(r, i, 6) ? NULL : trk_strdup(PQgetvalue(r, i, 6));
		if (!PQgetisnull(r, i, 7) &&
			!trk_lsn_parse(PQgetvalue(r, i, 7), (size_t) PQgetlength(r, i, 7), &row->skip_lsn))
			row->skip_lsn = 0;
		row->backfilling = strcmp(PQgetvalue(r, i, 8), "t") == 0;
		row->fingerprint = PQgetisnull(r, i, 9) ? NULL : trk_strdup(PQgetvalue(r, i, 9));
	}
	*nrows = (size_t) n;
	PQclear(r);
	return 0;
}

int
trk_checkpoint_insert(PGconn *pg, const char *pipeline, const char *fingerprint, trk_lsn_t lsn,
					  const char *sysid, const char *database, const char *slot,
					  bool backfilled, trk_buf_t *err)
{
	char		lsn_text[TRK_LSN_BUFSIZE];
	const char *values[7] = {pipeline, trk_lsn_format(lsn, lsn_text), sysid, database, slot,
	backfilled ? "t" : "f", fingerprint};
	PGresult   *r = PQexecParams(pg,
								 "INSERT INTO trucker.checkpoints "
								 "(pipeline, lsn, system_identifier, database, slot, backfilled_at, "
								 "fingerprint) "
								 "VALUES ($1, $2::pg_lsn, $3, $4, $5, "
								 "CASE WHEN $6::bool THEN now() END, $7) "
								 "ON CONFLICT (pipeline) DO UPDATE SET lsn = EXCLUDED.lsn, "
								 "system_identifier = EXCLUDED.system_identifier, "
								 "database = EXCLUDED.database, slot = EXCLUDED.slot, "
								 "updated_at = now(), stopped_lsn = NULL, stopped_error = NULL, "
								 "skip_lsn = NULL, state = 'streaming', "
								 "backfilled_at = EXCLUDED.backfilled_at, "
								 "fingerprint = EXCLUDED.fingerprint "
								 "WHERE trucker.checkpoints.state = 'backfilling'",
								 7, NULL, values, NULL, NULL, 0);

	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		return trk_pq_fail(err, "cannot insert into trucker.checkpoints", pg, r);
	if (strcmp(PQcmdTuples(r), "1") != 0)
	{
		/* read just before: only another writer can have put it there */
		trk_buf_appendf(err, "pipeline %s has a checkpoint already: another trucker writes "
						"the same output", pipeline);
		PQclear(r);
		return -1;
	}
	PQclear(r);
	return 0;
}

int
trk_checkpoint_begin_backfill(PGconn *pg, const char *pipeline, const char *fingerprint,
							  const char *sysid, const char *database, const char *slot,
							  trk_buf_t *err)
{
	const char *values[5] = {pipeline, sysid, database, slot, fingerprint};
	PGresult   *r = PQexecParams(pg,
								 "INSERT INTO trucker.checkpoints "
								 "(pipeline, lsn, system_identifier, database, slot, state, "
								 "fingerprint) "
								 "VALUES ($1, '0/0', $2, $3, $4, 'backfilling', $5) "
								 "ON CONFLICT (pipeline) DO UPDATE SET lsn = '0/0', "
								 "system_identifier = EXCLUDED.system_identifier, "
								 "database = EXCLUDED.database, slot = EXCLUDED.slot, "
								 "updated_at = now(), stopped_lsn = NULL, stopped_error = NULL, "
								 "skip_lsn = NULL, state = 'backfilling', "
								 "fingerprint = EXCLUDED.fingerprint",
								 5, NULL, values, NULL, NULL, 0);

	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		return trk_pq_fail(err, "cannot mark the pipeline backfilling", pg, r);
	PQclear(r);
	return 0;
}

int
trk_checkpoint_backfilling(PGconn *pg, const char *pipeline, bool *backfilling, trk_buf_t *err)
{
	const char *values[1] = {pipeline};
	PGresult   *r = PQexecParams(pg,
								 "SELECT state = 'backfilling' FROM trucker.checkpoints "
								 "WHERE pipeline = $1 FOR UPDATE",
								 1, NULL, values, NULL, NULL, 0);

	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		return trk_pq_fail(err, "cannot read trucker.checkpoints", pg, r);
	*backfilling = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	return 0;
}

int
trk_checkpoint_set_fingerprint(PGconn *pg, const char *pipeline, const char *fingerprint,
							   trk_buf_t *err)
{
	const char *values[2] = {pipeline, fingerprint};
	PGresult   *r = PQexecParams(pg,
								 "UPDATE trucker.checkpoints SET fingerprint = $2 "
								 "WHERE pipeline = $1",
								 2, NULL, values, NULL, NULL, 0);

	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		return trk_pq_fail(err, "cannot record the pipeline's fingerprint", pg, r);
	PQclear(r);
	return 0;
}

int
trk_checkpoint_mark_rebuild(PGconn *pg, const char *pipeline, trk_buf_t *err)
{
	const char *values[1] = {pipeline};
	PGresult   *r = PQexecParams(pg,
								 "UPDATE trucker.checkpoints SET lsn = '0/0', "
								 "state = 'backfilling', updated_at = now(), stopped_lsn = NULL, "
								 "stopped_error = NULL, skip_lsn = NULL WHERE pipeline = $1",
								 1, NULL, values, NULL, NULL, 0);

	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		return trk_pq_fail(err, "cannot mark the pipeline for a backfill", pg, r);
	PQclear(r);
	return 0;
}

int
trk_checkpoint_end_backfill(PGconn *pg, const char *pipeline, trk_lsn_t lsn, trk_buf_t *err)
{
	char		lsn_text[TRK_LSN_BUFSIZE];
	const char *values[2] = {pipeline, trk_lsn_format(lsn, lsn_text)};
	PGresult   *r = PQexecParams(pg,
								 "UPDATE trucker.checkpoints SET lsn = $2::pg_lsn, "
								 "state = 'streaming', updated_at = now(), backfilled_at = now() "
								 "WHERE pipeline = $1 AND state = 'backfilling'",
								 2, NULL, values, NULL, NULL, 0);

	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		return trk_pq_fail(err, "cannot end the pipeline's backfill", pg, r);
	if (strcmp(PQcmdTuples(r), "1") != 0)
	{
		trk_buf_appendf(err, "pipeline %s is no longer backfilling in its output: another "
						"session changed its checkpoint", pipeline);
		PQclear(r);
		return -1;
	}
	PQclear(r);
	return 0;
}

int
trk_checkpoint_record_stop(PGconn *pg, const char *pipeline, trk_lsn_t lsn, const char *why,
						   trk_buf_t *err)
{
	char		lsn_text[TRK_LSN_BUFSIZE];
	const char *values[3] = {pipeline, trk_lsn_format(lsn, lsn_text), why};
	PGresult   *r = PQexecParams(pg,
								 "UPDATE trucker.checkpoints SET stopped_lsn = $2::pg_lsn, "
								 "stopped_error = $3 WHERE pipeline = $1",
								 3, NULL, values, NULL, NULL, 0);

	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		return trk_pq_fail(err, "cannot record the pipeline's stop", pg, r);
	PQclear(r);
	return 0;
}

/* stopped_at reads a pipeline's stop: 1 stopped (at *lsn), 0 running, -1 error */
static int
stopped_at(PGconn *pg, const char *pipeline, trk_lsn_t *lsn, trk_buf_t *err)
{
	const char *values[1] = {pipeline};
	PGresult   *r = PQexecParams(pg, "SELECT stopped_lsn::text FROM trucker.checkpoints "
								 "WHERE pipeline = $1 FOR UPDATE", 1, NULL, values, NULL, NULL, 0);
	int			rc;

	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		return trk_pq_fail(err, "cannot read trucker.checkpoints", pg, r);
	if (PQntuples(r) == 0)
	{
		trk_buf_appendf(err, "pipeline %s has no checkpoint in its output: it has never run", pipeline);
		PQclear(r);
		return -1;
	}
	rc = PQgetisnull(r, 0, 0) ? 0 : 1;
	if (rc == 1 && !trk_lsn_parse(PQgetvalue(r, 0, 0), (size_t) PQgetlength(r, 0, 0), lsn))
		rc = 0;
	PQclear(r);
	return rc;
}

/* exec_params runs one statement with text parameters */
static int
exec_params(PGconn *pg, const char *sql, int n, const char *const *values, const char *what,
			trk_buf_t *err)
{
	PGresult   *r = PQexecParams(pg, sql, n, NULL, values, NULL, NULL, 0);

	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		return trk_pq_fail(err, what, pg, r);
	PQclear(r);
	return 0;
}

int
trk_checkpoint_resume(PGconn *pg, const char *pipeline, trk_lsn_t *was, trk_buf_t *err)
{
	const char *values[1] = {pipeline};
	int			rc;

	if (exec_ok(pg, "BEGIN", "cannot begin", err) != 0)
		return -1;
	rc = stopped_at(pg, pipeline, was, err);
	if (rc == 0)
		trk_buf_appendf(err, "pipeline %s is not stopped", pipeline);
	if (rc == 1)
		rc = exec_params(pg, "UPDATE trucker.checkpoints SET stopped_lsn = NULL, "
						 "stopped_error = NULL WHERE pipeline = $1", 1, values,
						 "cannot resume the pipeline", err) == 0 ? 1 : -1;
	if (rc != 1)
	{
		PQclear(PQexec(pg, "ROLLBACK"));
		return -1;
	}
	return exec_ok(pg, "COMMIT", "cannot commit", err);
}

int
trk_checkpoint_skip(PGconn *pg, const char *pipeline, trk_lsn_t lsn, trk_buf_t *err)
{
	char		want[TRK_LSN_BUFSIZE];
	char		have[TRK_LSN_BUFSIZE];
	const char *values[2] = {pipeline, trk_lsn_format(lsn, want)};
	trk_lsn_t	at = 0;
	int			rc;

	if (exec_ok(pg, "BEGIN", "cannot begin", err) != 0)
		return -1;
	rc = stopped_at(pg, pipeline, &at, err);
	if (rc == 0)
		trk_buf_appendf(err, "pipeline %s is not stopped: there is nothing to skip", pipeline);
	else if (rc == 1 && at != lsn)
	{
		trk_buf_appendf(err, "pipeline %s is stopped at %s, not at %s: skip only the "
						"transaction it failed on", pipeline, trk_lsn_format(at, have), want);
		rc = -1;
	}
	if (rc == 1)
		rc = exec_params(pg, "UPDATE trucker.checkpoints SET stopped_lsn = NULL, "
						 "skip_lsn = $2::pg_lsn WHERE pipeline = $1", 2, values,
						 "cannot skip the transaction", err) == 0 ? 1 : -1;
	if (rc != 1)
	{
		PQclear(PQexec(pg, "ROLLBACK"));
		return -1;
	}
	return exec_ok(pg, "COMMIT", "cannot commit", err);
}

void
trk_checkpoint_rows_free(trk_checkpoint_row_t *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
	{
		free(rows[i].stopped_error);
		free(rows[i].fingerprint);
		free(rows[i].pipeline);
		free(rows[i].system_identifier);
		free(rows[i].database);
		free(rows[i].slot);
	}
	free(rows);
}

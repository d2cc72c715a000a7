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
	PGresult   *r = PQexec(pg, "SELECT pipeline, lsn::text, system_identifier, database, slot "
						   "FROM trucker.checkpoints");
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
	}
	*nrows = (size_t) n;
	PQclear(r);
	return 0;
}

int
trk_checkpoint_insert(PGconn *pg, const char *pipeline, trk_lsn_t lsn, const char *sysid,
					  const char *database, const char *slot, trk_buf_t *err)
{
	char		lsn_text[TRK_LSN_BUFSIZE];
	const char *values[5] = {pipeline, trk_lsn_format(lsn, lsn_text), sysid, database, slot};
	PGresult   *r = PQexecParams(pg,
								 "INSERT INTO trucker.checkpoints "
								 "(pipeline, lsn, system_identifier, database, slot) "
								 "VALUES ($1, $2::pg_lsn, $3, $4, $5) "
								 "ON CONFLICT (pipeline) DO NOTHING",
								 5, NULL, values, NULL, NULL, 0);

	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		return trk_pq_fail(err, "cannot insert into trucker.checkpoints", pg, r);
	PQclear(r);
	return 0;
}

void
trk_checkpoint_rows_free(trk_checkpoint_row_t *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
	{
		free(rows[i].pipeline);
		free(rows[i].system_identifier);
		free(rows[i].database);
		free(rows[i].slot);
	}
	free(rows);
}

/* copy.c — a pipeline's backfill: the rows its input held at a snapshot. */
#include "backfill/copy.h"
#include "apply/mirror.h"
#include "base/mem.h"
#include "base/pqmsg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
trk_backfill_refusal(PGconn *pg, const PGresult *r)
{
	const char *st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

	if (PQstatus(pg) != CONNECTION_OK || st == NULL)
		return -1;
	/* (also program limits, and errors a trigger or routine raised) */
	if (strncmp(st, "0A", 2) == 0 || strncmp(st, "22", 2) == 0 || strncmp(st, "23", 2) == 0 ||
		strncmp(st, "42", 2) == 0 || strncmp(st, "54", 2) == 0 || strncmp(st, "P0", 2) == 0 ||
		strncmp(st, "38", 2) == 0 || strncmp(st, "39", 2) == 0)
		return TRK_BACKFILL_REFUSED;
	return -1;
}

/* fail: err gets what and r's error; returns what r says by trk_backfill_refusal */
static int
fail(trk_buf_t *err, const char *what, PGconn *pg, PGresult *r)
{
	int			rc = trk_backfill_refusal(pg, r);

	trk_pq_fail(err, what, pg, r);
	return rc;
}

/* command runs sql, which returns no rows */
static int
command(PGconn *pg, const char *sql, const char *what, trk_buf_t *err)
{
	PGresult   *r = PQexec(pg, sql);

	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		return fail(err, what, pg, r);
	PQclear(r);
	return 0;
}

int
trk_backfill_begin(PGconn *src, const char *snapshot, trk_buf_t *err)
{
	char	   *lit;
	trk_buf_t	sql = {0};
	int			rc;

	/*
	 * A copy takes as long as it takes: no statement or idle timeout of the
	 * role's cuts it, only to start it again from scratch.  A table whose
	 * lock waits behind a DDL's waits a minute at most.
	 */
	if (command(src, "SET row_security = off", "cannot turn row security off", err) != 0 ||
		command(src, "SET statement_timeout = 0", "cannot set statement_timeout", err) != 0 ||
		command(src, "SET idle_in_transaction_session_timeout = 0",
				"cannot set idle_in_transaction_session_timeout", err) != 0 ||
		command(src, "SET lock_timeout = '60s'", "cannot set lock_timeout", err) != 0 ||
		command(src, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
				"cannot begin the backfill's transaction", err) != 0)
		return -1;
	/* before any query, and without parameters: the name quoted here */
	lit = PQescapeLiteral(src, snapshot, strlen(snapshot));
	if (lit == NULL)
		return trk_pq_fail(err, "cannot import the backfill's snapshot", src, NULL);
	trk_buf_appendf(&sql, "SET TRANSACTION SNAPSHOT %s", lit);
	PQfreemem(lit);
	/* (a snapshot that cannot be imported any more wants a new one: a retry) */
	rc = command(src, trk_buf_cstr(&sql), "cannot import the backfill's snapshot", err);
	trk_buf_free(&sql);
	return rc == 0 ? 0 : -1;
}

int
trk_backfill_savepoint(PGconn *src, bool after, trk_buf_t *err)
{
	if (!after)
		return command(src, "SAVEPOINT trucker_pipeline", "cannot set a savepoint", err) == 0 ?
			0 : -1;
	if (PQtransactionStatus(src) == PQTRANS_INERROR &&
		command(src, "ROLLBACK TO SAVEPOINT trucker_pipeline", "cannot roll back", err) != 0)
		return -1;
	return command(src, "RELEASE SAVEPOINT trucker_pipeline", "cannot release a savepoint",
				   err) == 0 ? 0 : -1;
}

int
trk_backfill_lock(PGconn *src, const trk_table_name_t *table, trk_buf_t *err)
{
	trk_buf_t	sql = {0};
	int			rc;

	trk_buf_append(&sql, "LOCK TABLE ");
	trk_quote_table(&sql, table);
	trk_buf_append(&sql, " IN ACCESS SHARE MODE");
	rc = command(src, trk_buf_cstr(&sql), "cannot lock the input table", err);
	trk_buf_free(&sql);
	return rc;
}

int
trk_backfill_describe(PGconn *src, const trk_table_name_t *table, trk_backfill_table_t *t,
					  trk_buf_t *err)
{
	const char *values[2] = {table->schema, table->name};
	PGresult   *r;

	trk_buf_reset(&t->columns);
	r = PQexecParams(src,
					 "SELECT (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum)"
					 "        FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0"
					 "        AND NOT a.attisdropped AND a.attgenerated = ''),"
					 "       c.relkind = 'p',"
					 "       CASE WHEN c.relkind = 'p' THEN"
					 "        (SELECT sum(greatest(p.reltuples, 0)) FROM pg_partition_tree(c.oid) t"
					 "         JOIN pg_class p ON p.oid = t.relid)"
					 "       ELSE greatest(c.reltuples, 0) END,"
					 "       pg_relation_size(c.oid) / current_setting('block_size')::int"
					 " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
					 " WHERE n.nspname = $1 AND c.relname = $2",
					 2, NULL, values, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		return fail(err, "cannot read the input table's columns", src, r);
	if (PQntuples(r) != 1 || PQgetisnull(r, 0, 0))
	{
		trk_buf_appendf(err, "table %s.%s does not exist on the input, or has no column",
						table->schema, table->name);
		PQclear(r);
		return TRK_BACKFILL_REFUSED;
	}
	trk_buf_append(&t->columns, PQgetvalue(r, 0, 0));
	t->partitioned = strcmp(PQgetvalue(r, 0, 1), "t") == 0;
	t->estimate = PQgetisnull(r, 0, 2) ? 0 : strtod(PQgetvalue(r, 0, 2), NULL);
	t->blocks = PQgetisnull(r, 0, 3) ? 0 : strtoull(PQgetvalue(r, 0, 3), NULL, 10);
	PQclear(r);
	if (!t->partitioned)
		return 0;
	/* the leaves, for copies in parallel: the largest first, to even them out */
	r = PQexecParams(src,
					 "SELECT n.nspname, c.relname FROM pg_partition_tree(format('%I.%I', $1::text,"
					 " $2::text)::regclass) t JOIN pg_class c ON c.oid = t.relid"
					 " JOIN pg_namespace n ON n.oid = c.relnamespace"
					 " WHERE t.isleaf ORDER BY pg_relation_size(c.oid) DESC, 1, 2",
					 2, NULL, values, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		return fail(err, "cannot read the input table's partitions", src, r);
	t->nleaves = (size_t) PQntuples(r);
	t->leaves = trk_calloc(t->nleaves + 1, sizeof(trk_table_name_t));
	for (size_t i = 0; i < t->nleaves; i++)
	{
		t->leaves[i].schema = trk_strdup(PQgetvalue(r, (int) i, 0));
		t->leaves[i].name = trk_strdup(PQgetvalue(r, (int) i, 1));
	}
	PQclear(r);
	return 0;
}

void
trk_backfill_table_free(trk_backfill_table_t *t)
{
	trk_buf_free(&t->columns);
	for (size_t i = 0; i < t->nleaves; i++)
	{
		free(t->leaves[i].schema);
		free(t->leaves[i].name);
	}
	free(t->leaves);
	t->leaves = NULL;
	t->nleaves = 0;
}

/* holds_rows: table (ONLY it, not its partitions, with only) holds a row */
static int
holds_rows(PGconn *pg, const trk_table_name_t *table, bool only, bool *any, const char *what,
		   trk_buf_t *err)
{
	trk_buf_t	sql = {0};
	PGresult   *r;

	trk_buf_append(&sql, only ? "SELECT EXISTS (SELECT FROM ONLY " : "SELECT EXISTS (SELECT FROM ");
	trk_quote_table(&sql, table);
	trk_buf_appendc(&sql, ')');
	r = PQexec(pg, trk_buf_cstr(&sql));
	trk_buf_free(&sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
		return fail(err, what, pg, r);
	*any = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	return 0;
}

int
trk_backfill_output_empty(PGconn *dst, const trk_table_name_t *table, bool *empty,
						  trk_buf_t *err)
{
	bool		any = false;
	int			rc = holds_rows(dst, table, false, &any, "cannot read the output table", err);

	*empty = !any;
	return rc;
}

/*
 * end_copy_out reads src's results to the end; after a failure on the way
 * (cancel), it first asks the server to stop, rather than read the rest of
 * a table for nothing.
 */
static void
end_copy_out(PGconn *src, bool cancel)
{
	char	   *buf;
	PGresult   *r;

	if (cancel)
	{
		PGcancel   *c = PQgetCancel(src);
		char		why[256];

		if (c != NULL)
		{
			PQcancel(c, why, sizeof(why));
			PQfreeCancel(c);
		}
	}
	while (PQgetCopyData(src, &buf, 0) > 0)
		PQfreemem(buf);
	while ((r = PQgetResult(src)) != NULL)
		PQclear(r);
}

/* end_copy_in ends dst's COPY; abandoned: with an error, so nothing stays */
static int
end_copy_in(PGconn *dst, bool abandoned, trk_buf_t *err)
{
	PGresult   *r;
	int			rc = 0;

	if (PQputCopyEnd(dst, abandoned ? "the backfill's source failed" : NULL) != 1)
		return trk_pq_fail(err, "cannot end the copy into the output", dst, NULL);
	while ((r = PQgetResult(dst)) != NULL)
	{
		if (!abandoned && rc == 0 && PQresultStatus(r) != PGRES_COMMAND_OK)
			rc = fail(err, "cannot copy into the output", dst, r);
		else
			PQclear(r);
	}
	return rc;
}

void
trk_backfill_range_where(uint32_t index, uint32_t count, uint64_t blocks, trk_buf_t *where)
{
	uint64_t	from = blocks * index / count;
	uint64_t	to = blocks * (index + 1) / count;

	trk_buf_reset(where);
	if (count <= 1)
		return;
	/* the first range from the start, the last to the end: the table may
	 * have grown since its size was read */
	if (index > 0)
		trk_buf_appendf(where, "ctid >= '(%llu,0)'::tid", (unsigned long long) from);
	if (index + 1 < count)
		trk_buf_appendf(where, "%sctid < '(%llu,0)'::tid", index > 0 ? " AND " : "",
						(unsigned long long) to);
}

static bool
stopping(trk_backfill_shared_t *sh)
{
	return atomic_load(&sh->stop) || (sh->cancel != NULL && atomic_load(sh->cancel));
}

int
trk_backfill_copy(PGconn *src, PGconn *dst, const trk_table_name_t *input,
				  const trk_backfill_table_t *t, const trk_table_name_t *output,
				  const char *where, trk_backfill_shared_t *sh, trk_buf_t *err)
{
	trk_buf_t	out = {0};
	trk_buf_t	in = {0};
	PGresult   *r;
	int64_t		n = 0;
	bool		any = false;
	int			got;
	char	   *buf;

	if (where == NULL || where[0] == '\0')
	{
		where = NULL;
		if ((got = holds_rows(src, input, !t->partitioned, &any, "cannot read the input table",
							  err)) != 0)
			return got;
		if (!any)
			return 0;			/* nothing to copy: the output is not asked */
	}
	trk_buf_append(&out, "COPY (SELECT ");
	trk_buf_append(&out, trk_buf_cstr((trk_buf_t *) &t->columns));
	trk_buf_append(&out, t->partitioned ? " FROM " : " FROM ONLY ");
	trk_quote_table(&out, input);
	if (where)
		trk_buf_appendf(&out, " WHERE %s", where);
	trk_buf_append(&out, ") TO STDOUT");
	trk_buf_append(&in, "COPY ");
	trk_quote_table(&in, output);
	trk_buf_appendf(&in, " (%s) FROM STDIN", trk_buf_cstr((trk_buf_t *) &t->columns));

	r = PQexec(dst, trk_buf_cstr(&in));
	if (PQresultStatus(r) != PGRES_COPY_IN)
	{
		trk_buf_free(&in);
		trk_buf_free(&out);
		return fail(err, "cannot copy into the output", dst, r);
	}
	PQclear(r);
	r = PQexec(src, trk_buf_cstr(&out));
	trk_buf_free(&in);
	trk_buf_free(&out);
	if (PQresultStatus(r) != PGRES_COPY_OUT)
	{
		int			rc = fail(err, "cannot copy from the input", src, r);

		end_copy_in(dst, true, err);
		return rc;
	}
	PQclear(r);

	/* text COPY: one row per PQgetCopyData */
	while ((got = PQgetCopyData(src, &buf, 0)) > 0)
	{
		int			ok = PQputCopyData(dst, buf, got);

		PQfreemem(buf);
		if (ok != 1)
		{
			trk_pq_fail(err, "cannot copy into the output", dst, NULL);
			end_copy_out(src, true);
			end_copy_in(dst, true, err);
			return -1;
		}
		if ((++n & 0x3ff) == 0)
		{
			atomic_fetch_add(sh->rows, 0x400);
			if (stopping(sh))
			{
				trk_buf_append(err, "the backfill was called off");
				end_copy_out(src, true);
				end_copy_in(dst, true, err);
				return -1;
			}
		}
	}
	atomic_fetch_add(sh->rows, n & 0x3ff);
	if (got == -2)
	{
		trk_pq_fail(err, "cannot copy from the input", src, NULL);
		end_copy_out(src, false);
		end_copy_in(dst, true, err);
		return -1;
	}
	r = PQgetResult(src);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
	{
		int			rc = fail(err, "cannot copy from the input", src, r);

		end_copy_out(src, false);
		end_copy_in(dst, true, err);
		return rc;
	}
	PQclear(r);
	end_copy_out(src, false);
	return end_copy_in(dst, false, err);
}

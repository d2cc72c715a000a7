/*
 * rows.c — the backfill of a pipeline with templates: each row of the
 * snapshot through the pipeline as an insert.
 *
 * Rows are read by a cursor in the snapshot's transaction, a chunk at a
 * time.  Each row becomes an insert change, as the stream would carry it
 * (text values, type OIDs, the input's primary key); transform.sql runs
 * for it on the same session — inside the snapshot, on the primary — and
 * each row it returns (or the change itself, without one) is written by
 * insert.sql, or by the default mirror's upsert, into the output's open
 * transaction.  Both sides go in pipeline mode, one round trip a chunk.
 */
#include "backfill/rows.h"
#include "apply/mirror.h"
#include "apply/write.h"
#include "base/mem.h"
#include "base/pqmsg.h"
#include "decode/change.h"
#include "template/vars.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* rows read and sent at a time */
#define CHUNK_SQL "FETCH 1000 FROM trucker_backfill"

/* What a chunk's statements need to stay alive until they are answered. */
typedef struct chunk
{
	PGresult   *fetched;		/* the chunk's rows */
	trk_column_t *cols;			/* fetched's rows as change columns, row-major */
	trk_change_t *changes;
	PGresult  **transformed;	/* per change, with transform.sql */
	int			n;
} chunk_t;

typedef struct input_shape
{
	char	  **names;			/* owned, ncols each */
	uint32_t   *types;
	size_t		ncols;
	char	  **pk;				/* owned */
	size_t		npk;
} input_shape_t;

static void
shape_free(input_shape_t *s)
{
	for (size_t i = 0; i < s->ncols; i++)
		free(s->names[i]);
	for (size_t i = 0; i < s->npk; i++)
		free(s->pk[i]);
	free(s->names);
	free(s->types);
	free(s->pk);
}

/* read_shape: the input's columns as the copy reads them, and its primary key */
static int
read_shape(PGconn *src, const trk_table_name_t *in, input_shape_t *s, trk_buf_t *err)
{
	const char *values[2] = {in->schema, in->name};
	PGresult   *r = PQexecParams(src,
									"SELECT a.attname, a.atttypid::int8,"
									" coalesce(a.attnum = ANY (i.indkey), false)"
									" FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
									" JOIN pg_attribute a ON a.attrelid = c.oid"
									" LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary"
									" WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0"
									" AND NOT a.attisdropped AND a.attgenerated = ''"
									" ORDER BY a.attnum", 2, NULL, values, NULL, NULL, 0);
	int			n;

	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		return trk_pq_fail(err, "cannot read the input table's columns", src, r);
	n = PQntuples(r);
	s->names = trk_calloc((size_t) n + 1, sizeof(char *));
	s->types = trk_calloc((size_t) n + 1, sizeof(uint32_t));
	s->pk = trk_calloc((size_t) n + 1, sizeof(char *));
	for (int i = 0; i < n; i++)
	{
		s->names[i] = trk_strdup(PQgetvalue(r, i, 0));
		s->types[i] = (uint32_t) strtoul(PQgetvalue(r, i, 1), NULL, 10);
		if (strcmp(PQgetvalue(r, i, 2), "t") == 0)
			s->pk[s->npk++] = trk_strdup(PQgetvalue(r, i, 0));
	}
	s->ncols = (size_t) n;
	PQclear(r);
	return 0;
}

static void
chunk_clear(chunk_t *k)
{
	for (int i = 0; k->transformed && i < k->n; i++)
		PQclear(k->transformed[i]);
	PQclear(k->fetched);
	free(k->cols);
	free(k->changes);
	free(k->transformed);
	memset(k, 0, sizeof(*k));
}

/* make_changes turns the fetched rows into insert changes of table in, at lsn */
static void
make_changes(chunk_t *k, const trk_table_name_t *in, const input_shape_t *s, trk_lsn_t lsn)
{
	k->n = PQntuples(k->fetched);
	k->cols = trk_calloc((size_t) k->n * s->ncols + 1, sizeof(trk_column_t));
	k->changes = trk_calloc((size_t) k->n + 1, sizeof(trk_change_t));
	for (int i = 0; i < k->n; i++)
	{
		trk_change_t *c = &k->changes[i];
		trk_column_t *cols = &k->cols[(size_t) i * s->ncols];

		for (size_t j = 0; j < s->ncols; j++)
		{
			trk_column_set(&cols[j], s->names[j],
						   PQgetisnull(k->fetched, i, (int) j) ? NULL :
						   PQgetvalue(k->fetched, i, (int) j),
						   (size_t) PQgetlength(k->fetched, i, (int) j));
			cols[j].typeoid = s->types[j];
		}
		c->action = TRK_ACT_INSERT;
		c->lsn = c->nextlsn = lsn;
		c->schema = in->schema;
		c->table = in->name;
		c->columns = cols;
		c->ncolumns = s->ncols;
		c->pk = (const char **) s->pk;
		c->npk = s->npk;
	}
}

/* results reads a pipeline's answers up to its sync; the first error into err */
static int
results(PGconn *pg, PGresult **keep, int nkeep, const char *what, trk_buf_t *err, int *failed)
{
	int			rc = 0;
	int			i = 0;
	bool		ended = false;
	PGresult   *r;

	*failed = -1;
	for (;;)
	{
		r = PQgetResult(pg);
		if (r == NULL)
		{
			/* the end of one statement's results; twice running, or a lost
			 * connection: the sync will never come */
			if (ended || PQstatus(pg) == CONNECTION_BAD)
			{
				if (rc == 0)
					trk_pq_fail(err, what, pg, NULL);
				return -1;
			}
			ended = true;
			i++;
			continue;
		}
		ended = false;
		if (PQresultStatus(r) == PGRES_PIPELINE_SYNC)
		{
			PQclear(r);
			break;
		}
		if (PQresultStatus(r) == PGRES_FATAL_ERROR && rc == 0)
		{
			rc = trk_backfill_refusal(pg, r);
			trk_pq_fail(err, what, pg, r);
			*failed = i;
			continue;
		}
		if (keep != NULL && i < nkeep && PQresultStatus(r) == PGRES_TUPLES_OK)
		{
			PQclear(keep[i]);
			keep[i] = r;
		}
		else
			PQclear(r);
	}
	return rc;
}

/* describe_failure appends the values of the change a statement failed for */
static void
describe_failure(trk_buf_t *err, const trk_pipeline_t *def, trk_write_t *w)
{
	trk_buf_t	about = {0};

	trk_write_describe(w, def->redact, def->nredact, &about);
	if (about.len)
		trk_buf_appendf(err, " (%s)", trk_buf_cstr(&about));
	trk_buf_free(&about);
}

/* transform runs transform.sql for each change of k, on src, in pipeline mode */
static int
transform(PGconn *src, const trk_pipeline_t *def, chunk_t *k, trk_lsn_t lsn, trk_write_t *w,
		  trk_buf_t *err)
{
	trk_template_t *t = def->sql[TRK_SQL_TRANSFORM];
	int			failed;
	int		   *sent = trk_calloc((size_t) k->n + 1, sizeof(int));
	int			nsent = 0;
	int			rc = 0;

	k->transformed = trk_calloc((size_t) k->n + 1, sizeof(PGresult *));
	if (PQenterPipelineMode(src) != 1)
	{
		free(sent);
		return trk_pq_fail(err, "cannot enter pipeline mode", src, NULL);
	}
	for (int i = 0; i < k->n && rc == 0; i++)
	{
		trk_vars_t	vars;

		trk_vars_init(&vars, &k->changes[i], lsn, NULL, 0, false);
		if (trk_write_bind(t, &vars, w, err) != 0)
			rc = TRK_BACKFILL_REFUSED;
		else if (!w->stmt->empty)
		{
			if (PQsendQueryParams(src, w->stmt->sql, (int) w->stmt->nparams, w->types,
								  w->texts, NULL, NULL, 0) != 1)
				rc = trk_pq_fail(err, "cannot send transform.sql", src, NULL);
			sent[nsent++] = i;
		}
	}
	if (PQpipelineSync(src) != 1 && rc == 0)
		rc = trk_pq_fail(err, "cannot send transform.sql", src, NULL);
	if (rc != -1)
	{
		/* answers in the order sent: the i-th to sent[i] */
		PGresult  **got = trk_calloc((size_t) nsent + 1, sizeof(PGresult *));
		int			r = results(src, got, nsent, def->sql_file[TRK_SQL_TRANSFORM], err, &failed);

		for (int i = 0; i < nsent; i++)
			k->transformed[sent[i]] = got[i];
		free(got);
		if (r != 0 && rc == 0)
		{
			rc = r;
			if (failed >= 0 && failed < nsent)
			{
				trk_vars_t	vars;

				trk_vars_init(&vars, &k->changes[sent[failed]], lsn, NULL, 0, false);
				if (trk_write_bind(t, &vars, w, err) == 0)
					describe_failure(err, def, w);
			}
		}
	}
	free(sent);
	if (PQexitPipelineMode(src) != 1 && rc == 0)
		rc = trk_pq_fail(err, "cannot leave pipeline mode", src, NULL);
	return rc;
}

/* a write sent: which change and transformed row, to name it if it fails */
typedef struct sent_write
{
	int			change;
	int			row;			/* -1: the change itself */
} sent_write_t;

/* row_of fills cols from row j of a transform's result */
static void
row_of(const PGresult *r, int j, trk_column_t *cols)
{
	int			nf = PQnfields(r);

	for (int f = 0; f < nf; f++)
		trk_column_set(&cols[f], PQfname(r, f), PQgetisnull(r, j, f) ? NULL : PQgetvalue(r, j, f),
					   (size_t) PQgetlength(r, j, f));
}

/*
 * send_write binds and sends the write of change c (row: a transformed row,
 * or NULL) on dst: insert.sql, or the mirror's upsert.  1 sent, 0 nothing
 * to send, else an error code.
 */
static int
send_write(PGconn *dst, const trk_pipeline_t *def, const trk_change_t *c,
		   const trk_column_t *row, size_t nrow, trk_lsn_t lsn, trk_write_t *w,
		   trk_mirror_stmt_t *st, const char **values, uint32_t *types, trk_buf_t *err)
{
	if (def->sql[TRK_SQL_INSERT] != NULL)
	{
		trk_vars_t	vars;

		trk_vars_init(&vars, c, lsn, NULL, 0, false);
		vars.transformed = row;
		vars.ntransformed = nrow;
		if (trk_write_bind(def->sql[TRK_SQL_INSERT], &vars, w, err) != 0)
			return TRK_BACKFILL_REFUSED;
		if (w->stmt->empty)
			return 0;
		if (PQsendQueryParams(dst, w->stmt->sql, (int) w->stmt->nparams, w->types, w->texts,
							  NULL, NULL, 0) != 1)
			return trk_pq_fail(err, "cannot send insert.sql", dst, NULL);
		return 1;
	}
	if (trk_mirror_build(&def->output_table, def->key, def->nkey, c, row, nrow, st, err) != 0)
		return TRK_BACKFILL_REFUSED;
	for (size_t i = 0; i < st->nparams; i++)
	{
		const trk_value_t *v = &st->params[i].value;

		values[i] = v->kind == TRK_V_NULL || v->kind == TRK_V_ABSENT ? NULL : v->text;
		types[i] = st->params[i].type;
	}
	if (PQsendQueryParams(dst, trk_buf_cstr(&st->sql), (int) st->nparams, types, values, NULL,
						  NULL, 0) != 1)
		return trk_pq_fail(err, "cannot send the mirror's upsert", dst, NULL);
	return 1;
}

/* write writes chunk k into dst's open transaction, in pipeline mode */
static int
write_chunk(PGconn *dst, const trk_pipeline_t *def, chunk_t *k, trk_lsn_t lsn, trk_write_t *w,
			trk_mirror_stmt_t *st, trk_buf_t *err)
{
	size_t		capsent = (size_t) k->n + 1;
	sent_write_t *sent = trk_calloc(capsent, sizeof(sent_write_t));
	size_t		nsent = 0;
	trk_column_t *row = NULL;
	size_t		caprow = 0;
	const char **values = NULL;
	uint32_t   *types = NULL;
	size_t		capvalues = 0;
	int			rc = 0;
	int			failed;

	if (PQenterPipelineMode(dst) != 1)
	{
		free(sent);
		return trk_pq_fail(err, "cannot enter pipeline mode", dst, NULL);
	}
	for (int i = 0; i < k->n && rc == 0; i++)
	{
		const PGresult *r = k->transformed ? k->transformed[i] : NULL;
		int			nrows = k->transformed ? (r ? PQntuples(r) : 0) : 1;

		for (int j = 0; j < nrows && rc == 0; j++)
		{
			size_t		nf = r ? (size_t) PQnfields(r) : 0;
			size_t		need = (r ? nf : k->changes[i].ncolumns) + 1;
			int			s;

			if (need > caprow)
			{
				caprow = need;
				row = trk_realloc(row, caprow * sizeof(trk_column_t));
			}
			if (need > capvalues)
			{
				capvalues = need;
				values = trk_realloc(values, capvalues * sizeof(char *));
				types = trk_realloc(types, capvalues * sizeof(uint32_t));
			}
			if (r)
				row_of(r, j, row);
			s = send_write(dst, def, &k->changes[i], r ? row : NULL, nf, lsn, w, st, values,
						   types, err);
			if (s < 0)
				rc = s;
			else if (s == 1)
			{
				if (nsent == capsent)
				{
					capsent *= 2;
					sent = trk_realloc(sent, capsent * sizeof(sent_write_t));
				}
				sent[nsent].change = i;
				sent[nsent++].row = r ? j : -1;
			}
		}
	}
	if (PQpipelineSync(dst) != 1 && rc == 0)
		rc = trk_pq_fail(err, "cannot send the writes", dst, NULL);
	if (rc != -1)
	{
		int			r = results(dst, NULL, 0, def->sql[TRK_SQL_INSERT] ?
								def->sql_file[TRK_SQL_INSERT] : "the mirror's upsert", err,
								&failed);

		if (r != 0 && rc == 0)
		{
			rc = r;
			if (failed >= 0 && (size_t) failed < nsent && def->sql[TRK_SQL_INSERT] != NULL)
			{
				const sent_write_t *f = &sent[failed];
				const PGresult *tr = f->row >= 0 ? k->transformed[f->change] : NULL;
				trk_vars_t	vars;

				trk_vars_init(&vars, &k->changes[f->change], lsn, NULL, 0, false);
				if (tr)
				{
					row_of(tr, f->row, row);
					vars.transformed = row;
					vars.ntransformed = (size_t) PQnfields(tr);
				}
				if (trk_write_bind(def->sql[TRK_SQL_INSERT], &vars, w, err) == 0)
					describe_failure(err, def, w);
			}
		}
	}
	if (PQexitPipelineMode(dst) != 1 && rc == 0)
		rc = trk_pq_fail(err, "cannot leave pipeline mode", dst, NULL);
	free(sent);
	free(row);
	free(values);
	free(types);
	return rc;
}

int
trk_backfill_rows(PGconn *src, PGconn *dst, const trk_pipeline_t *def,
				  const trk_backfill_table_t *t, trk_lsn_t lsn, trk_backfill_shared_t *sh,
				  trk_buf_t *err)
{
	input_shape_t shape = {0};
	trk_write_t w = {0};
	trk_mirror_stmt_t st = {0};
	trk_buf_t	sql = {0};
	chunk_t		k = {0};
	bool		declared = false;
	int			rc;

	if ((rc = read_shape(src, &def->input_table, &shape, err)) != 0)
		return rc;
	trk_buf_append(&sql, "DECLARE trucker_backfill NO SCROLL CURSOR FOR SELECT ");
	trk_buf_append(&sql, trk_buf_cstr((trk_buf_t *) &t->columns));
	trk_buf_append(&sql, t->partitioned ? " FROM " : " FROM ONLY ");
	trk_quote_table(&sql, &def->input_table);
	{
		PGresult   *r = PQexec(src, trk_buf_cstr(&sql));

		if (PQresultStatus(r) != PGRES_COMMAND_OK)
		{
			rc = trk_backfill_refusal(src, r);
			trk_pq_fail(err, "cannot read the input table", src, r);
		}
		else
		{
			declared = true;
			PQclear(r);
		}
	}
	while (rc == 0)
	{
		if (atomic_load(&sh->stop) || (sh->cancel && atomic_load(sh->cancel)))
		{
			trk_buf_append(err, "the backfill was called off");
			rc = -1;
			break;
		}
		k.fetched = PQexec(src, CHUNK_SQL);
		if (PQresultStatus(k.fetched) != PGRES_TUPLES_OK)
		{
			rc = trk_backfill_refusal(src, k.fetched);
			trk_pq_fail(err, "cannot read the input table", src, k.fetched);
			k.fetched = NULL;
			break;
		}
		if (PQntuples(k.fetched) == 0)
			break;
		make_changes(&k, &def->input_table, &shape, lsn);
		if (def->sql[TRK_SQL_TRANSFORM] != NULL)
			rc = transform(src, def, &k, lsn, &w, err);
		if (rc == 0)
			rc = write_chunk(dst, def, &k, lsn, &w, &st, err);
		if (rc == 0)
			atomic_fetch_add(sh->rows, k.n);
		chunk_clear(&k);
	}
	chunk_clear(&k);
	/* (a failure on the output leaves the cursor open, in a sound transaction) */
	if (declared && PQtransactionStatus(src) == PQTRANS_INTRANS)
		PQclear(PQexec(src, "CLOSE trucker_backfill"));
	trk_buf_free(&sql);
	trk_write_free(&w);
	trk_mirror_stmt_free(&st);
	shape_free(&shape);
	return rc;
}

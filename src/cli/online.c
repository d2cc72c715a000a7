/* online.c — `trucker check --online`: tables, keys and SQL checked on the databases. */
#include "cli/online.h"
#include "apply/mirror.h"
#include "base/buf.h"
#include "base/mem.h"
#include "base/suggest.h"
#include "decode/pgtype.h"
#include "template/vars.h"

#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

/* One table as the catalog describes it. */
typedef struct table_info
{
	bool		exists;
	char		relkind;
	char		replident;		/* d, f, i or n */
	size_t		ncols;
	char	  **cols;			/* owned */
	char	  **types;			/* owned; format_type() */
	size_t		npk;
	char	  **pk;				/* owned */
	char	  **unique_keys;	/* owned; each a sorted, comma-joined set */
	size_t		nunique;
} table_info_t;

typedef struct conn_entry
{
	const trk_connection_t *conn;
	bool		replica;
	PGconn	   *pg;				/* NULL after a failed connect */
} conn_entry_t;

typedef struct online
{
	const trk_config_t *cfg;
	trk_diags_t *diags;
	conn_entry_t *conns;
	size_t		nconns;
	size_t		capconns;
} online_t;

static void
table_info_free(table_info_t *t)
{
	for (size_t i = 0; i < t->ncols; i++)
	{
		free(t->cols[i]);
		free(t->types[i]);
	}
	for (size_t i = 0; i < t->npk; i++)
		free(t->pk[i]);
	for (size_t i = 0; i < t->nunique; i++)
		free(t->unique_keys[i]);
	free(t->cols);
	free(t->types);
	free(t->pk);
	free(t->unique_keys);
	memset(t, 0, sizeof(*t));
}

/* first_line keeps a libpq message to its first line, without newline. */
static char *
first_line(const char *msg)
{
	size_t		n = strcspn(msg, "\n");

	return trk_strndup(msg, n);
}

/* connect_to opens (once) the primary or replica of a connection. */
static PGconn *
connect_to(online_t *o, const trk_connection_t *c, bool replica)
{
	const char *kw[TRK_CONN_MAX_PARAMS],
			   *val[TRK_CONN_MAX_PARAMS];
	const char *xk[3],
			   *xv[3];
	size_t		nx = 0;
	conn_entry_t *e;
	bool		has_app = false,
				has_timeout = false;

	for (size_t i = 0; i < o->nconns; i++)
		if (o->conns[i].conn == c && o->conns[i].replica == replica)
			return o->conns[i].pg;
	TRK_GROW(o->conns, o->capconns, o->nconns + 1);
	e = &o->conns[o->nconns++];
	memset(e, 0, sizeof(*e));
	e->conn = c;
	e->replica = replica;
	for (size_t i = 0; i < c->noptions; i++)
	{
		has_app |= strcmp(c->options[i].key, "application_name") == 0;
		has_timeout |= strcmp(c->options[i].key, "connect_timeout") == 0;
	}
	if (!has_app)
	{
		xk[nx] = "application_name";
		xv[nx++] = "trucker check";
	}
	if (!has_timeout)
	{
		/* an unreachable host must not hang a check */
		xk[nx] = "connect_timeout";
		xv[nx++] = "10";
	}
	xk[nx] = xv[nx] = NULL;
	trk_connection_params(c, replica, kw, val, xk, xv);
	e->pg = PQconnectdbParams(kw, val, 0);
	if (PQstatus(e->pg) != CONNECTION_OK)
	{
		char	   *msg = first_line(PQerrorMessage(e->pg));

		trk_diag_error(o->diags, o->cfg->file, c->line, c->col,
					   "could not connect to %s\"%s\": %s", replica ? "the replica of " : "",
					   c->name, msg);
		free(msg);
		PQfinish(e->pg);
		e->pg = NULL;
	}
	else
	{
		/*
		 * Templates are checked for tags inside strings the way PostgreSQL
		 * reads them with standard_conforming_strings on, as trucker's
		 * sessions run.
		 */
		PGresult   *r = PQexec(e->pg, "SET standard_conforming_strings = on");

		PQclear(r);
	}
	return e->pg;
}

static PGresult *
query(PGconn *pg, const char *sql, int n, const char *const *params)
{
	return PQexecParams(pg, sql, n, NULL, params, NULL, NULL, 0);
}

/* split_array turns a text[] literal such as {a,"b c"} into strings. */
static char **
split_array(const char *s, size_t *n)
{
	char	  **out = NULL;
	size_t		cap = 0;
	trk_buf_t	cur = {0};

	*n = 0;
	if (s == NULL || *s != '{')
		return NULL;
	s++;
	while (*s && *s != '}')
	{
		trk_buf_reset(&cur);
		if (*s == '"')
		{
			s++;
			while (*s && *s != '"')
			{
				if (*s == '\\' && s[1])
					s++;
				trk_buf_appendc(&cur, *s++);
			}
			if (*s == '"')
				s++;
		}
		else
			while (*s && *s != ',' && *s != '}')
				trk_buf_appendc(&cur, *s++);
		TRK_GROW(out, cap, *n + 1);
		out[(*n)++] = trk_strdup(trk_buf_cstr(&cur));
		if (*s == ',')
			s++;
	}
	trk_buf_free(&cur);
	return out;
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* key_set joins names, sorted, with commas: the identity of a column set. */
static char *
key_set(char *const *names, size_t n)
{
	char	  **sorted = trk_calloc(n, sizeof(char *));
	trk_buf_t	b = {0};

	memcpy(sorted, names, n * sizeof(char *));
	if (n > 1)
		qsort(sorted, n, sizeof(char *), str_cmp);
	for (size_t i = 0; i < n; i++)
		trk_buf_appendf(&b, "%s%s", i ? "," : "", sorted[i]);
	free(sorted);
	return trk_buf_steal(&b);
}

static const char table_sql[] =
"SELECT c.relkind, c.relreplident,"
"  (SELECT array_agg(a.attname ORDER BY a.attnum) FROM pg_attribute a"
"    WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),"
"  (SELECT array_agg(format_type(a.atttypid, a.atttypmod) ORDER BY a.attnum) FROM pg_attribute a"
"    WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),"
"  (SELECT array_agg(a.attname ORDER BY k.ord) FROM pg_index i"
"    CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)"
"    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum"
"    WHERE i.indrelid = c.oid AND i.indisprimary),"
"  (SELECT array_agg(u.cols) FROM (SELECT string_agg(a.attname, ',' ORDER BY a.attname) AS cols"
"    FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) AS k(attnum)"
"    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum"
"    WHERE i.indrelid = c.oid AND i.indisunique AND i.indpred IS NULL"
"      AND i.indexprs IS NULL AND i.indisvalid AND i.indimmediate"
"    GROUP BY i.indexrelid) u)"
" FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
" WHERE n.nspname = $1 AND c.relname = $2";

static int
describe_table(PGconn *pg, const trk_table_name_t *t, table_info_t *out, char **err)
{
	const char *params[2] = {t->schema, t->name};
	PGresult   *r = query(pg, table_sql, 2, params);

	memset(out, 0, sizeof(*out));
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
	{
		*err = first_line(PQresultErrorMessage(r));
		PQclear(r);
		return -1;
	}
	if (PQntuples(r) == 1)
	{
		size_t		ntypes;

		out->exists = true;
		out->relkind = PQgetvalue(r, 0, 0)[0];
		out->replident = PQgetvalue(r, 0, 1)[0];
		out->cols = split_array(PQgetvalue(r, 0, 2), &out->ncols);
		out->types = split_array(PQgetvalue(r, 0, 3), &ntypes);
		if (ntypes != out->ncols)
		{
			/* a type name with a comma would split wrongly: drop the types */
			for (size_t i = 0; i < ntypes; i++)
				free(out->types[i]);
			free(out->types);
			out->types = trk_calloc(out->ncols ? out->ncols : 1, sizeof(char *));
			for (size_t i = 0; i < out->ncols; i++)
				out->types[i] = trk_strdup("");
		}
		out->pk = split_array(PQgetvalue(r, 0, 4), &out->npk);
		out->unique_keys = split_array(PQgetvalue(r, 0, 5), &out->nunique);
	}
	PQclear(r);
	return 0;
}

static const char *
column_type(const table_info_t *t, const char *col)
{
	for (size_t i = 0; i < t->ncols; i++)
		if (strcmp(t->cols[i], col) == 0)
			return t->types[i];
	return NULL;
}

static void
unknown_column(online_t *o, const char *file, int line, int col, const char *what,
			   const char *name, const table_info_t *t, const trk_table_name_t *tn)
{
	const char *s = trk_suggest(name, (const char *const *) t->cols, t->ncols);

	if (s)
		trk_diag_error(o->diags, file, line, col,
					   "%s: table %s.%s has no column \"%s\"; did you mean \"%s\"?",
					   what, tn->schema, tn->name, name, s);
	else
		trk_diag_error(o->diags, file, line, col, "%s: table %s.%s has no column \"%s\"",
					   what, tn->schema, tn->name, name);
}

/* param_oid types a template parameter the way the apply path will. */
static trk_oid_t
param_oid(const trk_ref_t *ref, const table_info_t *input)
{
	switch (ref->root)
	{
		case TRK_ROOT_OPERATION:
			return TRK_OID_TEXT;
		case TRK_ROOT_NEW:
		case TRK_ROOT_OLD:
			return trk_pgtype_oid(column_type(input, ref->field));
		case TRK_ROOT_TRANSFORMED:
			return 0;
		case TRK_ROOT_META:
			return trk_vars_meta_type(ref->field);
	}
	return 0;
}

typedef struct prepare_ctx
{
	online_t   *o;
	PGconn	   *pg;
	const char *file;
	const char *target;			/* connection name, for messages */
	const table_info_t *input;
	char	  **result_cols;	/* owned: columns of the first variant */
	size_t		nresult;
	bool		want_result;
	int			failures;
} prepare_ctx_t;

/* prepare_one prepares one statement variant and, for transform.sql,
 * records the columns it returns. */
static int
prepare_one(void *arg, const trk_stmt_t *st)
{
	prepare_ctx_t *pc = arg;
	trk_oid_t  *types;
	PGresult   *r;
	int			rc = 0;

	if (st->empty)
		return 0;				/* a branch with no SQL runs nothing */
	types = trk_calloc((size_t) st->nparams + 1, sizeof(trk_oid_t));
	for (int i = 0; i < st->nparams; i++)
		types[i] = param_oid(st->params[i], pc->input);
	r = PQprepare(pc->pg, "", st->sql, st->nparams, (const Oid *) types);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
	{
		char	   *msg = first_line(PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) ?
									 PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) :
									 PQresultErrorMessage(r));
		const char *pos = PQresultErrorField(r, PG_DIAG_STATEMENT_POSITION);
		int			line = 0,
					col = 0;

		trk_template_sql_position(st, pos ? (int) strtol(pos, NULL, 10) : 0, &line, &col);
		trk_diag_error(pc->o->diags, pc->file, line, col,
					   "does not prepare on \"%s\": %s", pc->target, msg);
		free(msg);
		pc->failures++;
		rc = -1;
	}
	else if (pc->want_result && pc->result_cols == NULL)
	{
		PGresult   *d = PQdescribePrepared(pc->pg, "");

		if (PQresultStatus(d) == PGRES_COMMAND_OK)
		{
			pc->nresult = (size_t) PQnfields(d);
			pc->result_cols = trk_calloc(pc->nresult + 1, sizeof(char *));
			for (size_t i = 0; i < pc->nresult; i++)
				pc->result_cols[i] = trk_strdup(PQfname(d, (int) i));
		}
		PQclear(d);
	}
	PQclear(r);
	free(types);
	return rc;
}

static bool
in_list(char *const *list, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], name) == 0)
			return true;
	return false;
}

/* prepare_all prepares every branch combination, or says it could not. */
static void
prepare_all(online_t *o, trk_template_t *t, prepare_ctx_t *pc)
{
	if (trk_template_each_variant(t, prepare_one, pc) == 1)
		trk_diag_error(o->diags, trk_template_file(t), 1, 1,
					   "more than %d combinations of {%% if %%} branches: only the first %d were prepared; "
					   "split the template or use fewer independent conditions",
					   TRK_TEMPLATE_MAX_VARIANTS, TRK_TEMPLATE_MAX_VARIANTS);
}

/* check_refs checks every new.x / old.x against the input table's columns. */
static void
check_refs(online_t *o, const trk_template_t *t, const table_info_t *input,
		   const trk_table_name_t *tn, char **tcols, size_t ntcols, bool have_tcols)
{
	for (size_t i = 0; i < trk_template_nrefs(t); i++)
	{
		const trk_ref_t *ref = trk_template_ref(t, i);
		char		what[160];

		snprintf(what, sizeof(what), "%s.%s", trk_root_name(ref->root),
				 ref->field ? ref->field : "");
		if ((ref->root == TRK_ROOT_NEW || ref->root == TRK_ROOT_OLD) &&
			column_type(input, ref->field) == NULL)
			unknown_column(o, trk_template_file(t), ref->line, ref->col, what,
						   ref->field, input, tn);
		else if (ref->root == TRK_ROOT_OLD &&
				 (input->replident == 'n' ||
				  (input->replident == 'd' && !in_list(input->pk, input->npk, ref->field))))
			trk_diag_error(o->diags, trk_template_file(t), ref->line, ref->col,
						   "%s will not be known: %s.%s logs only its primary key as the old row; "
						   "run ALTER TABLE %s.%s REPLICA IDENTITY FULL",
						   what, tn->schema, tn->name, tn->schema, tn->name);
		else if (ref->root == TRK_ROOT_TRANSFORMED && have_tcols)
		{
			bool		found = false;

			for (size_t j = 0; j < ntcols; j++)
				if (strcmp(tcols[j], ref->field) == 0)
					found = true;
			if (!found)
			{
				const char *s = trk_suggest(ref->field, (const char *const *) tcols, ntcols);

				trk_diag_error(o->diags, trk_template_file(t), ref->line, ref->col,
							   "%s: transform.sql returns no column \"%s\"%s%s%s", what,
							   ref->field, s ? "; did you mean \"" : "", s ? s : "", s ? "\"?" : "");
			}
		}
	}
}

static bool
has_unique(const table_info_t *t, char *const *key, size_t nkey)
{
	char	   *want = key_set(key, nkey);
	bool		found = false;

	for (size_t i = 0; i < t->nunique && !found; i++)
		found = strcmp(t->unique_keys[i], want) == 0;
	free(want);
	return found;
}

static void
check_pipeline(online_t *o, const trk_pipeline_t *p)
{
	const trk_connection_t *in = trk_config_connection(o->cfg, p->input_connection);
	const trk_connection_t *out = trk_config_connection(o->cfg, p->output_connection);
	PGconn	   *inpg = connect_to(o, in, false);
	PGconn	   *outpg = NULL;
	table_info_t input = {0},
				output = {0};
	prepare_ctx_t tx = {0};
	char	   *err = NULL;
	bool		mirror_used = false;
	char *const *key;
	size_t		nkey;

	if (inpg == NULL)
		return;
	if (describe_table(inpg, &p->input_table, &input, &err) != 0)
	{
		trk_diag_error(o->diags, p->config_file, p->input_pos.line, p->input_pos.col,
					   "could not read the catalog of \"%s\": %s", in->name, err);
		goto done;
	}
	if (!input.exists)
	{
		trk_diag_error(o->diags, p->config_file, p->input_pos.line, p->input_pos.col,
					   "input table %s.%s does not exist on \"%s\"",
					   p->input_table.schema, p->input_table.name, in->name);
		goto done;
	}
	if (input.relkind != 'r' && input.relkind != 'p')
		trk_diag_error(o->diags, p->config_file, p->input_pos.line, p->input_pos.col,
					   "input %s.%s is not a table (logical decoding only sees tables)",
					   p->input_table.schema, p->input_table.name);
	if ((p->operations & (TRK_OP_UPDATE | TRK_OP_DELETE)) &&
		(input.replident == 'n' || (input.replident == 'd' && input.npk == 0)))
		trk_diag_error(o->diags, p->config_file, p->input_pos.line, p->input_pos.col,
					   "input table %s.%s has no primary key and no REPLICA IDENTITY FULL: "
					   "wal2json silently drops its updates and deletes; add a primary key or run "
					   "ALTER TABLE %s.%s REPLICA IDENTITY FULL",
					   p->input_table.schema, p->input_table.name,
					   p->input_table.schema, p->input_table.name);

	/* transform.sql: on the replica when there is one */
	if (p->sql[TRK_SQL_TRANSFORM])
	{
		PGconn	   *tpg = in->has_replica ? connect_to(o, in, true) : inpg;

		check_refs(o, p->sql[TRK_SQL_TRANSFORM], &input, &p->input_table, NULL, 0, false);
		if (tpg)
		{
			tx = (prepare_ctx_t) {.o = o,.pg = tpg,.file = p->sql_file[TRK_SQL_TRANSFORM],
			.target = in->name,.input = &input,.want_result = true};
			prepare_all(o, p->sql[TRK_SQL_TRANSFORM], &tx);
		}
	}

	for (int k = TRK_SQL_INSERT; k <= TRK_SQL_DELETE; k++)
	{
		trk_op_t	op = k == TRK_SQL_INSERT ? TRK_OP_INSERT : k == TRK_SQL_UPDATE ? TRK_OP_UPDATE : TRK_OP_DELETE;

		if (p->sql[k])
			check_refs(o, p->sql[k], &input, &p->input_table, tx.result_cols, tx.nresult,
					   tx.result_cols != NULL);
		else if (p->operations & op)
			mirror_used = true;
	}

	if (out->adapter != TRK_ADAPTER_POSTGRES)
	{
		trk_diag_warning(o->diags, p->config_file, p->output_pos.line, p->output_pos.col,
						 "output \"%s\" is a ducklake connection: this version checks DuckLake outputs offline only",
						 out->name);
		goto done;
	}
	outpg = connect_to(o, out, false);
	if (outpg == NULL)
		goto done;
	if (describe_table(outpg, &p->output_table, &output, &err) != 0)
	{
		trk_diag_error(o->diags, p->config_file, p->output_pos.line, p->output_pos.col,
					   "could not read the catalog of \"%s\": %s", out->name, err);
		goto done;
	}
	if (!output.exists)
	{
		trk_diag_error(o->diags, p->config_file, p->output_pos.line, p->output_pos.col,
					   "output table %s.%s does not exist on \"%s\"",
					   p->output_table.schema, p->output_table.name, out->name);
		goto done;
	}

	key = p->key ? p->key : input.pk;
	nkey = p->key ? p->nkey : input.npk;
	if (mirror_used)
	{
		/* the default mirror writes every source (or transformed) column */
		char	  **cols = tx.result_cols ? tx.result_cols : input.cols;
		size_t		ncols = tx.result_cols ? tx.nresult : input.ncols;

		for (size_t i = 0; i < ncols; i++)
			if (column_type(&output, cols[i]) == NULL)
				trk_diag_error(o->diags, p->config_file, p->output_pos.line, p->output_pos.col,
							   "output table %s.%s has no column \"%s\", which the default mirror writes "
							   "(it comes from %s)", p->output_table.schema, p->output_table.name, cols[i],
							   tx.result_cols ? "transform.sql" : "the input table");
		if (nkey == 0)
			trk_diag_error(o->diags, p->config_file, p->key_pos.line, p->key_pos.col,
						   "no key: the input table has no primary key, so set output.key");
		/* the mirror finds the old row by key: the old row must carry it */
		if (!tx.result_cols && input.replident != 'f' &&
			(p->operations & (TRK_OP_UPDATE | TRK_OP_DELETE)))
			for (size_t i = 0; i < nkey; i++)
				if (!in_list(input.pk, input.npk, key[i]))
					trk_diag_error(o->diags, p->config_file, p->key_pos.line, p->key_pos.col,
								   "key column \"%s\" is not logged in the old row of %s.%s, so updates and "
								   "deletes cannot find their row: use the primary key, or run ALTER TABLE %s.%s "
								   "REPLICA IDENTITY FULL", key[i], p->input_table.schema, p->input_table.name,
								   p->input_table.schema, p->input_table.name);
	}

	/* a key the mirror upserts on, or one the user named: it must be unique */
	if (nkey > 0 && (mirror_used || p->key))
	{
		bool		all_there = true;

		for (size_t i = 0; i < nkey; i++)
			if (column_type(&output, key[i]) == NULL)
			{
				unknown_column(o, p->config_file, p->key_pos.line, p->key_pos.col,
							   "key", key[i], &output, &p->output_table);
				all_there = false;
			}
		if (all_there && !has_unique(&output, key, nkey))
		{
			char	   *set = key_set(key, nkey);

			trk_diag_error(o->diags, p->config_file, p->key_pos.line, p->key_pos.col,
						   "output table %s.%s has no unique index on (%s)%s",
						   p->output_table.schema, p->output_table.name, set,
						   mirror_used ? ": the default mirror's upsert needs one" : "");
			free(set);
		}
	}

	for (int k = TRK_SQL_INSERT; k <= TRK_SQL_DELETE; k++)
	{
		prepare_ctx_t pc = {.o = o,.pg = outpg,.file = p->sql_file[k],.target = out->name,
		.input = &input};

		if (p->sql[k])
			prepare_all(o, p->sql[k], &pc);
	}

done:
	for (size_t i = 0; i < tx.nresult; i++)
		free(tx.result_cols[i]);
	free(tx.result_cols);
	free(err);
	table_info_free(&input);
	table_info_free(&output);
}

int
trk_online_check(const trk_config_t *cfg, trk_diags_t *diags)
{
	online_t	o = {.cfg = cfg,.diags = diags};
	size_t		before = diags->nerrors;

	for (size_t i = 0; i < cfg->npipelines; i++)
		check_pipeline(&o, &cfg->pipelines[i]);
	for (size_t i = 0; i < o.nconns; i++)
		if (o.conns[i].pg)
			PQfinish(o.conns[i].pg);
	free(o.conns);
	return (int) (diags->nerrors - before);
}

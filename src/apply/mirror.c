/* mirror.c — the default mirror's upsert, update and delete for one change. */
#include "apply/mirror.h"
#include "base/mem.h"
#include "template/vars.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
trk_quote_ident(trk_buf_t *b, const char *ident)
{
	const char *q;

	trk_buf_appendc(b, '"');
	/* each embedded double quote is doubled; the rest is copied as is */
	while ((q = strchr(ident, '"')) != NULL)
	{
		trk_buf_appendn(b, ident, (size_t) (q - ident) + 1);
		trk_buf_appendc(b, '"');
		ident = q + 1;
	}
	trk_buf_appendn(b, ident, strlen(ident));
	trk_buf_appendc(b, '"');
}

void
trk_quote_table(trk_buf_t *b, const trk_table_name_t *t)
{
	trk_quote_ident(b, t->schema);
	trk_buf_appendc(b, '.');
	trk_quote_ident(b, t->name);
}

/* append_dollar appends "$n" (this runs for every value of every change). */
static void
append_dollar(trk_buf_t *b, size_t n)
{
	char		digits[24];
	size_t		i = sizeof(digits);

	do
	{
		digits[--i] = (char) ('0' + n % 10);
		n /= 10;
	} while (n > 0);
	digits[--i] = '$';
	trk_buf_appendn(b, digits + i, sizeof(digits) - i);
}

/* FirstNormalObjectId: OIDs below it are PostgreSQL's own, the same everywhere */
#define FIRST_NORMAL_OID 16384

trk_oid_t
trk_mirror_param_type(const trk_column_t *col)
{
	return col->typeoid != 0 && col->typeoid < FIRST_NORMAL_OID ? col->typeoid
		: trk_pgtype_oid(col->value.type);
}

/* add_param appends $n for value v and returns n. */
static size_t
add_param(trk_mirror_stmt_t *st, const char *root, const trk_column_t *col)
{
	trk_mirror_param_t *p;
	size_t		rlen = strlen(root),
				nlen = strlen(col->name);

	TRK_GROW(st->params, st->cap, st->nparams + 1);
	p = &st->params[st->nparams++];
	/* the label, "root.name" truncated to fit, for messages */
	if (rlen > sizeof(p->label) - 2)
		rlen = sizeof(p->label) - 2;
	if (nlen > sizeof(p->label) - rlen - 2)
		nlen = sizeof(p->label) - rlen - 2;
	memcpy(p->label, root, rlen);
	p->label[rlen] = '.';
	memcpy(p->label + rlen + 1, col->name, nlen);
	p->label[rlen + 1 + nlen] = '\0';
	p->value = col->value;
	p->type = trk_mirror_param_type(col);
	append_dollar(&st->sql, st->nparams);
	return st->nparams;
}

static bool
in_key(char *const *key, size_t nkey, const char *name)
{
	for (size_t i = 0; i < nkey; i++)
		if (strcmp(key[i], name) == 0)
			return true;
	return false;
}

/*
 * where_key appends "k1" = $a AND "k2" = $b, taking each key column from
 * cols (when given) or from the change's old row.
 */
static int
where_key(trk_mirror_stmt_t *st, char *const *key, size_t nkey,
		  const trk_change_t *c, const trk_column_t *cols, size_t ncols,
		  const char *root, trk_buf_t *err)
{
	trk_buf_append(&st->sql, " WHERE ");
	for (size_t i = 0; i < nkey; i++)
	{
		const trk_column_t *col = cols ? trk_change_column(cols, ncols, key[i])
			: trk_vars_old_column(c, key[i]);

		if (col == NULL)
		{
			trk_buf_appendf(err, "key column \"%s\" is not in the %s row of this %s on %s.%s",
							key[i], root, trk_change_op_name(c->action), c->schema, c->table);
			return -1;
		}
		if (col->value.kind == TRK_V_NULL)
		{
			trk_buf_appendf(err, "key column \"%s\" is NULL in the %s row of this %s on %s.%s",
							key[i], root, trk_change_op_name(c->action), c->schema, c->table);
			return -1;
		}
		if (i > 0)
			trk_buf_append(&st->sql, " AND ");
		trk_quote_ident(&st->sql, key[i]);
		trk_buf_append(&st->sql, " = ");
		add_param(st, root, col);
	}
	return 0;
}

static int
upsert(const trk_table_name_t *out, char *const *key, size_t nkey,
	   const trk_column_t *cols, size_t ncols, const char *root,
	   trk_mirror_stmt_t *st, trk_buf_t *err)
{
	bool		any_update = false;

	for (size_t i = 0; i < nkey; i++)
		if (trk_change_column(cols, ncols, key[i]) == NULL)
		{
			trk_buf_appendf(err, "key column \"%s\" is not in the %s row", key[i], root);
			return -1;
		}
	trk_buf_append(&st->sql, "INSERT INTO ");
	trk_quote_table(&st->sql, out);
	trk_buf_append(&st->sql, " (");
	for (size_t i = 0; i < ncols; i++)
	{
		if (i > 0)
			trk_buf_append(&st->sql, ", ");
		trk_quote_ident(&st->sql, cols[i].name);
	}
	trk_buf_append(&st->sql, ") VALUES (");
	for (size_t i = 0; i < ncols; i++)
	{
		if (i > 0)
			trk_buf_append(&st->sql, ", ");
		add_param(st, root, &cols[i]);
	}
	trk_buf_append(&st->sql, ") ON CONFLICT (");
	for (size_t i = 0; i < nkey; i++)
	{
		if (i > 0)
			trk_buf_append(&st->sql, ", ");
		trk_quote_ident(&st->sql, key[i]);
	}
	trk_buf_append(&st->sql, ") DO UPDATE SET ");
	for (size_t i = 0; i < ncols; i++)
	{
		if (in_key(key, nkey, cols[i].name))
			continue;
		if (any_update)
			trk_buf_append(&st->sql, ", ");
		trk_quote_ident(&st->sql, cols[i].name);
		trk_buf_append(&st->sql, " = EXCLUDED.");
		trk_quote_ident(&st->sql, cols[i].name);
		any_update = true;
	}
	if (!any_update)
	{
		/* every column is part of the key: the row exists, nothing to set */
		st->sql.len -= strlen(" DO UPDATE SET ");
		st->sql.data[st->sql.len] = '\0';
		trk_buf_append(&st->sql, " DO NOTHING");
	}
	return 0;
}

int
trk_mirror_build(const trk_table_name_t *out, char *const *key, size_t nkey,
				 const trk_change_t *c, const trk_column_t *row, size_t nrow,
				 trk_mirror_stmt_t *st, trk_buf_t *err)
{
	bool		any = false;

	trk_buf_reset(&st->sql);
	st->nparams = 0;
	if (key == NULL || nkey == 0)
	{
		key = (char *const *) c->pk;
		nkey = c->npk;
	}
	if (nkey == 0)
	{
		trk_buf_appendf(err, "no key for %s.%s: set output.key in config.yml "
						"(or give the input table a primary key)", out->schema, out->name);
		return -1;
	}

	switch (c->action)
	{
		case TRK_ACT_INSERT:
			if (row)
				return upsert(out, key, nkey, row, nrow, "transformed", st, err);
			return upsert(out, key, nkey, c->columns, c->ncolumns, "new", st, err);

		case TRK_ACT_UPDATE:
			if (row)
				return upsert(out, key, nkey, row, nrow, "transformed", st, err);
			trk_buf_append(&st->sql, "UPDATE ");
			trk_quote_table(&st->sql, out);
			trk_buf_append(&st->sql, " SET ");
			for (size_t i = 0; i < c->ncolumns; i++)
			{
				if (any)
					trk_buf_append(&st->sql, ", ");
				trk_quote_ident(&st->sql, c->columns[i].name);
				trk_buf_append(&st->sql, " = ");
				add_param(st, "new", &c->columns[i]);
				any = true;
			}
			if (!any)
			{
				trk_buf_appendf(err, "update of %s.%s carries no columns", c->schema, c->table);
				return -1;
			}
			return where_key(st, key, nkey, c, NULL, 0, "old", err);

		case TRK_ACT_DELETE:
			trk_buf_append(&st->sql, "DELETE FROM ");
			trk_quote_table(&st->sql, out);
			if (row)
				return where_key(st, key, nkey, c, row, nrow, "transformed", err);
			return where_key(st, key, nkey, c, NULL, 0, "old", err);

		default:
			trk_buf_appendf(err, "the mirror applies insert, update and delete, not '%c'",
							(char) c->action);
			return -1;
	}
}

void
trk_mirror_stmt_free(trk_mirror_stmt_t *st)
{
	trk_buf_free(&st->sql);
	free(st->params);
	memset(st, 0, sizeof(*st));
}

void
trk_mirror_insert_rows(trk_buf_t *sql, const trk_table_name_t *out, char *const *key,
					   size_t nkey, char *const *cols, size_t ncols, size_t nrows)
{
	bool		any_update = false;
	size_t		n = 0;

	trk_buf_reset(sql);
	trk_buf_append(sql, "INSERT INTO ");
	trk_quote_table(sql, out);
	trk_buf_append(sql, " (");
	for (size_t i = 0; i < ncols; i++)
	{
		if (i > 0)
			trk_buf_append(sql, ", ");
		trk_quote_ident(sql, cols[i]);
	}
	trk_buf_append(sql, ") VALUES ");
	for (size_t r = 0; r < nrows; r++)
	{
		trk_buf_append(sql, r > 0 ? ", (" : "(");
		for (size_t i = 0; i < ncols; i++)
		{
			if (i > 0)
				trk_buf_append(sql, ", ");
			append_dollar(sql, ++n);
		}
		trk_buf_appendc(sql, ')');
	}
	trk_buf_append(sql, " ON CONFLICT (");
	for (size_t i = 0; i < nkey; i++)
	{
		if (i > 0)
			trk_buf_append(sql, ", ");
		trk_quote_ident(sql, key[i]);
	}
	trk_buf_append(sql, ") DO UPDATE SET ");
	for (size_t i = 0; i < ncols; i++)
	{
		if (in_key(key, nkey, cols[i]))
			continue;
		if (any_update)
			trk_buf_append(sql, ", ");
		trk_quote_ident(sql, cols[i]);
		trk_buf_append(sql, " = EXCLUDED.");
		trk_quote_ident(sql, cols[i]);
		any_update = true;
	}
	if (!any_update)
	{
		sql->len -= strlen(" DO UPDATE SET ");
		sql->data[sql->len] = '\0';
		trk_buf_append(sql, " DO NOTHING");
	}
}

void
trk_mirror_update_rows(trk_buf_t *sql, const trk_table_name_t *out, char *const *set,
					   size_t nset, char *const *key, size_t nkey, size_t nrows)
{
	size_t		n = 0;

	trk_buf_reset(sql);
	trk_buf_append(sql, "UPDATE ");
	trk_quote_table(sql, out);
	trk_buf_append(sql, " AS trk_target SET ");
	for (size_t i = 0; i < nset; i++)
	{
		if (i > 0)
			trk_buf_append(sql, ", ");
		trk_quote_ident(sql, set[i]);
		trk_buf_appendf(sql, " = trk_rows.c%zu", i + 1);
	}
	trk_buf_append(sql, " FROM (VALUES ");
	for (size_t r = 0; r < nrows; r++)
	{
		trk_buf_append(sql, r > 0 ? ", (" : "(");
		for (size_t i = 0; i < nset + nkey; i++)
		{
			if (i > 0)
				trk_buf_append(sql, ", ");
			append_dollar(sql, ++n);
		}
		trk_buf_appendc(sql, ')');
	}
	trk_buf_append(sql, ") AS trk_rows (");
	for (size_t i = 0; i < nset; i++)
		trk_buf_appendf(sql, i > 0 ? ", c%zu" : "c%zu", i + 1);
	for (size_t i = 0; i < nkey; i++)
		trk_buf_appendf(sql, ", k%zu", i + 1);
	trk_buf_append(sql, ") WHERE ");
	for (size_t i = 0; i < nkey; i++)
	{
		if (i > 0)
			trk_buf_append(sql, " AND ");
		trk_buf_append(sql, "trk_target.");
		trk_quote_ident(sql, key[i]);
		trk_buf_appendf(sql, " = trk_rows.k%zu", i + 1);
	}
}

void
trk_mirror_expect_rows(trk_buf_t *sql, size_t nrows)
{
	static const char head[] = "WITH trk_updated AS (";

	trk_buf_appendf(sql, " RETURNING 1) SELECT 1 / (count(*) = %zu)::int FROM trk_updated", nrows);
	/* shift the update right to make room for the head */
	trk_buf_appendn(sql, head, sizeof(head) - 1);
	memmove(sql->data + sizeof(head) - 1, sql->data, sql->len - (sizeof(head) - 1));
	memcpy(sql->data, head, sizeof(head) - 1);
}

void
trk_mirror_delete_rows(trk_buf_t *sql, const trk_table_name_t *out, char *const *key,
					   size_t nkey, size_t nrows)
{
	size_t		n = 0;

	trk_buf_reset(sql);
	trk_buf_append(sql, "DELETE FROM ");
	trk_quote_table(sql, out);
	trk_buf_append(sql, " WHERE ");
	if (nkey > 1)
		trk_buf_appendc(sql, '(');
	for (size_t i = 0; i < nkey; i++)
	{
		if (i > 0)
			trk_buf_append(sql, ", ");
		trk_quote_ident(sql, key[i]);
	}
	trk_buf_append(sql, nkey > 1 ? ") IN (" : " IN (");
	for (size_t r = 0; r < nrows; r++)
	{
		if (r > 0)
			trk_buf_append(sql, ", ");
		if (nkey > 1)
			trk_buf_appendc(sql, '(');
		for (size_t i = 0; i < nkey; i++)
		{
			if (i > 0)
				trk_buf_append(sql, ", ");
			append_dollar(sql, ++n);
		}
		if (nkey > 1)
			trk_buf_appendc(sql, ')');
	}
	trk_buf_appendc(sql, ')');
}

/* vars.c — resolving operation, new, old, transformed and meta for a change. */
#include "template/vars.h"
#include "decode/pgtype.h"

#include <stdio.h>
#include <string.h>

const char *
trk_change_op_name(trk_action_t action)
{
	switch (action)
	{
		case TRK_ACT_INSERT:
			return "insert";
		case TRK_ACT_UPDATE:
			return "update";
		case TRK_ACT_DELETE:
			return "delete";
		default:
			return "?";
	}
}

void
trk_vars_init(trk_vars_t *v, const trk_change_t *c, trk_lsn_t end, const char *commit_time,
			  uint32_t xid, bool has_xid)
{
	memset(v, 0, sizeof(*v));
	v->change = c;
	v->end_lsn = end;
	v->commit_time = commit_time && commit_time[0] ? commit_time : NULL;
	v->xid = xid;
	v->has_xid = has_xid;
}

static bool
is_pk(const trk_change_t *c, const char *name)
{
	for (size_t i = 0; i < c->npk; i++)
		if (strcmp(c->pk[i], name) == 0)
			return true;
	return false;
}

const trk_column_t *
trk_vars_old_column(const trk_change_t *c, const char *name)
{
	if (c->identity != NULL)
		return trk_change_column(c->identity, c->nidentity, name);
	/* no identity on an UPDATE: the key did not change, so old key = new key */
	if (c->action == TRK_ACT_UPDATE && is_pk(c, name))
		return trk_change_column(c->columns, c->ncolumns, name);
	return NULL;
}

static void
set_text(trk_value_t *out, trk_value_kind_t kind, const char *text)
{
	out->kind = text ? kind : TRK_V_NULL;
	out->text = text;
	out->len = text ? strlen(text) : 0;
	out->type = NULL;
}

int
trk_vars_lookup(void *ctx, const trk_ref_t *ref, trk_value_t *out, trk_buf_t *err)
{
	trk_vars_t *v = ctx;
	const trk_change_t *c = v->change;
	const trk_column_t *col;

	memset(out, 0, sizeof(*out));
	switch (ref->root)
	{
		case TRK_ROOT_OPERATION:
			set_text(out, TRK_V_STRING, trk_change_op_name(c->action));
			out->type = "text";
			return 0;

		case TRK_ROOT_NEW:
			if (c->action == TRK_ACT_DELETE)
			{
				out->kind = TRK_V_NULL;
				return 0;
			}
			col = trk_change_column(c->columns, c->ncolumns, ref->field);
			if (col == NULL && c->action == TRK_ACT_UPDATE && c->identity != NULL)
			{
				/* unchanged TOAST: with REPLICA IDENTITY FULL the old row has it */
				col = trk_change_column(c->identity, c->nidentity, ref->field);
			}
			if (col == NULL)
			{
				if (c->action == TRK_ACT_UPDATE)
					trk_buf_appendf(err,
									"new.%s is not in this update of %s.%s: either the table has no such column, "
									"or its value is an unchanged TOAST value that PostgreSQL does not log; "
									"run ALTER TABLE %s.%s REPLICA IDENTITY FULL so trucker can take it from the old row",
									ref->field, c->schema, c->table, c->schema, c->table);
				else
					trk_buf_appendf(err, "new.%s: table %s.%s has no column \"%s\"",
									ref->field, c->schema, c->table, ref->field);
				return -1;
			}
			*out = col->value;
			return 0;

		case TRK_ROOT_OLD:
			if (c->action == TRK_ACT_INSERT)
			{
				out->kind = TRK_V_NULL;
				return 0;
			}
			col = trk_vars_old_column(c, ref->field);
			if (col == NULL)
			{
				if (c->identity != NULL || c->npk > 0)
					trk_buf_appendf(err,
									"old.%s is not known: the replica identity of %s.%s logs only its key; "
									"run ALTER TABLE %s.%s REPLICA IDENTITY FULL to see the whole old row",
									ref->field, c->schema, c->table, c->schema, c->table);
				else
					trk_buf_appendf(err,
									"old.%s is not known: this change carries no old row or key "
									"(an update that kept its key needs the table's primary key, which wal2json sends with include-pk)",
									ref->field);
				return -1;
			}
			*out = col->value;
			return 0;

		case TRK_ROOT_TRANSFORMED:
			col = v->transformed ? trk_change_column(v->transformed, v->ntransformed, ref->field) : NULL;
			if (col == NULL)
			{
				trk_buf_appendf(err, "transformed.%s: transform.sql returned no column \"%s\"",
								ref->field, ref->field);
				return -1;
			}
			*out = col->value;
			return 0;

		case TRK_ROOT_META:
			if (strcmp(ref->field, "lsn") == 0)
			{
				set_text(out, TRK_V_STRING, c->lsn ? trk_lsn_format(c->lsn, v->lsn_text) : NULL);
				out->type = "pg_lsn";
			}
			else if (strcmp(ref->field, "end_lsn") == 0)
			{
				set_text(out, TRK_V_STRING, v->end_lsn ? trk_lsn_format(v->end_lsn, v->end_lsn_text) : NULL);
				out->type = "pg_lsn";
			}
			else if (strcmp(ref->field, "xid") == 0)
			{
				bool		has = v->has_xid || c->has_xid;

				if (has)
					snprintf(v->xid_text, sizeof(v->xid_text), "%u",
							 c->has_xid ? c->xid : v->xid);
				set_text(out, TRK_V_NUMBER, has ? v->xid_text : NULL);
				out->type = "bigint";
			}
			else if (strcmp(ref->field, "commit_time") == 0)
			{
				set_text(out, TRK_V_STRING, v->commit_time);
				out->type = "timestamp with time zone";
			}
			else if (strcmp(ref->field, "schema") == 0)
			{
				set_text(out, TRK_V_STRING, c->schema);
				out->type = "text";
			}
			else if (strcmp(ref->field, "table") == 0)
			{
				set_text(out, TRK_V_STRING, c->table);
				out->type = "text";
			}
			else
			{
				trk_buf_appendf(err, "unknown meta field \"%s\"", ref->field);
				return -1;
			}
			return 0;
	}
	trk_buf_append(err, "unknown variable");
	return -1;
}

/* OIDs below this are PostgreSQL's own, the same in every cluster */
#define FIRST_NORMAL_OID 16384

static uint32_t
column_type(const trk_column_t *col)
{
	if (col == NULL)
		return 0;
	if (col->typeoid != 0)
		return col->typeoid < FIRST_NORMAL_OID ? col->typeoid : 0;
	return trk_pgtype_oid(col->value.type);
}

uint32_t
trk_vars_param_type(const trk_vars_t *v, const trk_ref_t *ref)
{
	const trk_change_t *c = v->change;
	const trk_column_t *col = NULL;

	switch (ref->root)
	{
		case TRK_ROOT_OPERATION:
			return TRK_OID_TEXT;
		case TRK_ROOT_NEW:
		case TRK_ROOT_OLD:
			if (ref->root == TRK_ROOT_NEW || c->action == TRK_ACT_INSERT)
				col = trk_change_column(c->columns, c->ncolumns, ref->field);
			if (col == NULL && c->identity != NULL)
				col = trk_change_column(c->identity, c->nidentity, ref->field);
			if (col == NULL && ref->root == TRK_ROOT_OLD)
				col = trk_vars_old_column(c, ref->field);
			return column_type(col);
		case TRK_ROOT_TRANSFORMED:
			return 0;
		case TRK_ROOT_META:
			return trk_vars_meta_type(ref->field);
	}
	return 0;
}

uint32_t
trk_vars_meta_type(const char *field)
{
	if (strcmp(field, "lsn") == 0 || strcmp(field, "end_lsn") == 0)
		return 3220;			/* pg_lsn */
	if (strcmp(field, "xid") == 0)
		return 20;				/* bigint */
	if (strcmp(field, "commit_time") == 0)
		return 1184;			/* timestamptz */
	return TRK_OID_TEXT;
}

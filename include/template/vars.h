/*
 * vars.h — the variables a template sees for one change.
 *
 *     operation          'insert', 'update' or 'delete'
 *     new.<col>          the row after the change; NULL on delete
 *     old.<col>          the row before; NULL on insert
 *     transformed.<col>  one row returned by transform.sql
 *     meta.<field>       lsn, end_lsn, xid, commit_time, schema, table
 *
 * trk_vars_lookup is the trk_template_lookup_fn that resolves them.  It
 * never hands out NULL for a value the change does not carry: a column left
 * out of an UPDATE (unchanged TOAST) is taken from the old row when the
 * table logs its whole old row (REPLICA IDENTITY FULL) and is an error
 * otherwise; an old column that the replica identity does not log is an
 * error too.  Both errors say how to fix them.
 */
#ifndef TRK_TEMPLATE_VARS_H
#define TRK_TEMPLATE_VARS_H

#include "base/lsn.h"
#include "decode/change.h"
#include "template/template.h"

typedef struct trk_vars
{
	const trk_change_t *change;		/* borrowed: the I, U or D */
	const trk_column_t *transformed;	/* borrowed; NULL without transform */
	size_t		ntransformed;
	/* transaction context, from the enclosing B message; 0/NULL if unknown */
	trk_lsn_t	end_lsn;
	const char *commit_time;	/* borrowed from the caller */
	uint32_t	xid;
	bool		has_xid;
	/* scratch for formatted meta values; owned by the struct */
	char		lsn_text[TRK_LSN_BUFSIZE];
	char		end_lsn_text[TRK_LSN_BUFSIZE];
	char		xid_text[16];
} trk_vars_t;

/*
 * trk_vars_init sets v up for change c of the transaction ending at end
 * (commit_time "" or NULL when unknown); no transformed row.
 */
void		trk_vars_init(trk_vars_t *v, const trk_change_t *c, trk_lsn_t end,
						  const char *commit_time, uint32_t xid, bool has_xid);

/* trk_vars_lookup: ctx is a trk_vars_t. */
int			trk_vars_lookup(void *ctx, const trk_ref_t *ref, trk_value_t *out,
							trk_buf_t *err);

/* trk_change_op_name: "insert", "update" or "delete" for I, U, D. */
const char *trk_change_op_name(trk_action_t action);

/*
 * trk_vars_old_column finds old.<name>: from the identity when the change
 * carries one, else (an UPDATE that did not change its key) the new value of
 * a primary key column.  Returns NULL when the old value is not known.
 */
const trk_column_t *trk_vars_old_column(const trk_change_t *c, const char *name);

/*
 * trk_vars_param_type: the OID a reference's value is sent as — a column's
 * type when it is one of PostgreSQL's own (from the new row, else the old:
 * new.* of a delete is NULL but keeps its column's type), pg_lsn, bigint or
 * timestamptz for meta fields, text for operation; 0 ("let the server
 * infer") for user-defined types and transformed.*.
 */
uint32_t	trk_vars_param_type(const trk_vars_t *v, const trk_ref_t *ref);

/* trk_vars_meta_type: the OID meta.<field> is sent as. */
uint32_t	trk_vars_meta_type(const char *field);

#endif

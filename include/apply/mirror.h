/*
 * mirror.h — the default mirror: the statement that applies one change to an
 * output table when the pipeline has no insert.sql / update.sql / delete.sql.
 *
 *     insert  INSERT … ON CONFLICT (key) DO UPDATE   (an upsert by key)
 *     update  UPDATE … SET <only the columns the change carries>
 *             WHERE key = <old key>                  (the key may change)
 *     delete  DELETE … WHERE key = <old key>
 *
 * An UPDATE never writes a column the change left out (an unchanged TOAST
 * value), so nothing is ever overwritten with NULL.  With transform.sql, the
 * transformed row is written instead: insert and update upsert it by key,
 * and delete removes by the transformed row's key, or by the old row's key
 * when the transform returned no row.
 *
 * Values are bind parameters, typed by OID for built-in types.  Identifiers
 * are always double-quoted, so their case is kept.
 */
#ifndef TRK_APPLY_MIRROR_H
#define TRK_APPLY_MIRROR_H

#include <stddef.h>

#include "base/buf.h"
#include "config/config.h"
#include "decode/change.h"
#include "decode/pgtype.h"

typedef struct trk_mirror_param
{
	char		label[80];		/* "new.id", "old.id", "transformed.x": for
								 * messages */
	trk_value_t value;			/* borrowed from the change or row */
	trk_oid_t	type;			/* 0 = let the server infer */
} trk_mirror_param_t;

typedef struct trk_mirror_stmt
{
	trk_buf_t	sql;			/* owned */
	trk_mirror_param_t *params; /* owned array */
	size_t		nparams;
	size_t		cap;
} trk_mirror_stmt_t;

/*
 * trk_mirror_build fills st (reset first) for change c against table out.
 * key/nkey: the output key (NULL to use the change's primary key).
 * row/nrow: the transformed row, or NULL to mirror the change itself.
 * Returns 0, or -1 with the reason in err.
 */
int			trk_mirror_build(const trk_table_name_t *out, char *const *key,
							 size_t nkey, const trk_change_t *c,
							 const trk_column_t *row, size_t nrow,
							 trk_mirror_stmt_t *st, trk_buf_t *err);

void		trk_mirror_stmt_free(trk_mirror_stmt_t *st);

/*
 * trk_mirror_param_type: the type a column's value is sent as — the OID
 * wal2json sent when it is one of PostgreSQL's own, else by the type's name
 * (0 = let the server infer).
 */
trk_oid_t	trk_mirror_param_type(const trk_column_t *col);

/*
 * trk_mirror_insert_rows writes the upsert of nrows rows of the same columns
 * into sql (reset first): parameters row by row, $1 … $(nrows * ncols).
 * Only for rows whose keys are distinct, as consecutive inserts into a table
 * keyed by its primary key are (ON CONFLICT may not touch a row twice).
 */
void		trk_mirror_insert_rows(trk_buf_t *sql, const trk_table_name_t *out,
								   char *const *key, size_t nkey,
								   char *const *cols, size_t ncols, size_t nrows);

/*
 * trk_mirror_update_rows writes the update of nrows rows into sql (reset
 * first).  Each row's parameters are the nset new values, then the nkey
 * old key values; the parameters must be typed (a VALUES list takes its
 * column types from them).  Only for rows with distinct keys that do not
 * change their key.
 */
void		trk_mirror_update_rows(trk_buf_t *sql, const trk_table_name_t *out,
								   char *const *set, size_t nset,
								   char *const *key, size_t nkey, size_t nrows);

/*
 * trk_mirror_expect_rows wraps the update in sql so that it fails, inside
 * the transaction, unless it updated exactly nrows rows:
 *
 *     WITH trk_updated AS (<update> RETURNING 1)
 *     SELECT 1 / (count(*) = nrows)::int FROM trk_updated
 *
 * A mirror update that finds no row for a key means the output has diverged
 * from the input; the division by zero (SQLSTATE 22012) stops the pipeline
 * there instead of committing past it.
 */
void		trk_mirror_expect_rows(trk_buf_t *sql, size_t nrows);

/*
 * trk_mirror_delete_rows writes the delete of nrows keys into sql (reset
 * first): WHERE k IN ($1, …), or (k1, k2) IN (($1, $2), …).
 */
void		trk_mirror_delete_rows(trk_buf_t *sql, const trk_table_name_t *out,
								   char *const *key, size_t nkey, size_t nrows);

/* trk_quote_ident appends a double-quoted identifier. */
void		trk_quote_ident(trk_buf_t *b, const char *ident);

/* trk_quote_table appends "schema"."name". */
void		trk_quote_table(trk_buf_t *b, const trk_table_name_t *t);

#endif

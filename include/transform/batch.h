/*
 * batch.h — the transforms of many changes as one query.
 *
 * transform.sql bound to one change is a query over its values, $1..$n.
 * Sent once per change, its cost on the input database is mostly the cost
 * of running any statement at all.  A run of changes bound to the same
 * statement with the same parameter types goes instead as one query: each
 * parameter becomes the array of the changes' values, and the statement
 * runs once per change as a LATERAL subquery over their unnest —
 *
 *     SELECT "trucker batch"."$0", t.*
 *     FROM unnest($1, $2) WITH ORDINALITY AS "trucker batch"("$1", "$2", "$0")
 *     CROSS JOIN LATERAL (
 *     <the statement, its $k written "trucker batch"."$k">
 *     ) AS t
 *
 * — each row led by the position of its change in the batch, from 1.  The
 * values keep their types (the arrays are of the parameters' types), so
 * the statement means what it means for one change.  Only parameters of a
 * built-in scalar type can be batched: the array of an unknown type could
 * not be named, and unnest would flatten an array of arrays.
 */
#ifndef TRK_TRANSFORM_BATCH_H
#define TRK_TRANSFORM_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/lsn.h"
#include "template/template.h"

typedef struct trk_xbatch
{
	const trk_stmt_t *stmt;		/* borrowed; NULL while empty */
	uint32_t   *elem;			/* the parameters' types */
	uint32_t   *types;			/* ... as arrays: the query's parameters */
	trk_buf_t  *arrays;			/* array literals, one per parameter */
	const char **texts;			/* after trk_xbatch_finish: their texts */
	size_t		capparams;
	uint64_t   *ids;			/* the caller's id of each change */
	size_t		n;
	size_t		capids;
	trk_lsn_t	first;			/* end LSN of the first change's transaction */
	trk_lsn_t	last;			/* ... and of the last one's */
	uint32_t	xid;			/* the first change's */
	size_t		bytes;			/* of the array literals */
	trk_buf_t	sql;			/* after trk_xbatch_finish: the query */
} trk_xbatch_t;

/*
 * trk_xbatch_can: a change bound to stmt with these parameter types can go
 * in a batch (some parameter, each of a built-in scalar type).
 */
bool		trk_xbatch_can(const trk_stmt_t *stmt, const uint32_t *types);

/* trk_xbatch_fits: b is empty, or holds changes bound to stmt with these types. */
bool		trk_xbatch_fits(const trk_xbatch_t *b, const trk_stmt_t *stmt,
							const uint32_t *types);

/*
 * trk_xbatch_add appends one change: its values (texts[i] NULL for SQL
 * NULL, copied) under the caller's id.  The change must fit and be
 * batchable.
 */
void		trk_xbatch_add(trk_xbatch_t *b, const trk_stmt_t *stmt, const uint32_t *types,
						   const char *const *texts, uint64_t id, trk_lsn_t end, uint32_t xid);

/*
 * trk_xbatch_finish closes the arrays and writes the query: b->sql, and
 * b->texts and b->types for its b->stmt->nparams parameters.  Until reset,
 * nothing more can be added.
 */
void		trk_xbatch_finish(trk_xbatch_t *b);

/* trk_xbatch_reset empties b, keeping its memory. */
void		trk_xbatch_reset(trk_xbatch_t *b);

void		trk_xbatch_free(trk_xbatch_t *b);

/*
 * trk_array_append appends text (NULL: SQL NULL) to the array literal in a
 * as its next element, quoted: "{" first when a is empty, "," after.  The
 * caller closes it with "}".
 */
void		trk_array_append(trk_buf_t *a, const char *text);

#endif

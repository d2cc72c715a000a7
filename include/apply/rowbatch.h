/*
 * rowbatch.h — consecutive single-row mirror statements of one shape, sent
 * as multi-row statements.
 *
 * A run of inserts (or deletes) into one output with the same columns costs
 * the server one statement per up to TRK_ROWBATCH_MAX_ROWS rows instead of
 * one per row.  Only order-preserving runs are grouped: the caller flushes
 * the batch before anything else goes to the same output, so statements
 * still reach it in source order.  Runs are sent in power-of-two chunks, so
 * a shape needs at most a handful of prepared statements.
 */
#ifndef TRK_APPLY_ROWBATCH_H
#define TRK_APPLY_ROWBATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apply/dest_postgres.h"
#include "base/buf.h"
#include "config/config.h"
#include "decode/change.h"

#define TRK_ROWBATCH_MAX_ROWS 256
#define TRK_ROWBATCH_MAX_PARAMS 32768

typedef struct trk_rowbatch
{
	int			pipeline;		/* -1 when empty */
	trk_action_t action;		/* INSERT or DELETE */
	const trk_table_name_t *out;	/* borrowed from the config */
	char	   *sig;			/* owned; the single-row SQL of the shape */
	char	  **names;			/* owned; columns (insert) or key (delete) */
	size_t		nnames;
	char	  **key;			/* owned; the conflict target (insert) */
	size_t		nkey;
	uint32_t   *types;			/* owned; one per name */
	trk_buf_t	data;			/* values, each NUL-terminated */
	size_t	   *offs;			/* owned; SIZE_MAX = NULL */
	size_t		nvalues;
	size_t		capvalues;
	size_t		nrows;
	size_t		bytes;
	trk_dest_tag_t tag;			/* of the first row: where an error points */
	trk_buf_t	sql;			/* scratch */
	const char **ptrs;			/* scratch */
	uint32_t   *ptypes;			/* scratch */
	size_t		capptrs;
} trk_rowbatch_t;

/* trk_rowbatch_matches: the next row of this shape can join the run. */
bool		trk_rowbatch_matches(const trk_rowbatch_t *rb, int pipeline, const char *sig);

/* trk_rowbatch_start begins a run (the batch must be empty). */
void		trk_rowbatch_start(trk_rowbatch_t *rb, int pipeline, trk_action_t action,
							   const trk_table_name_t *out, const char *sig,
							   const char *const *names, size_t nnames,
							   char *const *key, size_t nkey, const uint32_t *types);

/* trk_rowbatch_add copies one row's values (NULL = SQL NULL). */
void		trk_rowbatch_add(trk_rowbatch_t *rb, const char *const *values,
							 const trk_dest_tag_t *tag, size_t bytes);

bool		trk_rowbatch_full(const trk_rowbatch_t *rb);

/* trk_rowbatch_flush sends the run to pg and empties the batch. */
void		trk_rowbatch_flush(trk_rowbatch_t *rb, trk_pgdest_t *pg);

/* trk_rowbatch_clear drops the run unsent. */
void		trk_rowbatch_clear(trk_rowbatch_t *rb);

void		trk_rowbatch_free(trk_rowbatch_t *rb);

#endif

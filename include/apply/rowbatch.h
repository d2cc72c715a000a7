/*
 * rowbatch.h — consecutive single-row mirror statements of one shape, sent
 * as multi-row statements.
 *
 * A run of inserts, updates or deletes into one output with the same columns
 * costs the server one statement per up to TRK_ROWBATCH_MAX_ROWS rows
 * instead of one per row.  Only runs that mean the same as their rows one
 * by one are grouped: the caller flushes the batch before anything else
 * goes to the same output (so statements reach it in source order), before
 * a row whose key is already in the run (one statement may not touch a row
 * twice), and never groups an update that changes its key.  Runs are sent in power-of-two chunks, so
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
	trk_action_t action;		/* INSERT, UPDATE or DELETE */
	bool		expect_rows;	/* UPDATE: each key must find its row */
	const trk_table_name_t *out;	/* borrowed from the config */
	char	   *sig;			/* owned; the single-row SQL of the shape */
	char	  **names;			/* owned; columns (insert), columns set then
								 * key (update), key (delete) */
	size_t		nnames;
	size_t		nset;			/* update: how many names are set */
	char	  **key;			/* owned; the conflict target (insert) */
	size_t		nkey;
	uint32_t   *types;			/* owned; one per name */
	trk_buf_t	data;			/* values, each NUL-terminated */
	size_t	   *offs;			/* owned; SIZE_MAX = NULL */
	size_t		nvalues;
	size_t		capvalues;
	size_t		nrows;
	uint64_t	keyset[2 * TRK_ROWBATCH_MAX_ROWS];	/* the rows' key hashes,
													 * open addressing, 0 =
													 * empty */
	trk_dest_tag_t *tags;		/* owned; each row's, for where an error
								 * points */
	size_t		captags;
	size_t		bytes;
	trk_buf_t	sql;			/* scratch */
	const char **ptrs;			/* scratch */
	uint32_t   *ptypes;			/* scratch */
	size_t		capptrs;
} trk_rowbatch_t;

/* trk_rowbatch_matches: the next row of this shape can join the run. */
bool		trk_rowbatch_matches(const trk_rowbatch_t *rb, int pipeline, const char *sig);

/* trk_rowbatch_has_key: a row of the run has this key hash. */
bool		trk_rowbatch_has_key(const trk_rowbatch_t *rb, uint64_t keyhash);

/* trk_rowbatch_start begins a run (the batch must be empty). */
void		trk_rowbatch_start(trk_rowbatch_t *rb, int pipeline, trk_action_t action,
							   const trk_table_name_t *out, const char *sig,
							   const char *const *names, size_t nnames, size_t nset,
							   char *const *key, size_t nkey, const uint32_t *types);

/* trk_rowbatch_add copies one row's values (NULL = SQL NULL). */
void		trk_rowbatch_add(trk_rowbatch_t *rb, const char *const *values,
							 uint64_t keyhash, const trk_dest_tag_t *tag, size_t bytes);

bool		trk_rowbatch_full(const trk_rowbatch_t *rb);

/* trk_rowbatch_flush sends the run to pg and empties the batch. */
void		trk_rowbatch_flush(trk_rowbatch_t *rb, trk_pgdest_t *pg);

/* trk_rowbatch_clear drops the run unsent. */
void		trk_rowbatch_clear(trk_rowbatch_t *rb);

void		trk_rowbatch_free(trk_rowbatch_t *rb);

#endif

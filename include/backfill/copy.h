/*
 * copy.h — a pipeline's backfill: the rows its input held at a snapshot.
 *
 * A pipeline that starts without a checkpoint first gets the rows its
 * input already holds, as of the consistent point of a replication slot
 * created with an exported snapshot (trk_slot_create): every transaction
 * that committed before that point is in the snapshot, every later one
 * comes through the stream, and that point becomes the pipeline's
 * checkpoint.  (Reading pg_current_wal_lsn() inside the copy's transaction
 * instead would lose the transactions committing between the snapshot and
 * the read.)
 *
 * The default mirror's backfill is a COPY relay from the input, in a
 * transaction that imported the snapshot, into the output, in the
 * output's open transaction — which the caller ends with the checkpoint
 * row, so that a crash leaves neither rows nor a checkpoint behind.
 */
#ifndef TRK_BACKFILL_COPY_H
#define TRK_BACKFILL_COPY_H

#include <libpq-fe.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "config/config.h"

/*
 * trk_backfill_begin starts a read-only REPEATABLE READ transaction on src
 * that sees the exported snapshot, with row security off: a policy that
 * hid rows from the copy, which the stream does not filter, would leave
 * the output short of them without a word — it fails instead.
 */
int			trk_backfill_begin(PGconn *src, const char *snapshot, trk_buf_t *err);

/*
 * trk_backfill_savepoint brackets one pipeline's steps in src's snapshot
 * transaction: before them (after false) it sets a savepoint; after them
 * it rolls a failed transaction back to it — a pipeline refused on the
 * source must not abort the others' copies — and releases it, which keeps
 * the locks taken meanwhile.  0, or -1 with the reason in err.
 */
int			trk_backfill_savepoint(PGconn *src, bool after, trk_buf_t *err);

/*
 * trk_backfill_lock takes ACCESS SHARE on schema.table in src's snapshot
 * transaction, as pg_dump does: a table rewritten (ALTER TABLE … TYPE)
 * after the snapshot was taken would look empty to it.
 */
int			trk_backfill_lock(PGconn *src, const trk_table_name_t *table, trk_buf_t *err);

/* What the copy of one input table needs to know of it. */
typedef struct trk_backfill_table
{
	trk_buf_t	columns;		/* "a", "b": the columns the stream carries
								 * (neither dropped nor generated) */
	bool		partitioned;	/* its rows are in its partitions */
	double		estimate;		/* rows, from the planner's statistics; 0 when
								 * unknown */
	uint64_t	blocks;			/* its size in blocks (0 for a partitioned one) */
	trk_table_name_t *leaves;	/* owned; a partitioned one's leaf partitions,
								 * the largest first */
	size_t		nleaves;
} trk_backfill_table_t;

/* trk_backfill_describe fills t for table, read on src. */
int			trk_backfill_describe(PGconn *src, const trk_table_name_t *table,
								  trk_backfill_table_t *t, trk_buf_t *err);

void		trk_backfill_table_free(trk_backfill_table_t *t);

/* trk_backfill_output_empty: table on dst holds no row. */
int			trk_backfill_output_empty(PGconn *dst, const trk_table_name_t *table, bool *empty,
									  trk_buf_t *err);

/*
 * The functions here return 0; TRK_BACKFILL_REFUSED when a server refused
 * on the pipeline's own account — an error of class 0A, 22, 23 or 42 (a
 * column the output lacks, a constraint, a privilege, a table missing)
 * with the connection intact — which another attempt would meet again;
 * else -1 (a lost connection, a timeout, a deadlock…: worth a retry).
 * The reason is in err.
 */
#define TRK_BACKFILL_REFUSED (-2)

/* trk_backfill_refusal: what a failed result says, by the rules above */
int			trk_backfill_refusal(PGconn *pg, const PGresult *r);

/* What the copies of one backfill share, across threads. */
typedef struct trk_backfill_shared
{
	atomic_int_least64_t *rows; /* rows copied so far, every copy together */
	atomic_bool stop;			/* set: every copy gives up (one failed) */
	const atomic_bool *cancel;	/* NULL, or set when trucker stops */
} trk_backfill_shared_t;

/*
 * trk_backfill_range_where writes into where the condition that selects the
 * index-th of count ranges of a table of blocks blocks, by ctid (a TID
 * range scan reads only those blocks); nothing when count is 1.  The last
 * range runs to the end, whatever the table's size now.
 */
void		trk_backfill_range_where(uint32_t index, uint32_t count, uint64_t blocks,
									 trk_buf_t *where);

/*
 * trk_backfill_copy relays the rows of input (described by t; only those
 * where says, unless NULL) from src into output on dst, the same columns by
 * name, in dst's open transaction (nothing when the input holds no row).
 * Adds the rows to sh->rows as it goes, and gives up (-1) when sh says so.
 * Both sessions are left outside COPY.
 */
int			trk_backfill_copy(PGconn *src, PGconn *dst, const trk_table_name_t *input,
							  const trk_backfill_table_t *t, const trk_table_name_t *output,
							  const char *where, trk_backfill_shared_t *sh, trk_buf_t *err);

#endif

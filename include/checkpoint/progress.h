/*
 * progress.h — one pipeline's positions in the source, and the rules that
 * make delivery exactly once.  Pure: no I/O.
 *
 * A source transaction is known by its end LSN (wal2json's "nextlsn", the
 * position a restart resumes after).  Its commit record's start ("lsn")
 * would not do: the next transaction's changes can begin at or before the
 * previous commit's end, so two transactions could not be told apart.
 *
 *   stored   the checkpoint committed in the output with the data
 *   written  the checkpoint of the last batch sent to commit (= stored when
 *            no batch of this pipeline is committing)
 *   seen     every change up to here is in the open batch, committing or
 *            stored
 *   stop     0, or the end LSN of the transaction the pipeline failed on:
 *            it applies what came before and nothing from there on
 *
 * stored <= written <= seen.  Several batches of one output may be
 * committing at once (they commit in the order they were sent); each
 * carries a sequence number, and a pipeline remembers the checkpoints of its
 * committing batches, up to TRK_PROGRESS_MAX_COMMITTING of them.  The slot
 * may be confirmed up to the smallest stored position of all the pipelines
 * that read it, never further.
 */
#ifndef TRK_CHECKPOINT_PROGRESS_H
#define TRK_CHECKPOINT_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/lsn.h"

#define TRK_PROGRESS_MAX_COMMITTING 8

typedef struct trk_progress
{
	trk_lsn_t	stored;
	trk_lsn_t	written;
	trk_lsn_t	seen;
	trk_lsn_t	stop;
	/* the checkpoints of committing batches, oldest first */
	struct
	{
		uint64_t	seq;
		trk_lsn_t	lsn;
	}			committing[TRK_PROGRESS_MAX_COMMITTING];
	size_t		ncommitting;
} trk_progress_t;

/* trk_progress_start resets the positions to a stored checkpoint. */
void		trk_progress_start(trk_progress_t *p, trk_lsn_t stored);

/* trk_progress_skips: the transaction ending at end is not to be applied. */
bool		trk_progress_skips(const trk_progress_t *p, trk_lsn_t end);

/* trk_progress_applied: the transaction ending at end is in the batch. */
void		trk_progress_applied(trk_progress_t *p, trk_lsn_t end);

/*
 * trk_progress_keepalive: between transactions the server is at walend, so
 * nothing committed before it is still to come.  A stopped pipeline stays.
 */
void		trk_progress_keepalive(trk_progress_t *p, trk_lsn_t walend);

/*
 * trk_progress_writing: batch seq, about to be committed, carries seen as
 * the checkpoint, which moves from *from (the value the output holds once
 * the batches before it have committed).  False if there is nothing new, or
 * no room to remember another committing batch.
 */
bool		trk_progress_writing(trk_progress_t *p, uint64_t seq, trk_lsn_t *from);

/* trk_progress_committed: every batch up to seq is durable. */
void		trk_progress_committed(trk_progress_t *p, uint64_t seq);

#endif

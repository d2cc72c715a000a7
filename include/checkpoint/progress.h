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
 *   writing  the checkpoint of the batch being committed
 *   seen     every change up to here is in the open batch or stored
 *   stop     0, or the end LSN of the transaction the pipeline failed on:
 *            it applies what came before and nothing from there on
 *
 * stored <= writing <= seen.  The slot may be confirmed up to the smallest
 * stored position of all the pipelines that read it, never further.
 */
#ifndef TRK_CHECKPOINT_PROGRESS_H
#define TRK_CHECKPOINT_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>

#include "base/lsn.h"

typedef struct trk_progress
{
	trk_lsn_t	stored;
	trk_lsn_t	writing;
	trk_lsn_t	seen;
	trk_lsn_t	stop;
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

/* trk_progress_writing: the batch being committed carries seen; false if nothing new. */
bool		trk_progress_writing(trk_progress_t *p);

/* trk_progress_committed: the batch is durable. */
void		trk_progress_committed(trk_progress_t *p);

#endif

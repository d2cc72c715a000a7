/*
 * queue.h — the stream's messages waiting for their transforms, in order.
 *
 * A pipeline with transform.sql needs the rows its query returns before its
 * change can be written, and those come back from the input database
 * asynchronously.  Every message of an input with such a pipeline goes
 * through this queue (a keepalive too: its position must not overtake the
 * transactions still queued), so that changes are written in the source's
 * commit order whatever pipeline they are for.  The head leaves the queue
 * once every transform sent for it has answered.
 *
 * An entry owns a copy of its message and, opaque here, what the caller
 * decoded of it (one block, released with free()), so that a message is
 * decoded once however long it waits.  The rows of each transform are
 * opaque too (a PGresult's slice for the daemon), released with the free
 * function given to trk_xq_init.
 */
#ifndef TRK_TRANSFORM_QUEUE_H
#define TRK_TRANSFORM_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/lsn.h"

/* One transform's answer for an entry. */
typedef struct trk_xq_rows
{
	int			pipeline;		/* the caller's index */
	void	   *rows;			/* a reference the entry owns, or NULL */
	int			first;			/* which of rows are the entry's: the
								 * caller's to give and read (a batch's
								 * answer is shared by its changes) */
	int			count;
} trk_xq_rows_t;

typedef struct trk_xq_entry
{
	uint64_t	id;				/* consecutive from 1 */
	bool		keepalive;		/* a keepalive, not a message */
	trk_lsn_t	lsn;			/* the message's start, or the walend */
	char	   *data;			/* owned copy of the message, NUL-terminated */
	size_t		len;
	void	   *decoded;		/* owned; the caller's, or NULL */
	size_t		bytes;			/* the message's and decoded's */
	int			waiting;		/* transforms sent and not yet answered */
	trk_xq_rows_t one;			/* the first answer (most entries get one) */
	trk_xq_rows_t *more;		/* owned; the others */
	size_t		nrows;			/* answers: one and more[0 .. nrows-2] */
	size_t		capmore;
} trk_xq_entry_t;

typedef struct trk_xq
{
	trk_xq_entry_t *ring;		/* owned */
	size_t		cap;			/* a power of two, or 0 */
	size_t		head;
	size_t		count;
	size_t		bytes;			/* of the messages queued, decoded too */
	uint64_t	next_id;
	void		(*free_rows) (void *rows);
} trk_xq_t;

void		trk_xq_init(trk_xq_t *q, void (*free_rows) (void *rows));

/*
 * trk_xq_push appends a message (data/len copied; decoded, decoded_size
 * bytes, owned from now on) or, with data NULL, a keepalive at lsn.
 * Returns the new entry's id.
 */
uint64_t	trk_xq_push(trk_xq_t *q, trk_lsn_t lsn, const char *data, size_t len,
						void *decoded, size_t decoded_size);

/* trk_xq_entry: the queued entry with this id, or NULL. */
trk_xq_entry_t *trk_xq_entry(trk_xq_t *q, uint64_t id);

/* trk_xq_expect counts one more transform sent for entry id. */
void		trk_xq_expect(trk_xq_t *q, uint64_t id);

/*
 * trk_xq_answer attaches a transform's rows for pipeline to entry id (the
 * queue owns this reference from now on; first and count are kept for the
 * caller) and counts the transform answered.  Returns -1 (rows freed) when
 * no such entry waits for an answer.
 */
int			trk_xq_answer(trk_xq_t *q, uint64_t id, int pipeline, void *rows, int first,
						  int count);

/* trk_xq_ready: the head when nothing it waits for is outstanding, or NULL. */
trk_xq_entry_t *trk_xq_ready(trk_xq_t *q);

/* trk_xq_rows: the answer of pipeline's transform for e, or NULL. */
const trk_xq_rows_t *trk_xq_rows(const trk_xq_entry_t *e, int pipeline);

/* trk_xq_pop drops the head (its message and rows). */
void		trk_xq_pop(trk_xq_t *q);

/* trk_xq_clear drops every entry; ids go on from where they were. */
void		trk_xq_clear(trk_xq_t *q);

void		trk_xq_free(trk_xq_t *q);

#endif

/*
 * dest_postgres.h — a PostgreSQL output connection in libpq pipeline mode.
 *
 * One destination session applies the changes of one input connection to
 * one output connection.  Statements are sent without waiting for their
 * results (no network round trip per change); each carries a tag saying
 * which pipeline and source transaction it belongs to, so an error can be
 * pinned on them.  A batch is BEGIN … statements … COMMIT + Sync.  The next
 * batch may be sent while earlier ones are committing (up to
 * TRK_PGDEST_MAX_COMMITTING): the server runs them in order, so the output
 * never waits for trucker nor trucker for the output.  A batch is durable
 * when its Sync comes back, and only then may its checkpoints be reported to
 * the source.  A batch after a failed one would still run (a Sync ends the
 * failure), so each batch's checkpoint update checks that the batch before
 * it left the checkpoint where trucker expects it (checkpoint.h), and fails
 * the whole batch otherwise.
 *
 * Statements are prepared once per SQL text and parameter types (up to a
 * bound; past it they are sent unprepared).  The session counts what it has sent but not yet
 * heard back about; past the limits it is "busy" and the caller stops
 * feeding it until on_ready.
 */
#ifndef TRK_APPLY_DEST_POSTGRES_H
#define TRK_APPLY_DEST_POSTGRES_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "base/lsn.h"

typedef struct trk_pgdest trk_pgdest_t;

#define TRK_PGDEST_MAX_COMMITTING 4

/*
 * What a statement's failure of a check means: a checked statement divides
 * by zero (SQLSTATE 22012) when the check fails, inside the batch, so the
 * batch never commits past it.
 */
typedef enum trk_dest_check
{
	TRK_CHECK_NONE = 0,
	TRK_CHECK_ROWS,				/* a mirror update found fewer rows than keys */
	TRK_CHECK_CHECKPOINT		/* the checkpoint was not where expected */
} trk_dest_check_t;

/* What a statement belongs to, for error messages. */
typedef struct trk_dest_tag
{
	int			pipeline;		/* index in the owner's table; -1 = none */
	trk_lsn_t	lsn;			/* end LSN of the source transaction */
	uint32_t	xid;
	trk_dest_check_t check;
	trk_lsn_t	last;			/* a multi-row statement: the end LSN of its
								 * last row's transaction (0 = lsn) */
	const char *file;			/* the template it came from, or NULL (the
								 * default mirror); borrowed, must outlive
								 * the session */
	const char *about;			/* its parameters described for the log, or
								 * NULL; copied by trk_pgdest_exec */
	uint64_t	change;			/* the owner's number for the change, or 0 */
	uint32_t	seq;			/* the owner's too: e.g. the change's place
								 * in its transaction */
} trk_dest_tag_t;

typedef struct trk_dest_error
{
	bool		connection;		/* the connection failed (no SQLSTATE) */
	char		sqlstate[6];
	const char *message;		/* borrowed; valid during the callback */
	const char *detail;			/* borrowed; may be NULL */
	const char *sql;			/* borrowed; the failing statement, or NULL */
	trk_dest_tag_t tag;
	bool		check_failed;	/* the statement's check failed (tag.check) */
} trk_dest_error_t;

typedef struct trk_pgdest_cbs
{
	/* every batch up to seq is durable */
	void		(*on_committed) (void *arg, trk_pgdest_t *d, uint64_t seq);
	void		(*on_ready) (void *arg, trk_pgdest_t *d);
	void		(*on_error) (void *arg, trk_pgdest_t *d, const trk_dest_error_t *err);
	/*
	 * A statement's rows (PGRES_TUPLES_OK; or PGRES_COMMAND_OK for one whose
	 * tag names a change: a query that returns no rows still answers), in
	 * the order sent; the callee owns r.  NULL: rows are dropped.  A session
	 * that runs queries (the transforms on the input database) sets it.
	 */
	void		(*on_rows) (void *arg, trk_pgdest_t *d, const trk_dest_tag_t *tag,
							PGresult *r);
} trk_pgdest_cbs_t;

/*
 * trk_pgdest_new takes ownership of conn (connected, idle) and puts it in
 * non-blocking pipeline mode.  Returns NULL with a message in errbuf (conn
 * closed) on failure.
 */
trk_pgdest_t *trk_pgdest_new(uv_loop_t *loop, PGconn *conn, const char *name,
							 const trk_pgdest_cbs_t *cbs, void *arg,
							 char *errbuf, size_t errlen);

const char *trk_pgdest_name(const trk_pgdest_t *d);

/*
 * trk_pgdest_begin opens a batch (BEGIN), numbered one more than the last;
 * earlier batches may still be committing.
 */
void		trk_pgdest_begin(trk_pgdest_t *d);

/* trk_pgdest_batch_seq: the number of the open batch. */
uint64_t	trk_pgdest_batch_seq(const trk_pgdest_t *d);

/*
 * trk_pgdest_exec queues one statement of the open batch.  values are text
 * (NULL = SQL NULL); types may be NULL or hold 0 for "infer".  prepare: use
 * (and create) a prepared statement for this SQL text.  bytes is the size of
 * the change, for the in-flight limits.  The arrays are copied by libpq.
 */
void		trk_pgdest_exec(trk_pgdest_t *d, const char *sql, int nparams,
							const char *const *values, const uint32_t *types,
							const trk_dest_tag_t *tag, size_t bytes, bool prepare);

/* trk_pgdest_note_change counts one source change into the open batch. */
void		trk_pgdest_note_change(trk_pgdest_t *d, size_t bytes);

/* trk_pgdest_commit queues COMMIT and a Sync; on_committed follows. */
void		trk_pgdest_commit(trk_pgdest_t *d);

/* trk_pgdest_flush sends what libpq has buffered (call after a burst). */
void		trk_pgdest_flush(trk_pgdest_t *d);

bool		trk_pgdest_is_open(const trk_pgdest_t *d);	/* a batch is open */
int			trk_pgdest_committing(const trk_pgdest_t *d);	/* batches committing */
bool		trk_pgdest_can_commit(const trk_pgdest_t *d);	/* room for one more */
/* busy: over the limits, TRK_PGDEST_MAX_COMMITTING committing, or failed */
bool		trk_pgdest_is_busy(const trk_pgdest_t *d);

/* trk_pgdest_inflight: statements sent and not yet answered. */
size_t		trk_pgdest_inflight(const trk_pgdest_t *d);

/* Counters of the open batch. */
size_t		trk_pgdest_batch_rows(const trk_pgdest_t *d);
size_t		trk_pgdest_batch_bytes(const trk_pgdest_t *d);
uint64_t	trk_pgdest_batch_started(const trk_pgdest_t *d);	/* uv_now ms */

/* trk_pgdest_close drops the connection (an open batch rolls back). */
void		trk_pgdest_close(trk_pgdest_t *d);

#endif

/*
 * internal.h — the daemon's runtime state, shared by its three files:
 *
 *   daemon.c     the root: loop, signals, one input per input connection
 *   start.c      an input's start-up, run on a worker thread with blocking
 *                libpq: destinations and checkpoints, source checks, the
 *                slot, START_REPLICATION
 *   input.c      an input on the loop: stream → decode → route → apply →
 *                checkpoint → feedback
 *   transform.c  between route and apply when a pipeline has transform.sql:
 *                its queries on the input database, and the queue that
 *                keeps every change in commit order meanwhile
 *   backfill.c   new pipelines copied beside the stream, which they then
 *                rejoin
 *   control.c    the control socket `trucker skip` and `resume` talk to
 */
#ifndef TRK_DAEMON_INTERNAL_H
#define TRK_DAEMON_INTERNAL_H

#include <libpq-fe.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "apply/dest_postgres.h"
#include "apply/mirror.h"
#include "apply/rowbatch.h"
#include "apply/write.h"
#include "backfill/job.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/lsn.h"
#include "checkpoint/progress.h"
#include "config/config.h"
#include "daemon/daemon.h"
#include "route/router.h"
#include "stream/stream.h"
#include "transform/batch.h"
#include "transform/queue.h"

/* how often idle pipelines move their checkpoints forward */
#define TRK_IDLE_ADVANCE_MS 10000
/* how often a status update goes to the source at the least */
#define TRK_STATUS_INTERVAL_MS 10000
#define TRK_BACKOFF_MIN_MS 1000
/* a quiet stream commits a batch once it is this old, so bursts share one */
#define TRK_QUIET_COMMIT_MS 10
#define TRK_BACKOFF_MAX_MS 30000
/* a restart trucker makes on purpose waits only this long */
#define TRK_RESTART_MS 200
/* how often a stopped pipeline's hold on the slot is logged */
#define TRK_HELD_LOG_MS 60000

typedef struct run_dest run_dest_t;

typedef enum rebuild
{
	NO_REBUILD = 0,
	REBUILD,					/* into an output found empty */
	REBUILD_TRUNCATE			/* emptied first */
} rebuild_t;

/* One pipeline of an input, at run time. */
typedef struct run_pipeline
{
	const trk_pipeline_t *def;	/* borrowed from the config */
	run_dest_t *dest;			/* borrowed; its output session */
	bool		has_row;		/* trucker.checkpoints has its row, streaming */
	bool		reset;			/* its row says 'backfilling': its output holds
								 * part of a copy cut short */
	bool		parked;			/* no checkpoint: it applies nothing, and
								 * holds nothing of the slot, because its
								 * backfill is pending or was refused */
	bool		pending;		/* parked, to be backfilled beside the stream */
	bool		copying;		/* a backfill beside the stream copies it
								 * (the loop's) … */
	bool		copying_seen;	/* … as the start-up running saw it */
	char	   *refused;		/* owned; why its backfill was refused this
								 * run (the loop's) … */
	char	   *refused_seen;	/* … as the start-up running saw it */
	bool		keeps_def;		/* the loop's: its output has a checkpoint
								 * made by this definition, which a reload
								 * keeps if the folder's changed */
	bool		changed;		/* its definition is not the one its output
								 * was made by: it holds the slot and
								 * applies nothing */
	rebuild_t	rebuild;		/* `trucker backfill` asked for a new copy
								 * (the loop's) … */
	rebuild_t	rebuild_seen;	/* … as the start-up running saw it, */
	bool		rebuild_done;	/* which did it, or refused it */
	trk_progress_t pos;			/* stored, writing, seen; pos.stop survives
								 * restarts */
	bool		skip;			/* the current transaction is not for it */
	trk_lsn_t	one_by_one;		/* up to this end LSN, no multi-row runs and
								 * every statement carries its parameters:
								 * a statement failed, and the transaction
								 * and change at fault must be named */
	/* stops, skips and dead letters (trucker.checkpoints, dead_letters) */
	bool		stop_unrecorded;	/* pos.stop is not in the output yet */
	char	   *stop_why;		/* owned; why it stopped */
	trk_lsn_t	skip_lsn;		/* `trucker skip`: this transaction goes to
								 * the dead letters, not to the output */
	char	   *skip_why;		/* owned */
	bool		dead;			/* the current transaction is skip_lsn */
	trk_lsn_t	dl_lsn;			/* on_error: dead_letter — this transaction
								 * failed and is applied change by change,
								 * each failure to the dead letters */
	size_t		nleaves;		/* partitions of a partitioned input */
	trk_lsn_t	trunc_lsn;		/* a TRUNCATE of its partitions in progress */
	size_t		trunc_count;
	/* transform.c: changes whose transforms go as one query, not yet sent */
	trk_xbatch_t xbatch;
	bool		xform_single;	/* its transform cannot run batched */
	int			xbatch_fails;	/* batches failed with a data error since a
								 * change alone last did */
	trk_lsn_t	xseq_lsn;		/* the transaction its transforms are
								 * counted in, and how many were sent */
	uint32_t	xseq;
	/* on_error: dead_letter — changes whose transform failed: not sent
	 * again, they go to trucker.dead_letters */
	struct xform_dead *xdead;	/* owned */
	size_t		nxdead;
	size_t		capxdead;
	/* start-up only: the checkpoint row's source identity */
	char	   *row_sysid;		/* owned */
	char	   *row_database;	/* owned */
	char	   *row_slot;		/* owned */
} run_pipeline_t;

/* One output connection of an input. */
struct run_dest
{
	const trk_connection_t *conn;	/* borrowed */
	trk_pgdest_t *pg;			/* owned; NULL when not connected */
	trk_rowbatch_t rows;		/* a run of same-shape rows not yet sent */
	PGconn	   *setup_conn;		/* owned; from start-up, until handed over */
	int64_t		max_rows;		/* batch limits: the smallest of its pipelines' */
	int64_t		max_bytes;
	int64_t		max_delay_ms;
};

typedef enum input_state
{
	IN_STARTING = 0,			/* start-up runs on a worker thread */
	IN_STREAMING,
	IN_WAITING,					/* backing off before the next start */
	IN_REFUSED,					/* will not stream until restarted */
	IN_CLOSED
} input_state_t;

typedef enum setup_result
{
	SETUP_OK = 0,
	SETUP_RETRY,				/* a connection or transient failure */
	SETUP_REFUSE				/* streaming would lose or corrupt data */
} setup_result_t;

/* backfill.c: the backfill of an input's pending pipelines, beside its stream */
typedef struct trk_input_backfill
{
	uv_work_t	work;
	bool		running;
	atomic_bool cancel;			/* trucker stops */
	trk_lsn_t	hold;			/* while it runs, the slot is confirmed no
								 * further */
	trk_backfill_item_t *items; /* owned */
	int		   *pipe;			/* owned; items[i] is pipes[pipe[i]] */
	size_t		nitems;
	trk_lsn_t	lsn;			/* the snapshot's consistent point */
	int			rc;				/* trk_backfill_run's, or -1 before it */
	trk_buf_t	err;
	uv_timer_t	timer;			/* the next attempt, after a failure */
	int			backoff_ms;
	uint64_t	not_before;
} trk_input_backfill_t;

/* One input connection: its stream and everything it feeds. */
typedef struct trk_input
{
	trk_daemon_t *daemon;		/* borrowed */
	const trk_connection_t *conn;	/* borrowed */
	run_pipeline_t *pipes;		/* owned */
	size_t		npipes;
	run_dest_t *dests;			/* owned */
	size_t		ndests;
	input_state_t state;

	/* start-up (worker thread) results */
	uv_work_t	work;
	bool		work_running;
	bool		reload;			/* start again once the start-up ends */
	setup_result_t setup;
	trk_buf_t	setup_error;	/* why it failed */
	trk_buf_t	refused;		/* the pipelines a refusal is about, "a,b" */
	PGconn	   *repl;			/* owned; in COPY BOTH until handed over */
	trk_router_t router;		/* rebuilt at each start */
	PGconn	   *xform_conn;		/* owned; for the transforms, until handed
								 * over */
	trk_lsn_t	start_lsn;
	char		sysid[32];
	bool		accept_changed; /* --accept-changed */
	trk_input_backfill_t bf;

	/* streaming */
	trk_stream_t *stream;		/* owned */
	uv_timer_t	timer;			/* backoff, status and idle advance */
	uv_timer_t	commit_timer;	/* a young batch on a quiet stream */
	int			backoff_ms;
	uint64_t	last_status_ms;
	uint64_t	last_advance_ms;
	uint64_t	last_held_ms;	/* stopped pipelines' WAL last logged */
	trk_lsn_t	walend;			/* the source's WAL end, as last heard */
	uint64_t	stalled_since_ms;	/* paused with nothing answered since */
	size_t		stalled_inflight;
	bool		in_txn;
	trk_lsn_t	txn_end;
	uint32_t	txn_xid;
	bool		txn_has_xid;
	char		txn_time[64];	/* its commit time as wal2json wrote it */
	trk_lsn_t	flushed;		/* last flush sent to the source */
	bool		draining;		/* shutting down: finish the transaction */
	bool		drained;		/* nothing more is buffered */
	trk_arena_t arena;			/* one decoded message at a time */
	trk_mirror_stmt_t stmt;
	trk_write_t write;			/* a template bound to one change */
	trk_buf_t	about;			/* scratch: a statement's parameters */
	const char *msg;			/* the message being applied, as sent */
	size_t		msglen;

	/* the transform stage (transform.c); has_xform: some pipeline has one */
	bool		has_xform;
	trk_pgdest_t *xform;		/* owned; the transforms' session */
	trk_xq_t	queue;			/* messages waiting for their transforms */
	trk_xq_entry_t *cur;		/* the entry being applied, or NULL */
	trk_lsn_t	q_end;			/* the last queued transaction: end LSN, */
	uint32_t	q_xid;			/* xid and commit time, for meta.* */
	bool		q_has_xid;
	char		q_time[64];
	trk_write_t xwrite;			/* a transform bound to one change */
	uint64_t	xform_since;	/* the queue's next id when the open
								 * transaction of transforms began */
	bool		xform_held;		/* it could not commit yet */
	struct xform_sent *sent;	/* owned; batches sent, oldest first */
	struct xform_sent *sent_tail;
	uint64_t	sent_seq;
	/* transforms on a replica wait until it has replayed their change */
	trk_lsn_t	replayed;		/* the replica's replay position, as last read */
	uint64_t	gate;			/* the entry whose transforms wait for it */
	bool		probing;		/* a read of the replay position is out */
	uint64_t	gate_since_ms;
	uv_timer_t	probe_timer;
	uv_timer_t	quiet_timer;	/* a dry stream ends the transforms' batch */
	trk_buf_t	err;
	trk_buf_t	sql;			/* scratch: a statement being wrapped */
	const char **values;		/* owned scratch for statement parameters */
	uint32_t   *types;
	size_t		capvalues;
} trk_input_t;

/* start.c */
void		trk_input_setup_work(uv_work_t *w);
void		trk_input_setup_release(trk_input_t *in);

/* backfill.c */
typedef struct trk_slot_wait
{
	const trk_connection_t *conn;
	PGconn	   *src;			/* reads who is waited on */
	const atomic_bool *cancel;	/* NULL, or: give up */
	double		logged;
} trk_slot_wait_t;

PGconn	   *trk_input_backfill_connect(const trk_connection_t *c, trk_buf_t *err);
bool		trk_input_slot_waiting(void *arg, double seconds);
bool		trk_input_shares_output(const trk_input_t *in, const run_pipeline_t *p);
void		trk_input_park(run_pipeline_t *p, const char *why);
trk_backfill_item_t *trk_input_backfill_items(const trk_input_t *in,
											  bool (*pick) (const run_pipeline_t *p),
											  int **index, size_t *n);
void		trk_input_backfill_launch(trk_input_t *in);
void		trk_input_backfill_cancel(trk_input_t *in);

/* input.c */
void		trk_input_begin_streaming(trk_input_t *in);
int			trk_input_decode(trk_input_t *in, trk_lsn_t start, const char *data,
							 size_t len, trk_change_t *c);
void		trk_input_dispatch(trk_input_t *in, const trk_change_t *c, size_t len);
void		trk_input_keepalive(trk_input_t *in, trk_lsn_t walend);
void		trk_input_stop_pipeline(trk_input_t *in, run_pipeline_t *p, trk_lsn_t at,
									const char *why);
bool		trk_input_statement_failed(trk_input_t *in, const char *where,
									   const trk_dest_error_t *err);
void		trk_input_maybe_resume(trk_input_t *in);
bool		trk_input_dest_busy(const trk_input_t *in);
void		trk_input_commit_quiet(trk_input_t *in);
void		trk_input_fail(trk_input_t *in, bool retry, const char *fmt, ...)
			__attribute__((format(printf, 3, 4)));
void		trk_input_restart(trk_input_t *in, const char *fmt, ...)
			__attribute__((format(printf, 2, 3)));
void		trk_input_shutdown(trk_input_t *in);
void		trk_input_close_sessions(trk_input_t *in);
void		trk_input_on_timer(uv_timer_t *t);
trk_lsn_t	trk_input_min_stored(const trk_input_t *in);

/* transform.c */
void		trk_input_xform_init(trk_input_t *in);
int			trk_input_xform_open(trk_input_t *in, char *errbuf, size_t errlen);
void		trk_input_xform_close(trk_input_t *in);
void		trk_input_xform_free(trk_input_t *in);
void		trk_input_xform_message(trk_input_t *in, trk_lsn_t start, const char *data,
									size_t len);
bool		trk_input_xform_keepalive(trk_input_t *in, trk_lsn_t walend);
void		trk_input_xform_drained(trk_input_t *in);
void		trk_input_xform_drain(trk_input_t *in);
void		trk_input_xform_tick(trk_input_t *in);
bool		trk_input_xform_blocked(const trk_input_t *in);

/*
 * The rows a pipeline's transform returned for the change being applied:
 * all of a PGresult, or the change's slice of a batch's (first, count).
 */
typedef trk_xq_rows_t trk_xrows_t;

const trk_xrows_t *trk_input_xform_rows(const trk_input_t *in, int pipeline);
int			trk_xrows_count(const trk_xrows_t *r);	/* 0 for NULL */
int			trk_xrows_nfields(const trk_xrows_t *r);
const char *trk_xrows_name(const trk_xrows_t *r, int field);
bool		trk_xrows_isnull(const trk_xrows_t *r, int row, int field);
const char *trk_xrows_value(const trk_xrows_t *r, int row, int field);
int			trk_xrows_length(const trk_xrows_t *r, int row, int field);

/*
 * trk_xrows_dead: the change's transform failed before and the pipeline
 * dead-letters: no rows, but the statement, its parameters (a text[]
 * literal) and the error, for trucker.dead_letters.
 */
bool		trk_xrows_dead(const trk_xrows_t *r, const char **sql, const char **params,
						   const char **sqlstate, const char **error);

/*
 * trk_input_xform_dead records, for on_error: dead_letter, that the
 * transform sent under tag failed: when the input starts again, that
 * change's transform is not sent, and the change goes to the dead letters.
 */
void		trk_input_xform_dead(trk_input_t *in, run_pipeline_t *p, const trk_dest_tag_t *tag,
								 const char *sqlstate, const char *error);

/* control.c */
int			trk_control_open(uv_loop_t *loop, uv_pipe_t *server, const char *path,
							 trk_daemon_t *d);
void		trk_control_close(uv_pipe_t *server, const char *path);

/* daemon.c */
int			trk_daemon_reload_pipeline(trk_daemon_t *d, const char *name);

/*
 * trk_daemon_backfill_pipeline has pipeline name copied again from a new
 * snapshot (`trucker backfill`): its input starts again, empties its output
 * (truncate) or checks that it is empty, and copies it beside the stream.
 * -1 with the reason in reply when it cannot.
 */
int			trk_daemon_backfill_pipeline(trk_daemon_t *d, const char *name, bool truncate,
										 trk_buf_t *reply);

/*
 * trk_daemon_backfill_progress says in reply where pipeline name's
 * backfill is: "copying ROWS ESTIMATE", "waiting" (to start), "parked"
 * (refused), or "streaming" (none under way).  -1: no such pipeline.
 */
int			trk_daemon_backfill_progress(trk_daemon_t *d, const char *name, trk_buf_t *reply);
void		trk_daemon_input_changed(trk_daemon_t *d);
void		trk_daemon_schedule_start(trk_input_t *in, int delay_ms);

#endif

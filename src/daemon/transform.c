/*
 * transform.c — an input's transform stage: transform.sql on the input
 * database, between route and apply.
 *
 * For each change a pipeline with transform.sql reads, its template is
 * bound to the change and sent, prepared, on a session of its own to the
 * input database, in pipeline mode like an output: no round trip per
 * change.  Its rows come back asynchronously, so every message of the input
 * — changes for other pipelines, transaction boundaries, keepalives — waits
 * in a queue (transform/queue.c) behind the ones before it, and leaves it
 * for apply only once each transform sent for it has answered.  Changes
 * are applied in the source's commit order whatever pipeline they are for.
 *
 * The transforms run in short read-only transactions of up to
 * XFORM_BATCH queries (READ COMMITTED: each query sees what has committed
 * when it runs, never a state older than the change).  The queue is
 * bounded; past its limits, or when the session is busy, the stream pauses.
 * A transform that fails with a data error stops its pipeline at that
 * source transaction, as a failing write does.
 *
 * On a replica (replica_host), a transform must not read a state older
 * than its change: before the first transform of a transaction beyond the
 * replay position last read, the stream pauses and trucker reads
 * pg_last_wal_replay_lsn() on the replica every PROBE_MS until it has
 * reached the transaction's end LSN — or restarts the input after
 * replica_wait_ms.  A replica that has replayed far ahead (a backlog) costs
 * nothing per transaction.
 */
#include "internal.h"
#include "base/log.h"
#include "base/mem.h"

#include <stdio.h>
#include <string.h>

/* queries per transaction on the input database */
#define XFORM_BATCH 256
/* ... or once this many messages wait behind them */
#define XFORM_QUEUED 1024
/* between two reads of a lagging replica's replay position */
#define PROBE_MS 5
/* the queue's limits: the stream pauses past the high marks */
#define QUEUE_HIGH_ENTRIES 20000
#define QUEUE_LOW_ENTRIES 5000
#define QUEUE_HIGH_BYTES ((size_t) 16 << 20)
#define QUEUE_LOW_BYTES ((size_t) 4 << 20)

static void on_xform_committed(void *arg, trk_pgdest_t *pg, uint64_t seq);
static void on_xform_ready(void *arg, trk_pgdest_t *pg);
static void on_xform_error(void *arg, trk_pgdest_t *pg, const trk_dest_error_t *err);
static void on_xform_rows(void *arg, trk_pgdest_t *pg, const trk_dest_tag_t *tag, PGresult *r);

static const trk_pgdest_cbs_t xform_cbs = {on_xform_committed, on_xform_ready, on_xform_error,
on_xform_rows};

static void
free_result(void *rows)
{
	PQclear(rows);
}

void
trk_input_xform_init(trk_input_t *in)
{
	trk_xq_init(&in->queue, free_result);
	in->has_xform = false;
	for (size_t i = 0; i < in->npipes; i++)
		if (in->pipes[i].def->sql[TRK_SQL_TRANSFORM] != NULL)
			in->has_xform = true;
}

int
trk_input_xform_open(trk_input_t *in, char *errbuf, size_t errlen)
{
	if (!in->has_xform)
		return 0;
	in->xform = trk_pgdest_new(in->timer.loop, in->xform_conn, in->conn->name, &xform_cbs, in,
							   errbuf, errlen);
	in->xform_conn = NULL;
	if (in->xform == NULL)
		return -1;
	in->q_end = 0;
	in->replayed = 0;
	in->gate = 0;
	in->probing = false;
	return 0;
}

void
trk_input_xform_close(trk_input_t *in)
{
	if (in->xform)
	{
		trk_pgdest_close(in->xform);
		in->xform = NULL;
	}
	in->cur = NULL;
	in->gate = 0;
	in->probing = false;
	uv_timer_stop(&in->probe_timer);
	trk_xq_clear(&in->queue);
}

void
trk_input_xform_free(trk_input_t *in)
{
	trk_input_xform_close(in);
	trk_xq_free(&in->queue);
	trk_write_free(&in->xwrite);
	if (in->xform_conn)
	{
		PQfinish(in->xform_conn);
		in->xform_conn = NULL;
	}
}

bool
trk_input_xform_blocked(const trk_input_t *in)
{
	if (!in->has_xform)
		return false;
	if (in->gate != 0 || (in->xform && trk_pgdest_is_busy(in->xform)))
		return true;
	/* once past the high marks, until below the low ones */
	if (in->stream && trk_stream_is_paused(in->stream))
		return in->queue.count > QUEUE_LOW_ENTRIES || in->queue.bytes > QUEUE_LOW_BYTES;
	return in->queue.count >= QUEUE_HIGH_ENTRIES || in->queue.bytes >= QUEUE_HIGH_BYTES;
}

const PGresult *
trk_input_xform_rows(const trk_input_t *in, int pipeline)
{
	return in->cur ? trk_xq_rows(in->cur, pipeline) : NULL;
}

/*
 * end_batch ends the open transaction of transforms, which has the server
 * send their rows, and sends what libpq holds — all of it even when too many
 * transactions are committing to end this one yet.
 */
static void
end_batch(trk_input_t *in)
{
	if (in->xform && trk_pgdest_is_open(in->xform) && trk_pgdest_can_commit(in->xform))
		trk_pgdest_commit(in->xform);
	if (in->xform)
		trk_pgdest_flush(in->xform);
}

static bool
is_row(trk_action_t a)
{
	return a == TRK_ACT_INSERT || a == TRK_ACT_UPDATE || a == TRK_ACT_DELETE;
}

static unsigned
op_bit(trk_action_t a)
{
	return a == TRK_ACT_INSERT ? TRK_OP_INSERT : a == TRK_ACT_UPDATE ? TRK_OP_UPDATE : TRK_OP_DELETE;
}

/* wants_transform: pipeline p runs its transform for change c */
static bool
wants_transform(const trk_input_t *in, const run_pipeline_t *p, const trk_change_t *c)
{
	/* (a transaction `trucker skip` passes over only goes to the dead letters) */
	return p->def->sql[TRK_SQL_TRANSFORM] != NULL && (p->def->operations & op_bit(c->action)) &&
		!trk_progress_skips(&p->pos, in->q_end) &&
		!(p->skip_lsn != 0 && p->skip_lsn == in->q_end);
}

/*
 * send_transform binds p's transform.sql to c and sends it for entry id.
 * False when the template cannot be bound (the pipeline stopped) or the
 * session failed (the input is restarting).
 */
static bool
send_transform(trk_input_t *in, run_pipeline_t *p, int idx, const trk_change_t *c,
			   uint64_t id, size_t bytes)
{
	trk_write_t *w = &in->xwrite;
	trk_vars_t	vars;
	trk_dest_tag_t tag = {idx, in->q_end, in->q_xid, TRK_CHECK_NONE, 0,
	p->def->sql_file[TRK_SQL_TRANSFORM], NULL, id};

	trk_vars_init(&vars, c, in->q_end, in->q_time, in->q_xid, in->q_has_xid);
	trk_buf_reset(&in->err);
	if (trk_write_bind(p->def->sql[TRK_SQL_TRANSFORM], &vars, w, &in->err) != 0)
	{
		trk_input_stop_pipeline(in, p, in->q_end, trk_buf_cstr(&in->err));
		return false;
	}
	if (w->stmt->empty)
		return true;			/* no query: as if it returned no row */
	if (!trk_pgdest_is_open(in->xform))
		trk_pgdest_begin(in->xform);
	if (p->one_by_one != 0 && in->q_end <= p->one_by_one)
	{
		/* a failure is being pinned down: its parameters go with it */
		trk_buf_reset(&in->about);
		trk_write_describe(w, p->def->redact, p->def->nredact, &in->about);
		tag.about = trk_buf_cstr(&in->about);
	}
	trk_xq_expect(&in->queue, id);
	trk_pgdest_note_change(in->xform, bytes);
	trk_pgdest_exec(in->xform, w->stmt->sql, w->stmt->nparams, w->texts, w->types, &tag,
					bytes, true);
	return in->state == IN_STREAMING && in->xform != NULL;
}

/* send_all sends the transforms of change c, queued as entry id */
static bool
send_all(trk_input_t *in, const trk_route_t *rt, const trk_change_t *c, uint64_t id, size_t len)
{
	for (size_t i = 0; i < rt->npipelines; i++)
	{
		int			idx = rt->pipelines[i];

		if (wants_transform(in, &in->pipes[idx], c) &&
			!send_transform(in, &in->pipes[idx], idx, c, id, len))
			return false;
	}
	return true;
}

/* probe asks the replica how far it has replayed */
static void
probe(trk_input_t *in)
{
	trk_dest_tag_t tag = {-1, 0, 0, TRK_CHECK_NONE, 0, NULL, NULL, 0};

	if (in->probing || in->xform == NULL)
		return;
	in->probing = true;
	if (!trk_pgdest_is_open(in->xform))
		trk_pgdest_begin(in->xform);
	trk_pgdest_exec(in->xform, "SELECT pg_last_wal_replay_lsn()", 0, NULL, NULL, &tag, 0, true);
	end_batch(in);
}

static void
on_probe_timer(uv_timer_t *t)
{
	trk_input_t *in = t->data;

	if (in->state == IN_STREAMING && in->gate != 0)
		probe(in);
}

/*
 * replayed takes the replica's answer: once past the gated transaction,
 * its transforms go and the stream resumes; else ask again shortly, or
 * give up after replica_wait_ms.
 */
static void
replayed(trk_input_t *in, PGresult *r)
{
	trk_xq_entry_t *e;
	trk_change_t c;
	const trk_route_t *rt;
	uint64_t	id;
	char		want[TRK_LSN_BUFSIZE];
	char		have[TRK_LSN_BUFSIZE];

	in->probing = false;
	if (PQntuples(r) == 1 && PQgetisnull(r, 0, 0))
		in->replayed = (trk_lsn_t) -1;	/* not in recovery: it has everything */
	else if (PQntuples(r) == 1)
	{
		trk_lsn_t	lsn;

		if (trk_lsn_parse(PQgetvalue(r, 0, 0), (size_t) PQgetlength(r, 0, 0), &lsn) &&
			lsn > in->replayed)
			in->replayed = lsn;
	}
	PQclear(r);
	if (in->gate == 0)
		return;
	if (in->q_end > in->replayed)
	{
		uint64_t	waited = uv_now(in->timer.loop) - in->gate_since_ms;

		if ((int64_t) waited >= in->conn->replica_wait_ms)
		{
			trk_input_fail(in, true, "the replica of \"%s\" has not replayed up to %s within "
						   "replica_wait_ms (%lld ms; it is at %s): transforms would read a "
						   "state older than their change", in->conn->name,
						   trk_lsn_format(in->q_end, want), (long long) in->conn->replica_wait_ms,
						   trk_lsn_format(in->replayed, have));
			return;
		}
		uv_timer_start(&in->probe_timer, on_probe_timer, PROBE_MS, 0);
		return;
	}
	/* caught up: the gated change's transforms go now */
	id = in->gate;
	e = trk_xq_entry(&in->queue, id);
	in->gate = 0;
	if (e != NULL && trk_input_decode(in, e->lsn, e->data, e->len, &c) == 0 &&
		(rt = trk_router_find(&in->router, c.schema, c.table)) != NULL)
	{
		if (!send_all(in, rt, &c, id, e->len))
			return;
		end_batch(in);
	}
	if (in->state != IN_STREAMING)
		return;
	trk_xq_answer(&in->queue, id, -1, NULL);	/* the wait itself */
	trk_input_xform_drain(in);
}

void
trk_input_xform_message(trk_input_t *in, trk_lsn_t start, const char *data, size_t len)
{
	trk_change_t c;
	const trk_route_t *rt = NULL;
	bool		need = false;
	uint64_t	id;

	if (trk_input_decode(in, start, data, len, &c) != 0)
		return;
	if (c.action == TRK_ACT_BEGIN)
	{
		in->q_end = c.nextlsn;
		in->q_xid = c.xid;
		in->q_has_xid = c.has_xid;
		snprintf(in->q_time, sizeof(in->q_time), "%s", c.timestamp ? c.timestamp : "");
	}
	if (is_row(c.action) && (rt = trk_router_find(&in->router, c.schema, c.table)) != NULL)
		for (size_t i = 0; i < rt->npipelines && !need; i++)
			need = wants_transform(in, &in->pipes[rt->pipelines[i]], &c);
	if (!need && in->queue.count == 0)
	{
		/* nothing to wait for: straight on */
		in->msg = data;
		in->msglen = len;
		trk_input_dispatch(in, &c, len);
		return;
	}
	id = trk_xq_push(&in->queue, start, data, len);
	if (need && in->conn->has_replica && in->q_end > in->replayed)
	{
		/* the replica must replay this transaction first; until then the
		 * entry waits as if for one more answer */
		trk_xq_expect(&in->queue, id);
		in->gate = id;
		in->gate_since_ms = uv_now(in->timer.loop);
		trk_stream_pause(in->stream);
		probe(in);
		trk_input_xform_drain(in);
		return;
	}
	if (need && !send_all(in, rt, &c, id, len))
		return;
	/* rows come back when a transaction of transforms ends: end it often */
	if (in->xform && trk_pgdest_is_open(in->xform) &&
		(trk_pgdest_batch_rows(in->xform) >= XFORM_BATCH || in->queue.count >= XFORM_QUEUED))
		end_batch(in);
	if (trk_input_xform_blocked(in))
	{
		end_batch(in);
		if (in->state != IN_STREAMING)
			return;				/* the session failed: the input is restarting */
		trk_stream_pause(in->stream);
	}
	trk_input_xform_drain(in);
}

bool
trk_input_xform_keepalive(trk_input_t *in, trk_lsn_t walend)
{
	if (in->queue.count == 0)
		return true;
	trk_xq_push(&in->queue, walend, NULL, 0);
	return false;
}

void
trk_input_xform_drained(trk_input_t *in)
{
	end_batch(in);
}

/*
 * trk_input_xform_drain applies the queued messages whose transforms have
 * all answered, in order, while the outputs can take them.
 */
void
trk_input_xform_drain(trk_input_t *in)
{
	trk_xq_entry_t *e;
	trk_change_t c;

	while (in->state == IN_STREAMING && (e = trk_xq_ready(&in->queue)) != NULL)
	{
		if (trk_input_dest_busy(in))
			return;				/* on_ready comes back */
		if (in->draining && !in->in_txn && !e->keepalive)
			break;				/* shutting down: no new transaction */
		in->cur = e;
		in->msg = e->data;
		in->msglen = e->len;
		if (e->keepalive)
			trk_input_keepalive(in, e->lsn);
		else if (trk_input_decode(in, e->lsn, e->data, e->len, &c) == 0)
			trk_input_dispatch(in, &c, e->len);
		in->cur = NULL;
		if (in->state != IN_STREAMING)
			return;				/* the input failed: the queue is gone */
		trk_xq_pop(&in->queue);
	}
	if (in->state != IN_STREAMING)
		return;
	if (in->queue.count == 0 && in->drained)
		trk_input_commit_quiet(in);
	else if (in->queue.count > 0 && trk_xq_ready(&in->queue) == NULL &&
			 (in->drained || (in->stream && trk_stream_is_paused(in->stream))))
	{
		/*
		 * The head waits for rows, and no message is coming that would end
		 * the transaction of transforms holding its query (at XFORM_BATCH
		 * queries): end it now, or it waits forever.  Not while messages
		 * flow — one short transaction per message costs the input
		 * database three times as much.
		 */
		end_batch(in);
		if (in->state != IN_STREAMING)
			return;
	}
	trk_input_maybe_resume(in);
}

/*
 * trk_input_xform_tick, every second: a head still waiting for rows gets
 * its transaction of transforms ended, whatever the reason nothing else
 * ended it — a backstop, not the way rows normally come back.
 */
void
trk_input_xform_tick(trk_input_t *in)
{
	if (in->state != IN_STREAMING || in->xform == NULL || in->queue.count == 0 ||
		trk_xq_ready(&in->queue) != NULL)
		return;
	end_batch(in);
}

/* ------------------------------------------------------------------ */
/* the session's callbacks                                            */
/* ------------------------------------------------------------------ */

static void
on_xform_rows(void *arg, trk_pgdest_t *pg, const trk_dest_tag_t *tag, PGresult *r)
{
	trk_input_t *in = arg;

	(void) pg;
	if (tag->pipeline < 0)
	{
		replayed(in, r);
		return;
	}
	trk_xq_answer(&in->queue, tag->change, tag->pipeline, r);
	trk_input_xform_drain(in);
}

static void
on_xform_committed(void *arg, trk_pgdest_t *pg, uint64_t seq)
{
	trk_input_t *in = arg;

	(void) pg;
	(void) seq;
	if (in->state != IN_STREAMING)
		return;
	/*
	 * Room for another transaction of transforms: the open one may hold
	 * queries that could not be ended while too many were committing, and
	 * their rows only come back once it ends.
	 */
	end_batch(in);
	trk_input_maybe_resume(in);
}

static void
on_xform_ready(void *arg, trk_pgdest_t *pg)
{
	(void) pg;
	trk_input_maybe_resume(arg);
}

static void
on_xform_error(void *arg, trk_pgdest_t *pg, const trk_dest_error_t *err)
{
	trk_input_t *in = arg;
	char		where[256];

	(void) pg;
	snprintf(where, sizeof(where), "%s (transform)", in->conn->name);
	if (trk_input_statement_failed(in, where, err))
		return;
	if (err->connection)
		trk_input_fail(in, true, "input \"%s\" (transforms): %s", in->conn->name, err->message);
	else
		trk_input_fail(in, true, "input \"%s\" (transforms): %s (SQLSTATE %s)", in->conn->name,
					   err->message, err->sqlstate);
}

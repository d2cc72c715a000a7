/*
 * transform.c — an input's transform stage: transform.sql on the input
 * database, between route and apply.
 *
 * For each change a pipeline with transform.sql reads, its template is
 * bound to the change and sent, prepared, on a session of its own to the
 * input database, in pipeline mode like an output: no round trip per
 * change.  Its rows come back asynchronously, so every message of the input
 * — changes for other pipelines, transaction boundaries, keepalives — waits
 * in a queue (transform/queue.c) behind the ones before it, with the change
 * decoded from it (a message is decoded once), and leaves it for apply only
 * once each transform sent for it has answered.  Changes are applied in the
 * source's commit order whatever pipeline they are for.
 *
 * A run of changes whose transform binds the same statement with the same
 * parameter types goes as one query (transform/batch.c): the statement runs
 * once per change as a LATERAL subquery over the arrays of their values,
 * and the answer is cut back into each change's rows.  A batch that fails
 * is sent again one change at a time, which names the change at fault; a
 * statement the batch itself makes fail (batch_failed) runs one change at a
 * time from then on.
 *
 * The transforms run in short read-only transactions (READ COMMITTED: each
 * query sees what has committed when it runs, never a state older than the
 * change), whose end has the server send their rows.  One ends at
 * XFORM_BATCH changes, once XFORM_QUEUED messages have queued since it
 * began, when the stream pauses, or XFORM_QUIET_MS after the stream ran
 * dry — not at every dry spell, which would cut batches short.  The queue
 * is bounded; past its limits, or when the session is busy, the stream
 * pauses.
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
#include <stdlib.h>
#include <string.h>

/* changes per transaction on the input database */
#define XFORM_BATCH 256
/* ... or once this many messages have queued since it began */
#define XFORM_QUEUED 1024
/* a batch of transforms goes once its values take this many bytes */
#define XFORM_BATCH_BYTES ((size_t) 1 << 20)
/* batches of a pipeline failing with data errors no change alone has */
#define XFORM_BATCH_FAILS 3
/* a stream run dry this long ends the transaction of transforms */
#define XFORM_QUIET_MS 1
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

/* marks a tag's change number as a batch's */
#define BATCH_BIT ((uint64_t) 1 << 63)

/*
 * A transform's answer, shared by the changes of a batch: each change's
 * entry in the queue holds a reference, and its first and count.
 */
typedef struct xform_result
{
	PGresult   *res;			/* NULL: the transform failed before (dead) */
	int			refs;
	int			col0;			/* 1 for a batch: column 0 is the change's
								 * position in it */
	int		   *order;			/* owned; a batch's rows grouped by change,
								 * or NULL: as they are */
	/* dead: what goes to trucker.dead_letters; owned */
	char	   *dead_sql;
	char	   *dead_params;
	char	   *dead_sqlstate;
	char	   *dead_error;
} xform_result_t;

/* a change whose transform failed, on a pipeline that dead-letters */
struct xform_dead
{
	trk_lsn_t	lsn;			/* its transaction's end */
	uint32_t	seq;			/* its transform's place in the transaction */
	char		sqlstate[6];
	char	   *error;			/* owned */
};

/* a batch sent and not answered yet */
typedef struct xform_sent
{
	struct xform_sent *next;
	uint64_t	seq;
	int			pipeline;
	size_t		n;
	uint64_t	ids[];			/* the queue's entries, in batch order */
} xform_sent_t;

static void
unref(xform_result_t *res)
{
	if (--res->refs > 0)
		return;
	PQclear(res->res);
	free(res->order);
	free(res->dead_sql);
	free(res->dead_params);
	free(res->dead_sqlstate);
	free(res->dead_error);
	free(res);
}

static xform_result_t *
new_result(PGresult *r, int col0)
{
	xform_result_t *res = trk_calloc(1, sizeof(*res));

	res->res = r;
	res->refs = 1;
	res->col0 = col0;
	return res;
}

bool
trk_xrows_dead(const trk_xrows_t *r, const char **sql, const char **params,
			   const char **sqlstate, const char **error)
{
	const xform_result_t *res = r ? r->rows : NULL;

	if (res == NULL || res->res != NULL)
		return false;
	*sql = res->dead_sql;
	*params = res->dead_params;
	*sqlstate = res->dead_sqlstate;
	*error = res->dead_error;
	return true;
}

void
trk_input_xform_dead(trk_input_t *in, run_pipeline_t *p, const trk_dest_tag_t *tag,
					 const char *sqlstate, const char *error)
{
	struct xform_dead *d;
	size_t		kept = 0;

	(void) in;
	/* what the pipeline's stored checkpoint has passed is done with */
	for (size_t i = 0; i < p->nxdead; i++)
	{
		if (p->xdead[i].lsn > p->pos.stored)
			p->xdead[kept++] = p->xdead[i];
		else
			free(p->xdead[i].error);
	}
	p->nxdead = kept;
	p->xbatch_fails = 0;		/* a change did fail alone */
	TRK_GROW(p->xdead, p->capxdead, p->nxdead + 1);
	d = &p->xdead[p->nxdead++];
	d->lsn = tag->lsn;
	d->seq = tag->seq;
	snprintf(d->sqlstate, sizeof(d->sqlstate), "%s", sqlstate);
	d->error = trk_strdup(error ? error : "");
}

/* find_dead: the failure recorded for p's seq-th transform of transaction lsn, or NULL */
static const struct xform_dead *
find_dead(const run_pipeline_t *p, trk_lsn_t lsn, uint32_t seq)
{
	for (size_t i = 0; i < p->nxdead; i++)
		if (p->xdead[i].lsn == lsn && p->xdead[i].seq == seq)
			return &p->xdead[i];
	return NULL;
}

/*
 * answer_dead answers entry id for p at once with its recorded failure,
 * instead of sending its transform: the change goes to the dead letters.
 */
static void
answer_dead(trk_input_t *in, run_pipeline_t *p, int idx, const struct xform_dead *d,
			uint64_t id)
{
	trk_write_t *w = &in->xwrite;
	xform_result_t *res = new_result(NULL, 0);
	trk_buf_t	params = {0};

	for (int i = 0; i < w->stmt->nparams; i++)
		trk_array_append(&params, w->texts[i]);
	trk_buf_append(&params, w->stmt->nparams > 0 ? "}" : "{}");
	res->dead_sql = trk_strdup(w->stmt->sql);
	res->dead_params = trk_strdup(trk_buf_cstr(&params));
	res->dead_sqlstate = trk_strdup(d->sqlstate);
	res->dead_error = trk_strdup(d->error);
	trk_buf_free(&params);
	trk_xq_expect(&in->queue, id);
	trk_xq_answer(&in->queue, id, idx, res, 0, 0);
	(void) p;
}

static void
free_result(void *rows)
{
	unref(rows);
}

static int
row_at(const trk_xrows_t *r, int row)
{
	const xform_result_t *res = r->rows;

	return res->order ? res->order[r->first + row] : r->first + row;
}

int
trk_xrows_count(const trk_xrows_t *r)
{
	return r ? r->count : 0;
}

int
trk_xrows_nfields(const trk_xrows_t *r)
{
	const xform_result_t *res = r->rows;

	return PQnfields(res->res) - res->col0;
}

const char *
trk_xrows_name(const trk_xrows_t *r, int field)
{
	const xform_result_t *res = r->rows;

	return PQfname(res->res, field + res->col0);
}

bool
trk_xrows_isnull(const trk_xrows_t *r, int row, int field)
{
	const xform_result_t *res = r->rows;

	return PQgetisnull(res->res, row_at(r, row), field + res->col0);
}

const char *
trk_xrows_value(const trk_xrows_t *r, int row, int field)
{
	const xform_result_t *res = r->rows;

	return PQgetvalue(res->res, row_at(r, row), field + res->col0);
}

int
trk_xrows_length(const trk_xrows_t *r, int row, int field)
{
	const xform_result_t *res = r->rows;

	return PQgetlength(res->res, row_at(r, row), field + res->col0);
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
	in->xform_held = false;
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
	uv_timer_stop(&in->quiet_timer);
	trk_xq_clear(&in->queue);
	while (in->sent != NULL)
	{
		xform_sent_t *next = in->sent->next;

		free(in->sent);
		in->sent = next;
	}
	in->sent_tail = NULL;
	for (size_t i = 0; i < in->npipes; i++)
	{
		trk_xbatch_reset(&in->pipes[i].xbatch);
		in->pipes[i].xseq_lsn = 0;
	}
}

void
trk_input_xform_free(trk_input_t *in)
{
	trk_input_xform_close(in);
	trk_xq_free(&in->queue);
	trk_write_free(&in->xwrite);
	for (size_t i = 0; i < in->npipes; i++)
	{
		run_pipeline_t *p = &in->pipes[i];

		trk_xbatch_free(&p->xbatch);
		for (size_t j = 0; j < p->nxdead; j++)
			free(p->xdead[j].error);
		free(p->xdead);
		p->xdead = NULL;
		p->nxdead = p->capxdead = 0;
	}
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

const trk_xrows_t *
trk_input_xform_rows(const trk_input_t *in, int pipeline)
{
	return in->cur ? trk_xq_rows(in->cur, pipeline) : NULL;
}

/* open_txn begins a transaction of transforms unless one is open */
static void
open_txn(trk_input_t *in)
{
	if (trk_pgdest_is_open(in->xform))
		return;
	trk_pgdest_begin(in->xform);
	in->xform_since = in->queue.next_id;
}

/*
 * send_batch sends pipeline idx's batch of transforms as one query.  False
 * when the session failed (the input is restarting).
 */
static bool
send_batch(trk_input_t *in, int idx)
{
	run_pipeline_t *p = &in->pipes[idx];
	trk_xbatch_t *b = &p->xbatch;
	xform_sent_t *s;
	trk_dest_tag_t tag = {idx, b->first, b->xid, TRK_CHECK_NONE, b->last,
	p->def->sql_file[TRK_SQL_TRANSFORM], NULL, 0, 0};

	if (b->n == 0)
		return true;
	trk_xbatch_finish(b);
	s = trk_malloc(sizeof(*s) + b->n * sizeof(uint64_t));
	s->next = NULL;
	s->seq = ++in->sent_seq;
	s->pipeline = idx;
	s->n = b->n;
	memcpy(s->ids, b->ids, b->n * sizeof(uint64_t));
	if (in->sent_tail)
		in->sent_tail->next = s;
	else
		in->sent = s;
	in->sent_tail = s;
	tag.change = BATCH_BIT | s->seq;
	open_txn(in);
	trk_pgdest_exec(in->xform, trk_buf_cstr(&b->sql), b->stmt->nparams, b->texts, b->types,
					&tag, 0, true);
	trk_xbatch_reset(b);
	return in->state == IN_STREAMING && in->xform != NULL;
}

/*
 * end_batch sends the batches waiting, ends the open transaction of
 * transforms, which has the server send their rows, and sends what libpq
 * holds — all of it even when too many transactions are committing to end
 * this one yet.
 */
static void
end_batch(trk_input_t *in)
{
	for (size_t i = 0; i < in->npipes && in->xform; i++)
		if (!send_batch(in, (int) i))
			return;
	in->xform_held = false;
	if (in->xform && trk_pgdest_is_open(in->xform))
	{
		if (trk_pgdest_can_commit(in->xform))
			trk_pgdest_commit(in->xform);
		else
			in->xform_held = true;	/* on_xform_committed ends it */
	}
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
	p->def->sql_file[TRK_SQL_TRANSFORM], NULL, id, 0};
	bool		single;
	const struct xform_dead *dead;

	trk_vars_init(&vars, c, in->q_end, in->q_time, in->q_xid, in->q_has_xid);
	trk_buf_reset(&in->err);
	if (trk_write_bind(p->def->sql[TRK_SQL_TRANSFORM], &vars, w, &in->err) != 0)
	{
		trk_input_stop_pipeline(in, p, in->q_end, trk_buf_cstr(&in->err));
		return false;
	}
	if (w->stmt->empty)
		return true;			/* no query: as if it returned no row */
	if (p->xseq_lsn != in->q_end)
	{
		p->xseq_lsn = in->q_end;
		p->xseq = 0;
	}
	tag.seq = ++p->xseq;
	if (p->nxdead > 0 && (dead = find_dead(p, in->q_end, tag.seq)) != NULL)
	{
		answer_dead(in, p, idx, dead, id);
		return true;
	}
	open_txn(in);
	single = p->xform_single || (p->one_by_one != 0 && in->q_end <= p->one_by_one) ||
		!trk_xbatch_can(w->stmt, w->types);
	if ((single || !trk_xbatch_fits(&p->xbatch, w->stmt, w->types)) && !send_batch(in, idx))
		return false;
	if (!single)
	{
		trk_xbatch_add(&p->xbatch, w->stmt, w->types, w->texts, id, in->q_end, in->q_xid);
		trk_xq_expect(&in->queue, id);
		trk_pgdest_note_change(in->xform, bytes);
		/* large values: the batch goes before it holds too many */
		return p->xbatch.bytes < XFORM_BATCH_BYTES || send_batch(in, idx);
	}
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
	trk_dest_tag_t tag = {-1, 0, 0, TRK_CHECK_NONE, 0, NULL, NULL, 0, 0};

	if (in->probing || in->xform == NULL)
		return;
	in->probing = true;
	open_txn(in);
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
	const trk_change_t *c;
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
	if (e != NULL && (c = e->decoded) != NULL &&
		(rt = trk_router_find(&in->router, c->schema, c->table)) != NULL)
	{
		if (!send_all(in, rt, c, id, e->len))
			return;
		end_batch(in);
	}
	if (in->state != IN_STREAMING)
		return;
	trk_xq_answer(&in->queue, id, -1, NULL, 0, 0);	/* the wait itself */
	trk_input_xform_drain(in);
}

void
trk_input_xform_message(trk_input_t *in, trk_lsn_t start, const char *data, size_t len)
{
	trk_change_t c;
	const trk_route_t *rt = NULL;
	bool		need = false;
	uint64_t	id;
	trk_change_t *decoded;
	size_t		decoded_size;

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
	decoded = trk_change_clone(&c, &decoded_size);
	id = trk_xq_push(&in->queue, start, data, len, decoded, decoded_size);
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
		(trk_pgdest_batch_rows(in->xform) >= XFORM_BATCH ||
		 in->queue.next_id - in->xform_since >= XFORM_QUEUED))
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
	trk_xq_push(&in->queue, walend, NULL, 0, NULL, 0);
	return false;
}

static void
on_quiet(uv_timer_t *t)
{
	trk_input_t *in = t->data;

	if (in->state == IN_STREAMING && in->drained)
		end_batch(in);
}

/*
 * trk_input_xform_drained: the stream ran dry.  It does so between the
 * server's sends all the time, even in a backlog; ending the transaction
 * of transforms there would cut batches short.  Unless a message comes
 * within XFORM_QUIET_MS, it ends then.
 */
void
trk_input_xform_drained(trk_input_t *in)
{
	if (in->xform && trk_pgdest_is_open(in->xform))
		uv_timer_start(&in->quiet_timer, on_quiet, XFORM_QUIET_MS, 0);
}

/*
 * trk_input_xform_drain applies the queued messages whose transforms have
 * all answered, in order, while the outputs can take them.
 */
void
trk_input_xform_drain(trk_input_t *in)
{
	trk_xq_entry_t *e;

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
		else
		{
			/*
			 * Decoded when it arrived.  Held here while it applies: a
			 * failure empties the queue.  What applying it allocates goes
			 * in the arena, as for a message straight off the stream.
			 */
			trk_change_t *c = e->decoded;

			e->decoded = NULL;
			trk_arena_reset(&in->arena);
			trk_input_dispatch(in, c, e->len);
			free(c);
		}
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
			 in->stream && trk_stream_is_paused(in->stream))
	{
		/*
		 * The head waits for rows, and no message is coming that would end
		 * the transaction of transforms holding its query (at XFORM_BATCH
		 * changes): end it now, or it waits forever.  Not while messages
		 * flow — short transactions cost the input database more, and
		 * short batches more still.  (A stream run dry has the quiet timer
		 * end it.)
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

/* answer_one gives one change its transform's rows */
static void
answer_one(trk_input_t *in, const trk_dest_tag_t *tag, PGresult *r)
{
	xform_result_t *res;

	if (PQntuples(r) == 0)
	{
		PQclear(r);
		trk_xq_answer(&in->queue, tag->change, tag->pipeline, NULL, 0, 0);
		return;
	}
	res = new_result(r, 0);
	trk_xq_answer(&in->queue, tag->change, tag->pipeline, res, 0, PQntuples(r));
}

/*
 * answer_batch cuts a batch's rows into each change's, by the position in
 * column 0, keeping their order within a change.
 */
static void
answer_batch(trk_input_t *in, const trk_dest_tag_t *tag, PGresult *r)
{
	xform_sent_t *s = in->sent;
	int			nt = PQntuples(r);
	int		   *pos;
	int		   *count;
	int		   *next;
	xform_result_t *res;

	if (s == NULL || (BATCH_BIT | s->seq) != tag->change || s->pipeline != tag->pipeline)
	{
		PQclear(r);
		trk_input_fail(in, true, "input \"%s\" (transforms): a batch's answer came out of order",
					   in->conn->name);
		return;
	}
	in->sent = s->next;
	if (in->sent == NULL)
		in->sent_tail = NULL;
	pos = trk_malloc((size_t) (nt + 1) * sizeof(int));
	count = trk_calloc(s->n, sizeof(int));
	next = trk_malloc(s->n * sizeof(int));
	for (int i = 0; i < nt; i++)
	{
		long		o = strtol(PQgetvalue(r, i, 0), NULL, 10);

		if (o < 1 || (size_t) o > s->n)
		{
			free(pos);
			free(count);
			free(next);
			free(s);
			PQclear(r);
			trk_input_fail(in, true, "input \"%s\" (transforms): a batch's row is for no "
						   "change of it", in->conn->name);
			return;
		}
		pos[i] = (int) o - 1;
		count[pos[i]]++;
	}
	res = new_result(r, 1);
	res->order = trk_malloc((size_t) (nt + 1) * sizeof(int));
	for (size_t k = 0, at = 0; k < s->n; at += (size_t) count[k], k++)
		next[k] = (int) at;
	for (int i = 0; i < nt; i++)
		res->order[next[pos[i]]++] = i;
	/* a reference for each change with rows, and one held meanwhile */
	for (size_t k = 0; k < s->n; k++)
	{
		if (count[k] > 0)
			res->refs++;
		trk_xq_answer(&in->queue, s->ids[k], tag->pipeline, count[k] > 0 ? res : NULL,
					  next[k] - count[k], count[k]);
	}
	free(pos);
	free(count);
	free(next);
	free(s);
	unref(res);
}

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
	if (tag->change & BATCH_BIT)
		answer_batch(in, tag, r);
	else
		answer_one(in, tag, r);
	if (in->state == IN_STREAMING)
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
	if (in->xform_held)
		end_batch(in);
	trk_input_maybe_resume(in);
}

static void
on_xform_ready(void *arg, trk_pgdest_t *pg)
{
	(void) pg;
	trk_input_maybe_resume(arg);
}

static bool
is_class(const char *sqlstate, const char *cls)
{
	return strncmp(sqlstate, cls, 2) == 0;
}

/*
 * batch_failed: p's transforms failed as a batch.  From then on they run
 * one change at a time — where a failure, if any, shows as the statement's
 * own — when the batch itself is the likely cause: an error of class 42
 * (the statement does not survive being wrapped, or the arrays' types do
 * not suit it), a batch too big for a limit (a statement or lock timeout,
 * resources — memory, temp files —, a program limit), or data errors in XFORM_BATCH_FAILS batches
 * that no change alone went on to fail.  Other failures (a serialization
 * failure, a restart of the server) are retried as they are.
 */
static void
batch_failed(run_pipeline_t *p, const trk_dest_error_t *err)
{
	const char *st = err->sqlstate;
	bool		data = is_class(st, "21") || is_class(st, "22") || is_class(st, "23");

	if (p->xform_single)
		return;
	if (data && ++p->xbatch_fails < XFORM_BATCH_FAILS)
		return;
	if (!data && !is_class(st, "42") && !is_class(st, "54") && !is_class(st, "53") &&
		strcmp(st, "57014") != 0 && strcmp(st, "55P03") != 0)
		return;
	p->xform_single = true;
	trk_log_warn("transform.sql failed when run for a batch of changes; it runs one change "
				 "at a time from now on", "pipeline", p->def->name, "sqlstate", st,
				 "error", is_class(st, "22") && p->def->nredact > 0 ?
				 "(the message is withheld: the pipeline redacts columns)" : err->message, NULL);
}

static void
on_xform_error(void *arg, trk_pgdest_t *pg, const trk_dest_error_t *err)
{
	trk_input_t *in = arg;
	char		where[256];

	(void) pg;
	if (!err->connection && err->tag.pipeline >= 0 && (size_t) err->tag.pipeline < in->npipes)
	{
		if (err->tag.change & BATCH_BIT)
			batch_failed(&in->pipes[err->tag.pipeline], err);
		else if (err->tag.change != 0)
			in->pipes[err->tag.pipeline].xbatch_fails = 0;	/* a change failed alone */
	}
	snprintf(where, sizeof(where), "%s (transform)", in->conn->name);
	if (trk_input_statement_failed(in, where, err))
		return;
	if (err->connection)
		trk_input_fail(in, true, "input \"%s\" (transforms): %s", in->conn->name, err->message);
	else
		trk_input_fail(in, true, "input \"%s\" (transforms): %s (SQLSTATE %s)", in->conn->name,
					   err->message, err->sqlstate);
}

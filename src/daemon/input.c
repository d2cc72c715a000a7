/*
 * input.c — one input connection on the loop: the data path.
 *
 *   stream  XLogData from the slot                   (stream/stream.c)
 *   decode  one wal2json message → trk_change_t     (decode/wal2json.c)
 *   route   its table → the pipelines that read it   (route/router.c)
 *   apply   the default mirror's statement, queued    (apply/mirror.c,
 *           on the pipeline's output session            apply/dest_postgres.c)
 *   checkpoint  each batch ends by writing its pipelines' positions, in the
 *           same transaction
 *   feedback  once a batch is durable, the slot is confirmed up to the
 *           smallest stored checkpoint
 *
 * Transactions: a pipeline skips a source transaction whose end LSN is at or
 * below what it has (its checkpoint after a restart).  A destination batch
 * only ever ends between source transactions.  While a batch commits, the
 * next one is already being sent (up to TRK_PGDEST_MAX_COMMITTING per
 * output), each moving the checkpoints on from where the one before left
 * them; the stream pauses whenever an output has too much unanswered, so
 * memory stays bounded whatever the size of a source transaction.
 *
 * Failures: a lost connection or any unexpected error closes every session
 * of the input and starts again from the stored checkpoints after a backoff.
 * A data error (SQLSTATE classes 21, 22, 23, 42) stops only the pipeline that
 * caused it, at that source transaction: the input restarts at once, and the
 * pipeline applies what came before it and nothing after.
 */
#include "internal.h"
#include "base/log.h"
#include "base/mem.h"
#include "checkpoint/checkpoint.h"
#include "decode/wal2json.h"
#include "template/vars.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void on_data(void *arg, trk_lsn_t start, const char *data, size_t len);
static void on_keepalive(void *arg, trk_lsn_t walend);
static void on_drained(void *arg);
static void on_stream_error(void *arg, const char *message);
static void on_committed(void *arg, trk_pgdest_t *pg, uint64_t seq);
static void on_ready(void *arg, trk_pgdest_t *pg);
static void on_dest_error(void *arg, trk_pgdest_t *pg, const trk_dest_error_t *err);
static void finish_shutdown(trk_input_t *in);
static void on_commit_timer(uv_timer_t *t);
static void commit_quiet(trk_input_t *in);

static const trk_stream_cbs_t stream_cbs = {on_data, on_keepalive, on_drained, on_stream_error};
static const trk_pgdest_cbs_t dest_cbs = {on_committed, on_ready, on_dest_error, NULL};

_Static_assert(TRK_PGDEST_MAX_COMMITTING <= TRK_PROGRESS_MAX_COMMITTING,
			   "a pipeline remembers the checkpoint of every batch that can be committing");

static run_dest_t *
dest_of(trk_input_t *in, trk_pgdest_t *pg)
{
	for (size_t i = 0; i < in->ndests; i++)
		if (in->dests[i].pg == pg)
			return &in->dests[i];
	return NULL;
}

trk_lsn_t
trk_input_min_stored(const trk_input_t *in)
{
	trk_lsn_t	min = 0;
	bool		any = false;

	/* (a parked pipeline has no checkpoint, and holds nothing) */
	for (size_t i = 0; i < in->npipes; i++)
		if (!in->pipes[i].parked && (!any || in->pipes[i].pos.stored < min))
		{
			min = in->pipes[i].pos.stored;
			any = true;
		}
	/* a backfill beside the stream needs every change after its snapshot */
	if (in->bf.running && (!any || in->bf.hold < min))
	{
		min = in->bf.hold;
		any = true;
	}
	return any ? min : in->start_lsn;
}

/* ------------------------------------------------------------------ */
/* life cycle                                                         */
/* ------------------------------------------------------------------ */

void
trk_input_close_sessions(trk_input_t *in)
{
	uv_timer_stop(&in->commit_timer);
	if (in->stream)
	{
		trk_stream_close(in->stream);
		in->stream = NULL;
	}
	for (size_t i = 0; i < in->ndests; i++)
	{
		trk_rowbatch_clear(&in->dests[i].rows);
		if (in->dests[i].pg)
		{
			trk_pgdest_close(in->dests[i].pg);
			in->dests[i].pg = NULL;
		}
	}
	trk_input_xform_close(in);
	in->in_txn = false;
	for (size_t i = 0; i < in->npipes; i++)
	{
		run_pipeline_t *p = &in->pipes[i];

		trk_progress_start(&p->pos, p->pos.stored);
		p->trunc_count = 0;
		p->trunc_lsn = 0;
	}
}

void
trk_input_begin_streaming(trk_input_t *in)
{
	uv_loop_t  *loop = in->timer.loop;
	char		errbuf[256];
	char		lsn[TRK_LSN_BUFSIZE];

	for (size_t i = 0; i < in->ndests; i++)
	{
		run_dest_t *d = &in->dests[i];

		trk_rowbatch_clear(&d->rows);
		d->pg = trk_pgdest_new(loop, d->setup_conn, d->conn->name, &dest_cbs, in,
							   errbuf, sizeof(errbuf));
		d->setup_conn = NULL;
		if (d->pg == NULL)
		{
			trk_input_setup_release(in);
			trk_input_fail(in, true, "output \"%s\": %s", d->conn->name, errbuf);
			return;
		}
	}
	if (trk_input_xform_open(in, errbuf, sizeof(errbuf)) != 0)
	{
		trk_input_setup_release(in);
		trk_input_fail(in, true, "%s", errbuf);
		return;
	}
	in->stream = trk_stream_new(loop, in->repl, &stream_cbs, in, errbuf, sizeof(errbuf));
	in->repl = NULL;
	if (in->stream == NULL)
	{
		trk_input_fail(in, true, "%s", errbuf);
		return;
	}
	in->state = IN_STREAMING;
	in->in_txn = false;
	in->drained = false;
	in->flushed = trk_input_min_stored(in);
	in->last_status_ms = in->last_advance_ms = uv_now(loop);
	uv_timer_start(&in->timer, trk_input_on_timer, 1000, 1000);
	trk_log_info("streaming started", "connection", in->conn->name, "slot", in->conn->slot,
				 "lsn", trk_lsn_format(in->start_lsn, lsn), NULL);
	for (size_t i = 0; i < in->npipes; i++)
		if (in->pipes[i].pos.stop && !in->pipes[i].parked && !in->pipes[i].changed)
		{
			char		stop[TRK_LSN_BUFSIZE];

			trk_log_warn("pipeline stopped: it applies nothing from its failed transaction on",
						 "pipeline", in->pipes[i].def->name,
						 "lsn", trk_lsn_format(in->pipes[i].pos.stop, stop), NULL);
		}
	trk_input_backfill_launch(in);
}

void
trk_input_fail(trk_input_t *in, bool retry, const char *fmt, ...)
{
	trk_buf_t	msg = {0};
	va_list		ap;
	int			delay;

	va_start(ap, fmt);
	trk_buf_vappendf(&msg, fmt, ap);
	va_end(ap);
	trk_input_close_sessions(in);
	if (in->draining)
	{
		trk_log_warn("stopping without a final commit", "connection", in->conn->name,
					 "error", trk_buf_cstr(&msg), NULL);
		trk_buf_free(&msg);
		finish_shutdown(in);
		return;
	}
	if (!retry)
	{
		trk_log_error("refusing to stream", "connection", in->conn->name,
					  "reason", trk_buf_cstr(&msg),
					  "pipelines", in->refused.len ? trk_buf_cstr(&in->refused) : NULL, NULL);
		in->state = IN_REFUSED;
		uv_timer_stop(&in->timer);
		trk_buf_free(&msg);
		trk_daemon_input_changed(in->daemon);
		return;
	}
	/* exponential backoff with jitter: half fixed, half random */
	delay = in->backoff_ms;
	delay = delay / 2 + (int) ((unsigned) rand() % (unsigned) (delay / 2 + 1));
	in->backoff_ms = in->backoff_ms * 2 > TRK_BACKOFF_MAX_MS ? TRK_BACKOFF_MAX_MS : in->backoff_ms * 2;
	{
		char		ms[24];

		snprintf(ms, sizeof(ms), "%d", delay);
		trk_log_error("input failed; restarting from the checkpoints", "connection", in->conn->name,
					  "error", trk_buf_cstr(&msg), "retry_in_ms", ms, NULL);
	}
	trk_buf_free(&msg);
	trk_daemon_schedule_start(in, delay);
}

/*
 * trk_input_restart starts the input again from the checkpoints, at once
 * and without counting it as a failure: trucker does it on purpose (a
 * pipeline stopped, a transaction is applied again change by change, a
 * command changed a pipeline).
 */
void
trk_input_restart(trk_input_t *in, const char *fmt, ...)
{
	trk_buf_t	msg = {0};
	va_list		ap;

	va_start(ap, fmt);
	trk_buf_vappendf(&msg, fmt, ap);
	va_end(ap);
	in->backoff_ms = TRK_BACKOFF_MIN_MS;
	if (in->draining)
	{
		trk_input_fail(in, true, "%s", trk_buf_cstr(&msg));
		trk_buf_free(&msg);
		return;
	}
	trk_input_close_sessions(in);
	trk_log_info("restarting from the checkpoints", "connection", in->conn->name,
				 "reason", trk_buf_cstr(&msg), NULL);
	trk_buf_free(&msg);
	trk_daemon_schedule_start(in, TRK_RESTART_MS);
}

static void
finish_shutdown(trk_input_t *in)
{
	char		lsn[TRK_LSN_BUFSIZE];

	if (in->stream)
	{
		trk_lsn_t	min = trk_input_min_stored(in);

		/* the final status update: the slot keeps nothing it need not */
		trk_stream_feedback(in->stream, min);
		trk_log_info("stream stopped", "connection", in->conn->name,
					 "lsn", trk_lsn_format(min, lsn), NULL);
	}
	trk_input_close_sessions(in);
	uv_timer_stop(&in->timer);
	in->state = IN_CLOSED;
	trk_daemon_input_changed(in->daemon);
}

/* ------------------------------------------------------------------ */
/* batches                                                            */
/* ------------------------------------------------------------------ */

/* flush_rows sends d's pending run: anything else for d must come after it. */
static void
flush_rows(run_dest_t *d)
{
	if (d->pg && d->rows.nrows > 0)
		trk_rowbatch_flush(&d->rows, d->pg);
}

static bool
any_committing_or_busy(const trk_input_t *in)
{
	for (size_t i = 0; i < in->ndests; i++)
		if (in->dests[i].pg && trk_pgdest_is_busy(in->dests[i].pg))
			return true;
	return false;
}

static bool
any_open_or_committing(const trk_input_t *in)
{
	for (size_t i = 0; i < in->ndests; i++)
		if (in->dests[i].pg &&
			(trk_pgdest_is_open(in->dests[i].pg) || trk_pgdest_committing(in->dests[i].pg) > 0))
			return true;
	return false;
}

static void
maybe_resume(trk_input_t *in)
{
	/* shutting down, only the transaction in progress may go on */
	if (in->state != IN_STREAMING || in->stream == NULL || (in->draining && !in->in_txn))
		return;
	if (!any_committing_or_busy(in) && !trk_input_xform_blocked(in))
		trk_stream_resume(in->stream);
}

void
trk_input_maybe_resume(trk_input_t *in)
{
	maybe_resume(in);
}

bool
trk_input_dest_busy(const trk_input_t *in)
{
	return any_committing_or_busy(in);
}

/*
 * commit_dest ends d's batch: each of its pipelines' checkpoints moves to
 * what it has seen, in the same transaction, then COMMIT.  With
 * checkpoints_only, an output without a batch opens one just to move its
 * checkpoints (idle pipelines, shutdown).  When too many batches of d are
 * committing already, the batch stays open: on_committed comes back.
 */
static void
commit_dest(trk_input_t *in, run_dest_t *d, bool checkpoints_only)
{
	bool		any = false;
	uint64_t	seq;

	if (d->pg == NULL || !trk_pgdest_can_commit(d->pg))
		return;
	for (size_t i = 0; i < in->npipes; i++)
	{
		run_pipeline_t *p = &in->pipes[i];

		if (p->dest == d && p->pos.seen > p->pos.written)
			any = true;
	}
	if (!trk_pgdest_is_open(d->pg))
	{
		if (!checkpoints_only || !any)
			return;
		trk_pgdest_begin(d->pg);
	}
	flush_rows(d);
	if (d->pg == NULL)
		return;					/* the output failed: the input is restarting */
	seq = trk_pgdest_batch_seq(d->pg);
	for (size_t i = 0; i < in->npipes; i++)
	{
		run_pipeline_t *p = &in->pipes[i];
		char		from[TRK_LSN_BUFSIZE];
		char		to[TRK_LSN_BUFSIZE];
		const char *values[3];
		trk_lsn_t	was;
		trk_dest_tag_t tag = {(int) i, p->pos.seen, 0, TRK_CHECK_CHECKPOINT, 0, NULL, NULL, 0, 0};

		if (p->dest != d || !trk_progress_writing(&p->pos, seq, &was))
			continue;
		values[0] = p->def->name;
		values[1] = trk_lsn_format(was, from);
		values[2] = trk_lsn_format(p->pos.written, to);
		trk_pgdest_exec(d->pg, TRK_CHECKPOINT_UPDATE_SQL, 3, values, NULL, &tag, 0, true);
		if (d->pg == NULL)
			return;				/* the output failed: the input is restarting */
	}
	trk_pgdest_commit(d->pg);
}

/*
 * maybe_commit ends the batches that are due, between source transactions
 * only: all of them when the stream has nothing more buffered (low latency
 * when the source is quiet), else those past a batch limit.
 */
static void
maybe_commit(trk_input_t *in, bool all)
{
	uint64_t	now = uv_now(in->timer.loop);

	if (in->in_txn || in->state != IN_STREAMING)
		return;
	for (size_t i = 0; i < in->ndests; i++)
	{
		run_dest_t *d = &in->dests[i];

		if (d->pg == NULL || !trk_pgdest_is_open(d->pg))
			continue;
		if (all || in->draining ||
			(int64_t) trk_pgdest_batch_rows(d->pg) >= d->max_rows ||
			(int64_t) trk_pgdest_batch_bytes(d->pg) >= d->max_bytes ||
			(int64_t) (now - trk_pgdest_batch_started(d->pg)) >= d->max_delay_ms)
			commit_dest(in, d, false);
	}
}

static void
send_feedback(trk_input_t *in)
{
	trk_lsn_t	min = trk_input_min_stored(in);

	if (in->stream == NULL)
		return;
	if (min > in->flushed)
		in->flushed = min;
	in->last_status_ms = uv_now(in->timer.loop);
	trk_stream_feedback(in->stream, in->flushed);
}

/* ------------------------------------------------------------------ */
/* stopping one pipeline                                              */
/* ------------------------------------------------------------------ */

void
trk_input_stop_pipeline(trk_input_t *in, run_pipeline_t *p, trk_lsn_t at, const char *why)
{
	char		lsn[TRK_LSN_BUFSIZE];

	p->pos.stop = at;
	p->stop_unrecorded = true;	/* the restart records it in the output */
	free(p->stop_why);
	p->stop_why = trk_strdup(why);
	trk_log_error("pipeline stopped", "pipeline", p->def->name, "lsn", trk_lsn_format(at, lsn),
				  "error", why, "hint", "fix the cause, then `trucker resume`; or `trucker skip` "
				  "the transaction into trucker.dead_letters", NULL);
	/* its part of the open batch must go: start again from the checkpoints */
	trk_input_restart(in, "pipeline %s stopped; re-applying the others", p->def->name);
}

/* ------------------------------------------------------------------ */
/* apply                                                              */
/* ------------------------------------------------------------------ */

static void
ensure_scratch(trk_input_t *in, size_t n)
{
	if (n <= in->capvalues)
		return;
	in->capvalues = n * 2;
	in->values = trk_realloc(in->values, in->capvalues * sizeof(char *));
	in->types = trk_realloc(in->types, in->capvalues * sizeof(uint32_t));
}

static uint64_t
hash_text(uint64_t h, const trk_column_t *col)
{
	if (col == NULL || col->value.text == NULL)
		return (h ^ 0x100) * 1099511628211u;	/* NULL or absent */
	for (size_t i = 0; i < col->value.len; i++)
		h = (h ^ (unsigned char) col->value.text[i]) * 1099511628211u;
	return (h ^ 0x1ff) * 1099511628211u;
}

/*
 * key_of_update: the old key column o of an update, when it can be grouped
 * by it — present, not NULL, and unchanged by the update (new column n, if
 * the update carries it); a key change goes one by one.
 */
static bool
key_of_update(const trk_column_t *o, const trk_column_t *n)
{
	if (o == NULL || o->value.text == NULL)
		return false;
	return n == NULL || (n->value.text != NULL && n->value.len == o->value.len &&
						 memcmp(n->value.text, o->value.text, o->value.len) == 0);
}

/*
 * grouped decides whether a change may join a multi-row run, and hashes the
 * key it touches into *keyhash.  Inserts, updates and deletes by the input's
 * primary key qualify; an update only with typed values (a VALUES list
 * takes its types from them) and an unchanged key.
 */
static bool
grouped(const run_pipeline_t *p, const trk_change_t *c, const trk_mirror_stmt_t *st,
		uint64_t *keyhash)
{
	uint64_t	h = 14695981039346656037u;

	if (p->def->key != NULL || c->npk == 0)
		return false;
	switch (c->action)
	{
		case TRK_ACT_INSERT:
			for (size_t i = 0; i < c->npk; i++)
				h = hash_text(h, trk_change_column(c->columns, c->ncolumns, c->pk[i]));
			break;
		case TRK_ACT_DELETE:
			for (size_t i = 0; i < c->npk; i++)
				h = hash_text(h, trk_vars_old_column(c, c->pk[i]));
			break;
		case TRK_ACT_UPDATE:
			for (size_t i = 0; i < st->nparams; i++)
				if (st->params[i].type == 0)
					return false;
			for (size_t i = 0; i < c->npk; i++)
			{
				const trk_column_t *o = trk_vars_old_column(c, c->pk[i]);

				if (!key_of_update(o, trk_change_column(c->columns, c->ncolumns, c->pk[i])))
					return false;
				h = hash_text(h, o);
			}
			break;
		default:
			return false;
	}
	*keyhash = h;
	return true;
}

static bool
same_column(const trk_rowbatch_t *rb, size_t i, const char *name, const trk_column_t *col)
{
	return col != NULL && strcmp(rb->names[i], name) == 0 &&
		rb->types[i] == trk_mirror_param_type(col);
}

/* take_columns: the change's columns are the run's first ones; their values go in */
static bool
take_columns(trk_input_t *in, const trk_rowbatch_t *rb, const trk_change_t *c, size_t *n)
{
	for (size_t i = 0; i < c->ncolumns; i++)
	{
		const trk_column_t *col = &c->columns[i];

		if (!same_column(rb, i, col->name, col))
			return false;
		in->values[(*n)++] = col->value.kind == TRK_V_NULL ? NULL : col->value.text;
	}
	return true;
}

/*
 * join_run adds the change to d's pending run when it has the run's shape —
 * same pipeline, operation, columns and types — and may join it (as
 * grouped() decides), without building its statement: most changes of a
 * busy table come this way.  False: the change takes the general path.
 */
static bool
join_run(trk_input_t *in, run_pipeline_t *p, int idx, const trk_change_t *c, size_t bytes)
{
	trk_rowbatch_t *rb = &p->dest->rows;
	trk_dest_tag_t tag = {idx, in->txn_end, in->txn_xid, TRK_CHECK_NONE, 0, NULL, NULL, 0, 0};
	uint64_t	h = 14695981039346656037u;
	size_t		n = 0;

	if (rb->nrows == 0 || rb->pipeline != idx || rb->action != c->action ||
		p->def->key != NULL || c->npk == 0 || c->npk != rb->nkey || trk_rowbatch_full(rb))
		return false;
	/* the key too: partitions of one input may have different keys */
	for (size_t i = 0; i < c->npk; i++)
		if (strcmp(c->pk[i], rb->key[i]) != 0)
			return false;
	ensure_scratch(in, rb->nnames + 1);
	switch (c->action)
	{
		case TRK_ACT_INSERT:
			if (c->ncolumns != rb->nnames || !take_columns(in, rb, c, &n))
				return false;
			for (size_t i = 0; i < c->npk; i++)
				h = hash_text(h, trk_change_column(c->columns, c->ncolumns, c->pk[i]));
			break;
		case TRK_ACT_UPDATE:
			if (c->ncolumns != rb->nset || c->ncolumns + c->npk != rb->nnames ||
				!take_columns(in, rb, c, &n))
				return false;
			for (size_t i = 0; i < c->npk; i++)
			{
				const trk_column_t *o = trk_vars_old_column(c, c->pk[i]);

				if (!same_column(rb, n, c->pk[i], o) ||
					!key_of_update(o, trk_change_column(c->columns, c->ncolumns, c->pk[i])))
					return false;
				in->values[n++] = o->value.text;
				h = hash_text(h, o);
			}
			break;
		case TRK_ACT_DELETE:
			if (c->npk != rb->nnames)
				return false;
			for (size_t i = 0; i < c->npk; i++)
			{
				const trk_column_t *o = trk_vars_old_column(c, c->pk[i]);

				if (!same_column(rb, n, c->pk[i], o) || o->value.text == NULL)
					return false;
				in->values[n++] = o->value.text;
				h = hash_text(h, o);
			}
			break;
		default:
			return false;
	}
	if (trk_rowbatch_has_key(rb, h))
		return false;
	trk_pgdest_note_change(p->dest->pg, bytes);
	trk_rowbatch_add(rb, in->values, h, &tag, bytes);
	if (trk_rowbatch_full(rb))
		flush_rows(p->dest);
	return true;
}

/*
 * expects_rows: the pipeline's updates must find their rows — unless it
 * leaves inserts out, when an update of a row it never wrote is normal.
 */
static bool
expects_rows(const run_pipeline_t *p)
{
	return (p->def->operations & TRK_OP_INSERT) != 0;
}

/* may_group: the change may join a multi-row run at all */
static bool
may_group(const trk_input_t *in, const run_pipeline_t *p)
{
	return p->one_by_one == 0 || in->txn_end > p->one_by_one;
}

/*
 * describing: the pipeline's statements carry their parameters, for the
 * log line of a failure — only while a failed transaction is re-applied,
 * since copying every change's values costs.
 */
static bool
describing(const trk_input_t *in, const run_pipeline_t *p)
{
	return !may_group(in, p);
}

/*
 * dead_lettering: on_error: dead_letter, and this transaction failed: each
 * of the pipeline's statements runs under a savepoint of its own in the
 * output (trucker.try_apply), a failing one sending its change to
 * trucker.dead_letters, and the transaction goes on.
 */
static bool
dead_lettering(const trk_input_t *in, const run_pipeline_t *p)
{
	return p->dl_lsn != 0 && p->dl_lsn == in->txn_end;
}

/* append_array appends a text[] literal of values (NULL = SQL NULL) to empty b */
static void
append_array(trk_buf_t *b, int n, const char *const *values)
{
	for (int i = 0; i < n; i++)
		trk_array_append(b, values[i]);
	trk_buf_append(b, n > 0 ? "}" : "{}");
}

/* the text of a dead letter's where-from: room for its values */
typedef struct where_from
{
	char		lsn[TRK_LSN_BUFSIZE];
	char		end[TRK_LSN_BUFSIZE];
	char		xid[16];
} where_from_t;

/*
 * where_from fills args[0..4] — pipeline, the change's LSN, its
 * transaction's end LSN, xid and the change as sent — for a dead letter.
 */
static void
where_from(const trk_input_t *in, const run_pipeline_t *p, const trk_change_t *c,
		   where_from_t *w, const char **args)
{
	snprintf(w->xid, sizeof(w->xid), "%u", in->txn_xid);
	args[0] = p->def->name;
	args[1] = c->lsn ? trk_lsn_format(c->lsn, w->lsn) : NULL;
	args[2] = trk_lsn_format(in->txn_end, w->end);
	args[3] = in->txn_has_xid ? w->xid : NULL;
	args[4] = in->msg;
}

/*
 * send_stmt queues a pipeline's statement for change c on its output —
 * through trucker.try_apply while the pipeline is dead-lettering.
 */
static void
send_stmt(trk_input_t *in, run_pipeline_t *p, const trk_change_t *c, const char *sql, int n,
		  const char *const *values, const uint32_t *types, const trk_dest_tag_t *tag,
		  size_t bytes, bool prepare)
{
	trk_buf_t	params = {0};
	trk_buf_t	oids = {0};
	where_from_t w;
	const char *args[8];

	if (!dead_lettering(in, p))
	{
		trk_pgdest_exec(p->dest->pg, sql, n, values, types, tag, bytes, prepare);
		return;
	}
	append_array(&params, n, values);
	trk_buf_appendc(&oids, '{');
	for (int i = 0; i < n; i++)
		trk_buf_appendf(&oids, "%s%u", i ? "," : "", types ? types[i] : 0);
	trk_buf_appendc(&oids, '}');
	where_from(in, p, c, &w, args);
	args[5] = sql;
	args[6] = trk_buf_cstr(&params);
	args[7] = trk_buf_cstr(&oids);
	trk_pgdest_exec(p->dest->pg, TRK_TRY_APPLY_SQL, 8, args, NULL, tag, bytes, true);
	trk_buf_free(&params);
	trk_buf_free(&oids);
}

/*
 * write_dead_letter sends insert — an INSERT INTO trucker.dead_letters of
 * nargs parameters, args[0..4] the where-from (filled here), the rest the
 * caller's — in the batch that moves the checkpoint past change c.
 */
static bool
write_dead_letter(trk_input_t *in, run_pipeline_t *p, const trk_change_t *c, size_t bytes,
				  const trk_dest_tag_t *tag, const char *insert, int nargs, const char **args)
{
	where_from_t w;

	if (!trk_pgdest_is_open(p->dest->pg))
		trk_pgdest_begin(p->dest->pg);
	flush_rows(p->dest);
	if (p->dest->pg == NULL)
		return false;			/* the output failed: the input is restarting */
	where_from(in, p, c, &w, args);
	trk_pgdest_note_change(p->dest->pg, bytes);
	trk_pgdest_exec(p->dest->pg, insert, nargs, args, NULL, tag, bytes, true);
	return true;
}

/* dead_letter writes change c of a transaction `trucker skip` passed over */
static bool
dead_letter(trk_input_t *in, run_pipeline_t *p, int idx, const trk_change_t *c, size_t bytes)
{
	trk_dest_tag_t tag = {idx, in->txn_end, in->txn_xid, TRK_CHECK_NONE, 0, NULL, NULL, 0, 0};
	trk_buf_t	why = {0};
	const char *args[6];
	bool		ok;

	trk_buf_append(&why, "skipped by `trucker skip`");
	if (p->skip_why && p->skip_why[0])
		trk_buf_appendf(&why, "; it had failed with: %s", p->skip_why);
	args[5] = trk_buf_cstr(&why);
	ok = write_dead_letter(in, p, c, bytes, &tag, TRK_DEAD_LETTER_SQL, 6, args);
	trk_buf_free(&why);
	return ok;
}

/*
 * dead_transform writes change c, whose transform.sql failed, with that
 * statement, its values and the error (on_error: dead_letter).
 */
static bool
dead_transform(trk_input_t *in, run_pipeline_t *p, int idx, const trk_change_t *c, size_t bytes,
			   const char *sql, const char *params, const char *sqlstate, const char *error)
{
	trk_dest_tag_t tag = {idx, in->txn_end, in->txn_xid, TRK_CHECK_NONE, 0,
	p->def->sql_file[TRK_SQL_TRANSFORM], NULL, 0, 0};
	const char *args[9];

	args[5] = sql;
	args[6] = params;
	args[7] = sqlstate;
	args[8] = error;
	return write_dead_letter(in, p, c, bytes, &tag, TRK_DEAD_TRANSFORM_SQL, 9, args);
}

static trk_sql_kind_t
kind_of(trk_action_t a)
{
	return a == TRK_ACT_INSERT ? TRK_SQL_INSERT :
		a == TRK_ACT_UPDATE ? TRK_SQL_UPDATE : TRK_SQL_DELETE;
}

static bool
has_writes(const run_pipeline_t *p)
{
	return p->def->sql[TRK_SQL_INSERT] || p->def->sql[TRK_SQL_UPDATE] ||
		p->def->sql[TRK_SQL_DELETE];
}

/*
 * apply_write runs the pipeline's own insert.sql, update.sql or delete.sql
 * for the change, as a prepared statement in the open batch.  A change the
 * template cannot be bound to (a column it does not carry) stops the
 * pipeline there: a value is never made up.
 */
static bool
apply_write(trk_input_t *in, run_pipeline_t *p, int idx, const trk_change_t *c, size_t bytes,
			const trk_column_t *row, size_t nrow)
{
	trk_sql_kind_t kind = kind_of(c->action);
	run_dest_t *d = p->dest;
	trk_write_t *w = &in->write;
	trk_vars_t	vars;
	trk_dest_tag_t tag = {idx, in->txn_end, in->txn_xid, TRK_CHECK_NONE, 0,
	p->def->sql_file[kind], NULL, 0, 0};

	trk_vars_init(&vars, c, in->txn_end, in->txn_time, in->txn_xid, in->txn_has_xid);
	vars.transformed = row;
	vars.ntransformed = nrow;
	trk_buf_reset(&in->err);
	if (trk_write_bind(p->def->sql[kind], &vars, w, &in->err) != 0)
	{
		trk_input_stop_pipeline(in, p, in->txn_end, trk_buf_cstr(&in->err));
		return false;
	}
	if (w->stmt->empty)
		return true;
	if (!trk_pgdest_is_open(d->pg))
		trk_pgdest_begin(d->pg);
	flush_rows(d);
	if (d->pg == NULL)
		return false;			/* the output failed: the input is restarting */
	if (describing(in, p))
	{
		trk_buf_reset(&in->about);
		trk_write_describe(w, p->def->redact, p->def->nredact, &in->about);
		tag.about = trk_buf_cstr(&in->about);
	}
	trk_pgdest_note_change(d->pg, bytes);
	send_stmt(in, p, c, w->stmt->sql, w->stmt->nparams, w->texts, w->types, &tag, bytes, true);
	return true;
}

static bool
apply_mirror(trk_input_t *in, run_pipeline_t *p, int idx, const trk_change_t *c, size_t bytes,
			 const trk_column_t *row, size_t nrow)
{
	run_dest_t *d = p->dest;
	trk_pgdest_t *pg = d->pg;
	trk_mirror_stmt_t *st = &in->stmt;
	trk_dest_tag_t tag = {idx, in->txn_end, in->txn_xid, TRK_CHECK_NONE, 0, NULL, NULL, 0, 0};
	const char *sql;
	uint64_t	keyhash = 0;

	/* a transformed row goes one by one: its shape is the transform's */
	bool		group = may_group(in, p) && row == NULL && p->def->sql[TRK_SQL_TRANSFORM] == NULL;

	if (group && join_run(in, p, idx, c, bytes))
		return true;
	trk_buf_reset(&in->err);
	if (trk_mirror_build(&p->def->output_table, p->def->key, p->def->nkey, c, row, nrow,
						 st, &in->err) != 0)
	{
		trk_input_stop_pipeline(in, p, in->txn_end, trk_buf_cstr(&in->err));
		return false;
	}
	ensure_scratch(in, st->nparams + 1);
	for (size_t i = 0; i < st->nparams; i++)
	{
		const trk_value_t *v = &st->params[i].value;

		in->values[i] = v->kind == TRK_V_NULL || v->kind == TRK_V_ABSENT ? NULL : v->text;
		in->types[i] = st->params[i].type;
	}
	if (!trk_pgdest_is_open(pg))
		trk_pgdest_begin(pg);
	trk_pgdest_note_change(pg, bytes);
	sql = trk_buf_cstr(&st->sql);
	if (group && grouped(p, c, st, &keyhash))
	{
		if (!trk_rowbatch_matches(&d->rows, idx, sql) || trk_rowbatch_has_key(&d->rows, keyhash))
		{
			const char **names;
			size_t		nset = 0;

			flush_rows(d);
			if (d->pg == NULL)
				return false;	/* the output failed: the input is restarting */
			names = trk_malloc((st->nparams + 1) * sizeof(char *));
			/* the single-row statement's parameters, by column */
			if (c->action == TRK_ACT_INSERT)
				for (size_t i = 0; i < st->nparams; i++)
					names[i] = c->columns[i].name;
			else if (c->action == TRK_ACT_UPDATE)
			{
				nset = c->ncolumns;
				for (size_t i = 0; i < nset; i++)
					names[i] = c->columns[i].name;
				for (size_t i = nset; i < st->nparams; i++)
					names[i] = c->pk[i - nset];
			}
			else
				for (size_t i = 0; i < st->nparams; i++)
					names[i] = c->pk[i];
			trk_rowbatch_start(&d->rows, idx, c->action, &p->def->output_table, sql,
							   names, st->nparams, nset, (char *const *) c->pk, c->npk,
							   in->types);
			d->rows.expect_rows = c->action == TRK_ACT_UPDATE && expects_rows(p);
			free(names);
		}
		trk_rowbatch_add(&d->rows, in->values, keyhash, &tag, bytes);
		if (trk_rowbatch_full(&d->rows))
			flush_rows(d);
		return true;
	}
	flush_rows(d);
	if (d->pg == NULL)
		return false;
	if (c->action == TRK_ACT_UPDATE && row == NULL && expects_rows(p))
	{
		/* an update that finds no row: the output has diverged */
		trk_buf_reset(&in->sql);
		trk_buf_append(&in->sql, sql);
		trk_mirror_expect_rows(&in->sql, 1);
		sql = trk_buf_cstr(&in->sql);
		tag.check = TRK_CHECK_ROWS;
	}
	if (describing(in, p))
	{
		trk_buf_reset(&in->about);
		for (size_t i = 0; i < st->nparams; i++)
			trk_write_describe_param(&in->about, i + 1, st->params[i].label, in->values[i],
									 p->def->redact, p->def->nredact);
		tag.about = trk_buf_cstr(&in->about);
	}
	send_stmt(in, p, c, sql, (int) st->nparams, in->values, in->types, &tag, bytes, true);
	return true;
}

/*
 * group_transformed adds a transformed row of an insert or update — an
 * upsert by the output key, either way — to a multi-row run of upserts of
 * its shape.  False: it goes one by one (no key in the row, a
 * transaction being pinned down, a template for the operation).
 */
static bool
group_transformed(trk_input_t *in, run_pipeline_t *p, int idx, const trk_change_t *c,
				  const trk_column_t *row, size_t nrow, size_t bytes)
{
	run_dest_t *d = p->dest;
	trk_rowbatch_t *rb = &d->rows;
	char	   *const *key = p->def->key ? p->def->key : (char *const *) c->pk;
	size_t		nkey = p->def->key ? p->def->nkey : c->npk;
	trk_dest_tag_t tag = {idx, in->txn_end, in->txn_xid, TRK_CHECK_NONE, 0, NULL, NULL, 0, 0};
	uint64_t	h = 14695981039346656037u;
	bool		same;

	if (!may_group(in, p) || nkey == 0 || nrow == 0 ||
		(c->action != TRK_ACT_INSERT && c->action != TRK_ACT_UPDATE))
		return false;
	for (size_t i = 0; i < nkey; i++)
	{
		const trk_column_t *k = trk_change_column(row, nrow, key[i]);

		if (k == NULL || k->value.kind == TRK_V_NULL)
			return false;
		h = hash_text(h, k);
	}
	ensure_scratch(in, nrow + 1);
	for (size_t i = 0; i < nrow; i++)
	{
		in->values[i] = row[i].value.kind == TRK_V_NULL ? NULL : row[i].value.text;
		in->types[i] = 0;
	}
	same = rb->nrows > 0 && rb->pipeline == idx && rb->action == TRK_ACT_INSERT &&
		rb->nnames == nrow && rb->nkey == nkey && strcmp(rb->sig, "(transformed)") == 0;
	for (size_t i = 0; same && i < nrow; i++)
		same = strcmp(rb->names[i], row[i].name) == 0;
	for (size_t i = 0; same && i < nkey; i++)
		same = strcmp(rb->key[i], key[i]) == 0;
	if (!trk_pgdest_is_open(d->pg))
		trk_pgdest_begin(d->pg);
	if (!same || trk_rowbatch_has_key(rb, h))
	{
		flush_rows(d);
		if (d->pg == NULL)
			return true;		/* the output failed: the input is restarting */
	}
	if (rb->nrows == 0)
	{
		const char **names = trk_malloc((nrow + 1) * sizeof(char *));

		for (size_t i = 0; i < nrow; i++)
			names[i] = row[i].name;
		trk_rowbatch_start(rb, idx, TRK_ACT_INSERT, &p->def->output_table, "(transformed)",
						   names, nrow, 0, key, nkey, in->types);
		free(names);
	}
	trk_pgdest_note_change(d->pg, bytes);
	trk_rowbatch_add(rb, in->values, h, &tag, bytes);
	if (trk_rowbatch_full(rb))
		flush_rows(d);
	return true;
}

static bool
apply_one(trk_input_t *in, run_pipeline_t *p, int idx, const trk_change_t *c, size_t bytes,
		  const trk_column_t *row, size_t nrow)
{
	if (p->def->sql[kind_of(c->action)] != NULL)
		return apply_write(in, p, idx, c, bytes, row, nrow);
	if (row != NULL && group_transformed(in, p, idx, c, row, nrow, bytes))
		return p->dest->pg != NULL;
	return apply_mirror(in, p, idx, c, bytes, row, nrow);
}

/*
 * key_moved: the update changed the output key, as the first transformed
 * row has it, from what the old row holds under the same column names.
 * The mirror's upsert then writes a new row, and the old one must go.
 */
static bool
key_moved(const run_pipeline_t *p, const trk_change_t *c, const trk_xrows_t *r)
{
	size_t		nkey = p->def->key ? p->def->nkey : c->npk;
	bool		moved = false;

	if (c->identity == NULL)
		return false;			/* the old row was not logged: its key stayed */
	for (size_t i = 0; i < nkey; i++)
	{
		const char *k = p->def->key ? p->def->key[i] : c->pk[i];
		const trk_column_t *o = trk_change_column(c->identity, c->nidentity, k);
		int			f = -1;

		/* by exact name: PQfnumber would fold the case */
		for (int j = 0; j < trk_xrows_nfields(r) && f < 0; j++)
			if (strcmp(trk_xrows_name(r, j), k) == 0)
				f = j;

		if (o == NULL || o->value.text == NULL || f < 0 || trk_xrows_isnull(r, 0, f))
			return false;		/* not comparable: nothing is known to move */
		if (strcmp(o->value.text, trk_xrows_value(r, 0, f)) != 0)
			moved = true;
	}
	return moved;
}

/* delete_old_key removes, before a moved row is written, the row under its old key */
static bool
delete_old_key(trk_input_t *in, run_pipeline_t *p, int idx, const trk_change_t *c, size_t bytes)
{
	trk_change_t del = *c;

	del.action = TRK_ACT_DELETE;
	del.columns = NULL;
	del.ncolumns = 0;
	return apply_mirror(in, p, idx, &del, bytes, NULL, 0);
}

/*
 * apply_transformed writes each row transform.sql returned for the change.
 * No row skips the change — except a delete without delete.sql, which the
 * mirror still applies by the old row's key.
 */
static bool
apply_transformed(trk_input_t *in, run_pipeline_t *p, int idx, const trk_change_t *c,
				  size_t bytes)
{
	const trk_xrows_t *r = trk_input_xform_rows(in, idx);
	int			n = trk_xrows_count(r);
	int			nf = n > 0 ? trk_xrows_nfields(r) : 0;
	trk_column_t *row;
	const char *sql;
	const char *params;
	const char *sqlstate;
	const char *error;

	if (trk_xrows_dead(r, &sql, &params, &sqlstate, &error))
		return dead_transform(in, p, idx, c, bytes, sql, params, sqlstate, error);
	if (n == 0)
	{
		if (c->action == TRK_ACT_DELETE && p->def->sql[TRK_SQL_DELETE] == NULL)
			return apply_mirror(in, p, idx, c, bytes, NULL, 0);
		return true;
	}
	row = trk_arena_alloc(&in->arena, (size_t) nf * sizeof(trk_column_t));
	for (int i = 0; i < n; i++)
	{
		if (i == 0 && c->action == TRK_ACT_UPDATE && p->def->sql[TRK_SQL_UPDATE] == NULL &&
			key_moved(p, c, r) &&
			(!delete_old_key(in, p, idx, c, bytes) || in->state != IN_STREAMING))
			return false;			/* (r may be gone with the queue) */
		for (int j = 0; j < nf; j++)
			trk_column_set(&row[j], trk_xrows_name(r, j),
						   trk_xrows_isnull(r, i, j) ? NULL : trk_xrows_value(r, i, j),
						   (size_t) trk_xrows_length(r, i, j));
		if (!apply_one(in, p, idx, c, bytes, row, (size_t) nf) || in->state != IN_STREAMING)
			return false;
	}
	return true;
}

static bool
apply_truncate(trk_input_t *in, run_pipeline_t *p, int idx, const trk_change_t *c)
{
	trk_buf_t	sql = {0};
	trk_dest_tag_t tag = {idx, in->txn_end, in->txn_xid, TRK_CHECK_NONE, 0, NULL, NULL, 0, 0};

	if (p->nleaves > 0)
	{
		/*
		 * A partitioned input's TRUNCATE arrives as one message per
		 * partition, all at the same LSN.  Only a truncate of every
		 * partition can be mirrored; it is applied once the last arrives.
		 */
		if (p->trunc_count == 0 || p->trunc_lsn != c->lsn)
		{
			p->trunc_lsn = c->lsn;
			p->trunc_count = 0;
		}
		if (++p->trunc_count < p->nleaves)
			return true;
		p->trunc_count = 0;
	}
	trk_buf_append(&sql, "TRUNCATE ");
	trk_quote_table(&sql, &p->def->output_table);
	if (!trk_pgdest_is_open(p->dest->pg))
		trk_pgdest_begin(p->dest->pg);
	flush_rows(p->dest);
	if (p->dest->pg == NULL)
	{
		trk_buf_free(&sql);
		return false;
	}
	trk_pgdest_note_change(p->dest->pg, 0);
	if (describing(in, p))
		tag.about = "";
	send_stmt(in, p, c, trk_buf_cstr(&sql), 0, NULL, NULL, &tag, 0, false);
	trk_buf_free(&sql);
	return true;
}

/* check_partial_truncate stops a pipeline whose partitions were only partly truncated. */
static bool
check_partial_truncate(trk_input_t *in, run_pipeline_t *p, trk_lsn_t lsn)
{
	char		why[256];

	if (p->trunc_count == 0 || p->trunc_lsn == lsn)
		return true;
	snprintf(why, sizeof(why),
			 "TRUNCATE of some partitions of %s.%s cannot be mirrored into one table; "
			 "backfill the pipeline",
			 p->def->input_table.schema, p->def->input_table.name);
	trk_input_stop_pipeline(in, p, in->txn_end, why);
	return false;
}

static trk_op_t
op_of(trk_action_t a)
{
	switch (a)
	{
		case TRK_ACT_INSERT:
			return TRK_OP_INSERT;
		case TRK_ACT_UPDATE:
			return TRK_OP_UPDATE;
		case TRK_ACT_DELETE:
			return TRK_OP_DELETE;
		default:
			return 0;
	}
}

/* ------------------------------------------------------------------ */
/* stream callbacks                                                   */
/* ------------------------------------------------------------------ */

static void
on_begin(trk_input_t *in, const trk_change_t *c)
{
	if (in->draining)
	{
		/* shutting down: no new transaction; it comes again after a restart */
		trk_stream_pause(in->stream);
		return;
	}
	in->in_txn = true;
	in->txn_end = c->nextlsn;
	in->txn_xid = c->xid;
	in->txn_has_xid = c->has_xid;
	snprintf(in->txn_time, sizeof(in->txn_time), "%s", c->timestamp ? c->timestamp : "");
	for (size_t i = 0; i < in->npipes; i++)
	{
		run_pipeline_t *p = &in->pipes[i];

		p->skip = trk_progress_skips(&p->pos, in->txn_end);
		p->dead = !p->skip && p->skip_lsn != 0 && p->skip_lsn == in->txn_end;
	}
}

static void
on_commit(trk_input_t *in)
{
	for (size_t i = 0; i < in->npipes; i++)
	{
		run_pipeline_t *p = &in->pipes[i];

		if (p->skip)
			continue;
		if (!check_partial_truncate(in, p, 0))
			return;
		trk_progress_applied(&p->pos, in->txn_end);
	}
	in->in_txn = false;
	maybe_commit(in, false);
	if (in->draining && in->state == IN_STREAMING)
	{
		for (size_t i = 0; i < in->ndests && in->state == IN_STREAMING; i++)
			commit_dest(in, &in->dests[i], true);
		if (in->state != IN_STREAMING)
			return;				/* an output failed: shut down already */
		trk_stream_pause(in->stream);
		if (!any_open_or_committing(in))
			finish_shutdown(in);
	}
}

static void
on_row(trk_input_t *in, const trk_change_t *c, size_t bytes)
{
	const trk_route_t *rt = trk_router_find(&in->router, c->schema, c->table);
	char		lsn[TRK_LSN_BUFSIZE];

	if (!in->in_txn)
		return;
	if (rt == NULL)
	{
		/*
		 * A table the filter let through but nobody routes: a partition
		 * created since the start, in a schema subscribed whole.  Start
		 * again (nothing of this transaction is committed) to learn it.
		 */
		trk_log_info("a new table in a watched schema; restarting to route it",
					 "connection", in->conn->name, "schema", c->schema, "table", c->table,
					 "lsn", trk_lsn_format(in->txn_end, lsn), NULL);
		trk_input_restart(in, "new table %s.%s", c->schema, c->table);
		return;
	}
	for (size_t i = 0; i < rt->npipelines; i++)
	{
		int			idx = rt->pipelines[i];
		run_pipeline_t *p = &in->pipes[idx];

		if (p->skip)
			continue;
		if (p->dead)
		{
			if (!dead_letter(in, p, idx, c, bytes))
				return;
			continue;
		}
		if (c->action != TRK_ACT_TRUNCATE && !check_partial_truncate(in, p, c->lsn))
			return;
		if (c->action == TRK_ACT_TRUNCATE)
		{
			if (has_writes(p))
			{
				char		why[512];

				snprintf(why, sizeof(why),
						 "TRUNCATE of %s.%s: the pipeline's own insert.sql, update.sql or "
						 "delete.sql cannot follow it; backfill the pipeline",
						 p->def->input_table.schema, p->def->input_table.name);
				trk_input_stop_pipeline(in, p, in->txn_end, why);
				return;
			}
			if (!apply_truncate(in, p, idx, c))
				return;
		}
		else if ((p->def->operations & op_of(c->action)) != 0)
		{
			if (p->def->sql[TRK_SQL_TRANSFORM] != NULL)
			{
				if (!apply_transformed(in, p, idx, c, bytes))
					return;
			}
			else if (!apply_one(in, p, idx, c, bytes, NULL, 0))
				return;
		}
		if (in->state != IN_STREAMING)
			return;
		if (trk_pgdest_is_busy(p->dest->pg))
			trk_stream_pause(in->stream);
	}
}

int
trk_input_decode(trk_input_t *in, trk_lsn_t start, const char *data, size_t len,
				 trk_change_t *c)
{
	char		lsn[TRK_LSN_BUFSIZE];

	trk_arena_reset(&in->arena);
	trk_buf_reset(&in->err);
	if (trk_wal2json_decode(&in->arena, data, len, c, &in->err) != 0)
	{
		trk_input_fail(in, true, "cannot decode the wal2json message at %s: %s",
					   trk_lsn_format(start, lsn), trk_buf_cstr(&in->err));
		return -1;
	}
	if (c->action == TRK_ACT_BEGIN && c->nextlsn == 0)
	{
		trk_input_fail(in, true, "a transaction at %s has no end LSN",
					   trk_lsn_format(start, lsn));
		return -1;
	}
	return 0;
}

void
trk_input_dispatch(trk_input_t *in, const trk_change_t *c, size_t len)
{
	switch (c->action)
	{
		case TRK_ACT_BEGIN:
			on_begin(in, c);
			break;
		case TRK_ACT_COMMIT:
			if (in->in_txn)
				on_commit(in);
			break;
		case TRK_ACT_INSERT:
		case TRK_ACT_UPDATE:
		case TRK_ACT_DELETE:
		case TRK_ACT_TRUNCATE:
			on_row(in, c, len);
			break;
		case TRK_ACT_MESSAGE:
			/* logical messages carry no rows: nothing to mirror */
			break;
	}
}

static void
on_data(void *arg, trk_lsn_t start, const char *data, size_t len)
{
	trk_input_t *in = arg;
	trk_change_t c;

	in->drained = false;
	if (start > in->walend)
		in->walend = start;
	if (in->has_xform)
	{
		trk_input_xform_message(in, start, data, len);
		return;
	}
	in->msg = data;
	in->msglen = len;
	if (trk_input_decode(in, start, data, len, &c) == 0)
		trk_input_dispatch(in, &c, len);
}

static void
on_keepalive(void *arg, trk_lsn_t walend)
{
	trk_input_t *in = arg;

	if (walend > in->walend)
		in->walend = walend;
	if (in->has_xform && !trk_input_xform_keepalive(in, walend))
		return;					/* queued behind the transactions before it */
	trk_input_keepalive(in, walend);
}

void
trk_input_keepalive(trk_input_t *in, trk_lsn_t walend)
{
	/*
	 * Between transactions, the server's position says no transaction
	 * committed before it is still to come: idle pipelines have seen
	 * everything up to it.
	 */
	if (in->in_txn)
		return;
	for (size_t i = 0; i < in->npipes; i++)
		trk_progress_keepalive(&in->pipes[i].pos, walend);
}

/*
 * commit_quiet ends, between transactions on a quiet stream, the batches
 * at least TRK_QUIET_COMMIT_MS old, and comes back for the younger ones:
 * a source that is only briefly quiet shares one commit for many small
 * transactions, and one that stays quiet sees its changes within a few
 * milliseconds.
 */
static void
commit_quiet(trk_input_t *in)
{
	uint64_t	now = uv_now(in->timer.loop);
	uint64_t	wait = 0;

	if (in->in_txn || in->state != IN_STREAMING)
		return;
	for (size_t i = 0; i < in->ndests; i++)
	{
		run_dest_t *d = &in->dests[i];
		uint64_t	age;

		if (d->pg == NULL || !trk_pgdest_is_open(d->pg))
			continue;
		age = now - trk_pgdest_batch_started(d->pg);
		if (age >= TRK_QUIET_COMMIT_MS || in->draining)
			commit_dest(in, d, false);
		else if (wait == 0 || TRK_QUIET_COMMIT_MS - age < wait)
			wait = TRK_QUIET_COMMIT_MS - age;
	}
	if (wait > 0 && in->state == IN_STREAMING)
		uv_timer_start(&in->commit_timer, on_commit_timer, wait, 0);
}

static void
on_commit_timer(uv_timer_t *t)
{
	trk_input_t *in = t->data;

	if (in->drained)
		commit_quiet(in);
}

void
trk_input_commit_quiet(trk_input_t *in)
{
	commit_quiet(in);
}

static void
on_drained(void *arg)
{
	trk_input_t *in = arg;

	in->drained = true;
	if (in->has_xform)
		trk_input_xform_drained(in);
	if (!in->has_xform || in->queue.count == 0)
		commit_quiet(in);
	/*
	 * A pending multi-row run stays: the stream runs dry between the
	 * server's sends all the time, and cutting runs there would send many
	 * short statements.  It goes with its batch's commit, which a quiet
	 * stream brings within TRK_QUIET_COMMIT_MS.
	 */
	for (size_t i = 0; i < in->ndests; i++)
		if (in->dests[i].pg)
			trk_pgdest_flush(in->dests[i].pg);
}

static void
on_stream_error(void *arg, const char *message)
{
	trk_input_t *in = arg;

	trk_input_fail(in, true, "%s", message);
}

/* ------------------------------------------------------------------ */
/* destination callbacks                                              */
/* ------------------------------------------------------------------ */

static void
on_committed(void *arg, trk_pgdest_t *pg, uint64_t seq)
{
	trk_input_t *in = arg;
	run_dest_t *d = dest_of(in, pg);

	if (d == NULL)
		return;
	for (size_t i = 0; i < in->npipes; i++)
	{
		run_pipeline_t *p = &in->pipes[i];

		if (p->dest == d)
			trk_progress_committed(&p->pos, seq);
	}
	in->backoff_ms = TRK_BACKOFF_MIN_MS;
	send_feedback(in);
	if (in->draining)
	{
		/* the rest of the transaction in progress may wait in the queue */
		if (in->has_xform && in->in_txn && in->state == IN_STREAMING)
			trk_input_xform_drain(in);
		/* a batch that had to wait for room to commit goes now */
		if (!in->in_txn && in->state == IN_STREAMING)
			commit_dest(in, d, true);
		/* or the transaction in progress, paused for room, goes on */
		if (in->in_txn)
			maybe_resume(in);
		else if (in->state == IN_STREAMING && !any_open_or_committing(in))
			finish_shutdown(in);
		return;
	}
	/* batches that came due while there was no room to commit them */
	if (in->drained)
		commit_quiet(in);
	else
		maybe_commit(in, false);
	if (in->has_xform && in->state == IN_STREAMING)
		trk_input_xform_drain(in);
	maybe_resume(in);
}

static void
on_ready(void *arg, trk_pgdest_t *pg)
{
	trk_input_t *in = arg;

	(void) pg;
	/* the queue waits for room on the outputs too */
	if (in->has_xform)
		trk_input_xform_drain(in);
	maybe_resume(in);
}

static bool
is_data_error(const char *sqlstate)
{
	/* 21: an upsert touching one row twice (keys equal only in their type) */
	return strncmp(sqlstate, "21", 2) == 0 || strncmp(sqlstate, "22", 2) == 0 ||
		strncmp(sqlstate, "23", 2) == 0 || strncmp(sqlstate, "42", 2) == 0;
}

static void
on_dest_error(void *arg, trk_pgdest_t *pg, const trk_dest_error_t *err)
{
	trk_input_t *in = arg;
	run_dest_t *d = dest_of(in, pg);
	const char *name = d ? d->conn->name : "?";

	if (err->tag.check == TRK_CHECK_CHECKPOINT &&
		err->tag.pipeline >= 0 && (size_t) err->tag.pipeline < in->npipes)
	{
		/* never the data's fault: no pipeline stops over it */
		if (err->check_failed)
			trk_input_fail(in, true, "output \"%s\": the checkpoint of pipeline %s is not where "
						   "this session left it (a batch before this one failed, or another "
						   "trucker writes this pipeline's output); starting again from the "
						   "stored checkpoints", name, in->pipes[err->tag.pipeline].def->name);
		else
			trk_input_fail(in, true, "output \"%s\": cannot move the checkpoint of pipeline %s: "
						   "%s (SQLSTATE %s)", name, in->pipes[err->tag.pipeline].def->name,
						   err->message, err->connection ? "none" : err->sqlstate);
		return;
	}
	if (trk_input_statement_failed(in, name, err))
		return;
	if (err->connection)
		trk_input_fail(in, true, "output \"%s\": %s", name, err->message);
	else
		trk_input_fail(in, true, "output \"%s\": %s (SQLSTATE %s)", name, err->message,
					   err->sqlstate);
}

/*
 * trk_input_statement_failed handles a statement of one pipeline failing
 * with a data error, on an output or (a transform) on the input database
 * named where: the pipeline stops at that source transaction, after it has
 * been applied once more to name the change at fault.  False: not a data
 * error of a pipeline; the caller restarts the input.
 */
bool
trk_input_statement_failed(trk_input_t *in, const char *where, const trk_dest_error_t *err)
{
	const char *name = where;

	if (!err->connection && is_data_error(err->sqlstate) &&
		err->tag.pipeline >= 0 && (size_t) err->tag.pipeline < in->npipes)
	{
		run_pipeline_t *p = &in->pipes[err->tag.pipeline];
		char		lsn[TRK_LSN_BUFSIZE];
		char		last[TRK_LSN_BUFSIZE];
		char		xid[16];
		/*
		 * A data exception's message quotes the value at fault (invalid
		 * input syntax for type integer: "…"): not for a pipeline that
		 * keeps columns out of the log.
		 */
		const char *msg = p->def->nredact > 0 && strncmp(err->sqlstate, "22", 2) == 0 ?
			"(the message is withheld: the pipeline redacts columns)" : err->message;
		const char *why = msg;

		if (err->tag.last > err->tag.lsn)
		{
			/*
			 * A multi-row statement holding rows of several source
			 * transactions failed: which one is at fault is not known.
			 * Apply them again one change at a time, so the error comes
			 * back pinned on its own transaction and the ones before it
			 * apply.
			 */
			p->one_by_one = err->tag.last;
			trk_log_info("a statement holding several source transactions failed; applying them "
						 "again one change at a time to find the one at fault",
						 "pipeline", p->def->name, "lsn", trk_lsn_format(err->tag.lsn, lsn),
						 "last", trk_lsn_format(err->tag.last, last),
						 "sqlstate", err->sqlstate, "error", msg, NULL);
			trk_input_restart(in, "pipeline %s: finding the failing transaction", p->def->name);
			return true;
		}

		if (p->def->on_error == TRK_ON_ERROR_DEAD_LETTER && err->tag.change != 0 &&
			err->tag.about != NULL && strncmp(err->sqlstate, "42", 2) != 0)
		{
			/*
			 * A transform failed on its change's data, pinned on it.  There
			 * is no statement to run under a savepoint in the output: the
			 * change itself goes to the dead letters, with the transform's
			 * statement, values and error, when the input starts again.  (A
			 * transform failing with class 42 — a table dropped, a
			 * privilege revoked — would fail for every change: it stops.)
			 */
			trk_input_xform_dead(in, p, &err->tag, err->sqlstate, err->message);
			trk_log_warn("transform.sql failed; its change goes to trucker.dead_letters",
						 "pipeline", p->def->name, "lsn", trk_lsn_format(err->tag.lsn, lsn),
						 "file", err->tag.file, "sqlstate", err->sqlstate, "error", msg,
						 "params", err->tag.about[0] ? err->tag.about : NULL, NULL);
			trk_input_restart(in, "pipeline %s: dead-lettering a change", p->def->name);
			return true;
		}
		/* (output statements only: a transform's failure is above) */
		if (p->def->on_error == TRK_ON_ERROR_DEAD_LETTER && p->dl_lsn != err->tag.lsn &&
			err->tag.change == 0 && err->tag.last <= err->tag.lsn)
		{
			/*
			 * on_error: dead_letter.  Apply the transaction again, each of
			 * the pipeline's statements under a savepoint of its own: the
			 * ones that fail go to trucker.dead_letters, the rest apply.
			 */
			p->dl_lsn = err->tag.lsn;
			if (p->one_by_one < err->tag.lsn)
				p->one_by_one = err->tag.lsn;
			trk_log_warn("a statement failed; applying its transaction again with each failing "
						 "change sent to trucker.dead_letters", "pipeline", p->def->name,
						 "lsn", trk_lsn_format(err->tag.lsn, lsn),
						 "file", err->tag.file ? err->tag.file : "(default mirror)",
						 "sqlstate", err->sqlstate, "error", msg, NULL);
			trk_input_restart(in, "pipeline %s: dead-lettering a transaction", p->def->name);
			return true;
		}
		if (err->tag.about == NULL && p->one_by_one < err->tag.lsn)
		{
			/*
			 * The statement went without its parameters (copying them for
			 * every change costs): apply its transaction again with them,
			 * so that the failure is logged with the values at fault.
			 */
			p->one_by_one = err->tag.lsn;
			trk_log_info("a statement failed; applying its transaction again to log the "
						 "change at fault", "pipeline", p->def->name,
						 "lsn", trk_lsn_format(err->tag.lsn, lsn),
						 "sqlstate", err->sqlstate, "error", msg, NULL);
			trk_input_restart(in, "pipeline %s: a statement failed", p->def->name);
			return true;
		}
		if (err->check_failed && err->tag.check == TRK_CHECK_ROWS)
			why = "an update found no row for its key in the output: the output has diverged "
				"from the input (backfill the pipeline)";
		snprintf(xid, sizeof(xid), "%u", err->tag.xid);
		/* the server's detail often repeats the row: not with redacted columns */
		trk_log_error("statement failed", "pipeline", p->def->name,
					  "lsn", trk_lsn_format(err->tag.lsn, lsn), "xid", xid,
					  "connection", name, "file", err->tag.file ? err->tag.file : "(default mirror)",
					  "sqlstate", err->sqlstate, "error", why,
					  "detail", p->def->nredact > 0 ? NULL : err->detail, "sql", err->sql,
					  "params", err->tag.about && err->tag.about[0] ? err->tag.about : NULL, NULL);
		trk_input_stop_pipeline(in, p, err->tag.lsn, why);
		return true;
	}
	return false;
}

/* ------------------------------------------------------------------ */
/* timer and shutdown                                                 */
/* ------------------------------------------------------------------ */

/*
 * log_held says, every TRK_HELD_LOG_MS, how much WAL each stopped pipeline
 * makes the source keep: the slot cannot move past its checkpoint.
 */
static void
log_held(trk_input_t *in, uint64_t now)
{
	if (now - in->last_held_ms < TRK_HELD_LOG_MS || in->walend == 0)
		return;
	in->last_held_ms = now;
	for (size_t i = 0; i < in->npipes; i++)
	{
		run_pipeline_t *p = &in->pipes[i];
		char		lsn[TRK_LSN_BUFSIZE];
		char		held[32];

		if (p->pos.stop == 0 || p->parked || in->walend <= p->pos.stored)
			continue;
		snprintf(held, sizeof(held), "%.1f MB", (double) (in->walend - p->pos.stored) / (1 << 20));
		if (p->changed)
			trk_log_warn("a changed pipeline holds the slot: the source keeps its WAL until "
						 "`trucker backfill` or `trucker run --accept-changed`", "pipeline",
						 p->def->name, "lsn", trk_lsn_format(p->pos.stored, lsn),
						 "wal_held", held, NULL);
		else
			trk_log_warn("a stopped pipeline holds the slot: the source keeps its WAL until "
						 "`trucker resume` or `trucker skip`", "pipeline", p->def->name,
						 "lsn", trk_lsn_format(p->pos.stop, lsn), "wal_held", held, NULL);
	}
}

/*
 * watch_stall logs, every 30 s, a stream that is paused while its outputs
 * answer nothing: a lock held elsewhere on an output, most often.
 */
static void
watch_stall(trk_input_t *in, uint64_t now)
{
	size_t		inflight = 0;
	trk_buf_t	what = {0};
	char		secs[24];

	if (in->stream == NULL || !trk_stream_is_paused(in->stream))
	{
		in->stalled_since_ms = 0;
		return;
	}
	for (size_t i = 0; i < in->ndests; i++)
		if (in->dests[i].pg)
			inflight += trk_pgdest_inflight(in->dests[i].pg);
	if (in->stalled_since_ms == 0 || inflight != in->stalled_inflight)
	{
		in->stalled_since_ms = now;
		in->stalled_inflight = inflight;
		return;
	}
	if (now - in->stalled_since_ms < 30000 || (now - in->stalled_since_ms) % 30000 >= 1000)
		return;
	for (size_t i = 0; i < in->ndests; i++)
	{
		trk_pgdest_t *pg = in->dests[i].pg;

		if (pg == NULL)
			continue;
		trk_buf_appendf(&what, "%s%s: %zu unanswered%s%s", what.len ? "; " : "",
						in->dests[i].conn->name, trk_pgdest_inflight(pg),
						trk_pgdest_committing(pg) > 0 ? ", committing" : "",
						trk_pgdest_is_open(pg) ? ", batch open" : "");
	}
	snprintf(secs, sizeof(secs), "%llu", (unsigned long long) ((now - in->stalled_since_ms) / 1000));
	trk_log_warn("the outputs have answered nothing for a while; waiting",
				 "connection", in->conn->name, "seconds", secs, "outputs", trk_buf_cstr(&what), NULL);
	trk_buf_free(&what);
}

void
trk_input_on_timer(uv_timer_t *t)
{
	trk_input_t *in = t->data;
	uint64_t	now = uv_now(t->loop);

	if (in->state != IN_STREAMING)
		return;
	maybe_commit(in, false);
	if (!in->in_txn && !in->draining && now - in->last_advance_ms >= TRK_IDLE_ADVANCE_MS)
	{
		/* pipelines with nothing to apply still move forward */
		in->last_advance_ms = now;
		for (size_t i = 0; i < in->ndests; i++)
			commit_dest(in, &in->dests[i], true);
	}
	if (in->state == IN_STREAMING && now - in->last_status_ms >= TRK_STATUS_INTERVAL_MS)
		send_feedback(in);
	if (in->state == IN_STREAMING)
	{
		watch_stall(in, now);
		log_held(in, now);
		if (in->has_xform)
			trk_input_xform_tick(in);
	}
}

void
trk_input_shutdown(trk_input_t *in)
{
	in->draining = true;
	switch (in->state)
	{
		case IN_STARTING:
			/* the start-up thread finishes first; daemon.c closes then */
			break;
		case IN_WAITING:
		case IN_REFUSED:
			uv_timer_stop(&in->timer);
			in->state = IN_CLOSED;
			trk_daemon_input_changed(in->daemon);
			break;
		case IN_STREAMING:
			if (in->in_txn)
				break;			/* on_commit finishes the transaction first */
			trk_stream_pause(in->stream);
			for (size_t i = 0; i < in->ndests && in->state == IN_STREAMING; i++)
			{
				run_dest_t *d = &in->dests[i];

				if (d->pg && trk_pgdest_is_open(d->pg))
					commit_dest(in, d, false);
				else
					commit_dest(in, d, true);
			}
			if (in->state == IN_STREAMING && !any_open_or_committing(in))
				finish_shutdown(in);
			break;
		case IN_CLOSED:
			break;
	}
}

/*
 * start.c — an input's start-up, on a worker thread with blocking libpq.
 *
 * Everything that decides where streaming starts happens here, once per
 * (re)start, so that the loop only ever sees a ready stream:
 *
 *   1. every output: connect, create trucker.checkpoints, read the rows
 *   2. the source: its identity, the input tables (replica identity,
 *      partitions), the slot
 *   3. decide: create the slot (no checkpoint anywhere yet), or check that
 *      the slot still holds every change the checkpoints need — else refuse
 *   4. backfill the default mirrors that have no checkpoint yet, from the
 *      snapshot of the slot just created or of a temporary one
 *   5. START_REPLICATION from the smallest checkpoint
 *
 * Nothing here touches the loop; the results are left in the trk_input_t
 * for input.c.  Log lines are single writes, safe from this thread.
 */
#include "internal.h"
#include "backfill/copy.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/pqmsg.h"
#include "checkpoint/checkpoint.h"
#include "stream/slot.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Session settings that make every value's text exact and unambiguous. */
#define SESSION_OPTIONS "-c DateStyle=ISO -c IntervalStyle=postgres -c TimeZone=UTC " \
	"-c bytea_output=hex -c extra_float_digits=3 -c standard_conforming_strings=on"

static void
set_result(trk_input_t *in, setup_result_t r, const char *fmt, ...)
{
	va_list		ap;

	in->setup = r;
	trk_buf_reset(&in->setup_error);
	trk_buf_reset(&in->refused);
	va_start(ap, fmt);
	trk_buf_vappendf(&in->setup_error, fmt, ap);
	va_end(ap);
}

static void
first_line(trk_buf_t *b, const char *msg)
{
	size_t		n = strcspn(msg, "\n");

	trk_buf_appendn(b, msg, n);
}

/* notices (e.g. "already exists, skipping") are not for trucker's log */
static void
ignore_notice(void *arg, const char *message)
{
	(void) arg;
	(void) message;
}

PGconn *
trk_input_connect(const trk_connection_t *c, bool replica, bool replication, trk_buf_t *err)
{
	const char *kw[TRK_CONN_MAX_PARAMS],
			   *val[TRK_CONN_MAX_PARAMS];
	const char *xk[5],
			   *xv[5];
	size_t		nx = 0;
	const char *user_options = NULL;
	bool		has_app = false,
				has_timeout = false;
	trk_buf_t	options = {0};
	PGconn	   *pg;

	for (size_t i = 0; i < c->noptions; i++)
	{
		if (strcmp(c->options[i].key, "options") == 0)
			user_options = c->options[i].value;
		has_app |= strcmp(c->options[i].key, "application_name") == 0;
		has_timeout |= strcmp(c->options[i].key, "connect_timeout") == 0;
	}
	/* ours come last: the walsender must print values exactly this way */
	if (user_options)
		trk_buf_appendf(&options, "%s ", user_options);
	trk_buf_append(&options, SESSION_OPTIONS);
	xk[nx] = "options";
	xv[nx++] = trk_buf_cstr(&options);
	if (!has_app)
	{
		xk[nx] = "application_name";
		xv[nx++] = "trucker";
	}
	if (!has_timeout)
	{
		xk[nx] = "connect_timeout";
		xv[nx++] = "10";
	}
	if (replication)
	{
		xk[nx] = "replication";
		xv[nx++] = "database";
	}
	xk[nx] = xv[nx] = NULL;
	trk_connection_params(c, replica, kw, val, xk, xv);
	pg = PQconnectdbParams(kw, val, 0);
	trk_buf_free(&options);
	if (PQstatus(pg) != CONNECTION_OK)
	{
		trk_buf_appendf(err, "could not connect to \"%s\"%s: ", c->name, replica ? "'s replica" : "");
		first_line(err, PQerrorMessage(pg));
		PQfinish(pg);
		return NULL;
	}
	PQsetNoticeProcessor(pg, ignore_notice, NULL);
	return pg;
}

/* ------------------------------------------------------------------ */
/* 1. outputs                                                         */
/* ------------------------------------------------------------------ */

static bool
setup_dest(trk_input_t *in, run_dest_t *d)
{
	trk_buf_t	err = {0};
	trk_checkpoint_row_t *rows = NULL;
	size_t		nrows = 0;
	bool		ok = false;

	d->setup_conn = trk_input_connect(d->conn, false, false, &err);
	if (d->setup_conn == NULL)
	{
		set_result(in, SETUP_RETRY, "output %s", trk_buf_cstr(&err));
		goto done;
	}
	if (trk_checkpoint_prepare_session(d->setup_conn, &err) != 0 ||
		trk_checkpoint_ensure_table(d->setup_conn, &err) != 0)
	{
		set_result(in, SETUP_RETRY, "output \"%s\": %s", d->conn->name, trk_buf_cstr(&err));
		goto done;
	}
	/* each pipeline's lock first: its checkpoint is only read once it is ours */
	for (size_t i = 0; i < in->npipes; i++)
	{
		run_pipeline_t *p = &in->pipes[i];
		int			r;

		if (p->dest != d)
			continue;
		r = trk_checkpoint_claim(d->setup_conn, p->def->name, &err);
		if (r < 0)
		{
			set_result(in, SETUP_RETRY, "output \"%s\": %s", d->conn->name, trk_buf_cstr(&err));
			goto done;
		}
		if (r > 0)
		{
			set_result(in, SETUP_RETRY, "output \"%s\": another session is writing pipeline %s "
					   "(a session of this daemon still finishing on the server, or a second "
					   "trucker); waiting for it", d->conn->name, p->def->name);
			goto done;
		}
	}
	/* stops not yet recorded: a pipeline stays stopped until resumed or skipped */
	for (size_t i = 0; i < in->npipes; i++)
	{
		run_pipeline_t *p = &in->pipes[i];

		if (p->dest != d || !p->stop_unrecorded)
			continue;
		if (trk_checkpoint_record_stop(d->setup_conn, p->def->name, p->pos.stop,
									   p->stop_why ? p->stop_why : "", &err) != 0)
		{
			set_result(in, SETUP_RETRY, "output \"%s\": %s", d->conn->name, trk_buf_cstr(&err));
			goto done;
		}
		p->stop_unrecorded = false;
	}
	if (trk_checkpoint_read(d->setup_conn, &rows, &nrows, &err) != 0)
	{
		set_result(in, SETUP_RETRY, "output \"%s\": %s", d->conn->name, trk_buf_cstr(&err));
		goto done;
	}
	for (size_t i = 0; i < in->npipes; i++)
	{
		run_pipeline_t *p = &in->pipes[i];

		if (p->dest != d)
			continue;
		p->has_row = false;
		p->parked = false;
		p->pos.stop = 0;
		p->skip_lsn = 0;
		for (size_t j = 0; j < nrows; j++)
			if (strcmp(rows[j].pipeline, p->def->name) == 0)
			{
				p->has_row = true;
				p->pos.stored = rows[j].lsn;
				free(p->row_sysid);
				free(p->row_database);
				free(p->row_slot);
				p->row_sysid = trk_strdup(rows[j].system_identifier);
				p->row_database = trk_strdup(rows[j].database);
				p->row_slot = trk_strdup(rows[j].slot);
				p->pos.stop = rows[j].stopped_lsn;
				p->skip_lsn = rows[j].skip_lsn;
				free(p->skip_why);
				p->skip_why = trk_strdup(rows[j].stopped_error ? rows[j].stopped_error : "");
			}
	}
	ok = true;
done:
	trk_checkpoint_rows_free(rows, nrows);
	trk_buf_free(&err);
	return ok;
}

/* ------------------------------------------------------------------ */
/* 2. source tables                                                   */
/* ------------------------------------------------------------------ */

static bool
check_tables(trk_input_t *in, PGconn *src, trk_buf_t *add_tables)
{
	trk_buf_t	err = {0};
	trk_slot_table_t t;
	char	  **wild = NULL;
	size_t		nwild = 0;
	bool		ok = true;

	trk_router_free(&in->router);
	for (size_t i = 0; i < in->npipes && ok; i++)
	{
		run_pipeline_t *p = &in->pipes[i];
		const trk_table_name_t *tn = &p->def->input_table;
		bool		needs_identity = (p->def->operations & (TRK_OP_UPDATE | TRK_OP_DELETE)) != 0;

		if (trk_slot_describe_table(src, tn->schema, tn->name, &t, &err) != 0)
		{
			set_result(in, SETUP_RETRY, "%s", trk_buf_cstr(&err));
			ok = false;
			break;
		}
		if (!t.exists)
		{
			set_result(in, SETUP_REFUSE, "pipeline %s: input table %s.%s does not exist",
					   p->def->name, tn->schema, tn->name);
			trk_buf_append(&in->refused, p->def->name);
			ok = false;
		}
		else if (needs_identity && !t.identity_ok)
		{
			set_result(in, SETUP_REFUSE,
					   "pipeline %s: input table %s.%s has no primary key and no "
					   "REPLICA IDENTITY FULL, so wal2json would drop its updates and "
					   "deletes; add one (ALTER TABLE … REPLICA IDENTITY FULL) or "
					   "set operations: [insert]",
					   p->def->name, tn->schema, tn->name);
			trk_buf_append(&in->refused, p->def->name);
			ok = false;
		}
		p->nleaves = 0;
		for (size_t l = 0; ok && l < t.nleaves; l++)
		{
			const trk_slot_leaf_t *leaf = &t.leaves[l];
			bool		known = false;

			if (needs_identity && !leaf->identity_ok)
			{
				set_result(in, SETUP_REFUSE,
						   "pipeline %s: partition %s.%s of %s.%s has no primary key and "
						   "no REPLICA IDENTITY FULL",
						   p->def->name, leaf->schema, leaf->name, tn->schema, tn->name);
				trk_buf_append(&in->refused, p->def->name);
				ok = false;
				break;
			}
			trk_router_add(&in->router, leaf->schema, leaf->name, (int) i, true);
			p->nleaves++;
			/*
			 * A partition attached while trucker runs must not be filtered
			 * out: subscribe to the partitions' whole schema, so a change to
			 * an unknown table there shows up and triggers a restart.
			 */
			for (size_t w = 0; w < nwild; w++)
				known |= strcmp(wild[w], leaf->schema) == 0;
			if (!known)
			{
				wild = trk_realloc(wild, (nwild + 1) * sizeof(char *));
				wild[nwild++] = trk_strdup(leaf->schema);
			}
		}
		if (ok && t.nleaves == 0)
			trk_router_add(&in->router, tn->schema, tn->name, (int) i, false);
		trk_slot_table_free(&t);
	}
	for (size_t w = 0; ok && w < nwild; w++)
	{
		char	  **names = NULL;
		size_t		n = 0;

		if (trk_slot_schema_tables(src, wild[w], &names, &n, &err) != 0)
		{
			set_result(in, SETUP_RETRY, "%s", trk_buf_cstr(&err));
			ok = false;
			break;
		}
		for (size_t j = 0; j < n; j++)
		{
			trk_router_add(&in->router, wild[w], names[j], -1, false);
			free(names[j]);
		}
		free(names);
	}
	if (ok)
	{
		/* the plugin's table filter: every routed table, whole schemas last */
		for (size_t r = 0; r < in->router.nroutes; r++)
		{
			const trk_route_t *rt = &in->router.routes[r];
			bool		covered = false;

			if (rt->npipelines == 0)
				continue;
			for (size_t w = 0; w < nwild; w++)
				covered |= strcmp(wild[w], rt->schema) == 0;
			if (!covered)
				trk_slot_add_table(add_tables, rt->schema, rt->table);
		}
		for (size_t w = 0; w < nwild; w++)
			trk_slot_add_table(add_tables, wild[w], NULL);
	}
	for (size_t w = 0; w < nwild; w++)
		free(wild[w]);
	free(wild);
	trk_buf_free(&err);
	return ok;
}

/* ------------------------------------------------------------------ */
/* 3. the slot                                                        */
/* ------------------------------------------------------------------ */

static void
list_pipelines(trk_buf_t *b, trk_input_t *in, bool (*pick) (const run_pipeline_t *p, const void *arg),
			   const void *arg)
{
	for (size_t i = 0; i < in->npipes; i++)
		if (pick(&in->pipes[i], arg))
		{
			if (b->len)
				trk_buf_appendc(b, ',');
			trk_buf_append(b, in->pipes[i].def->name);
		}
}

static bool
pick_all(const run_pipeline_t *p, const void *arg)
{
	(void) p;
	(void) arg;
	return true;
}

static bool
pick_with_row(const run_pipeline_t *p, const void *arg)
{
	(void) arg;
	return p->has_row;
}

static bool
pick_behind(const run_pipeline_t *p, const void *arg)
{
	return p->has_row && p->pos.stored < *(const trk_lsn_t *) arg;
}

typedef struct ident
{
	const char *sysid;
	const char *database;
	const char *slot;
} ident_t;

static bool
pick_foreign(const run_pipeline_t *p, const void *arg)
{
	const ident_t *id = arg;

	return p->has_row &&
		(strcmp(p->row_sysid, id->sysid) != 0 || strcmp(p->row_database, id->database) != 0 ||
		 strcmp(p->row_slot, id->slot) != 0);
}

/* ------------------------------------------------------------------ */
/* backfill                                                           */
/* ------------------------------------------------------------------ */

/*
 * copies: a pipeline without a checkpoint that the default mirror writes,
 * inserts included (one applying only deletes, say, follows rows loaded
 * some other way)
 */
static bool
copies(const run_pipeline_t *p)
{
	if (p->has_row || p->parked || p->dest->setup_conn == NULL ||
		!(p->def->operations & TRK_OP_INSERT))
		return false;
	for (int k = 0; k < TRK_SQL_COUNT; k++)
		if (p->def->sql[k] != NULL)
			return false;
	return true;
}

/* shares_output: another pipeline of in writes p's output table */
static bool
shares_output(const trk_input_t *in, const run_pipeline_t *p)
{
	for (size_t i = 0; i < in->npipes; i++)
	{
		const run_pipeline_t *o = &in->pipes[i];

		if (o != p && o->dest == p->dest &&
			strcmp(o->def->output_table.schema, p->def->output_table.schema) == 0 &&
			strcmp(o->def->output_table.name, p->def->output_table.name) == 0)
			return true;
	}
	return false;
}

typedef struct copy_progress
{
	const run_pipeline_t *p;
	double		estimate;
	double		logged;			/* seconds in, at the last line */
} copy_progress_t;

/* on_copy_progress logs rows copied, estimate, rate and ETA every 5 s */
static void
on_copy_progress(void *arg, int64_t rows, double seconds)
{
	copy_progress_t *cp = arg;
	char		n[24],
				total[24],
				rate[24],
				eta[24];
	double		r = seconds > 0 ? (double) rows / seconds : 0;

	if (seconds - cp->logged < 5)
		return;
	cp->logged = seconds;
	snprintf(n, sizeof(n), "%lld", (long long) rows);
	snprintf(total, sizeof(total), "%.0f", cp->estimate);
	snprintf(rate, sizeof(rate), "%.0f", r);
	if (r > 0 && cp->estimate > (double) rows)
		snprintf(eta, sizeof(eta), "%.0fs", (cp->estimate - (double) rows) / r);
	else
		snprintf(eta, sizeof(eta), "?");
	trk_log_info("backfilling", "pipeline", cp->p->def->name, "rows", n, "estimate", total,
				 "rows_per_s", rate, "eta", eta, NULL);
}

/*
 * park: p cannot be backfilled for a reason of its own (its output refuses
 * the rows, or holds some already; its input refuses to be read).  It
 * applies nothing this run, holds nothing of the slot, and has no
 * checkpoint, so the next start tries its backfill again; the other
 * pipelines go on.
 */
static void
park(run_pipeline_t *p, const char *why)
{
	trk_log_error("pipeline not backfilled: it applies nothing until this is fixed; trucker "
				  "backfills it at its next start", "pipeline", p->def->name, "error", why, NULL);
	p->parked = true;
	p->pos.stored = 0;
	p->pos.stop = 1;			/* skips every transaction */
}

/*
 * settle takes a backfill step's outcome: 0 goes on; a refusal parks p (true:
 * the others go on); anything else makes the input retry (false).
 */
static bool
settle(trk_input_t *in, run_pipeline_t *p, int rc, trk_buf_t *err, bool *parked)
{
	*parked = false;
	if (rc == 0)
		return true;
	if (rc == TRK_BACKFILL_REFUSED)
	{
		park(p, trk_buf_cstr(err));
		*parked = true;
		return true;
	}
	set_result(in, SETUP_RETRY, "pipeline %s: backfill: %s", p->def->name, trk_buf_cstr(err));
	return false;
}

/* exec_dst runs a command on the output, by the rules of trk_backfill_refusal */
static int
exec_dst(PGconn *dst, const char *sql, trk_buf_t *err)
{
	PGresult   *r = PQexec(dst, sql);
	int			rc;

	if (PQresultStatus(r) == PGRES_COMMAND_OK)
	{
		PQclear(r);
		return 0;
	}
	rc = trk_backfill_refusal(dst, r);
	trk_pq_fail(err, sql, dst, r);
	return rc;
}

/*
 * backfill_one copies p's input, as src's snapshot sees it, into its
 * output in one output transaction that ends with the checkpoint row at
 * lsn: after a crash there is neither a row nor a checkpoint, and the next
 * start copies again from a new snapshot.  False: the input must retry.
 */
static bool
backfill_one(trk_input_t *in, run_pipeline_t *p, PGconn *src, const trk_slot_info_t *si,
			 trk_lsn_t lsn, trk_buf_t *err)
{
	PGconn	   *dst = p->dest->setup_conn;
	trk_backfill_table_t t = {0};
	copy_progress_t cp = {p, 0, 0};
	const trk_table_name_t *it = &p->def->input_table;
	const trk_table_name_t *ot = &p->def->output_table;
	bool		empty = false;
	bool		parked = false;
	int64_t		rows = 0;
	bool		ok;
	char		at[TRK_LSN_BUFSIZE];
	char		n[24];
	char		secs[24];
	double		start;
	struct timespec ts;

	trk_buf_reset(err);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	start = (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
	if (trk_backfill_savepoint(src, false, err) != 0)
	{
		set_result(in, SETUP_RETRY, "input \"%s\": %s", in->conn->name, trk_buf_cstr(err));
		return false;
	}
	ok = settle(in, p, trk_backfill_describe(src, it, &t, err), err, &parked) &&
		!parked && settle(in, p, exec_dst(dst, "BEGIN", err), err, &parked) && !parked &&
		settle(in, p, exec_dst(dst, "SET LOCAL statement_timeout = 0", err), err, &parked) &&
		!parked &&
		settle(in, p, trk_backfill_output_empty(dst, ot, &empty, err), err,
			   &parked);
	if (!ok || parked)
		goto done;
	if (!empty && !shares_output(in, p))
	{
		trk_buf_reset(err);
		trk_buf_appendf(err, "it has no checkpoint, but its output %s.%s holds rows: a new "
						"pipeline is backfilled into an empty output (empty it, or point the "
						"pipeline at another table)", ot->schema, ot->name);
		park(p, trk_buf_cstr(err));
		goto done;
	}
	cp.estimate = t.estimate;
	trk_log_info("backfill started", "pipeline", p->def->name, "input", it->name,
				 "lsn", trk_lsn_format(lsn, at), NULL);
	ok = settle(in, p, trk_backfill_copy(src, dst, it, &t, ot, on_copy_progress, &cp, &rows,
										 err), err, &parked);
	if (!ok || parked)
		goto done;
	if (trk_checkpoint_insert(dst, p->def->name, lsn, si->system_identifier, si->database,
							  in->conn->slot, err) != 0)
	{
		set_result(in, SETUP_RETRY, "pipeline %s: backfill: %s", p->def->name, trk_buf_cstr(err));
		ok = false;
		goto done;
	}
	/* a deferred constraint may refuse the rows only now */
	ok = settle(in, p, exec_dst(dst, "COMMIT", err), err, &parked);
	if (!ok || parked)
		goto done;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(n, sizeof(n), "%lld", (long long) rows);
	snprintf(secs, sizeof(secs), "%.1f", (double) ts.tv_sec + (double) ts.tv_nsec / 1e9 - start);
	trk_log_info("backfill done", "pipeline", p->def->name, "rows", n, "seconds", secs,
				 "lsn", at, NULL);
	p->has_row = true;
	p->pos.stored = lsn;
done:
	if (PQtransactionStatus(dst) != PQTRANS_IDLE)
		PQclear(PQexec(dst, "ROLLBACK"));	/* what a failed or parked backfill did */
	trk_backfill_table_free(&t);
	if (ok && trk_backfill_savepoint(src, true, err) != 0)
	{
		set_result(in, SETUP_RETRY, "input \"%s\": %s", in->conn->name, trk_buf_cstr(err));
		ok = false;
	}
	return ok;
}

/*
 * backfill copies every pipeline that copies() as of snapshot, the
 * exported snapshot of a slot whose consistent point is lsn: what committed
 * before it is in the copy, what commits after comes through the stream.
 * The input tables are locked first, in the snapshot's transaction.
 */
static bool
backfill(trk_input_t *in, const trk_slot_info_t *si, const char *snapshot, trk_lsn_t lsn)
{
	trk_buf_t	err = {0};
	PGconn	   *src = trk_input_connect(in->conn, false, false, &err);
	bool		ok = src != NULL;
	bool		parked;

	if (src == NULL)
		set_result(in, SETUP_RETRY, "input %s", trk_buf_cstr(&err));
	else if (trk_backfill_begin(src, snapshot, &err) != 0)
	{
		set_result(in, SETUP_RETRY, "input \"%s\": %s", in->conn->name, trk_buf_cstr(&err));
		ok = false;
	}
	for (size_t i = 0; ok && i < in->npipes; i++)
	{
		run_pipeline_t *p = &in->pipes[i];

		if (copies(p))
		{
			trk_buf_reset(&err);
			ok = trk_backfill_savepoint(src, false, &err) == 0 &&
				settle(in, p, trk_backfill_lock(src, &p->def->input_table, &err), &err, &parked) &&
				trk_backfill_savepoint(src, true, &err) == 0;
			if (!ok && in->setup == SETUP_OK)
				set_result(in, SETUP_RETRY, "input \"%s\": %s", in->conn->name,
						   trk_buf_cstr(&err));
		}
	}
	for (size_t i = 0; ok && i < in->npipes; i++)
		if (copies(&in->pipes[i]))
			ok = backfill_one(in, &in->pipes[i], src, si, lsn, &err);
	if (src)
		PQfinish(src);
	trk_buf_free(&err);
	return ok;
}

/* any_copies: some pipeline of in is to be backfilled */
static bool
any_copies(const trk_input_t *in)
{
	for (size_t i = 0; i < in->npipes; i++)
		if (copies(&in->pipes[i]))
			return true;
	return false;
}

/* slot_wait: a slot being created waits; src reads who for the log */
typedef struct slot_wait
{
	const trk_input_t *in;
	PGconn	   *src;
} slot_wait_t;

static void
on_slot_waiting(void *arg, double seconds)
{
	slot_wait_t *w = arg;
	PGresult   *r;
	char		secs[24];

	snprintf(secs, sizeof(secs), "%.0f", seconds);
	/* sessions holding an xid (any role's: backend_type hides from others),
	 * and prepared transactions, which have no session */
	r = PQexec(w->src, "SELECT (SELECT string_agg(pid || ':' || backend_xid, ',' ORDER BY pid)"
			   "  FROM pg_stat_activity WHERE backend_xid IS NOT NULL"
			   "  AND backend_type IS DISTINCT FROM 'walsender'),"
			   " (SELECT string_agg(quote_literal(gid) || ':' || transaction, ',')"
			   "  FROM pg_prepared_xacts)");
	trk_log_warn("creating the replication slot waits for the transactions running on the "
				 "source to end", "connection", w->in->conn->name, "seconds", secs,
				 "pid_xid", PQresultStatus(r) == PGRES_TUPLES_OK && !PQgetisnull(r, 0, 0) ?
				 PQgetvalue(r, 0, 0) : NULL,
				 "prepared", PQresultStatus(r) == PGRES_TUPLES_OK && !PQgetisnull(r, 0, 1) ?
				 PQgetvalue(r, 0, 1) : NULL, NULL);
	PQclear(r);
}

/*
 * backfill_aside backfills beside a slot that already exists: from the
 * snapshot of a temporary slot, which goes when its connection closes.
 * The stream starts no later than the existing slot's position, so the
 * new pipelines miss nothing after the temporary one's consistent point,
 * and skip what comes before.  No room for a temporary slot (all
 * max_replication_slots taken) parks the pipelines to copy; the others
 * stream.
 */
static bool
backfill_aside(trk_input_t *in, PGconn *src, const trk_slot_info_t *si)
{
	slot_wait_t wait = {in, src};
	trk_buf_t	err = {0};
	int			rc;
	char		slot[64];
	char		snapshot[TRK_SNAPSHOT_NAME_SIZE];
	trk_lsn_t	lsn;
	PGconn	   *repl = trk_input_connect(in->conn, false, true, &err);
	bool		ok = false;
	struct timespec ts;

	/* unique in the cluster: the connection's slot is, and one run is one pid */
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(slot, sizeof(slot), "%.36s_backfill_%ld_%04lx", in->conn->slot, (long) getpid(),
			 (unsigned long) (ts.tv_nsec & 0xffff));
	if (repl == NULL)
		set_result(in, SETUP_RETRY, "input %s", trk_buf_cstr(&err));
	else if ((rc = trk_slot_create(repl, slot, true, &lsn, snapshot, on_slot_waiting, &wait,
								   &err)) != 0)
	{
		if (rc == TRK_SLOT_FULL)
		{
			for (size_t i = 0; i < in->npipes; i++)
				if (copies(&in->pipes[i]))
					park(&in->pipes[i], trk_buf_cstr(&err));
			ok = true;
		}
		else
			set_result(in, SETUP_RETRY, "input \"%s\": backfill: %s", in->conn->name,
					   trk_buf_cstr(&err));
	}
	else
	{
		char		at[TRK_LSN_BUFSIZE];

		trk_log_info("temporary replication slot created for a backfill", "connection",
					 in->conn->name, "slot", slot, "lsn", trk_lsn_format(lsn, at), NULL);
		ok = backfill(in, si, snapshot, lsn);
	}
	if (repl)
		PQfinish(repl);
	trk_buf_free(&err);
	return ok;
}

static bool
decide_start(trk_input_t *in, PGconn *src, const trk_slot_info_t *si)
{
	trk_buf_t	names = {0};
	trk_buf_t	err = {0};
	bool		any_row = false;
	bool		ok = false;
	char		a[TRK_LSN_BUFSIZE],
				b[TRK_LSN_BUFSIZE];
	ident_t		id = {si->system_identifier, si->database, in->conn->slot};
	PGconn	   *repl = NULL;

	for (size_t i = 0; i < in->npipes; i++)
		any_row |= in->pipes[i].has_row;

	if (any_row)
	{
		trk_lsn_t	min = UINT64_MAX;

		list_pipelines(&names, in, pick_foreign, &id);
		if (names.len)
		{
			set_result(in, SETUP_REFUSE,
					   "checkpoints of pipelines %s were taken from another source "
					   "(system %s, database %s, slot %s); they need a backfill",
					   trk_buf_cstr(&names), si->system_identifier, si->database, in->conn->slot);
			trk_buf_append(&in->refused, trk_buf_cstr(&names));
			goto done;
		}
		list_pipelines(&names, in, pick_with_row, NULL);
		if (!si->slot_exists)
		{
			set_result(in, SETUP_REFUSE,
					   "replication slot \"%s\" does not exist, but pipelines %s have "
					   "checkpoints: the changes since them are gone and they need a backfill",
					   in->conn->slot, trk_buf_cstr(&names));
			trk_buf_append(&in->refused, trk_buf_cstr(&names));
			goto done;
		}
		if (strcmp(si->wal_status, "lost") == 0)
		{
			set_result(in, SETUP_REFUSE,
					   "replication slot \"%s\" is lost (WAL removed, max_slot_wal_keep_size): "
					   "pipelines %s need a backfill", in->conn->slot, trk_buf_cstr(&names));
			trk_buf_append(&in->refused, trk_buf_cstr(&names));
			goto done;
		}
		trk_buf_reset(&names);
		list_pipelines(&names, in, pick_behind, &si->confirmed_flush);
		if (names.len)
		{
			set_result(in, SETUP_REFUSE,
					   "replication slot \"%s\" has moved past the checkpoints of pipelines %s "
					   "(slot at %s): the changes in between are gone and they need a backfill",
					   in->conn->slot, trk_buf_cstr(&names), trk_lsn_format(si->confirmed_flush, a));
			trk_buf_append(&in->refused, trk_buf_cstr(&names));
			goto done;
		}
		for (size_t i = 0; i < in->npipes; i++)
			if (in->pipes[i].has_row && in->pipes[i].pos.stored < min)
				min = in->pipes[i].pos.stored;
		in->start_lsn = min;
	}
	else if (si->slot_exists)
	{
		in->start_lsn = si->confirmed_flush;
		trk_log_info("using the existing replication slot", "connection", in->conn->name,
					 "slot", in->conn->slot, "lsn", trk_lsn_format(in->start_lsn, a), NULL);
	}
	else
	{
		char		snapshot[TRK_SNAPSHOT_NAME_SIZE];
		bool		copy = any_copies(in);
		slot_wait_t wait = {in, src};

		repl = trk_input_connect(in->conn, false, true, &err);
		if (repl == NULL || trk_slot_create(repl, in->conn->slot, false, &in->start_lsn,
											copy ? snapshot : NULL, on_slot_waiting, &wait,
											&err) != 0)
		{
			set_result(in, SETUP_RETRY, "%s", trk_buf_cstr(&err));
			goto done;
		}
		trk_log_info("replication slot created", "connection", in->conn->name,
					 "slot", in->conn->slot, "lsn", trk_lsn_format(in->start_lsn, a), NULL);
		/* its snapshot lives while repl runs no other command */
		if (copy && !backfill(in, si, snapshot, in->start_lsn))
			goto done;
	}
	if (si->slot_exists && strcmp(si->plugin, "wal2json") != 0)
	{
		set_result(in, SETUP_REFUSE, "replication slot \"%s\" uses the plugin \"%s\", not wal2json",
				   in->conn->slot, si->plugin);
		list_pipelines(&in->refused, in, pick_all, NULL);
		goto done;
	}
	if (si->slot_exists && strcmp(si->slot_database, si->database) != 0)
	{
		set_result(in, SETUP_REFUSE, "replication slot \"%s\" belongs to database \"%s\", not \"%s\"",
				   in->conn->slot, si->slot_database, si->database);
		list_pipelines(&in->refused, in, pick_all, NULL);
		goto done;
	}

	if ((any_row || si->slot_exists) && any_copies(in) && !backfill_aside(in, src, si))
		goto done;

	/* pipelines not backfilled start here: templates (not served yet), or no inserts */
	for (size_t i = 0; i < in->npipes; i++)
	{
		run_pipeline_t *p = &in->pipes[i];

		if (p->has_row || p->parked)
			continue;
		if (trk_checkpoint_insert(p->dest->setup_conn, p->def->name, in->start_lsn,
								  si->system_identifier, si->database, in->conn->slot, &err) != 0)
		{
			set_result(in, SETUP_RETRY, "output \"%s\": %s", p->dest->conn->name, trk_buf_cstr(&err));
			goto done;
		}
		trk_log_warn("pipeline has no checkpoint and is not backfilled (it has templates, "
					 "which no backfill serves yet, or applies no inserts): it starts with the "
					 "changes from here on, without the rows its input already holds",
					 "pipeline", p->def->name, "lsn", trk_lsn_format(in->start_lsn, a), NULL);
		p->has_row = true;
		p->pos.stored = in->start_lsn;
	}
	for (size_t i = 0; i < in->npipes; i++)
		trk_progress_start(&in->pipes[i].pos, in->pipes[i].pos.stored);
	if (si->max_slot_wal_keep_size_unlimited)
		trk_log_warn("max_slot_wal_keep_size is -1 on the source: if trucker stops for long, "
					 "the slot keeps WAL without limit and can fill the source's disk",
					 "connection", in->conn->name, NULL);
	(void) b;
	in->repl = repl;
	repl = NULL;
	ok = true;
done:
	if (repl)
		PQfinish(repl);
	trk_buf_free(&names);
	trk_buf_free(&err);
	return ok;
}

/* ------------------------------------------------------------------ */
/* 4. the transforms' session                                         */
/* ------------------------------------------------------------------ */

/*
 * setup_transforms readies the session transform.sql runs on, read-only:
 * the connection of the checks above, or one to the replica.
 */
static bool
setup_transforms(trk_input_t *in, PGconn **src)
{
	trk_buf_t	err = {0};
	PGconn	   *pg = *src;
	PGresult   *r;
	bool		ok;

	if (in->conn->has_replica)
	{
		pg = trk_input_connect(in->conn, true, false, &err);
		if (pg == NULL)
		{
			set_result(in, SETUP_RETRY, "input %s", trk_buf_cstr(&err));
			trk_buf_free(&err);
			return false;
		}
	}
	r = PQexec(pg, "SET default_transaction_read_only = on");
	ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok)
	{
		first_line(&err, PQresultErrorMessage(r));
		set_result(in, SETUP_RETRY, "input \"%s\": cannot ready the transforms' session: %s",
				   in->conn->name, trk_buf_cstr(&err));
	}
	PQclear(r);
	trk_buf_free(&err);
	if (!ok)
	{
		if (pg != *src)
			PQfinish(pg);
		return false;
	}
	in->xform_conn = pg;
	if (pg == *src)
		*src = NULL;
	return true;
}

/* ------------------------------------------------------------------ */
/* the whole start-up                                                 */
/* ------------------------------------------------------------------ */

void
trk_input_setup_work(uv_work_t *w)
{
	trk_input_t *in = w->data;
	trk_buf_t	err = {0};
	trk_buf_t	add_tables = {0};
	trk_slot_info_t si = {0};
	PGconn	   *src = NULL;

	in->setup = SETUP_OK;
	trk_buf_reset(&in->setup_error);
	for (size_t i = 0; i < in->ndests; i++)
		if (!setup_dest(in, &in->dests[i]))
			goto done;

	src = trk_input_connect(in->conn, false, false, &err);
	if (src == NULL)
	{
		set_result(in, SETUP_RETRY, "input %s", trk_buf_cstr(&err));
		goto done;
	}
	if (trk_slot_inspect(src, in->conn->slot, &si, &err) != 0)
	{
		set_result(in, SETUP_RETRY, "input \"%s\": %s", in->conn->name, trk_buf_cstr(&err));
		goto done;
	}
	snprintf(in->sysid, sizeof(in->sysid), "%s", si.system_identifier);
	if (si.active_pid != 0)
	{
		set_result(in, SETUP_RETRY, "replication slot \"%s\" is in use by process %d",
				   in->conn->slot, si.active_pid);
		goto done;
	}
	if (!check_tables(in, src, &add_tables))
		goto done;
	if (!decide_start(in, src, &si))
		goto done;
	if (in->repl == NULL)
	{
		in->repl = trk_input_connect(in->conn, false, true, &err);
		if (in->repl == NULL)
		{
			set_result(in, SETUP_RETRY, "input %s", trk_buf_cstr(&err));
			goto done;
		}
	}
	if (in->has_xform && !setup_transforms(in, &src))
		goto done;
	if (trk_slot_start(in->repl, in->conn->slot, in->start_lsn, trk_buf_cstr(&add_tables), &err) != 0)
	{
		set_result(in, SETUP_RETRY, "input \"%s\": %s", in->conn->name, trk_buf_cstr(&err));
		goto done;
	}
done:
	if (src)
		PQfinish(src);
	if (in->setup != SETUP_OK)
		trk_input_setup_release(in);
	trk_slot_info_free(&si);
	trk_buf_free(&add_tables);
	trk_buf_free(&err);
}

/* trk_input_setup_release closes whatever a failed start-up left open. */
void
trk_input_setup_release(trk_input_t *in)
{
	if (in->xform_conn)
	{
		PQfinish(in->xform_conn);
		in->xform_conn = NULL;
	}
	if (in->repl)
	{
		PQfinish(in->repl);
		in->repl = NULL;
	}
	for (size_t i = 0; i < in->ndests; i++)
		if (in->dests[i].setup_conn)
		{
			PQfinish(in->dests[i].setup_conn);
			in->dests[i].setup_conn = NULL;
		}
}

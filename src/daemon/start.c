/*
 * start.c — an input's start-up, on a worker thread with blocking libpq.
 *
 * Everything that decides where streaming starts happens here, once per
 * (re)start, so that the loop only ever sees a ready stream:
 *
 *   1. every output: connect, create trucker.checkpoints, empty and mark
 *      the pipelines `trucker backfill` asked for, read the rows and check
 *      each pipeline's fingerprint
 *   2. the source: its identity, the input tables (replica identity,
 *      partitions), the slot
 *   3. decide: create the slot (no checkpoint anywhere yet), or check that
 *      the slot still holds every change the checkpoints need — else refuse
 *   4. backfill the pipelines without a checkpoint: at the first start, from
 *      the snapshot of the slot just created; else mark them pending, for
 *      backfill.c to copy beside the stream
 *   5. START_REPLICATION from the smallest checkpoint
 *
 * Nothing here touches the loop; the results are left in the trk_input_t
 * for input.c.  Log lines are single writes, safe from this thread.
 */
#include "internal.h"
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
	/* a walsender that exported a snapshot idles in its transaction while copies import it */
	if (replication)
		trk_buf_append(&options, " -c idle_in_transaction_session_timeout=0");
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

/*
 * check_fingerprint compares the definition a pipeline's output was made
 * by (recorded: NULL for rows older than fingerprints, which take the
 * current one) with the one it runs by.  A pipeline changed while trucker
 * was down applies nothing and holds the slot at its checkpoint, until
 * `trucker backfill` rebuilds it — or --accept-changed takes the new
 * definition as is.  False: the output failed.
 */
static bool
check_fingerprint(trk_input_t *in, run_dest_t *d, run_pipeline_t *p, const char *recorded,
				  trk_buf_t *err)
{
	const char *now = p->def->fingerprint;

	if (recorded != NULL && strcmp(recorded, now) == 0)
		return true;
	if (recorded != NULL && !in->accept_changed)
	{
		trk_log_warn("pipeline changed since its checkpoint (its input, output, key, operations "
					 "or SQL files): it applies nothing, and holds the slot, until `trucker "
					 "backfill` rebuilds it, or `trucker run --accept-changed` takes the new "
					 "definition as is", "pipeline", p->def->name, "was", recorded, "now", now,
					 NULL);
		p->changed = true;
		return true;
	}
	if (recorded != NULL)
		trk_log_warn("pipeline changed since its checkpoint: taken as is (--accept-changed), "
					 "from its checkpoint on", "pipeline", p->def->name, "was", recorded,
					 "now", now, NULL);
	if (trk_checkpoint_set_fingerprint(d->setup_conn, p->def->name, now, err) != 0)
	{
		set_result(in, SETUP_RETRY, "output \"%s\": %s", d->conn->name, trk_buf_cstr(err));
		return false;
	}
	return true;
}

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
	/* `trucker backfill`: the output emptied, or found empty, and the row marked */
	for (size_t i = 0; i < in->npipes; i++)
	{
		run_pipeline_t *p = &in->pipes[i];
		int			r;

		if (p->dest != d || p->rebuild_seen == NO_REBUILD)
			continue;
		r = trk_backfill_rebuild(d->setup_conn, p->def, p->rebuild_seen == REBUILD_TRUNCATE, &err);
		if (r == -1)
		{
			set_result(in, SETUP_RETRY, "output \"%s\": %s", d->conn->name, trk_buf_cstr(&err));
			goto done;
		}
		p->rebuild_done = true;
		if (r == 0)
			trk_log_info("pipeline to be backfilled again: its output is empty and its "
						 "checkpoint row 'backfilling'", "pipeline", p->def->name, NULL);
		else
			trk_log_error("pipeline not backfilled again", "pipeline", p->def->name,
						  "error", trk_buf_cstr(&err), NULL);
		trk_buf_reset(&err);
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
		p->reset = false;
		p->parked = false;
		p->pending = false;
		p->changed = false;
		p->pos.stop = 0;
		p->skip_lsn = 0;
		for (size_t j = 0; j < nrows; j++)
			if (strcmp(rows[j].pipeline, p->def->name) == 0 && rows[j].backfilling)
				p->reset = true;
			else if (strcmp(rows[j].pipeline, p->def->name) == 0)
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
				if (!check_fingerprint(in, d, p, rows[j].fingerprint, &err))
					goto done;
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
 * some other way), and that no backfill beside the stream copies already
 */
static bool
copies(const run_pipeline_t *p)
{
	return !p->has_row && !p->parked && !p->copying_seen && p->dest->setup_conn != NULL &&
		trk_backfill_serves(p->def);
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

/*
 * backfill_first copies, at the first start, every pipeline that copies()
 * as of snapshot, exported by the creation of the connection's slot at lsn:
 * nothing streams yet, so nothing has to wait.  False: the input must retry.
 */
static bool
backfill_first(trk_input_t *in, const trk_slot_info_t *si, const char *snapshot, trk_lsn_t lsn)
{
	trk_buf_t	err = {0};
	trk_backfill_job_t job;
	int		   *index = NULL;
	bool		ok = true;

	memset(&job, 0, sizeof(job));
	job.input = in->conn;
	job.connect = trk_input_backfill_connect;
	job.snapshot = snapshot;
	job.lsn = lsn;
	job.system_identifier = si->system_identifier;
	job.database = si->database;
	job.slot = in->conn->slot;
	job.cancel = &in->bf.cancel;	/* a reload or a stop calls it off */
	job.items = trk_input_backfill_items(in, copies, &index, &job.nitems);
	trk_backfill_run(&job, &err);
	for (size_t i = 0; i < job.nitems; i++)
	{
		run_pipeline_t *p = &in->pipes[index[i]];
		trk_backfill_item_t *item = &job.items[i];

		if (item->outcome == TRK_BACKFILL_DONE)
		{
			p->has_row = true;
			p->pos.stored = lsn;
		}
		else if (item->outcome == TRK_BACKFILL_PARK)
			trk_input_park(p, trk_buf_cstr(&item->why));
		else if (ok)
		{
			set_result(in, SETUP_RETRY, "pipeline %s: backfill: %s", p->def->name,
					   trk_buf_cstr(&item->why));
			ok = false;
		}
	}
	trk_backfill_items_free(job.items, job.nitems);
	free(index);
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
		trk_slot_wait_t wait = {in->conn, src, &in->bf.cancel, 0};

		repl = trk_input_connect(in->conn, false, true, &err);
		if (repl == NULL || trk_slot_create(repl, in->conn->slot, false, &in->start_lsn,
											copy ? snapshot : NULL, trk_input_slot_waiting,
											&wait, &err) != 0)
		{
			set_result(in, SETUP_RETRY, "%s", trk_buf_cstr(&err));
			goto done;
		}
		trk_log_info("replication slot created", "connection", in->conn->name,
					 "slot", in->conn->slot, "lsn", trk_lsn_format(in->start_lsn, a), NULL);
		/* its snapshot lives while repl runs no other command */
		if (copy && !backfill_first(in, si, snapshot, in->start_lsn))
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

	/* a changed pipeline holds the slot at its checkpoint and applies nothing */
	for (size_t i = 0; i < in->npipes; i++)
	{
		run_pipeline_t *p = &in->pipes[i];

		/* (a stop further on must not let the new definition apply up to it) */
		if (p->changed && p->has_row && (p->pos.stop == 0 || p->pos.stop > p->pos.stored + 1))
			p->pos.stop = p->pos.stored + 1;
	}

	/* beside a slot that exists, the copies wait for the stream to run (backfill.c) */
	for (size_t i = 0; i < in->npipes; i++)
	{
		run_pipeline_t *p = &in->pipes[i];

		if (!p->has_row && p->refused_seen && !p->copying_seen)
			trk_input_park(p, p->refused_seen);	/* refused this run already */
		else if (!p->has_row && (p->copying_seen || copies(p)))
		{
			p->parked = p->pending = true;
			p->pos.stored = 0;
			p->pos.stop = 1;	/* skips every transaction until it has a checkpoint */
		}
	}

	/* pipelines not backfilled start here: those that apply no inserts */
	for (size_t i = 0; i < in->npipes; i++)
	{
		run_pipeline_t *p = &in->pipes[i];

		if (p->has_row || p->parked)
			continue;
		if (trk_checkpoint_insert(p->dest->setup_conn, p->def->name, p->def->fingerprint,
								  in->start_lsn,
								  si->system_identifier, si->database, in->conn->slot, false,
								  &err) != 0)
		{
			set_result(in, SETUP_RETRY, "output \"%s\": %s", p->dest->conn->name, trk_buf_cstr(&err));
			goto done;
		}
		trk_log_warn("pipeline has no checkpoint and is not backfilled (it applies no "
					 "inserts): it starts with the changes from here on, without the rows its "
					 "input already holds",
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

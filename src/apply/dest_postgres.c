/* dest_postgres.c — apply statements to a PostgreSQL output in pipeline mode. */
#include "apply/dest_postgres.h"
#include "base/mem.h"
#include "base/pqmsg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Limits on what is sent but not yet answered.  Past the high marks the
 * session is busy; it is ready again below the low marks.  They bound the
 * memory of libpq's buffers whatever the size of a source transaction.
 */
#define INFLIGHT_HIGH 8192
#define INFLIGHT_LOW 2048
#define INFLIGHT_BYTES_HIGH ((size_t) 8 << 20)
#define INFLIGHT_BYTES_LOW ((size_t) 2 << 20)
/*
 * The server holds its results until its buffer fills or it is asked to
 * flush: ask every so many statements or bytes, and whenever the session
 * turns busy — waiting for results nobody asked for would wait forever.
 */
#define FLUSH_REQUEST_EVERY 256
#define FLUSH_REQUEST_BYTES ((size_t) 1 << 20)
/* at most this many prepared statements per session */
#define MAX_PREPARED 4096

typedef enum entry_kind
{
	E_STMT = 0,					/* a statement: one result, then NULL */
	E_PREPARE,					/* a Parse: one result, then NULL */
	E_SYNC						/* the end of a batch: PGRES_PIPELINE_SYNC */
} entry_kind_t;

typedef struct entry
{
	entry_kind_t kind;
	bool		got;			/* its result arrived; NULL comes next */
	bool		commit;			/* E_STMT: the COMMIT */
	int			stmt;			/* prepared statement index, or -1 */
	size_t		bytes;
	uint64_t	seq;			/* E_SYNC: the batch it ends */
	trk_dest_tag_t tag;
} entry_t;

typedef struct stmt
{
	char	   *sql;			/* owned */
	uint32_t   *types;			/* owned; nparams entries, 0 = infer */
	int			nparams;
	uint32_t	hash;
} stmt_t;

struct trk_pgdest
{
	uv_loop_t  *loop;
	PGconn	   *conn;			/* owned */
	uv_poll_t  *poll;			/* owned; freed in its close callback */
	char	   *name;			/* owned; the output connection's name */
	trk_pgdest_cbs_t cbs;
	void	   *arg;
	bool		open;			/* BEGIN sent, statements flowing */
	bool		failed;			/* an error was reported; waiting to be closed */
	int			ncommitting;	/* batches whose COMMIT and Sync are sent */
	uint64_t	seq;			/* the open (or last) batch's number */
	bool		closing;
	bool		want_write;
	bool		busy;
	int			poll_events;	/* what the poll handle watches now */

	/* statements awaiting results: a ring */
	entry_t    *ring;
	size_t		ring_cap;		/* a power of two */
	size_t		head;
	size_t		count;
	size_t		inflight_bytes;
	size_t		since_flush_request;
	size_t		bytes_since_flush_request;

	/* prepared statements: an open-addressing table of indexes into stmts */
	stmt_t	   *stmts;
	size_t		nstmts;
	size_t		capstmts;
	int		   *slots;			/* -1 = empty */
	size_t		nslots;			/* a power of two */

	size_t		batch_rows;
	size_t		batch_bytes;
	uint64_t	batch_started;
};

static void dest_update_poll(trk_pgdest_t *d);

/* ------------------------------------------------------------------ */
/* the ring of entries awaiting results                               */
/* ------------------------------------------------------------------ */

static entry_t *
ring_push(trk_pgdest_t *d)
{
	entry_t    *e;

	if (d->count == d->ring_cap)
	{
		size_t		ncap = d->ring_cap ? d->ring_cap * 2 : 1024;
		entry_t    *n = trk_malloc(ncap * sizeof(entry_t));

		for (size_t i = 0; i < d->count; i++)
			n[i] = d->ring[(d->head + i) & (d->ring_cap - 1)];
		free(d->ring);
		d->ring = n;
		d->ring_cap = ncap;
		d->head = 0;
	}
	e = &d->ring[(d->head + d->count) & (d->ring_cap - 1)];
	d->count++;
	memset(e, 0, sizeof(*e));
	e->stmt = -1;
	return e;
}

static entry_t *
ring_front(trk_pgdest_t *d)
{
	return d->count ? &d->ring[d->head] : NULL;
}

static void
ring_pop(trk_pgdest_t *d)
{
	entry_t    *e = &d->ring[d->head];

	free((char *) e->tag.about);
	d->inflight_bytes -= e->bytes;
	d->head = (d->head + 1) & (d->ring_cap - 1);
	d->count--;
}

/* ------------------------------------------------------------------ */
/* prepared statements                                                */
/* ------------------------------------------------------------------ */

static uint32_t
hash_sql(const char *s, int nparams, const uint32_t *types)
{
	uint32_t	h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char) *s) * 16777619u;
	for (int i = 0; i < nparams; i++)
		h = (h ^ (types ? types[i] : 0)) * 16777619u;
	return h;
}

static bool
same_types(const stmt_t *s, int nparams, const uint32_t *types)
{
	if (s->nparams != nparams)
		return false;
	for (int i = 0; i < nparams; i++)
		if (s->types[i] != (types ? types[i] : 0))
			return false;
	return true;
}

static void
slots_rebuild(trk_pgdest_t *d, size_t nslots)
{
	free(d->slots);
	d->slots = trk_malloc(nslots * sizeof(int));
	d->nslots = nslots;
	for (size_t i = 0; i < nslots; i++)
		d->slots[i] = -1;
	for (size_t i = 0; i < d->nstmts; i++)
	{
		size_t		j = d->stmts[i].hash & (nslots - 1);

		while (d->slots[j] >= 0)
			j = (j + 1) & (nslots - 1);
		d->slots[j] = (int) i;
	}
}

/*
 * stmt_find returns the index of sql with these parameter types, or -1;
 * *created says it is new.  The same text may come with other types (a
 * template's new.x on tables whose x differ), and a statement prepared
 * for one would read the other's values wrongly.
 */
static int
stmt_find(trk_pgdest_t *d, const char *sql, int nparams, const uint32_t *types,
		  bool *created)
{
	uint32_t	h = hash_sql(sql, nparams, types);
	size_t		j;

	*created = false;
	if (d->nslots == 0)
		slots_rebuild(d, 64);
	j = h & (d->nslots - 1);
	while (d->slots[j] >= 0)
	{
		stmt_t	   *s = &d->stmts[d->slots[j]];

		if (s->hash == h && strcmp(s->sql, sql) == 0 && same_types(s, nparams, types))
			return d->slots[j];
		j = (j + 1) & (d->nslots - 1);
	}
	if (d->nstmts >= MAX_PREPARED)
		return -1;
	TRK_GROW(d->stmts, d->capstmts, d->nstmts + 1);
	d->stmts[d->nstmts].sql = trk_strdup(sql);
	d->stmts[d->nstmts].types = trk_calloc((size_t) nparams + 1, sizeof(uint32_t));
	if (types)
		memcpy(d->stmts[d->nstmts].types, types, (size_t) nparams * sizeof(uint32_t));
	d->stmts[d->nstmts].nparams = nparams;
	d->stmts[d->nstmts].hash = h;
	d->slots[j] = (int) d->nstmts;
	d->nstmts++;
	if (d->nstmts * 2 > d->nslots)
		slots_rebuild(d, d->nslots * 2);
	*created = true;
	return (int) d->nstmts - 1;
}

/* ------------------------------------------------------------------ */
/* errors and results                                                 */
/* ------------------------------------------------------------------ */

static void
dest_fail_conn(trk_pgdest_t *d, const char *what)
{
	char		msg[512];
	trk_dest_error_t err = {0};

	if (d->failed || d->closing)
		return;
	trk_pq_line(msg, sizeof(msg), what, PQerrorMessage(d->conn));
	d->failed = true;
	err.connection = true;
	err.message = msg;
	err.tag.pipeline = -1;
	d->cbs.on_error(d->arg, d, &err);
}

static void
dest_fail_result(trk_pgdest_t *d, const entry_t *e, PGresult *r)
{
	trk_dest_error_t err = {0};
	const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	const char *primary = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);

	if (d->failed || d->closing)
		return;
	d->failed = true;
	snprintf(err.sqlstate, sizeof(err.sqlstate), "%s", state ? state : "");
	err.check_failed = e->tag.check != TRK_CHECK_NONE && strcmp(err.sqlstate, "22012") == 0;
	err.message = primary ? primary : PQresultErrorMessage(r);
	err.detail = PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL);
	err.sql = e->stmt >= 0 ? d->stmts[e->stmt].sql : NULL;
	err.tag = e->tag;
	d->cbs.on_error(d->arg, d, &err);
}

static void
check_ready(trk_pgdest_t *d)
{
	if (d->closing || d->failed)
		return;
	if (d->busy && d->count <= INFLIGHT_LOW && d->inflight_bytes <= INFLIGHT_BYTES_LOW)
	{
		d->busy = false;
		if (d->ncommitting < TRK_PGDEST_MAX_COMMITTING)
			d->cbs.on_ready(d->arg, d);
	}
}

/* dest_read_results consumes every complete result; false if failed. */
static bool
dest_read_results(trk_pgdest_t *d)
{
	while (d->count > 0 && !d->closing && !d->failed)
	{
		entry_t    *e = ring_front(d);
		PGresult   *r;
		uint64_t	seq;

		if (PQisBusy(d->conn))
			break;
		r = PQgetResult(d->conn);
		if (e->kind == E_SYNC)
		{
			ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;

			PQclear(r);
			if (st != PGRES_PIPELINE_SYNC)
			{
				dest_fail_conn(d, "unexpected result at the end of a batch");
				return false;
			}
			seq = e->seq;
			ring_pop(d);
			d->ncommitting--;
			d->cbs.on_committed(d->arg, d, seq);
			continue;
		}
		if (r == NULL)
		{
			/* the end of this entry's results */
			ring_pop(d);
			continue;
		}
		e->got = true;
		switch (PQresultStatus(r))
		{
			case PGRES_TUPLES_OK:
				if (e->kind == E_STMT && d->cbs.on_rows != NULL)
				{
					d->cbs.on_rows(d->arg, d, &e->tag, r);
					if (d->closing || d->failed)
						return false;
					continue;	/* r is the callee's */
				}
				break;
			case PGRES_COMMAND_OK:
				if (e->kind == E_STMT && d->cbs.on_rows != NULL && e->tag.change != 0)
				{
					/* a query that returns no rows still answers */
					d->cbs.on_rows(d->arg, d, &e->tag, r);
					if (d->closing || d->failed)
						return false;
					continue;
				}
				if (e->commit && strcmp(PQcmdStatus(r), "COMMIT") != 0)
				{
					PQclear(r);
					dest_fail_conn(d, "the destination rolled the batch back");
					return false;
				}
				break;
			case PGRES_PIPELINE_ABORTED:
				break;
			default:
				dest_fail_result(d, e, r);
				PQclear(r);
				return false;
		}
		PQclear(r);
	}
	check_ready(d);
	return true;
}

static void
on_poll(uv_poll_t *h, int status, int events)
{
	trk_pgdest_t *d = h->data;

	if (d->closing || d->failed)
		return;
	if (status < 0)
	{
		dest_fail_conn(d, uv_strerror(status));
		return;
	}
	if (events & UV_WRITABLE)
	{
		int			r = PQflush(d->conn);

		if (r < 0)
		{
			dest_fail_conn(d, "could not send to the destination");
			return;
		}
		d->want_write = r == 1;
	}
	if (events & UV_READABLE)
	{
		if (!PQconsumeInput(d->conn))
		{
			dest_fail_conn(d, "destination connection lost");
			return;
		}
		if (!dest_read_results(d))
			return;
	}
	dest_update_poll(d);
}

static void
dest_update_poll(trk_pgdest_t *d)
{
	int			events = UV_READABLE | (d->want_write ? UV_WRITABLE : 0);

	if (d->closing || d->failed || events == d->poll_events)
		return;					/* restarting a poll costs a system call */
	d->poll_events = events;
	uv_poll_start(d->poll, events, on_poll);
}

/* ------------------------------------------------------------------ */
/* sending                                                            */
/* ------------------------------------------------------------------ */

static void
flush_request(trk_pgdest_t *d)
{
	PQsendFlushRequest(d->conn);
	d->since_flush_request = 0;
	d->bytes_since_flush_request = 0;
}

static void
after_send(trk_pgdest_t *d, bool ok, size_t bytes)
{
	if (!ok)
	{
		dest_fail_conn(d, "could not queue a statement");
		return;
	}
	d->bytes_since_flush_request += bytes;
	if (++d->since_flush_request >= FLUSH_REQUEST_EVERY ||
		d->bytes_since_flush_request >= FLUSH_REQUEST_BYTES)
		flush_request(d);
	if (!d->busy && (d->count >= INFLIGHT_HIGH || d->inflight_bytes >= INFLIGHT_BYTES_HIGH))
	{
		d->busy = true;
		flush_request(d);
		trk_pgdest_flush(d);
	}
}

void
trk_pgdest_begin(trk_pgdest_t *d)
{
	entry_t    *e;

	if (d->open || d->failed)
		return;
	d->open = true;
	d->seq++;
	d->batch_rows = 0;
	d->batch_bytes = 0;
	d->batch_started = uv_now(d->loop);
	e = ring_push(d);
	e->tag.pipeline = -1;
	after_send(d, PQsendQueryParams(d->conn, "BEGIN", 0, NULL, NULL, NULL, NULL, 0) == 1, 0);
}

void
trk_pgdest_exec(trk_pgdest_t *d, const char *sql, int nparams,
				const char *const *values, const uint32_t *types,
				const trk_dest_tag_t *tag, size_t bytes, bool prepare)
{
	int			idx = -1;
	bool		created = false;
	entry_t    *e;
	int			ok;

	if (!d->open || d->failed)
		return;
	if (prepare)
		idx = stmt_find(d, sql, nparams, types, &created);
	if (created)
	{
		char		name[24];

		snprintf(name, sizeof(name), "trk_%d", idx);
		e = ring_push(d);
		e->kind = E_PREPARE;
		e->stmt = idx;
		e->tag = *tag;
		e->tag.about = NULL;
		if (PQsendPrepare(d->conn, name, sql, nparams, (const Oid *) types) != 1)
		{
			after_send(d, false, 0);
			return;
		}
	}
	e = ring_push(d);
	e->kind = E_STMT;
	e->stmt = idx;
	e->tag = *tag;
	e->tag.about = tag->about ? trk_strdup(tag->about) : NULL;
	e->bytes = bytes;
	d->inflight_bytes += bytes;
	if (idx >= 0)
	{
		char		name[24];

		snprintf(name, sizeof(name), "trk_%d", idx);
		ok = PQsendQueryPrepared(d->conn, name, nparams, values, NULL, NULL, 0);
	}
	else
		ok = PQsendQueryParams(d->conn, sql, nparams, (const Oid *) types, values,
							   NULL, NULL, 0);
	after_send(d, ok == 1, bytes);
}

void
trk_pgdest_note_change(trk_pgdest_t *d, size_t bytes)
{
	d->batch_rows++;
	d->batch_bytes += bytes;
}

void
trk_pgdest_commit(trk_pgdest_t *d)
{
	entry_t    *e;

	if (!d->open || d->failed)
		return;
	e = ring_push(d);
	e->commit = true;
	e->tag.pipeline = -1;
	if (PQsendQueryParams(d->conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 0) != 1)
	{
		after_send(d, false, 0);
		return;
	}
	e = ring_push(d);
	e->kind = E_SYNC;
	e->seq = d->seq;
	e->tag.pipeline = -1;
	if (PQpipelineSync(d->conn) != 1)
	{
		dest_fail_conn(d, "could not end a batch");
		return;
	}
	d->since_flush_request = 0;
	d->bytes_since_flush_request = 0;
	d->open = false;
	d->ncommitting++;
	trk_pgdest_flush(d);
}

void
trk_pgdest_flush(trk_pgdest_t *d)
{
	int			r;

	if (d->closing || d->failed)
		return;
	r = PQflush(d->conn);
	if (r < 0)
	{
		dest_fail_conn(d, "could not send to the destination");
		return;
	}
	if ((r == 1) != d->want_write)
	{
		d->want_write = r == 1;
		dest_update_poll(d);
	}
}

/* ------------------------------------------------------------------ */
/* life cycle                                                         */
/* ------------------------------------------------------------------ */

trk_pgdest_t *
trk_pgdest_new(uv_loop_t *loop, PGconn *conn, const char *name,
			   const trk_pgdest_cbs_t *cbs, void *arg, char *errbuf, size_t errlen)
{
	trk_pgdest_t *d;
	int			r;

	if (PQsetnonblocking(conn, 1) != 0 || PQenterPipelineMode(conn) != 1)
	{
		snprintf(errbuf, errlen, "cannot enter pipeline mode: %s", PQerrorMessage(conn));
		PQfinish(conn);
		return NULL;
	}
	d = trk_calloc(1, sizeof(*d));
	d->loop = loop;
	d->conn = conn;
	d->name = trk_strdup(name);
	d->cbs = *cbs;
	d->arg = arg;
	d->poll = trk_calloc(1, sizeof(*d->poll));
	r = uv_poll_init(loop, d->poll, PQsocket(conn));
	if (r != 0)
	{
		snprintf(errbuf, errlen, "cannot watch the destination socket: %s", uv_strerror(r));
		free(d->poll);
		d->poll = NULL;
		PQfinish(conn);
		free(d->name);
		free(d);
		return NULL;
	}
	d->poll->data = d;
	dest_update_poll(d);
	return d;
}

const char *
trk_pgdest_name(const trk_pgdest_t *d)
{
	return d->name;
}

bool
trk_pgdest_is_open(const trk_pgdest_t *d)
{
	return d->open && !d->failed;
}

uint64_t
trk_pgdest_batch_seq(const trk_pgdest_t *d)
{
	return d->seq;
}

int
trk_pgdest_committing(const trk_pgdest_t *d)
{
	return d->ncommitting;
}

bool
trk_pgdest_can_commit(const trk_pgdest_t *d)
{
	return !d->failed && d->ncommitting < TRK_PGDEST_MAX_COMMITTING;
}

bool
trk_pgdest_is_busy(const trk_pgdest_t *d)
{
	return d->busy || d->failed || d->ncommitting >= TRK_PGDEST_MAX_COMMITTING;
}

size_t
trk_pgdest_inflight(const trk_pgdest_t *d)
{
	return d->count;
}

size_t
trk_pgdest_batch_rows(const trk_pgdest_t *d)
{
	return d->batch_rows;
}

size_t
trk_pgdest_batch_bytes(const trk_pgdest_t *d)
{
	return d->batch_bytes;
}

uint64_t
trk_pgdest_batch_started(const trk_pgdest_t *d)
{
	return d->batch_started;
}

static void
on_closed(uv_handle_t *h)
{
	trk_pgdest_t *d = h->data;

	free(h);
	PQfinish(d->conn);
	for (size_t i = 0; i < d->nstmts; i++)
	{
		free(d->stmts[i].sql);
		free(d->stmts[i].types);
	}
	for (size_t i = 0; i < d->count; i++)
		free((char *) d->ring[(d->head + i) & (d->ring_cap - 1)].tag.about);
	free(d->stmts);
	free(d->slots);
	free(d->ring);
	free(d->name);
	free(d);
}

void
trk_pgdest_close(trk_pgdest_t *d)
{
	if (d->closing)
		return;
	d->closing = true;
	/* the poll handle lets go of the socket before PQfinish closes it */
	uv_close((uv_handle_t *) d->poll, on_closed);
}

/* stream.c — read XLogData and keepalives from libpq on the loop; send feedback. */
#include "stream/stream.h"
#include "stream/replmsg.h"
#include "base/mem.h"
#include "base/pqmsg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* messages handled per loop turn, so destinations' results get read too */
#define STREAM_BUDGET 512

struct trk_stream
{
	uv_loop_t  *loop;			/* borrowed */
	PGconn	   *conn;			/* owned */
	uv_poll_t  *poll;			/* owned; freed in its close callback */
	uv_idle_t  *idle;			/* owned; runs while messages are buffered */
	trk_stream_cbs_t cbs;
	void	   *arg;
	trk_lsn_t	received;		/* highest walEnd/dataStart seen */
	trk_lsn_t	flushed;		/* last flush sent */
	bool		paused;
	bool		closing;
	bool		want_write;		/* a status update is waiting for the socket */
	int			poll_events;	/* what the poll handle watches now */
	int			open_handles;
};

static void stream_process(trk_stream_t *s);
static void stream_update_poll(trk_stream_t *s);

static void
stream_fail(trk_stream_t *s, const char *what)
{
	char		msg[512];

	trk_pq_line(msg, sizeof(msg), what, PQerrorMessage(s->conn));
	trk_stream_pause(s);
	s->cbs.on_error(s->arg, msg);
}

static void
on_poll(uv_poll_t *h, int status, int events)
{
	trk_stream_t *s = h->data;

	if (s->closing)
		return;
	if (status < 0)
	{
		stream_fail(s, uv_strerror(status));
		return;
	}
	if (events & UV_WRITABLE)
	{
		int			r = PQflush(s->conn);

		if (r < 0)
		{
			stream_fail(s, "could not send to the replication connection");
			return;
		}
		s->want_write = r == 1;
	}
	if ((events & UV_READABLE) && !s->paused)
	{
		if (!PQconsumeInput(s->conn))
		{
			stream_fail(s, "replication connection lost");
			return;
		}
		stream_process(s);
	}
	if (!s->closing)
		stream_update_poll(s);
}

static void
on_idle(uv_idle_t *h)
{
	trk_stream_t *s = h->data;

	if (s->closing || s->paused)
	{
		uv_idle_stop(h);
		return;
	}
	stream_process(s);
}

static void
stream_update_poll(trk_stream_t *s)
{
	int			events = 0;

	if (s->closing)
		return;
	if (!s->paused)
		events |= UV_READABLE;
	if (s->want_write)
		events |= UV_WRITABLE;
	if (events == s->poll_events)
		return;					/* restarting a poll costs a system call */
	s->poll_events = events;
	if (events)
		uv_poll_start(s->poll, events, on_poll);
	else
		uv_poll_stop(s->poll);
}

/*
 * stream_process hands buffered messages to the owner, at most
 * STREAM_BUDGET per call; while more are buffered the idle handle calls
 * again on the next loop turn.
 */
static void
stream_process(trk_stream_t *s)
{
	for (int n = 0; n < STREAM_BUDGET; n++)
	{
		char	   *buf = NULL;
		int			len;
		trk_replmsg_t m;

		if (s->paused || s->closing)
			return;
		len = PQgetCopyData(s->conn, &buf, 1);
		if (len == 0)
		{
			uv_idle_stop(s->idle);
			s->cbs.on_drained(s->arg);
			return;
		}
		if (len == -1)
		{
			PGresult   *r = PQgetResult(s->conn);

			PQclear(r);
			stream_fail(s, "the server ended the replication stream");
			return;
		}
		if (len < 0)
		{
			stream_fail(s, "could not read from the replication connection");
			return;
		}
		if (trk_replmsg_parse(buf, (size_t) len, &m) != 0)
		{
			PQfreemem(buf);
			stream_fail(s, "unexpected message on the replication connection");
			return;
		}
		if (m.kind == 'w')
		{
			if (m.start > s->received)
				s->received = m.start;
			s->cbs.on_data(s->arg, m.start, m.data, m.len);
		}
		else
		{
			if (m.walend > s->received)
				s->received = m.walend;
			s->cbs.on_keepalive(s->arg, m.walend);
			if (m.reply && !s->closing)
				trk_stream_feedback(s, s->flushed);
		}
		PQfreemem(buf);
	}
	/* budget spent with messages left: continue on the next loop turn */
	if (!s->closing && !s->paused)
		uv_idle_start(s->idle, on_idle);
}

trk_stream_t *
trk_stream_new(uv_loop_t *loop, PGconn *conn, const trk_stream_cbs_t *cbs,
			   void *arg, char *errbuf, size_t errlen)
{
	trk_stream_t *s = trk_calloc(1, sizeof(*s));
	int			r;

	s->loop = loop;
	s->conn = conn;
	s->cbs = *cbs;
	s->arg = arg;
	s->poll = trk_calloc(1, sizeof(*s->poll));
	s->idle = trk_calloc(1, sizeof(*s->idle));
	PQsetnonblocking(conn, 1);
	r = uv_poll_init(loop, s->poll, PQsocket(conn));
	if (r != 0)
	{
		snprintf(errbuf, errlen, "cannot watch the replication socket: %s", uv_strerror(r));
		PQfinish(conn);
		free(s->poll);
		free(s->idle);
		free(s);
		return NULL;
	}
	uv_idle_init(loop, s->idle);
	s->poll->data = s;
	s->idle->data = s;
	s->open_handles = 2;
	stream_update_poll(s);
	/* libpq may already hold messages read with the COPY BOTH response */
	uv_idle_start(s->idle, on_idle);
	return s;
}

void
trk_stream_pause(trk_stream_t *s)
{
	if (s->paused || s->closing)
		return;
	s->paused = true;
	uv_idle_stop(s->idle);
	stream_update_poll(s);
}

bool
trk_stream_is_paused(const trk_stream_t *s)
{
	return s->paused;
}

void
trk_stream_resume(trk_stream_t *s)
{
	if (!s->paused || s->closing)
		return;
	s->paused = false;
	stream_update_poll(s);
	uv_idle_start(s->idle, on_idle);
}

int
trk_stream_feedback(trk_stream_t *s, trk_lsn_t flush)
{
	char		msg[TRK_REPL_STATUS_SIZE];
	int			r;

	if (s->closing)
		return -1;
	if (flush > s->flushed)
		s->flushed = flush;
	trk_replmsg_status(msg, s->received > s->flushed ? s->received : s->flushed,
					   s->flushed, s->flushed, trk_repl_now(), false);
	if (PQputCopyData(s->conn, msg, sizeof(msg)) <= 0 || (r = PQflush(s->conn)) < 0)
	{
		stream_fail(s, "could not send a status update");
		return -1;
	}
	if (r == 1 && !s->want_write)
	{
		s->want_write = true;
		stream_update_poll(s);
	}
	return 0;
}

trk_lsn_t
trk_stream_received(const trk_stream_t *s)
{
	return s->received;
}

static void
on_closed(uv_handle_t *h)
{
	trk_stream_t *s = h->data;

	free(h);
	if (--s->open_handles == 0)
	{
		PQfinish(s->conn);
		free(s);
	}
}

void
trk_stream_close(trk_stream_t *s)
{
	if (s->closing)
		return;
	s->closing = true;
	/* the poll handle lets go of the socket here, before PQfinish closes it */
	uv_close((uv_handle_t *) s->poll, on_closed);
	uv_close((uv_handle_t *) s->idle, on_closed);
}

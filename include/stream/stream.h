/*
 * stream.h — one logical replication connection, consumed on the libuv loop.
 *
 * The connection arrives already in COPY BOTH (START_REPLICATION was sent by
 * the start-up code).  The stream reads XLogData and keepalives as they come,
 * without ever blocking the loop, and hands each payload to its owner:
 *
 *   on_data      one wal2json message and the WAL position it starts at
 *   on_keepalive the server's position while nothing is being sent
 *   on_drained   nothing complete is buffered: a good moment to commit
 *   on_error     the connection is gone; the stream must be closed
 *
 * The owner may pause the stream from a callback (back-pressure from a busy
 * destination) and resume it later; buffered messages are then processed
 * without waiting for the socket.  It may also close the stream from a
 * callback: no further callback runs.  Keepalives that ask for a reply are
 * answered at once with the positions last given to trk_stream_feedback.
 */
#ifndef TRK_STREAM_STREAM_H
#define TRK_STREAM_STREAM_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "base/lsn.h"

typedef struct trk_stream trk_stream_t;

typedef struct trk_stream_cbs
{
	void		(*on_data) (void *arg, trk_lsn_t start, const char *data, size_t len);
	void		(*on_keepalive) (void *arg, trk_lsn_t walend);
	void		(*on_drained) (void *arg);
	void		(*on_error) (void *arg, const char *message);
} trk_stream_cbs_t;

/*
 * trk_stream_new takes ownership of conn (in COPY BOTH) and starts reading.
 * Returns NULL (conn closed, message in errbuf) if the socket cannot be
 * watched.
 */
trk_stream_t *trk_stream_new(uv_loop_t *loop, PGconn *conn,
							 const trk_stream_cbs_t *cbs, void *arg,
							 char *errbuf, size_t errlen);

void		trk_stream_pause(trk_stream_t *s);
bool		trk_stream_is_paused(const trk_stream_t *s);
void		trk_stream_resume(trk_stream_t *s);

/*
 * trk_stream_feedback records flush (durable in every destination) and sends
 * a status update: write = the last position received, flush = apply =
 * flush.  Returns 0, or -1 when the connection failed (on_error follows).
 */
int			trk_stream_feedback(trk_stream_t *s, trk_lsn_t flush);

trk_lsn_t	trk_stream_received(const trk_stream_t *s);

/*
 * trk_stream_close stops reading and frees the stream (and closes the
 * connection) once libuv has let go of its handles.  Send the final status
 * update first.
 */
void		trk_stream_close(trk_stream_t *s);

#endif

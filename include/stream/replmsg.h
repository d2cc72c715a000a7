/*
 * replmsg.h — the messages of PostgreSQL's streaming replication protocol
 * that a logical consumer reads and writes inside COPY BOTH.
 *
 *   in  'w' XLogData     dataStart, walEnd, sendTime (int64 BE), payload
 *   in  'k' keepalive    walEnd, sendTime (int64 BE), replyRequested (byte)
 *   out 'r' status       write, flush, apply, sendTime (int64 BE), reply (byte)
 *
 * Times are microseconds since 2000-01-01 00:00 UTC.  Pure: no I/O.
 */
#ifndef TRK_STREAM_REPLMSG_H
#define TRK_STREAM_REPLMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/lsn.h"

#define TRK_REPL_STATUS_SIZE 34

typedef struct trk_replmsg
{
	char		kind;			/* 'w' or 'k' */
	trk_lsn_t	start;			/* 'w' */
	trk_lsn_t	walend;
	int64_t		sendtime;
	bool		reply;			/* 'k' */
	const char *data;			/* 'w': borrowed from the input */
	size_t		len;
} trk_replmsg_t;

/* trk_replmsg_parse reads one message; -1 if truncated or of unknown kind. */
int			trk_replmsg_parse(const char *buf, size_t len, trk_replmsg_t *out);

/* trk_replmsg_status writes a 34-byte standby status update into out. */
void		trk_replmsg_status(char out[TRK_REPL_STATUS_SIZE], trk_lsn_t write,
							   trk_lsn_t flush, trk_lsn_t apply, int64_t now,
							   bool reply);

/* trk_repl_now is the current time in the protocol's epoch. */
int64_t		trk_repl_now(void);

#endif

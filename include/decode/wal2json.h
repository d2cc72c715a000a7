/*
 * wal2json.h — one wal2json 2.5 format-2 message to a trk_change_t, exactly.
 *
 * Format 2 sends one JSON object per XLogData message:
 *
 *   B/C  action, xid?, timestamp?, origin?, lsn?, nextlsn?
 *   I/U/D action, xid?, timestamp?, origin?, lsn?, schema?, table,
 *        columns [{name, type?, typeoid?, value, optional?, position?,
 *        default?}] (I, U), identity [same, without the last three] (U, D),
 *        pk [{name, type?, typeoid?}] (with include-pk; [] without a key)
 *   T    action, xid?, timestamp?, origin?, lsn?, schema?, table
 *   M    action, xid? (null when non-transactional), timestamp? (likewise),
 *        origin?, lsn?, transactional, prefix, content
 *
 * Numbers stay the exact text wal2json sent.  json, jsonb, arrays, bytea (hex
 * without "\x") and every other non-numeric, non-boolean type arrive as JSON
 * strings in PostgreSQL's text output; should a value ever be a JSON array or
 * object it is kept as its exact source text, kind TRK_V_STRING.  A bytea
 * value gets back the "\x" wal2json strips, so it binds as bytea input.  Fields this
 * decoder does not know are ignored, so newer wal2json options cannot break
 * it; a known field of the wrong JSON type is an error.
 *
 * Every pointer in the result is allocated in the arena a and lives until it
 * is reset.  Errors are appended to err as "line L, column C: message"
 * (columns count bytes).
 */
#ifndef TRK_DECODE_WAL2JSON_H
#define TRK_DECODE_WAL2JSON_H

#include <stddef.h>

#include "base/arena.h"
#include "base/buf.h"
#include "decode/change.h"

/*
 * trk_wal2json_decode decodes the message data[0..len) (need not be
 * NUL-terminated) into *out.  Returns 0, or -1 with a message in err (and
 * *out zeroed).
 */
int			trk_wal2json_decode(trk_arena_t *a, const char *data, size_t len,
								trk_change_t *out, trk_buf_t *err);

/*
 * trk_wal2json_row_from_object turns a flat JSON object typed by a user, such
 * as {"id":1,"name":"x","price":12.50}, into columns with the same value
 * rules as a wal2json message (type NULL, typeoid 0).  A nested array or
 * object is kept as its exact JSON text; a repeated name is an error.
 * Returns 0, or -1 with a message in err.
 */
int			trk_wal2json_row_from_object(trk_arena_t *a, const char *json,
										 size_t len, trk_column_t **cols,
										 size_t *ncols, trk_buf_t *err);

#endif

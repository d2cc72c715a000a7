/*
 * change.h — the in-memory model of one decoded wal2json format-2 message.
 *
 * A message is a transaction boundary (B, C), a row change (I, U, D), a
 * truncate (T) or a logical message (M).  Every pointer in a trk_change_t is
 * borrowed from the arena it was decoded into, and lives until that arena is
 * reset: the streaming path reuses one arena per message, so copying a change
 * costs nothing on the hot path.
 */
#ifndef TRK_DECODE_CHANGE_H
#define TRK_DECODE_CHANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/lsn.h"
#include "base/value.h"

typedef enum trk_action
{
	TRK_ACT_BEGIN = 'B',
	TRK_ACT_COMMIT = 'C',
	TRK_ACT_INSERT = 'I',
	TRK_ACT_UPDATE = 'U',
	TRK_ACT_DELETE = 'D',
	TRK_ACT_TRUNCATE = 'T',
	TRK_ACT_MESSAGE = 'M'
} trk_action_t;

typedef struct trk_column
{
	const char *name;
	trk_value_t value;			/* value.type is the column's type name */
	uint32_t	typeoid;		/* "typeoid" (include-type-oids), else 0 */
} trk_column_t;

typedef struct trk_change
{
	trk_action_t action;
	bool		has_xid;		/* false without include-xids, and for a
								 * non-transactional M ("xid":null) */
	uint32_t	xid;
	bool		has_origin;		/* include-origin */
	uint32_t	origin;			/* replication origin id, 0 = local */
	trk_lsn_t	lsn;			/* "lsn": change position; for B/C the commit
								 * record's start */
	trk_lsn_t	nextlsn;		/* B/C "nextlsn": the transaction's end LSN */
	const char *timestamp;		/* commit time as sent (include-timestamp puts
								 * it on every message); NULL if absent/null */
	const char *schema;			/* I/U/D/T; NULL with include-schemas=0 */
	const char *table;
	trk_column_t *columns;		/* I/U: the new row (unchanged TOAST left out) */
	size_t		ncolumns;
	trk_column_t *identity;		/* U/D: the old key, or the whole old row
								 * with REPLICA IDENTITY FULL; NULL if absent,
								 * non-NULL (maybe with nidentity 0) if sent */
	size_t		nidentity;
	const char **pk;			/* with include-pk: primary key column names;
								 * non-NULL with npk 0 for a table without
								 * one, NULL when "pk" is absent */
	size_t		npk;
	bool		transactional;	/* M */
	const char *prefix;			/* M */
	const char *content;		/* M */
} trk_change_t;

/*
 * trk_column_set makes c the column name holding text (len bytes), or SQL
 * NULL when text is NULL: a value read back from PostgreSQL, in text form.
 */
static inline void
trk_column_set(trk_column_t *c, const char *name, const char *text, size_t len)
{
	c->name = name;
	c->typeoid = 0;
	c->value.kind = text ? TRK_V_STRING : TRK_V_NULL;
	c->value.text = text;
	c->value.len = text ? len : 0;
	c->value.type = NULL;
}

/* trk_change_column finds a column by exact name in cols, or NULL. */
const trk_column_t *trk_change_column(const trk_column_t *cols, size_t n,
									  const char *name);

/*
 * trk_change_clone copies c and everything it points to into one malloc'd
 * block, which the caller frees with free(); *size (if not NULL) gets its
 * size.  For a change that must outlive its arena, e.g. while it waits in
 * a queue.
 */
trk_change_t *trk_change_clone(const trk_change_t *c, size_t *size);

#endif

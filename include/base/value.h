/*
 * value.h — one column value as trucker carries it: exact text, never a double.
 *
 * wal2json writes numbers as bare JSON numbers and booleans as JSON true/false;
 * trucker keeps their text exactly as sent (a numeric of 40 digits stays 40
 * digits) and sends every value to PostgreSQL in text format.  ABSENT is a
 * column the change does not carry — an unchanged TOAST value, or an old-row
 * column that the replica identity does not log — and must never be taken
 * for NULL.
 */
#ifndef TRK_BASE_VALUE_H
#define TRK_BASE_VALUE_H

#include <stdbool.h>
#include <stddef.h>

typedef enum trk_value_kind
{
	TRK_V_ABSENT = 0,
	TRK_V_NULL,
	TRK_V_BOOL,					/* text is "true" or "false" */
	TRK_V_NUMBER,				/* text is the JSON number, exactly */
	TRK_V_STRING				/* text is the decoded string (may hold NUL? no:
								 * PostgreSQL text cannot) */
} trk_value_kind_t;

typedef struct trk_value
{
	trk_value_kind_t kind;
	const char *text;			/* borrowed; NUL-terminated; NULL for ABSENT/NULL */
	size_t		len;
	const char *type;			/* borrowed PostgreSQL type name, or NULL */
} trk_value_t;

static inline bool
trk_value_is_null(const trk_value_t *v)
{
	return v->kind == TRK_V_NULL;
}

#endif

/*
 * json.h — a strict RFC 8259 JSON parser into a tree that keeps exact text.
 *
 * Numbers keep their source text (validated against the JSON grammar, never
 * converted), strings are decoded to UTF-8, objects keep their key order and
 * every node remembers where it started, so the wal2json decoder can say
 * "line 1, column 212: ..." about any value.  Lines and columns are 1-based;
 * columns count bytes, which is what you need to find the spot in a raw
 * replication message.
 *
 * Stricter than RFC 8259 in two ways, both because trucker hands strings to
 * PostgreSQL text, which rejects them: invalid UTF-8 is an error, and so is
 * \u0000.  Duplicate keys are kept; trk_json_get returns the first.
 *
 * Every node and string is allocated in the caller's arena and lives until the
 * arena is reset.  src/srclen point into the caller's input instead, and are
 * valid only while that input is.
 */
#ifndef TRK_DECODE_JSON_H
#define TRK_DECODE_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include "base/arena.h"
#include "base/buf.h"

#define TRK_JSON_MAX_DEPTH 256	/* nesting of arrays and objects */

typedef enum trk_json_kind
{
	TRK_JSON_NULL = 0,
	TRK_JSON_BOOL,
	TRK_JSON_NUMBER,
	TRK_JSON_STRING,
	TRK_JSON_ARRAY,
	TRK_JSON_OBJECT
} trk_json_kind_t;

typedef struct trk_json trk_json_t;

struct trk_json
{
	trk_json_kind_t kind;
	int			line;			/* where the value starts, 1-based */
	int			col;			/* byte column, 1-based */
	const char *key;			/* member of an object: its decoded key */
	size_t		keylen;
	const trk_json_t *next;		/* next element or member of the parent */

	/*
	 * NUMBER: the exact source text; STRING: the decoded UTF-8; BOOL: "true"
	 * or "false".  NUL-terminated, in the arena (BOOL: static).  NULL for the
	 * other kinds.
	 */
	const char *text;
	size_t		len;
	bool		boolean;		/* BOOL */

	const trk_json_t *child;	/* ARRAY, OBJECT: first element or member */
	size_t		n;				/* ARRAY, OBJECT: number of them */

	const char *src;			/* this value's exact source text, borrowed */
	size_t		srclen;			/* from the input passed to trk_json_parse */
};

/*
 * trk_json_parse parses exactly one JSON value (surrounded by optional
 * whitespace) from text[0..len), which need not be NUL-terminated.  On
 * malformed input it returns NULL and appends "line L, column C: message"
 * to err.
 */
const trk_json_t *trk_json_parse(trk_arena_t *a, const char *text, size_t len,
								 trk_buf_t *err);

/* trk_json_get returns the first member of obj named key, or NULL. */
const trk_json_t *trk_json_get(const trk_json_t *obj, const char *key);

/* trk_json_kind_name is "null", "boolean", "number", "string", ... */
const char *trk_json_kind_name(trk_json_kind_t kind);

#endif

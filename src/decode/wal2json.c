/* wal2json.c — wal2json format-2 messages to trk_change_t, with no precision lost. */
#include "decode/wal2json.h"

#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#include "decode/json.h"

/* Quote at most this much of a bad value back in an error message. */
#define QUOTE_MAX 64

/* fail appends "line L, column C: message" about node at and returns -1. */
static int	fail(trk_buf_t *err, const trk_json_t *at, const char *fmt, ...)
			__attribute__((format(printf, 3, 4)));

static int
fail(trk_buf_t *err, const trk_json_t *at, const char *fmt, ...)
{
	va_list		ap;

	trk_buf_appendf(err, "line %d, column %d: ", at->line, at->col);
	va_start(ap, fmt);
	trk_buf_vappendf(err, fmt, ap);
	va_end(ap);
	return -1;
}

static int
expect(trk_buf_t *err, const trk_json_t *node, trk_json_kind_t kind,
	   const char *field)
{
	if (node->kind == kind)
		return 0;
	return fail(err, node, "\"%s\" must be %s %s, not %s", field,
				kind == TRK_JSON_ARRAY || kind == TRK_JSON_OBJECT ? "an" : "a",
				trk_json_kind_name(kind), trk_json_kind_name(node->kind));
}

/*
 * get_uint32 reads a JSON number that must be a plain unsigned integer that
 * fits 32 bits (xid, origin, typeoid), without going through a wider type
 * that could hide an overflow.
 */
static int
get_uint32(trk_buf_t *err, const trk_json_t *node, const char *field,
		   uint32_t *out)
{
	uint32_t	v = 0;

	if (expect(err, node, TRK_JSON_NUMBER, field) < 0)
		return -1;
	for (size_t i = 0; i < node->len; i++)
	{
		unsigned	d = (unsigned) (node->text[i] - '0');

		if (d > 9 || v > (UINT32_MAX - d) / 10)
			return fail(err, node, "\"%s\" must be an integer from 0 to %u, not %.*s",
						field, (unsigned) UINT32_MAX,
						(int) (node->len > QUOTE_MAX ? QUOTE_MAX : node->len),
						node->text);
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static int
get_lsn(trk_buf_t *err, const trk_json_t *node, const char *field,
		trk_lsn_t *out)
{
	if (expect(err, node, TRK_JSON_STRING, field) < 0)
		return -1;
	if (!trk_lsn_parse(node->text, node->len, out))
		return fail(err, node, "\"%s\" is not a valid LSN: \"%.*s\"", field,
					(int) (node->len > QUOTE_MAX ? QUOTE_MAX : node->len),
					node->text);
	return 0;
}

/* get_optional_string accepts a string or null (NULL). */
static int
get_optional_string(trk_buf_t *err, const trk_json_t *node, const char *field,
					const char **out)
{
	if (node->kind == TRK_JSON_NULL)
	{
		*out = NULL;
		return 0;
	}
	if (expect(err, node, TRK_JSON_STRING, field) < 0)
		return -1;
	*out = node->text;
	return 0;
}

/*
 * set_value maps one JSON value to a column value.  Every kind is legal:
 * wal2json writes NaN and Infinity as null, numbers bare, booleans as
 * true/false and everything else as a string; an array or object (not
 * something 2.5 sends, but cheap to be ready for) keeps its source text.
 */
static void
set_value(trk_arena_t *a, const trk_json_t *node, trk_value_t *v)
{
	switch (node->kind)
	{
		case TRK_JSON_NULL:
			v->kind = TRK_V_NULL;
			v->text = NULL;
			v->len = 0;
			break;
		case TRK_JSON_BOOL:
			v->kind = TRK_V_BOOL;
			v->text = node->text;
			v->len = node->len;
			break;
		case TRK_JSON_NUMBER:
			v->kind = TRK_V_NUMBER;
			v->text = node->text;
			v->len = node->len;
			break;
		case TRK_JSON_STRING:
			v->kind = TRK_V_STRING;
			v->text = node->text;
			v->len = node->len;
			break;
		case TRK_JSON_ARRAY:
		case TRK_JSON_OBJECT:
			v->kind = TRK_V_STRING;
			v->text = trk_arena_strndup(a, node->src, node->srclen);
			v->len = node->srclen;
			break;
	}
}

/*
 * bytea_input_form turns wal2json's bytea text (hex digits without the
 * leading \x, whatever bytea_output says) into bytea's input form "\x…",
 * so the value binds as a bytea parameter unchanged.
 */
static void
bytea_input_form(trk_arena_t *a, trk_value_t *v)
{
	char	   *t = trk_arena_alloc(a, v->len + 3);

	t[0] = '\\';
	t[1] = 'x';
	memcpy(t + 2, v->text, v->len);
	t[v->len + 2] = '\0';
	v->text = t;
	v->len += 2;
}

#define BYTEA_OID 17

#define KEY_IS(m, lit) \
	((m)->keylen == sizeof(lit) - 1 && memcmp((m)->key, (lit), sizeof(lit) - 1) == 0)

/*
 * decode_columns reads "columns", "identity" or "pk": an array of objects
 * with "name", "type", "typeoid" and (unless it is "pk") "value".  Other
 * members ("optional", "position", "default") are ignored.
 */
static int
decode_columns(trk_arena_t *a, trk_buf_t *err, const trk_json_t *arr,
			   const char *field, bool with_value, trk_column_t **cols,
			   size_t *ncols)
{
	trk_column_t *out;
	size_t		i = 0;

	if (expect(err, arr, TRK_JSON_ARRAY, field) < 0)
		return -1;
	/* non-NULL even when empty: "sent but empty" differs from "absent" */
	out = trk_arena_calloc(a, arr->n ? arr->n : 1, sizeof(trk_column_t));

	for (const trk_json_t *el = arr->child; el != NULL; el = el->next, i++)
	{
		const trk_json_t *name = NULL,
				   *type = NULL,
				   *typeoid = NULL,
				   *value = NULL;
		trk_column_t *col = &out[i];

		if (el->kind != TRK_JSON_OBJECT)
			return fail(err, el, "elements of \"%s\" must be objects, not %s",
						field, trk_json_kind_name(el->kind));
		for (const trk_json_t *m = el->child; m != NULL; m = m->next)
		{
			const trk_json_t **slot;

			if (KEY_IS(m, "name"))
				slot = &name;
			else if (KEY_IS(m, "type"))
				slot = &type;
			else if (KEY_IS(m, "typeoid"))
				slot = &typeoid;
			else if (with_value && KEY_IS(m, "value"))
				slot = &value;
			else
				continue;
			if (*slot != NULL)
				return fail(err, m, "duplicate field \"%.*s\" in \"%s\"",
							(int) m->keylen, m->key, field);
			*slot = m;
		}

		if (name == NULL)
			return fail(err, el, "element of \"%s\" has no \"name\"", field);
		if (expect(err, name, TRK_JSON_STRING, "name") < 0)
			return -1;
		col->name = name->text;
		if (type != NULL &&
			get_optional_string(err, type, "type", &col->value.type) < 0)
			return -1;
		if (typeoid != NULL &&
			get_uint32(err, typeoid, "typeoid", &col->typeoid) < 0)
			return -1;
		if (with_value)
		{
			if (value == NULL)
				return fail(err, el, "column \"%s\" in \"%s\" has no \"value\"",
							col->name, field);
			set_value(a, value, &col->value);
			/* bytea: known by its OID (include-type-oids) or its name */
			if (col->value.kind == TRK_V_STRING &&
				(col->typeoid == BYTEA_OID ||
				 (col->value.type != NULL && strcmp(col->value.type, "bytea") == 0)))
				bytea_input_form(a, &col->value);
		}
	}
	*cols = out;
	*ncols = arr->n;
	return 0;
}

static int
decode_pk(trk_arena_t *a, trk_buf_t *err, const trk_json_t *arr,
		  trk_change_t *out)
{
	trk_column_t *cols;
	size_t		n;
	const char **names;

	if (decode_columns(a, err, arr, "pk", false, &cols, &n) < 0)
		return -1;
	names = trk_arena_alloc(a, (n ? n : 1) * sizeof(const char *));
	for (size_t i = 0; i < n; i++)
		names[i] = cols[i].name;
	out->pk = names;
	out->npk = n;
	return 0;
}

/* The top-level fields this decoder knows; anything else is skipped. */
enum
{
	F_ACTION,
	F_XID,
	F_TIMESTAMP,
	F_ORIGIN,
	F_LSN,
	F_NEXTLSN,
	F_SCHEMA,
	F_TABLE,
	F_COLUMNS,
	F_IDENTITY,
	F_PK,
	F_TRANSACTIONAL,
	F_PREFIX,
	F_CONTENT,
	NFIELDS
};

static const struct
{
	const char *name;
	size_t		len;
} fields[NFIELDS] = {
#define FIELD(id, s) [id] = {s, sizeof(s) - 1}
	FIELD(F_ACTION, "action"),
	FIELD(F_XID, "xid"),
	FIELD(F_TIMESTAMP, "timestamp"),
	FIELD(F_ORIGIN, "origin"),
	FIELD(F_LSN, "lsn"),
	FIELD(F_NEXTLSN, "nextlsn"),
	FIELD(F_SCHEMA, "schema"),
	FIELD(F_TABLE, "table"),
	FIELD(F_COLUMNS, "columns"),
	FIELD(F_IDENTITY, "identity"),
	FIELD(F_PK, "pk"),
	FIELD(F_TRANSACTIONAL, "transactional"),
	FIELD(F_PREFIX, "prefix"),
	FIELD(F_CONTENT, "content"),
#undef FIELD
};

static const char *
action_name(trk_action_t action)
{
	switch (action)
	{
		case TRK_ACT_BEGIN:
			return "begin";
		case TRK_ACT_COMMIT:
			return "commit";
		case TRK_ACT_INSERT:
			return "insert";
		case TRK_ACT_UPDATE:
			return "update";
		case TRK_ACT_DELETE:
			return "delete";
		case TRK_ACT_TRUNCATE:
			return "truncate";
		case TRK_ACT_MESSAGE:
			return "message";
	}
	return "unknown";
}

/* require reports a field the action cannot do without. */
static int
require(trk_buf_t *err, const trk_json_t *root, const trk_json_t *node,
		trk_action_t action, int field)
{
	if (node != NULL)
		return 0;
	return fail(err, root, "%s message (\"%c\") has no \"%s\"",
				action_name(action), (char) action, fields[field].name);
}

static int
decode_message(trk_arena_t *a, const trk_json_t *root, trk_change_t *out,
			   trk_buf_t *err)
{
	const trk_json_t *f[NFIELDS] = {0};
	const trk_json_t *act;
	trk_action_t action;

	if (root->kind != TRK_JSON_OBJECT)
		return fail(err, root, "a wal2json message must be a JSON object, not %s",
					trk_json_kind_name(root->kind));

	/* one pass over the members, each matched against the known names */
	for (const trk_json_t *m = root->child; m != NULL; m = m->next)
	{
		for (int i = 0; i < NFIELDS; i++)
		{
			if (m->keylen != fields[i].len ||
				memcmp(m->key, fields[i].name, fields[i].len) != 0)
				continue;
			if (f[i] != NULL)
				return fail(err, m, "duplicate field \"%s\"", fields[i].name);
			f[i] = m;
			break;
		}
	}

	act = f[F_ACTION];
	if (act == NULL)
		return fail(err, root, "message has no \"action\"");
	if (expect(err, act, TRK_JSON_STRING, "action") < 0)
		return -1;
	if (act->len != 1 || strchr("BCIUDTM", act->text[0]) == NULL)
		return fail(err, act, "unknown action \"%.*s\"",
					(int) (act->len > QUOTE_MAX ? QUOTE_MAX : act->len),
					act->text);
	action = (trk_action_t) act->text[0];
	out->action = action;

	if (f[F_XID] != NULL && f[F_XID]->kind != TRK_JSON_NULL)
	{
		if (get_uint32(err, f[F_XID], "xid", &out->xid) < 0)
			return -1;
		out->has_xid = true;
	}
	if (f[F_ORIGIN] != NULL && f[F_ORIGIN]->kind != TRK_JSON_NULL)
	{
		if (get_uint32(err, f[F_ORIGIN], "origin", &out->origin) < 0)
			return -1;
		out->has_origin = true;
	}
	if (f[F_TIMESTAMP] != NULL &&
		get_optional_string(err, f[F_TIMESTAMP], "timestamp", &out->timestamp) < 0)
		return -1;
	if (f[F_LSN] != NULL && get_lsn(err, f[F_LSN], "lsn", &out->lsn) < 0)
		return -1;
	if (f[F_NEXTLSN] != NULL &&
		get_lsn(err, f[F_NEXTLSN], "nextlsn", &out->nextlsn) < 0)
		return -1;

	if (f[F_SCHEMA] != NULL)
	{
		if (expect(err, f[F_SCHEMA], TRK_JSON_STRING, "schema") < 0)
			return -1;
		out->schema = f[F_SCHEMA]->text;
	}
	if (f[F_TABLE] != NULL)
	{
		if (expect(err, f[F_TABLE], TRK_JSON_STRING, "table") < 0)
			return -1;
		out->table = f[F_TABLE]->text;
	}
	if (f[F_COLUMNS] != NULL &&
		decode_columns(a, err, f[F_COLUMNS], "columns", true,
					   &out->columns, &out->ncolumns) < 0)
		return -1;
	if (f[F_IDENTITY] != NULL &&
		decode_columns(a, err, f[F_IDENTITY], "identity", true,
					   &out->identity, &out->nidentity) < 0)
		return -1;
	if (f[F_PK] != NULL && decode_pk(a, err, f[F_PK], out) < 0)
		return -1;

	if (f[F_TRANSACTIONAL] != NULL)
	{
		if (expect(err, f[F_TRANSACTIONAL], TRK_JSON_BOOL, "transactional") < 0)
			return -1;
		out->transactional = f[F_TRANSACTIONAL]->boolean;
	}
	if (f[F_PREFIX] != NULL)
	{
		if (expect(err, f[F_PREFIX], TRK_JSON_STRING, "prefix") < 0)
			return -1;
		out->prefix = f[F_PREFIX]->text;
	}
	if (f[F_CONTENT] != NULL)
	{
		if (expect(err, f[F_CONTENT], TRK_JSON_STRING, "content") < 0)
			return -1;
		out->content = f[F_CONTENT]->text;
	}

	/*
	 * What each action cannot do without.  "schema" is left optional because
	 * include-schemas=0 is a legal wal2json setting, and "identity" because
	 * wal2json itself sends an UPDATE or DELETE without one (with a server
	 * WARNING) when the old row cannot be had: whether such a change can be
	 * applied is for the apply stage to decide, not the decoder.
	 */
	switch (action)
	{
		case TRK_ACT_INSERT:
		case TRK_ACT_UPDATE:
			if (require(err, root, f[F_TABLE], action, F_TABLE) < 0 ||
				require(err, root, f[F_COLUMNS], action, F_COLUMNS) < 0)
				return -1;
			break;
		case TRK_ACT_DELETE:
		case TRK_ACT_TRUNCATE:
			if (require(err, root, f[F_TABLE], action, F_TABLE) < 0)
				return -1;
			break;
		case TRK_ACT_MESSAGE:
			if (require(err, root, f[F_TRANSACTIONAL], action, F_TRANSACTIONAL) < 0 ||
				require(err, root, f[F_PREFIX], action, F_PREFIX) < 0 ||
				require(err, root, f[F_CONTENT], action, F_CONTENT) < 0)
				return -1;
			break;
		case TRK_ACT_BEGIN:
		case TRK_ACT_COMMIT:
			break;
	}
	return 0;
}

int
trk_wal2json_decode(trk_arena_t *a, const char *data, size_t len,
					trk_change_t *out, trk_buf_t *err)
{
	const trk_json_t *root;

	memset(out, 0, sizeof(*out));
	root = trk_json_parse(a, data, len, err);
	if (root == NULL)
		return -1;
	if (decode_message(a, root, out, err) < 0)
	{
		/* no half-filled change for a caller that forgets to check */
		memset(out, 0, sizeof(*out));
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------- rows typed by hand */

static uint32_t
hash_name(const char *s, size_t n)
{
	uint32_t	h = 2166136261u;	/* FNV-1a */

	for (size_t i = 0; i < n; i++)
	{
		h ^= (unsigned char) s[i];
		h *= 16777619u;
	}
	return h;
}

int
trk_wal2json_row_from_object(trk_arena_t *a, const char *json, size_t len,
							 trk_column_t **cols, size_t *ncols,
							 trk_buf_t *err)
{
	const trk_json_t *root;
	trk_column_t *out;
	const trk_json_t **seen;
	size_t		nslots = 16,
				i = 0;

	*cols = NULL;
	*ncols = 0;
	root = trk_json_parse(a, json, len, err);
	if (root == NULL)
		return -1;
	if (root->kind != TRK_JSON_OBJECT)
		return fail(err, root, "a row must be a JSON object, not %s",
					trk_json_kind_name(root->kind));

	/*
	 * Repeated names are found with a small hash set, so that a hostile
	 * object with many keys costs linear time, not quadratic.
	 */
	while (nslots < root->n * 2)
		nslots *= 2;
	seen = trk_arena_calloc(a, nslots, sizeof(*seen));
	out = trk_arena_calloc(a, root->n ? root->n : 1, sizeof(trk_column_t));

	for (const trk_json_t *m = root->child; m != NULL; m = m->next, i++)
	{
		size_t		h;

		if (m->keylen == 0)
			return fail(err, m, "column name must not be empty");
		for (h = hash_name(m->key, m->keylen) & (nslots - 1); seen[h] != NULL;
			 h = (h + 1) & (nslots - 1))
		{
			if (seen[h]->keylen == m->keylen &&
				memcmp(seen[h]->key, m->key, m->keylen) == 0)
				return fail(err, m, "column \"%s\" appears twice (first at line %d, column %d)",
							m->key, seen[h]->line, seen[h]->col);
		}
		seen[h] = m;
		out[i].name = m->key;
		set_value(a, m, &out[i].value);
	}
	*cols = out;
	*ncols = root->n;
	return 0;
}

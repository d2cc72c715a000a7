/*
 * pgtype.h — PostgreSQL built-in type names (as wal2json writes them) to OIDs.
 *
 * Bind parameters are typed by OID for built-in types, whose OIDs are fixed
 * in every cluster.  User-defined types (enums, domains, composites) have
 * OIDs that differ between clusters, so they map to 0 — "unknown" — and the
 * server infers the type from the statement.
 */
#ifndef TRK_DECODE_PGTYPE_H
#define TRK_DECODE_PGTYPE_H

#include <stdint.h>

typedef uint32_t trk_oid_t;

#define TRK_OID_BYTEA 17
#define TRK_OID_TEXT 25

/*
 * trk_pgtype_oid maps a type name such as "integer", "character varying(20)",
 * "numeric(10,2)", "timestamp(3) with time zone" or "text[]" to its OID, or 0.
 */
trk_oid_t	trk_pgtype_oid(const char *name);

/*
 * trk_pgtype_array_of: the array type of a built-in scalar type the table
 * above knows (its element delimiter is a comma), or 0 — for an array
 * type itself too, whose arrays are the same type.
 */
trk_oid_t	trk_pgtype_array_of(trk_oid_t elem);

#endif

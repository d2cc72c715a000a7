/* pgtype.c — built-in type names to their fixed OIDs (pg_type.dat). */
#include "decode/pgtype.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

typedef struct
{
	const char *name;
	trk_oid_t	oid;
	trk_oid_t	array_oid;
} pgtype_t;

/* format_type() spellings of the types a CDC stream commonly carries. */
static const pgtype_t types[] = {
	{"boolean", 16, 1000},
	{"bytea", 17, 1001},
	{"\"char\"", 18, 1002},
	{"name", 19, 1003},
	{"bigint", 20, 1016},
	{"smallint", 21, 1005},
	{"integer", 23, 1007},
	{"text", 25, 1009},
	{"oid", 26, 1028},
	{"json", 114, 199},
	{"xml", 142, 143},
	{"point", 600, 1017},
	{"real", 700, 1021},
	{"double precision", 701, 1022},
	{"money", 790, 791},
	{"macaddr", 829, 1040},
	{"inet", 869, 1041},
	{"cidr", 650, 651},
	{"character", 1042, 1014},
	{"character varying", 1043, 1015},
	{"date", 1082, 1182},
	{"time without time zone", 1083, 1183},
	{"timestamp without time zone", 1114, 1115},
	{"timestamp with time zone", 1184, 1185},
	{"interval", 1186, 1187},
	{"time with time zone", 1266, 1270},
	{"bit", 1560, 1561},
	{"bit varying", 1562, 1563},
	{"numeric", 1700, 1231},
	{"uuid", 2950, 2951},
	{"jsonb", 3802, 3807},
	{"tsvector", 3614, 3643},
	{"int4range", 3904, 3905},
	{"int8range", 3926, 3927},
	{"numrange", 3906, 3907},
	{"tsrange", 3908, 3909},
	{"tstzrange", 3910, 3911},
	{"daterange", 3912, 3913},
	{"pg_lsn", 3220, 3221},
};

/*
 * normalise drops typmods — "(n)" or "(p,s)" — wherever they sit, e.g.
 * "timestamp(3) with time zone" → "timestamp with time zone".
 */
static bool
normalise(const char *in, char *out, size_t size, bool *is_array)
{
	size_t		n = 0;
	size_t		len = strlen(in);

	*is_array = len > 2 && strcmp(in + len - 2, "[]") == 0;
	if (*is_array)
		len -= 2;
	for (size_t i = 0; i < len; i++)
	{
		if (in[i] == '(')
		{
			while (i < len && in[i] != ')')
				i++;
			continue;
		}
		if (n + 1 >= size)
			return false;
		out[n++] = in[i];
	}
	out[n] = '\0';
	return true;
}

trk_oid_t
trk_pgtype_oid(const char *name)
{
	char		base[64];
	bool		is_array;

	if (name == NULL || !normalise(name, base, sizeof(base), &is_array))
		return 0;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(types[i].name, base) == 0)
			return is_array ? types[i].array_oid : types[i].oid;
	return 0;
}

trk_oid_t
trk_pgtype_array_of(trk_oid_t elem)
{
	for (size_t i = 0; elem != 0 && i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i].oid == elem)
			return types[i].array_oid;
	return 0;
}

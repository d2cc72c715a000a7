/* change.c — lookups over the decoded change model of change.h. */
#include "decode/change.h"

#include <string.h>

/*
 * trk_change_column is a linear scan: rows have tens of columns, and the
 * order wal2json sends them in is the table's, which callers rely on.
 */
const trk_column_t *
trk_change_column(const trk_column_t *cols, size_t n, const char *name)
{
	if (cols == NULL || name == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (cols[i].name != NULL && strcmp(cols[i].name, name) == 0)
			return &cols[i];
	return NULL;
}

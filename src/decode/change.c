/* change.c — lookups over the decoded change model of change.h, and copies. */
#include "decode/change.h"
#include "base/mem.h"

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

/* the bytes a clone needs for string s, and copying it there */
static size_t
str_size(const char *s)
{
	return s ? strlen(s) + 1 : 0;
}

static const char *
put(char **p, const char *s, size_t len)
{
	char	   *at = *p;

	if (s == NULL)
		return NULL;
	memcpy(at, s, len);
	at[len] = '\0';
	*p += len + 1;
	return at;
}

static const char *
put_str(char **p, const char *s)
{
	return s ? put(p, s, strlen(s)) : NULL;
}

static size_t
columns_size(const trk_column_t *cols, size_t n)
{
	size_t		size = n * sizeof(trk_column_t);

	for (size_t i = 0; i < n; i++)
		size += str_size(cols[i].name) + str_size(cols[i].value.type) +
			(cols[i].value.text ? cols[i].value.len + 1 : 0);
	return size;
}

/* put_columns copies n columns' array to *arr (set before) and their strings to *p */
static void
put_columns(trk_column_t *arr, const trk_column_t *cols, size_t n, char **p)
{
	for (size_t i = 0; i < n; i++)
	{
		arr[i] = cols[i];
		arr[i].name = put_str(p, cols[i].name);
		arr[i].value.type = put_str(p, cols[i].value.type);
		arr[i].value.text = put(p, cols[i].value.text, cols[i].value.len);
	}
}

trk_change_t *
trk_change_clone(const trk_change_t *c, size_t *size)
{
	size_t		arrays = (c->ncolumns + c->nidentity) * sizeof(trk_column_t) +
		c->npk * sizeof(const char *);
	size_t		n = sizeof(trk_change_t) + arrays;
	trk_change_t *out;
	char	   *p;
	char	   *strings;

	n += columns_size(c->columns, c->ncolumns) - c->ncolumns * sizeof(trk_column_t);
	n += columns_size(c->identity, c->nidentity) - c->nidentity * sizeof(trk_column_t);
	for (size_t i = 0; i < c->npk; i++)
		n += str_size(c->pk[i]);
	n += str_size(c->timestamp) + str_size(c->schema) + str_size(c->table) +
		str_size(c->prefix) + str_size(c->content);

	out = trk_malloc(n);
	*out = *c;
	p = (char *) (out + 1);
	strings = p + arrays;
	/* NULL stays NULL, and a non-NULL empty array stays non-NULL */
	out->columns = c->columns ? (trk_column_t *) p : NULL;
	p += c->ncolumns * sizeof(trk_column_t);
	out->identity = c->identity ? (trk_column_t *) p : NULL;
	p += c->nidentity * sizeof(trk_column_t);
	out->pk = c->pk ? (const char **) p : NULL;

	put_columns(out->columns, c->columns, c->ncolumns, &strings);
	put_columns(out->identity, c->identity, c->nidentity, &strings);
	for (size_t i = 0; i < c->npk; i++)
		out->pk[i] = put_str(&strings, c->pk[i]);
	out->timestamp = put_str(&strings, c->timestamp);
	out->schema = put_str(&strings, c->schema);
	out->table = put_str(&strings, c->table);
	out->prefix = put_str(&strings, c->prefix);
	out->content = put_str(&strings, c->content);
	if (size)
		*size = n;
	return out;
}

/* batch.c — the transforms of many changes as one query. */
#include "transform/batch.h"
#include "base/mem.h"
#include "decode/pgtype.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The unnest's alias and columns: names no query would give a table or
 * column of its own, so that none of its own names resolves to them.
 */
#define ALIAS "\"trucker batch\""
#define ORD ALIAS ".\"$0\""

bool
trk_xbatch_can(const trk_stmt_t *stmt, const uint32_t *types)
{
	if (stmt->empty || stmt->nparams < 1)
		return false;
	for (int i = 0; i < stmt->nparams; i++)
		if (trk_pgtype_array_of(types[i]) == 0)
			return false;
	return true;
}

bool
trk_xbatch_fits(const trk_xbatch_t *b, const trk_stmt_t *stmt, const uint32_t *types)
{
	if (b->stmt == NULL)
		return true;
	return b->stmt == stmt &&
		memcmp(b->elem, types, (size_t) stmt->nparams * sizeof(uint32_t)) == 0;
}

void
trk_array_append(trk_buf_t *a, const char *text)
{
	trk_buf_appendc(a, a->len == 0 ? '{' : ',');
	if (text == NULL)
	{
		trk_buf_append(a, "NULL");
		return;
	}
	trk_buf_appendc(a, '"');
	for (const char *s = text;; s++)
	{
		size_t		run = strcspn(s, "\"\\");

		trk_buf_appendn(a, s, run);
		s += run;
		if (*s == '\0')
			break;
		trk_buf_appendc(a, '\\');
		trk_buf_appendc(a, *s);
	}
	trk_buf_appendc(a, '"');
}

void
trk_xbatch_add(trk_xbatch_t *b, const trk_stmt_t *stmt, const uint32_t *types,
			   const char *const *texts, uint64_t id, trk_lsn_t end, uint32_t xid)
{
	size_t		np = (size_t) stmt->nparams;

	if (b->stmt == NULL)
	{
		if (b->capparams < np)
		{
			b->elem = trk_realloc(b->elem, np * sizeof(*b->elem));
			b->types = trk_realloc(b->types, np * sizeof(*b->types));
			b->texts = trk_realloc(b->texts, np * sizeof(*b->texts));
			b->arrays = trk_realloc(b->arrays, np * sizeof(*b->arrays));
			memset(b->arrays + b->capparams, 0, (np - b->capparams) * sizeof(*b->arrays));
			b->capparams = np;
		}
		b->stmt = stmt;
		for (size_t i = 0; i < np; i++)
		{
			b->elem[i] = types[i];
			b->types[i] = trk_pgtype_array_of(types[i]);
			trk_buf_reset(&b->arrays[i]);
		}
		b->first = end;
		b->xid = xid;
	}
	for (size_t i = 0; i < np; i++)
	{
		size_t		before = b->arrays[i].len;

		trk_array_append(&b->arrays[i], texts[i]);
		b->bytes += b->arrays[i].len - before;
	}
	TRK_GROW(b->ids, b->capids, b->n + 1);
	b->ids[b->n++] = id;
	b->last = end;
}

void
trk_xbatch_finish(trk_xbatch_t *b)
{
	int			np = b->stmt->nparams;

	trk_buf_reset(&b->sql);
	trk_buf_append(&b->sql, "SELECT " ORD ", t.* FROM unnest(");
	for (int i = 0; i < np; i++)
	{
		char		p[24];

		snprintf(p, sizeof(p), "%s$%d", i > 0 ? ", " : "", i + 1);
		trk_buf_append(&b->sql, p);
	}
	trk_buf_append(&b->sql, ") WITH ORDINALITY AS " ALIAS "(");
	for (int i = 0; i < np; i++)
	{
		char		p[24];

		snprintf(p, sizeof(p), "\"$%d\", ", i + 1);
		trk_buf_append(&b->sql, p);
	}
	trk_buf_append(&b->sql, "\"$0\") CROSS JOIN LATERAL (\n");
	trk_template_write_sql(b->stmt, ALIAS ".\"$", "\"", &b->sql);
	/* on a line of its own: the statement may end in a -- comment */
	trk_buf_append(&b->sql, "\n) AS t");
	for (int i = 0; i < np; i++)
	{
		trk_buf_appendc(&b->arrays[i], '}');
		b->texts[i] = trk_buf_cstr(&b->arrays[i]);
	}
}

void
trk_xbatch_reset(trk_xbatch_t *b)
{
	b->stmt = NULL;
	b->n = 0;
	b->first = b->last = 0;
	b->xid = 0;
	b->bytes = 0;
}

void
trk_xbatch_free(trk_xbatch_t *b)
{
	for (size_t i = 0; i < b->capparams; i++)
		trk_buf_free(&b->arrays[i]);
	free(b->arrays);
	free(b->elem);
	free(b->types);
	free(b->texts);
	free(b->ids);
	trk_buf_free(&b->sql);
	memset(b, 0, sizeof(*b));
}

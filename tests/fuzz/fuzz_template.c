/* fuzz_template.c — libFuzzer target: compile arbitrary text, and bind what compiles. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "template/sqlscan.h"
#include "template/template.h"

/*
 * lookup answers every reference with the same value.  The text is one that
 * is a number, a boolean spelling and a non-empty string at once ("1" would
 * do; "t" keeps bool/string comparisons live), so conditions still take
 * different branches depending on what they compare it with.
 */
static int
lookup(void *ctx, const trk_ref_t *ref, trk_value_t *out, trk_buf_t *err)
{
	(void) ctx;
	(void) ref;
	(void) err;
	out->kind = TRK_V_STRING;
	out->text = "t";
	out->len = 1;
	out->type = NULL;
	return 0;
}

/*
 * check_sql re-reads a built statement the way PostgreSQL will: every $n in
 * it must be one of ours (tags never fuse tokens, so no $1 can turn into $12
 * or x$1), the trailing ";" is gone, and no quote or comment is left open.
 */
static void
check_sql(const trk_stmt_t *st)
{
	trk_sqlscan_t s = {0};
	size_t		len = strlen(st->sql);
	size_t		pos = 0;
	unsigned char seen[256] = {0};

	if (st->empty != (len == 0))
		abort();
	while (pos < len)
	{
		trk_sqltok_t tok;
		size_t		next = trk_sqlscan_next(&s, st->sql, pos, len, &tok);
		long		n;

		if (tok == TRK_SQLTOK_SEMICOLON)
			abort();
		if (tok == TRK_SQLTOK_PARAM)
		{
			n = strtol(st->sql + pos + 1, NULL, 10);
			if (n < 1 || n > st->nparams)
				abort();
			seen[n % 256] = 1;
		}
		pos = next;
	}
	trk_sqlscan_boundary(&s);
	if (trk_sqlscan_inside(&s) && s.mode != TRK_SQL_LINE_COMMENT)
		abort();
	for (int i = 1; i <= st->nparams && i < 256; i++)
		if (!seen[i])
			abort();
}

/* check_variant: every variant must pass check_sql and map back in range. */
static int
check_variant(void *arg, const trk_stmt_t *st)
{
	const trk_template_t *t = arg;
	int			line,
				col;

	int			nchars = 0;

	(void) t;
	check_sql(st);
	/* characters as PostgreSQL counts them: bytes that start one */
	for (const char *p = st->sql; *p; p++)
		nchars += ((unsigned char) *p & 0xC0) != 0x80;
	for (int pos = 1; pos <= nchars; pos += 1 + nchars / 16)
	{
		trk_template_sql_position(st, pos, &line, &col);
		if (line < 1 || col < 1)
			abort();
	}
	return st->id % 2;			/* failures must not stop the walk */
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	trk_template_scope_t scope = {size > 0 && (data[size - 1] & 1)};
	trk_diags_t diags = {0};
	trk_template_t *t;
	char		line[4096];

	t = trk_template_compile("fuzz.sql", (const char *) data, size, &scope,
							 &diags);
	for (size_t i = 0; i < diags.n; i++)
		trk_diag_format(&diags.items[i], line, sizeof(line));
	if (t == NULL)
	{
		if (diags.nerrors == 0)
			abort();			/* NULL must come with a reason */
	}
	else
	{
		int			max = trk_template_max_params(t);
		trk_value_t *values = calloc((size_t) (max > 0 ? max : 1),
									 sizeof(trk_value_t));
		const trk_stmt_t *first = NULL;
		trk_buf_t	err = {0};

		if (diags.nerrors != 0)
			abort();
		for (int pass = 0; pass < 2; pass++)
		{
			const trk_stmt_t *st = NULL;

			if (trk_template_bind(t, lookup, NULL, &st, values, &err) != 0)
				abort();		/* the lookup never fails */
			if (st->nparams > max)
				abort();
			check_sql(st);
			for (int i = 0; i < st->nparams; i++)
				if (st->params[i] == NULL || values[i].text == NULL)
					abort();
			if (pass == 1 && st != first)
				abort();		/* same change, same cached statement */
			first = st;
		}
		if (trk_template_each_variant(t, check_variant, t) == 0 &&
			trk_template_is_static(t) && first->id % 2 != 0)
			abort();
		for (size_t i = 0; i < trk_template_nrefs(t); i++)
			if (trk_template_ref(t, i)->line < 1)
				abort();
		trk_buf_free(&err);
		free(values);
		trk_template_free(t);
	}
	trk_diags_free(&diags);
	return 0;
}

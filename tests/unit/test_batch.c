/* test_batch.c — the transforms of many changes as one query. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "base/diag.h"
#include "template/template.h"
#include "transform/batch.h"

static const trk_stmt_t *the_stmt;

static int
keep_stmt(void *arg, const trk_stmt_t *stmt)
{
	(void) arg;
	the_stmt = stmt;
	return 0;
}

/* compile: text's one statement (the template has no {% if %}) */
static const trk_stmt_t *
compile(trk_template_t **t, const char *text)
{
	trk_diags_t diags = {0};
	trk_template_scope_t scope = {0};

	*t = trk_template_compile("p/transform.sql", text, strlen(text), &scope, &diags);
	if (*t == NULL)
		fail_msg("compile failed: %s", diags.n > 0 ? diags.items[0].message : "?");
	trk_diags_free(&diags);
	the_stmt = NULL;
	trk_template_each_variant(*t, keep_stmt, NULL);
	assert_non_null(the_stmt);
	return the_stmt;
}

/* the statement as a LATERAL subquery: every $n, and only those, renamed */
static void
test_batch_query(void **state)
{
	trk_template_t *t;
	const trk_stmt_t *st = compile(&t,
								   "SELECT {{ new.id }}::bigint AS id, l.name\n"
								   "FROM lookup l WHERE l.k = {{ new.k }} AND l.tag <> '$1' "
								   "AND l.body <> $$ $2 $$ -- $1 again\n");
	uint32_t	types[] = {20, 23};
	const char *one[] = {"7", "3"};
	const char *two[] = {"8", NULL};
	trk_xbatch_t b = {0};

	(void) state;
	assert_int_equal(st->nparams, 2);
	assert_true(trk_xbatch_can(st, types));
	trk_xbatch_add(&b, st, types, one, 11, 100, 5);
	trk_xbatch_add(&b, st, types, two, 14, 200, 6);
	trk_xbatch_finish(&b);
	assert_string_equal(trk_buf_cstr(&b.sql),
						"SELECT \"trucker batch\".\"$0\", t.* FROM unnest($1, $2) WITH ORDINALITY AS "
						"\"trucker batch\"(\"$1\", \"$2\", \"$0\") CROSS JOIN LATERAL (\n"
						"SELECT \"trucker batch\".\"$1\"::bigint AS id, l.name\n"
						"FROM lookup l WHERE l.k = \"trucker batch\".\"$2\" AND l.tag <> '$1' "
						"AND l.body <> $$ $2 $$ -- $1 again"
						"\n) AS t");
	assert_int_equal(b.types[0], 1016);	/* int8[] */
	assert_int_equal(b.types[1], 1007);	/* int4[] */
	assert_string_equal(b.texts[0], "{\"7\",\"8\"}");
	assert_string_equal(b.texts[1], "{\"3\",NULL}");
	assert_int_equal(b.n, 2);
	assert_int_equal(b.ids[0], 11);
	assert_int_equal(b.ids[1], 14);
	assert_int_equal(b.first, 100);
	assert_int_equal(b.last, 200);
	assert_int_equal(b.xid, 5);

	/* empty again: takes another statement's changes */
	trk_xbatch_reset(&b);
	assert_int_equal(b.n, 0);
	assert_true(trk_xbatch_fits(&b, NULL, NULL));
	trk_xbatch_free(&b);
	trk_template_free(t);
}

/* count_params: the $n in sql (these tests' templates write no other $) */
static int
count_params(const char *sql)
{
	int			n = 0;

	for (const char *s = sql; (s = strchr(s, '$')) != NULL; s++)
		if (s[1] >= '0' && s[1] <= '9')
			n++;
	return n;
}

static int	renamed_ok;

/* each_renamed: every $n of the variant renamed, and nothing else touched */
static int
each_renamed(void *arg, const trk_stmt_t *stmt)
{
	trk_buf_t	out = {0};
	int			n = 0;

	(void) arg;
	trk_template_write_sql(stmt, "b.\"$", "\"", &out);
	for (const char *s = trk_buf_cstr(&out); (s = strstr(s, "b.\"$")) != NULL; s++)
		n++;
	if (n == count_params(stmt->sql) && count_params(trk_buf_cstr(&out)) == n &&
		out.len == strlen(stmt->sql) + (size_t) n * 4)
		renamed_ok++;
	else
		print_error("not renamed right: %s -> %s\n", stmt->sql, trk_buf_cstr(&out));
	trk_buf_free(&out);
	return 0;
}

/*
 * A parameter right before text that would fuse with it gets a space of
 * its own in the statement (whitespace trimmed by -}} or {%- -%}): it is
 * renamed all the same.
 */
static void
test_batch_trimmed(void **state)
{
	const char *texts[] = {
		"SELECT {{ new.name -}}\n AS name",
		"SELECT 1 AS one WHERE id = {{ new.id }}\n{%- if operation == 'insert' -%}\n"
		"AND k = {{ new.k }}{%- endif %}\nAND m = {{ new.id -}} \n",
	};

	(void) state;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
	{
		trk_diags_t diags = {0};
		trk_template_scope_t scope = {0};
		trk_template_t *t = trk_template_compile("p/transform.sql", texts[i], strlen(texts[i]),
												 &scope, &diags);

		if (t == NULL)
			fail_msg("compile failed: %s", diags.n > 0 ? diags.items[0].message : "?");
		trk_diags_free(&diags);
		renamed_ok = 0;
		trk_template_each_variant(t, each_renamed, NULL);
		assert_int_equal(renamed_ok, i == 0 ? 1 : 2);
		trk_template_free(t);
	}
}

/* a value is data inside its element, whatever it holds */
static void
test_batch_elements(void **state)
{
	trk_template_t *t;
	const trk_stmt_t *st = compile(&t, "SELECT {{ new.note }} AS note");
	uint32_t	types[] = {25};
	const char *values[] = {"a\"b", "c\\d", "NULL", NULL, "{x,y}", "", " sp ", "'); DROP TABLE t; --"};
	trk_xbatch_t b = {0};

	(void) state;
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
		trk_xbatch_add(&b, st, types, &values[i], i + 1, 1, 1);
	trk_xbatch_finish(&b);
	assert_string_equal(b.texts[0],
						"{\"a\\\"b\",\"c\\\\d\",\"NULL\",NULL,\"{x,y}\",\"\",\" sp \","
						"\"'); DROP TABLE t; --\"}");
	assert_int_equal(b.types[0], 1009);	/* text[] */
	trk_xbatch_free(&b);
	trk_template_free(t);
}

/* what can go in a batch, and which batch a change fits */
static void
test_batch_rules(void **state)
{
	trk_template_t *t;
	trk_template_t *t2;
	const trk_stmt_t *st = compile(&t, "SELECT {{ new.a }} AS a, {{ new.b }} AS b");
	const trk_stmt_t *none = compile(&t2, "SELECT 1 AS one");
	uint32_t	ok[] = {23, 1700};
	uint32_t	other[] = {23, 25};
	uint32_t	user[] = {23, 0};		/* a user-defined type: unknown */
	uint32_t	array[] = {23, 1007};	/* int4[]: unnest would flatten it */
	uint32_t	box[] = {23, 603};		/* not known here (its delimiter is ;) */
	const char *values[] = {"1", "2"};
	trk_xbatch_t b = {0};

	(void) state;
	assert_true(trk_xbatch_can(st, ok));
	assert_false(trk_xbatch_can(st, user));
	assert_false(trk_xbatch_can(st, array));
	assert_false(trk_xbatch_can(st, box));
	assert_false(trk_xbatch_can(none, ok));	/* no value: nothing to unnest */

	assert_true(trk_xbatch_fits(&b, st, ok));
	trk_xbatch_add(&b, st, ok, values, 1, 1, 1);
	assert_true(trk_xbatch_fits(&b, st, ok));
	assert_false(trk_xbatch_fits(&b, st, other));
	assert_false(trk_xbatch_fits(&b, none, ok));
	trk_xbatch_free(&b);
	trk_template_free(t);
	trk_template_free(t2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batch_query),
		cmocka_unit_test(test_batch_trimmed),
		cmocka_unit_test(test_batch_elements),
		cmocka_unit_test(test_batch_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

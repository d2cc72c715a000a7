/* test_template.c — template compilation, diagnostics, binding and the statement cache. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template/decimal.h"
#include "template/template.h"

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ----------------------------------------------------------------
 * A fake change: the lookup answers from a table of variables.
 * ----------------------------------------------------------------
 */

typedef struct var
{
	trk_root_t	root;
	const char *field;			/* NULL for operation */
	trk_value_kind_t kind;
	const char *text;
} var_t;

typedef struct change
{
	const var_t *vars;
	size_t		n;
	int			calls;
} change_t;

#define OP(o)			{TRK_ROOT_OPERATION, NULL, TRK_V_STRING, o}
#define NEWV(f, k, t)	{TRK_ROOT_NEW, f, k, t}
#define OLDV(f, k, t)	{TRK_ROOT_OLD, f, k, t}
#define NEWS(f, t)		NEWV(f, TRK_V_STRING, t)
#define NEWB(f, b)		NEWV(f, TRK_V_BOOL, (b) ? "true" : "false")

static int
lookup(void *ctx, const trk_ref_t *ref, trk_value_t *out, trk_buf_t *err)
{
	change_t   *ch = ctx;

	ch->calls++;
	for (size_t i = 0; i < ch->n; i++)
	{
		const var_t *v = &ch->vars[i];

		if (v->root == ref->root &&
			(v->field == NULL ? ref->field == NULL :
			 (ref->field != NULL && strcmp(v->field, ref->field) == 0)))
		{
			out->kind = v->kind;
			out->text = v->text;
			out->len = v->text ? strlen(v->text) : 0;
			out->type = NULL;
			return 0;
		}
	}
	trk_buf_appendf(err, "column \"%s\" is not in this change",
					ref->field ? ref->field : trk_root_name(ref->root));
	return -1;
}

static trk_template_t *
compile_scope(const char *text, bool allow_transformed)
{
	trk_template_scope_t scope = {allow_transformed};
	trk_diags_t diags = {0};
	trk_template_t *t;

	t = trk_template_compile("t.sql", text, strlen(text), &scope, &diags);
	if (t == NULL)
	{
		trk_diags_print(&diags, stderr);
		fail_msg("template did not compile: %s", text);
	}
	assert_int_equal(diags.n, 0);
	trk_diags_free(&diags);
	return t;
}

static trk_template_t *
compile(const char *text)
{
	return compile_scope(text, false);
}

/*
 * errors compiles text, which must fail, and returns every diagnostic
 * formatted, sorted, one per line (a static buffer).
 */
static const char *
errors(const char *text, size_t len)
{
	static char out[8192];
	trk_template_scope_t scope = {false};
	trk_diags_t diags = {0};
	trk_template_t *t;
	size_t		used = 0;

	t = trk_template_compile("t.sql", text, len, &scope, &diags);
	assert_null(t);
	assert_true(diags.nerrors > 0);
	trk_diags_sort(&diags);
	out[0] = '\0';
	for (size_t i = 0; i < diags.n; i++)
	{
		char		line[1024];

		trk_diag_format(&diags.items[i], line, sizeof(line));
		used += (size_t) snprintf(out + used, sizeof(out) - used, "%s%s",
								  i > 0 ? "\n" : "", line);
		assert_true(used < sizeof(out));
	}
	trk_diags_free(&diags);
	return out;
}

#define assert_errors(text, expected) \
	assert_string_equal(errors((text), strlen(text)), (expected))

static const trk_stmt_t *
bind(trk_template_t *t, change_t *ch, trk_value_t *values)
{
	trk_buf_t	err = {0};
	const trk_stmt_t *st = NULL;

	if (trk_template_bind(t, lookup, ch, &st, values, &err) != 0)
		fail_msg("bind failed: %s", trk_buf_cstr(&err));
	assert_non_null(st);
	assert_true(st->nparams <= trk_template_max_params(t));
	trk_buf_free(&err);
	return st;
}

/* bind_vars binds t against the given variables and returns the SQL. */
#define BIND(t, st, values, ...) \
	do { \
		const var_t vars_[] = {__VA_ARGS__}; \
		change_t	ch_ = {vars_, LEN(vars_), 0}; \
		(st) = bind((t), &ch_, (values)); \
	} while (0)

/* ----------------------------------------------------------------
 * Rendering
 * ----------------------------------------------------------------
 */

static void
test_static_statement(void **state)
{
	trk_template_t *t;
	const trk_stmt_t *st;
	trk_value_t values[4];
	const trk_ref_t *r;

	(void) state;
	t = compile("INSERT INTO t (id, name)\nVALUES ({{ new.id }}, {{ new.name }});\n");
	assert_true(trk_template_is_static(t));
	assert_int_equal(trk_template_max_params(t), 2);
	assert_int_equal(trk_template_nrefs(t), 2);
	assert_string_equal(trk_template_file(t), "t.sql");
	r = trk_template_ref(t, 0);
	assert_int_equal(r->root, TRK_ROOT_NEW);
	assert_string_equal(r->field, "id");
	assert_int_equal(r->line, 2);
	assert_int_equal(r->col, 12);
	r = trk_template_ref(t, 1);
	assert_string_equal(r->field, "name");
	assert_int_equal(r->col, 26);
	assert_null(trk_template_ref(t, 2));

	BIND(t, st, values, NEWV("id", TRK_V_NUMBER, "7"), NEWS("name", "x"));
	assert_string_equal(st->sql, "INSERT INTO t (id, name)\nVALUES ($1, $2)");
	assert_int_equal(st->id, 0);
	assert_false(st->empty);
	assert_int_equal(st->nparams, 2);
	assert_ptr_equal(st->params[0], trk_template_ref(t, 0));
	assert_ptr_equal(st->params[1], trk_template_ref(t, 1));
	assert_int_equal(values[0].kind, TRK_V_NUMBER);
	assert_string_equal(values[0].text, "7");
	assert_string_equal(values[1].text, "x");
	trk_template_free(t);
}

static void
test_param_reuse(void **state)
{
	trk_template_t *t;
	const trk_stmt_t *st;
	trk_value_t values[4];

	(void) state;
	t = compile("UPDATE t SET a = {{ new.a }}, b = {{ new.b }} "
				"WHERE a = {{ old.a }} AND b <> {{ new.a }} AND c = {{ old.a }}");
	assert_int_equal(trk_template_max_params(t), 3);
	BIND(t, st, values, NEWS("a", "1"), NEWS("b", "2"), OLDV("a", TRK_V_STRING, "0"));
	assert_string_equal(st->sql, "UPDATE t SET a = $1, b = $2 WHERE a = $3 AND b <> $1 AND c = $3");
	assert_int_equal(st->nparams, 3);
	assert_int_equal(st->params[2]->root, TRK_ROOT_OLD);
	assert_string_equal(st->params[2]->field, "a");
	assert_string_equal(values[0].text, "1");
	assert_string_equal(values[2].text, "0");
	trk_template_free(t);
}

static const char *const by_operation =
"{% if operation == 'delete' -%}\n"
"DELETE FROM t WHERE id = {{ old.id }}\n"
"{%- elif operation == 'update' -%}\n"
"UPDATE t SET v = {{ new.v }} WHERE id = {{ old.id }}\n"
"{%- else -%}\n"
"INSERT INTO t (id, v) VALUES ({{ new.id }}, {{ new.v }})\n"
"{%- endif %};\n";

static void
test_branches_and_cache(void **state)
{
	trk_template_t *t;
	const trk_stmt_t *upd,
			   *del,
			   *ins,
			   *again;
	trk_value_t values[4];

	(void) state;
	t = compile(by_operation);
	assert_false(trk_template_is_static(t));
	assert_int_equal(trk_template_nrefs(t), 4);	/* operation, old.id, new.v, new.id */
	assert_int_equal(trk_template_ref(t, 0)->root, TRK_ROOT_OPERATION);
	assert_null(trk_template_ref(t, 0)->field);
	assert_int_equal(trk_template_max_params(t), 3);

	BIND(t, upd, values, OP("update"), NEWS("v", "nv"), OLDV("id", TRK_V_NUMBER, "5"));
	assert_string_equal(upd->sql, "UPDATE t SET v = $1 WHERE id = $2");
	assert_int_equal(upd->id, 0);
	assert_int_equal(upd->nparams, 2);
	assert_string_equal(values[0].text, "nv");
	assert_string_equal(values[1].text, "5");

	BIND(t, del, values, OP("delete"), OLDV("id", TRK_V_NUMBER, "6"));
	assert_string_equal(del->sql, "DELETE FROM t WHERE id = $1");
	assert_int_equal(del->id, 1);
	assert_int_equal(del->nparams, 1);
	assert_int_equal(del->params[0]->root, TRK_ROOT_OLD);
	assert_string_equal(values[0].text, "6");

	BIND(t, ins, values, OP("insert"), NEWS("v", "w"), NEWV("id", TRK_V_NUMBER, "9"));
	assert_string_equal(ins->sql, "INSERT INTO t (id, v) VALUES ($1, $2)");
	assert_int_equal(ins->id, 2);
	assert_string_equal(values[0].text, "9");
	assert_string_equal(values[1].text, "w");

	/* the same combination is the same statement, with fresh values */
	BIND(t, again, values, OP("update"), NEWS("v", "v2"), OLDV("id", TRK_V_NUMBER, "8"));
	assert_ptr_equal(again, upd);
	assert_string_equal(values[0].text, "v2");
	assert_string_equal(values[1].text, "8");
	BIND(t, again, values, OP("delete"), OLDV("id", TRK_V_NUMBER, "1"));
	assert_ptr_equal(again, del);
	trk_template_free(t);
}

static void
test_nested_ifs(void **state)
{
	static const char *const expect[2][2] = {
		{"SELECT 0", "SELECT $1 + 0"},	/* a false: b false, b true */
		{"SELECT $1", "SELECT $1, $2"}	/* a true */
	};
	trk_template_t *t;
	const trk_stmt_t *seen[2][2];
	trk_value_t values[4];

	(void) state;
	t = compile("SELECT {% if new.a %}"
				"{% if new.b %}{{ new.x }}, {{ new.y }}{% else %}{{ new.y }}{% endif %}"
				"{% else %}"
				"{% if new.b %}{{ new.z }} + {% endif %}0"
				"{% endif %}");
	for (int pass = 0; pass < 2; pass++)
		for (int a = 0; a < 2; a++)
			for (int b = 0; b < 2; b++)
			{
				const trk_stmt_t *st;

				BIND(t, st, values, NEWB("a", a), NEWB("b", b),
					 NEWS("x", "X"), NEWS("y", "Y"), NEWS("z", "Z"));
				assert_string_equal(st->sql, expect[a][b]);
				if (pass == 0)
				{
					seen[a][b] = st;
					assert_int_equal(st->id, a * 2 + b);
				}
				else
					assert_ptr_equal(st, seen[a][b]);
				/* dense numbering: the first parameter is whatever comes first */
				if (a && b)
				{
					assert_string_equal(st->params[0]->field, "x");
					assert_string_equal(values[0].text, "X");
					assert_string_equal(values[1].text, "Y");
				}
				else if (a)
				{
					assert_string_equal(st->params[0]->field, "y");
					assert_string_equal(values[0].text, "Y");
				}
				else if (b)
					assert_string_equal(values[0].text, "Z");
				else
					assert_int_equal(st->nparams, 0);
			}
	trk_template_free(t);
}

static void
test_empty_branch(void **state)
{
	trk_template_t *t;
	const trk_stmt_t *st;
	trk_value_t values[2];

	(void) state;
	t = compile("{% if new.keep %}\nDELETE FROM t WHERE id = {{ old.id }};\n{% endif %}\n-- nothing otherwise\n");
	BIND(t, st, values, NEWB("keep", false));
	assert_true(st->empty);
	assert_string_equal(st->sql, "");
	assert_int_equal(st->nparams, 0);
	BIND(t, st, values, NEWB("keep", true), OLDV("id", TRK_V_NUMBER, "3"));
	assert_false(st->empty);
	assert_string_equal(st->sql, "\nDELETE FROM t WHERE id = $1 \n\n-- nothing otherwise");
	trk_template_free(t);
}

static void
test_literals(void **state)
{
	trk_template_t *t;
	const trk_stmt_t *st;
	trk_value_t values[1];

	(void) state;
	t = compile("SELECT {{ 'it''s' }}, {{ 'C:\\dir' }}, {{ 42 }}, {{ -1.5e3 }}, "
				"{{ 0.10 }}, {{ null }}, {{ true }}, {{ false }}, {{ '' }}");
	assert_true(trk_template_is_static(t));
	assert_int_equal(trk_template_max_params(t), 0);
	BIND(t, st, values, OP("insert"));
	assert_string_equal(st->sql,
						"SELECT 'it''s', E'C:\\\\dir', 42, (-1.5e3), 0.10, NULL, TRUE, FALSE, ''");
	assert_int_equal(st->nparams, 0);
	trk_template_free(t);
}

static void
test_injection_stays_in_values(void **state)
{
	static const char *const evil[] = {
		"'); DROP TABLE x; --",
		"{{ new.a }}",
		"$1; DELETE FROM t",
		"{% if true %}x{% endif %}",
		"\\'; SELECT 1; --",
	};
	trk_template_t *t;
	const trk_stmt_t *st;
	trk_value_t values[2];

	(void) state;
	t = compile("INSERT INTO t VALUES ({{ new.a }}, {{ new.b }})");
	for (size_t i = 0; i < LEN(evil); i++)
	{
		BIND(t, st, values, NEWS("a", evil[i]), NEWS("b", evil[LEN(evil) - 1 - i]));
		assert_string_equal(st->sql, "INSERT INTO t VALUES ($1, $2)");
		assert_ptr_equal(values[0].text, evil[i]);
		assert_ptr_equal(values[1].text, evil[LEN(evil) - 1 - i]);
		assert_int_equal(st->id, 0);
	}
	trk_template_free(t);

	/* a condition on hostile text selects a branch; the text goes nowhere */
	t = compile("SELECT {% if new.a == '''); DROP TABLE x; --' %}1{% else %}2{% endif %}");
	BIND(t, st, values, NEWS("a", evil[0]));
	assert_string_equal(st->sql, "SELECT 1");
	BIND(t, st, values, NEWS("a", evil[1]));
	assert_string_equal(st->sql, "SELECT 2");
	trk_template_free(t);

	/* a literal written by the author is quoted, never spliced raw */
	t = compile("SELECT {{ '''); DROP TABLE x; --' }}");
	BIND(t, st, values, OP("insert"));
	assert_string_equal(st->sql, "SELECT '''); DROP TABLE x; --'");
	trk_template_free(t);
}

static void
test_tags_never_fuse_tokens(void **state)
{
	trk_template_t *t;
	const trk_stmt_t *st;
	trk_value_t values[2];

	(void) state;
	t = compile("SELECT x{{ new.a }}1, {{ new.a }}{{ new.b }}, 2-{{ -1 }}, 'a'{# c #}'b', "
				"e{{ 'x' }}, 1{# c #}.5, -{# c #}-1");
	BIND(t, st, values, NEWS("a", "A"), NEWS("b", "B"));
	assert_string_equal(st->sql,
						"SELECT x $1 1, $1 $2, 2-(-1), 'a' 'b', e 'x', 1 .5, - -1");
	trk_template_free(t);

	/*
	 * A {# #} inside a SQL string or comment would join the text around it
	 * unseen by the SQL checks ($q{# #}$ closes a dollar quote): refused.
	 */
	assert_errors("SELECT 'ab{# c #}cd'",
				  "t.sql:1:11: error: template comment inside a SQL string literal: it would cut the quoted text in two");
	assert_errors("SELECT $q$ a $q{# #}$; DELETE FROM t; SELECT $q$",
				  "t.sql:1:16: error: template comment inside a dollar-quoted string: it would cut the quoted text in two");
	assert_errors("SELECT 1 /* a *{# #}/ , {{ new.a }} */",
				  "t.sql:1:16: error: template comment inside a SQL comment: it would cut the comment in two");
	/* {{-1}} would trim and flip the sign; a negative literal is parenthesised */
	assert_errors("SELECT {{-1}}",
				  "t.sql:1:8: error: \"{{-\" trims whitespace; for a negative number write \"{{ -1\"");
}

static void
test_whitespace_control(void **state)
{
	trk_template_t *t;
	const trk_stmt_t *st;
	trk_value_t values[2];

	(void) state;
	t = compile("SELECT\n"
				"  {%- if new.a %}\n"
				"    a,\n"
				"  {%- else -%}\n"
				"    b\n"
				"  {%- endif %}\n"
				"FROM t {#- comment -#} ;  \n");
	BIND(t, st, values, NEWB("a", true));
	assert_string_equal(st->sql, "SELECT\n    a,\nFROM t");
	BIND(t, st, values, NEWB("a", false));
	assert_string_equal(st->sql, "SELECT b\nFROM t");
	trk_template_free(t);

	t = compile("SELECT (\n  {{- new.a -}}  \n)\n{# dropped #}\n");
	BIND(t, st, values, NEWS("a", "v"));
	assert_string_equal(st->sql, "SELECT ($1)");
	trk_template_free(t);
}

static void
test_trailing_semicolon(void **state)
{
	trk_template_t *t;
	const trk_stmt_t *st;
	trk_value_t values[2];

	(void) state;
	t = compile("SELECT 1;\n\n");
	BIND(t, st, values, OP("insert"));
	assert_string_equal(st->sql, "SELECT 1");
	trk_template_free(t);

	t = compile("SELECT ';' AS \";\"; -- done\n/* really */\n");
	BIND(t, st, values, OP("insert"));
	assert_string_equal(st->sql, "SELECT ';' AS \";\"  -- done\n/* really */");
	trk_template_free(t);

	/* each branch may end its own statement */
	t = compile("{% if new.a %}SELECT 1;{% else %}SELECT 2;{% endif %}\n");
	BIND(t, st, values, NEWB("a", false));
	assert_string_equal(st->sql, "SELECT 2");
	trk_template_free(t);
}

/* ----------------------------------------------------------------
 * Conditions
 * ----------------------------------------------------------------
 */

/* eq_true: whether {% if new.a == new.b %} holds for these two values. */
static bool
eq_true(trk_value_kind_t ka, const char *a, trk_value_kind_t kb, const char *b)
{
	static trk_template_t *eq;
	static trk_template_t *ne;
	trk_value_t values[1];
	const trk_stmt_t *st;
	const trk_stmt_t *st2;
	bool		result;

	if (eq == NULL)
	{
		eq = compile("SELECT {% if new.a == new.b %}1{% else %}0{% endif %}");
		ne = compile("SELECT {% if new.a != new.b %}1{% else %}0{% endif %}");
	}
	if (ka == (trk_value_kind_t) -1)
	{
		trk_template_free(eq);
		trk_template_free(ne);
		eq = ne = NULL;
		return false;
	}
	BIND(eq, st, values, NEWV("a", ka, a), NEWV("b", kb, b));
	result = strcmp(st->sql, "SELECT 1") == 0;
	/* != is the negation, and == is symmetric */
	BIND(ne, st2, values, NEWV("a", kb, b), NEWV("b", ka, a));
	assert_int_equal(strcmp(st2->sql, "SELECT 1") == 0, !result);
	return result;
}

static void
test_equality_rules(void **state)
{
	static const struct
	{
		trk_value_kind_t ka;
		const char *a;
		trk_value_kind_t kb;
		const char *b;
		bool		equal;
	}			cases[] = {
		{TRK_V_NUMBER, "10", TRK_V_NUMBER, "10.0", true},
		{TRK_V_NUMBER, "1e2", TRK_V_NUMBER, "100", true},
		{TRK_V_NUMBER, "0.5", TRK_V_NUMBER, "5E-1", true},
		{TRK_V_NUMBER, "-0", TRK_V_NUMBER, "0.000", true},
		{TRK_V_NUMBER, "007", TRK_V_NUMBER, "7", true},
		{TRK_V_NUMBER, "-12.50", TRK_V_NUMBER, "-1250e-2", true},
		{TRK_V_NUMBER, "1", TRK_V_NUMBER, "-1", false},
		{TRK_V_NUMBER, "10", TRK_V_NUMBER, "1", false},
		{TRK_V_NUMBER, "12345678901234567890123456789", TRK_V_NUMBER,
		"12345678901234567890123456788", false},
		{TRK_V_NUMBER, "0.1", TRK_V_NUMBER, "0.10000000000000001", false},
		{TRK_V_NUMBER, "10", TRK_V_STRING, "10.00", true},
		{TRK_V_NUMBER, "10", TRK_V_STRING, "+1e1", true},
		{TRK_V_NUMBER, "10", TRK_V_STRING, "ten", false},
		{TRK_V_NUMBER, "10", TRK_V_STRING, " 10", false},
		{TRK_V_STRING, "10", TRK_V_STRING, "10.0", false},
		{TRK_V_STRING, "abc", TRK_V_STRING, "abc", true},
		{TRK_V_STRING, "abc", TRK_V_STRING, "ABC", false},
		{TRK_V_STRING, "", TRK_V_STRING, "", true},
		{TRK_V_NULL, NULL, TRK_V_NULL, NULL, true},
		{TRK_V_NULL, NULL, TRK_V_STRING, "", false},
		{TRK_V_NULL, NULL, TRK_V_NUMBER, "0", false},
		{TRK_V_NULL, NULL, TRK_V_BOOL, "false", false},
		{TRK_V_BOOL, "true", TRK_V_BOOL, "true", true},
		{TRK_V_BOOL, "true", TRK_V_BOOL, "false", false},
		{TRK_V_BOOL, "true", TRK_V_STRING, "t", true},
		{TRK_V_BOOL, "false", TRK_V_STRING, "f", true},
		{TRK_V_BOOL, "true", TRK_V_STRING, "TRUE", true},
		{TRK_V_BOOL, "false", TRK_V_STRING, "false", true},
		{TRK_V_BOOL, "false", TRK_V_STRING, "true", false},
		{TRK_V_BOOL, "true", TRK_V_STRING, "yes", false},
		{TRK_V_BOOL, "true", TRK_V_NUMBER, "1", false},
		{TRK_V_ABSENT, NULL, TRK_V_NULL, NULL, false},
		{TRK_V_ABSENT, NULL, TRK_V_ABSENT, NULL, true},
	};

	(void) state;
	for (size_t i = 0; i < LEN(cases); i++)
	{
		if (eq_true(cases[i].ka, cases[i].a, cases[i].kb, cases[i].b) !=
			cases[i].equal)
			fail_msg("case %zu: %s == %s should be %s", i,
					 cases[i].a ? cases[i].a : "null",
					 cases[i].b ? cases[i].b : "null",
					 cases[i].equal ? "true" : "false");
	}
	eq_true((trk_value_kind_t) -1, NULL, TRK_V_NULL, NULL);
}

static void
test_literal_comparisons(void **state)
{
	trk_template_t *t;
	const trk_stmt_t *st;
	trk_value_t values[1];

	(void) state;
	t = compile("SELECT {% if new.n == 10 %}'ten'"
				"{% elif new.n == 'x' %}'x'"
				"{% elif new.n == null %}'null'"
				"{% elif new.n == true %}'true'"
				"{% else %}'other'{% endif %}");
	BIND(t, st, values, NEWV("n", TRK_V_NUMBER, "1.0e1"));
	assert_string_equal(st->sql, "SELECT 'ten'");
	BIND(t, st, values, NEWS("n", "10.0"));
	assert_string_equal(st->sql, "SELECT 'ten'");
	BIND(t, st, values, NEWS("n", "x"));
	assert_string_equal(st->sql, "SELECT 'x'");
	BIND(t, st, values, NEWV("n", TRK_V_NULL, NULL));
	assert_string_equal(st->sql, "SELECT 'null'");
	BIND(t, st, values, NEWS("n", "t"));
	assert_string_equal(st->sql, "SELECT 'true'");
	BIND(t, st, values, NEWV("n", TRK_V_ABSENT, NULL));
	assert_string_equal(st->sql, "SELECT 'other'");
	trk_template_free(t);
}

static void
test_truthiness(void **state)
{
	static const struct
	{
		trk_value_kind_t kind;
		const char *text;
		bool		truth;
	}			cases[] = {
		{TRK_V_NULL, NULL, false},
		{TRK_V_ABSENT, NULL, false},
		{TRK_V_BOOL, "false", false},
		{TRK_V_BOOL, "true", true},
		{TRK_V_STRING, "", false},
		{TRK_V_STRING, "false", true},
		{TRK_V_STRING, "0", true},
		{TRK_V_NUMBER, "0.00", false},
		{TRK_V_NUMBER, "-0e5", false},
		{TRK_V_NUMBER, "0.001", true},
		{TRK_V_NUMBER, "-3", true},
	};
	trk_template_t *t;
	const trk_stmt_t *st;
	trk_value_t values[1];

	(void) state;
	t = compile("SELECT {% if new.a %}1{% else %}0{% endif %}");
	for (size_t i = 0; i < LEN(cases); i++)
	{
		BIND(t, st, values, NEWV("a", cases[i].kind, cases[i].text));
		assert_string_equal(st->sql, cases[i].truth ? "SELECT 1" : "SELECT 0");
	}
	trk_template_free(t);
}

static void
test_logic_and_precedence(void **state)
{
	trk_template_t *t;
	const trk_stmt_t *st;
	trk_value_t values[1];

	(void) state;
	/* not binds looser than ==, and looser than not, or looser than and */
	t = compile("SELECT {% if not new.a == new.b and new.c or new.d is not null %}1{% else %}0{% endif %}");
	BIND(t, st, values, NEWS("a", "x"), NEWS("b", "y"), NEWB("c", true), NEWV("d", TRK_V_NULL, NULL));
	assert_string_equal(st->sql, "SELECT 1");
	BIND(t, st, values, NEWS("a", "x"), NEWS("b", "x"), NEWB("c", true), NEWV("d", TRK_V_NULL, NULL));
	assert_string_equal(st->sql, "SELECT 0");
	BIND(t, st, values, NEWS("a", "x"), NEWS("b", "x"), NEWB("c", true), NEWS("d", ""));
	assert_string_equal(st->sql, "SELECT 1");
	trk_template_free(t);

	t = compile("SELECT {% if not (new.a or new.b) and (new.c is null) == true %}1{% else %}0{% endif %}");
	BIND(t, st, values, NEWB("a", false), NEWB("b", false), NEWV("c", TRK_V_NULL, NULL));
	assert_string_equal(st->sql, "SELECT 1");
	BIND(t, st, values, NEWB("a", false), NEWB("b", true), NEWV("c", TRK_V_NULL, NULL));
	assert_string_equal(st->sql, "SELECT 0");
	trk_template_free(t);

	/* and/or stop early: what is not needed is not looked up at all */
	t = compile("SELECT {% if old.k is not null and old.missing == 1 or new.a %}1{% else %}0{% endif %}");
	BIND(t, st, values, OLDV("k", TRK_V_NULL, NULL), NEWB("a", true));
	assert_string_equal(st->sql, "SELECT 1");
	trk_template_free(t);
}

static void
test_lookup_failure_has_position(void **state)
{
	trk_template_t *t;
	const trk_stmt_t *st = NULL;
	trk_value_t values[2];
	trk_buf_t	err = {0};
	const var_t vars[] = {NEWS("x", "1")};
	change_t	ch = {vars, LEN(vars), 0};

	(void) state;
	t = compile("SELECT 1\n{% if new.a %}, {{ new.b }}{% endif %}");
	assert_int_equal(trk_template_bind(t, lookup, &ch, &st, values, &err), -1);
	assert_string_equal(trk_buf_cstr(&err), "t.sql:2:7: column \"a\" is not in this change");
	assert_null(st);
	trk_template_free(t);

	trk_buf_reset(&err);
	t = compile("SELECT {{ new.x }},\n  {{ new.missing }}");
	assert_int_equal(trk_template_bind(t, lookup, &ch, &st, values, &err), -1);
	assert_string_equal(trk_buf_cstr(&err), "t.sql:2:6: column \"missing\" is not in this change");

	/* each reference is looked up once per bind, even when used twice */
	trk_template_free(t);
	t = compile("SELECT {% if new.x == '1' %}{{ new.x }}, {{ new.x }}{% endif %}");
	ch.calls = 0;
	trk_buf_reset(&err);
	assert_int_equal(trk_template_bind(t, lookup, &ch, &st, values, &err), 0);
	assert_int_equal(ch.calls, 1);
	assert_string_equal(st->sql, "SELECT $1, $1");
	assert_int_equal(trk_template_bind(t, lookup, &ch, &st, values, &err), 0);
	assert_int_equal(ch.calls, 2);
	trk_buf_free(&err);
	trk_template_free(t);
}

/* ----------------------------------------------------------------
 * References and scope
 * ----------------------------------------------------------------
 */

static void
test_references(void **state)
{
	trk_template_t *t;
	const trk_stmt_t *st;
	trk_value_t values[8];

	(void) state;
	t = compile("SELECT {{ new.\"Order Id\" }}, {{ new.\"a\"\"b\" }}, {{ new.Id }}, "
				"{{ new.id }}, {{ new.col$1 }}, {{ meta.lsn }}, {{ meta.commit_time }}, "
				"{{ operation }}, {{ new.\"Order Id\" }}");
	BIND(t, st, values, NEWS("Order Id", "o"), NEWS("a\"b", "q"), NEWS("Id", "I"),
		 NEWS("id", "i"), NEWS("col$1", "c"),
		 {TRK_ROOT_META, "lsn", TRK_V_STRING, "0/16B3748"},
		 {TRK_ROOT_META, "commit_time", TRK_V_STRING, "2024-01-01"}, OP("update"));
	assert_string_equal(st->sql, "SELECT $1, $2, $3, $4, $5, $6, $7, $8, $1");
	assert_string_equal(st->params[0]->field, "Order Id");
	assert_string_equal(st->params[1]->field, "a\"b");
	assert_string_equal(st->params[2]->field, "Id");
	assert_string_equal(st->params[3]->field, "id");
	assert_string_equal(st->params[4]->field, "col$1");
	assert_int_equal(st->params[5]->root, TRK_ROOT_META);
	assert_string_equal(st->params[5]->field, "lsn");
	assert_int_equal(st->params[7]->root, TRK_ROOT_OPERATION);
	assert_string_equal(values[2].text, "I");
	assert_string_equal(values[3].text, "i");
	assert_string_equal(values[7].text, "update");
	trk_template_free(t);

	t = compile_scope("SELECT {{ transformed.total }}", true);
	BIND(t, st, values, {TRK_ROOT_TRANSFORMED, "total", TRK_V_NUMBER, "3"});
	assert_int_equal(st->params[0]->root, TRK_ROOT_TRANSFORMED);
	assert_string_equal(values[0].text, "3");
	trk_template_free(t);

	assert_errors("SELECT {{ transformed.total }}",
				  "t.sql:1:11: error: unknown variable \"transformed\"; it exists only in the write templates of a pipeline with a transform.sql");
}

/* ----------------------------------------------------------------
 * Diagnostics
 * ----------------------------------------------------------------
 */

static void
test_error_tags(void **state)
{
	(void) state;
	assert_errors("SELECT {{ new.a",
				  "t.sql:1:8: error: unterminated template tag \"{{\": expected \"}}\"");
	assert_errors("SELECT 1\n  {% if new.a",
				  "t.sql:2:3: error: unterminated template tag \"{%\": expected \"%}\"");
	assert_errors("SELECT 1 {# note",
				  "t.sql:1:10: error: unterminated template comment \"{#\": expected \"#}\"");
	assert_errors("SELECT {{ 'abc }}",
				  "t.sql:1:11: error: unterminated quoted string in template tag");
	assert_errors("SELECT 1\n{% if new.a %}\nx",
				  "t.sql:2:1: error: \"if\" without \"endif\"");
	assert_errors("SELECT 1 {% endif %}",
				  "t.sql:1:10: error: \"endif\" without \"if\"");
	assert_errors("SELECT 1 {% elif new.a %}",
				  "t.sql:1:10: error: \"elif\" without \"if\"");
	assert_errors("SELECT 1 {% else %}",
				  "t.sql:1:10: error: \"else\" without \"if\"");
	assert_errors("{% if new.a %}1{% else %}2{% elif new.b %}3{% endif %}",
				  "t.sql:1:27: error: \"elif\" after \"else\"");
	assert_errors("{% if new.a %}1{% else %}2{% else %}3{% endif %}",
				  "t.sql:1:27: error: more than one \"else\" in the same \"if\"");
	assert_errors("SELECT 1 {% for x in y %}",
				  "t.sql:1:13: error: unknown tag \"for\"; only if, elif, else and endif exist");
	assert_errors("SELECT 1 {% %}",
				  "t.sql:1:10: error: empty \"{% %}\" tag");
	assert_errors("{% if %}x{% endif %}",
				  "t.sql:1:1: error: missing condition after \"if\"");
	assert_errors("x{% if new.a %}1{% else if new.b %}2{% endif %}",
				  "t.sql:1:25: error: unexpected \"if\" after \"else\"; write \"elif\"");
	assert_errors("x{% if new.a %}1{% endif new.a %}",
				  "t.sql:1:26: error: unexpected \"new\" after \"endif\"");
}

static void
test_error_expressions(void **state)
{
	(void) state;
	assert_errors("SELECT {{ }}",
				  "t.sql:1:8: error: empty \"{{ }}\": write a reference such as {{ new.id }} or a literal");
	assert_errors("SELECT {{ new.a new.b }}",
				  "t.sql:1:17: error: unexpected \"new\" after the value; \"{{ }}\" holds one reference or literal");
	assert_errors("SELECT {{ new.a == 1 }}",
				  "t.sql:1:17: error: unexpected \"==\" after the value; \"{{ }}\" holds one reference or literal");
	assert_errors("SELECT 1 {% if new.a == %}x{% endif %}",
				  "t.sql:1:25: error: expected a value, found end of tag");
	assert_errors("x{% if new.a = 1 %}y{% endif %}",
				  "t.sql:1:14: error: unexpected \"=\" in condition; did you mean \"==\"?");
	assert_errors("x{% if new.a && new.b %}y{% endif %}",
				  "t.sql:1:14: error: unexpected \"&&\" in condition; did you mean \"and\"?");
	assert_errors("x{% if new.a == 1 == 2 %}y{% endif %}",
				  "t.sql:1:19: error: comparisons cannot be chained; combine them with \"and\"");
	assert_errors("x{% if new.a is nul %}y{% endif %}",
				  "t.sql:1:17: error: expected \"null\" or \"not null\" after \"is\"");
	assert_errors("x{% if (new.a %}y{% endif %}",
				  "t.sql:1:15: error: unexpected end of tag in condition; expected \")\"");
	assert_errors("x{% if new.a and %}y{% endif %}",
				  "t.sql:1:18: error: expected a value, found end of tag");
	assert_errors("x{% if and %}y{% endif %}",
				  "t.sql:1:8: error: expected a value, found \"and\"");
	assert_errors("SELECT {{ 1abc }}",
				  "t.sql:1:12: error: unexpected \"abc\" after the value; \"{{ }}\" holds one reference or literal");
	assert_errors("SELECT {{ new.\"\" }}",
				  "t.sql:1:15: error: zero-length quoted identifier");
	assert_errors("SELECT {{ new.1 }}",
				  "t.sql:1:15: error: expected a column name after \"new.\" (quote it as new.\"Name\" if it needs quoting)");
}

static void
test_error_scope_and_suggestions(void **state)
{
	(void) state;
	assert_errors("SELECT {{ nwe.id }}",
				  "t.sql:1:11: error: unknown variable \"nwe\"; did you mean \"new\"?");
	assert_errors("SELECT {{ NULL }}",
				  "t.sql:1:11: error: unknown variable \"NULL\"; did you mean \"null\"?");
	assert_errors("SELECT {{ zzz }}",
				  "t.sql:1:11: error: unknown variable \"zzz\"; a value is operation, new.<column>, old.<column>, meta.<field> or a literal");
	assert_errors("SELECT {{ meta.lsnn }}",
				  "t.sql:1:16: error: unknown field \"lsnn\" of \"meta\"; did you mean \"lsn\"?");
	assert_errors("SELECT {{ meta.foo }}",
				  "t.sql:1:16: error: unknown field \"foo\" of \"meta\"; it has lsn, end_lsn, xid, commit_time, schema and table");
	assert_errors("SELECT {{ meta }}",
				  "t.sql:1:16: error: \"meta\" must be followed by a field, as in meta.lsn");
	assert_errors("SELECT {{ operation.x }}",
				  "t.sql:1:20: error: \"operation\" has no fields");
	assert_errors("SELECT {{ new }}",
				  "t.sql:1:15: error: \"new\" must be followed by a column name, as in new.id");
	assert_errors("x{% iff new.a %}y{% endif %}",
				  "t.sql:1:5: error: unknown tag \"iff\"; did you mean \"if\"?");
	assert_errors("x{% if new.a %}y{% elseif new.b %}z{% endif %}",
				  "t.sql:1:20: error: unknown tag \"elseif\"; did you mean \"elif\"?");
	assert_errors("x{% if operation == 'delet' %}y{% endif %}",
				  "t.sql:1:21: error: operation is never \"delet\"; did you mean \"delete\"?");
	assert_errors("x{% if 'truncate' != operation %}y{% endif %}",
				  "t.sql:1:8: error: operation is never \"truncate\"; it is \"insert\", \"update\" or \"delete\"");
}

static void
test_error_sql_context(void **state)
{
	(void) state;
	assert_errors("SELECT '{{ new.name }}'",
				  "t.sql:1:9: error: template value inside a SQL string literal: write {{ new.name }} without quotes, values are sent as bind parameters");
	assert_errors("SELECT E'\\'{{ new.name }}'",
				  "t.sql:1:12: error: template value inside a SQL string literal: write {{ new.name }} without quotes, values are sent as bind parameters");
	assert_errors("SELECT 'it''s {{ new.a }} {{ new.b }}'",
				  "t.sql:1:15: error: template value inside a SQL string literal: write {{ new.a }} without quotes, values are sent as bind parameters");
	assert_errors("SELECT \"{{ new.c }}\" FROM t",
				  "t.sql:1:9: error: template value inside a SQL quoted identifier: values are sent as bind parameters and cannot name a table or column");
	assert_errors("SELECT $$ {{ new.a }} $$",
				  "t.sql:1:11: error: template value inside a dollar-quoted string: write {{ new.a }} without quotes, values are sent as bind parameters");
	assert_errors("SELECT $f$ $$ {{ new.a }} $f$",
				  "t.sql:1:15: error: template value inside a dollar-quoted string: write {{ new.a }} without quotes, values are sent as bind parameters");
	assert_errors("SELECT 1 -- {{ new.a }}\n",
				  "t.sql:1:13: error: template value inside a SQL comment: use {# ... #} to comment out template code");
	assert_errors("SELECT 1 /* /* */ {{ new.a }} */",
				  "t.sql:1:19: error: template value inside a SQL comment: use {# ... #} to comment out template code");
	assert_errors("SELECT 1 /* {% if new.a %} */ 2 {% endif %}",
				  "t.sql:1:13: error: template tag \"if\" inside a SQL comment: use {# ... #} to comment out template code");
	assert_errors("SELECT 'a' {% if new.a %}|| 'x{% endif %}'",
				  "t.sql:1:31: error: template tag \"endif\" inside a SQL string literal: a branch cannot cut a quoted token in two; repeat the whole token in each branch");
	assert_errors("SELECT '{{1,2},{3,4}}'::int[]",
				  "t.sql:1:9: error: \"{{\" inside a SQL string literal starts a template tag; to write two braces there, put a space between them");
	assert_errors("SELECT 'abc",
				  "t.sql:1:8: error: unterminated quoted string");
	assert_errors("SELECT \"abc",
				  "t.sql:1:8: error: unterminated quoted identifier");
	assert_errors("SELECT $x$ abc $y$",
				  "t.sql:1:8: error: unterminated dollar-quoted string");
	assert_errors("SELECT 1 /* /* */",
				  "t.sql:1:10: error: unterminated /* comment");
}

static void
test_error_statements(void **state)
{
	trk_template_t *t;

	(void) state;
	assert_errors("SELECT $1",
				  "t.sql:1:8: error: positional parameter \"$1\" written in the template: use {{ new.<column> }} or another reference instead");
	assert_errors("SELECT 1; SELECT 2",
				  "t.sql:1:11: error: only one SQL statement is allowed per file");
	assert_errors("SELECT 1;\n;",
				  "t.sql:2:1: error: only one SQL statement is allowed per file");
	assert_errors("SELECT 1;\n  {{ new.a }}",
				  "t.sql:2:3: error: only one SQL statement is allowed per file");
	assert_errors("{% if new.a %}SELECT 1;{% endif %}\nSELECT 2",
				  "t.sql:2:1: error: only one SQL statement is allowed per file");
	assert_errors("", "t.sql:1:1: error: template is empty");
	assert_errors("  \n\t-- nothing\n/* here */ {# either #}\n;\n",
				  "t.sql:1:1: error: template is empty");
	assert_errors("{% if new.a %}{% endif %}",
				  "t.sql:1:1: error: template is empty");
	assert_string_equal(errors("SELECT 1\0", 9),
						"t.sql:1:9: error: template contains a NUL byte");

	/* $1 inside quotes, comments or identifiers is not a parameter */
	t = compile("SELECT '$1', \"$1\", x$1, $$ $1 $$ -- $1\n");
	trk_template_free(t);
}

static void
test_positions_count_characters(void **state)
{
	(void) state;
	/* é is two bytes, one column; a tab is one column */
	assert_errors("SELECT 'é',\t{{ nwe.x }}",
				  "t.sql:1:16: error: unknown variable \"nwe\"; did you mean \"new\"?");
	assert_errors("-- ünïcödé\r\nSELECT\n\t{{ nwe.x }}",
				  "t.sql:3:5: error: unknown variable \"nwe\"; did you mean \"new\"?");
}

static void
test_many_errors_at_once(void **state)
{
	(void) state;
	assert_errors("SELECT {{ nwe.id }},\n"
				  "       '{{ new.name }}',\n"
				  "       {{ meta.lsnn }}\n"
				  "{% if new.a %}\n"
				  "FROM t; DROP",
				  "t.sql:1:11: error: unknown variable \"nwe\"; did you mean \"new\"?\n"
				  "t.sql:2:9: error: template value inside a SQL string literal: write {{ new.name }} without quotes, values are sent as bind parameters\n"
				  "t.sql:3:16: error: unknown field \"lsnn\" of \"meta\"; did you mean \"lsn\"?\n"
				  "t.sql:4:1: error: \"if\" without \"endif\"\n"
				  "t.sql:5:9: error: only one SQL statement is allowed per file");
}

static void
test_limits(void **state)
{
	trk_buf_t	text = {0};
	const char *out;
	trk_template_t *t;

	(void) state;
	/* 32 nested ifs are fine, the 33rd is not */
	trk_buf_append(&text, "SELECT 1 ");
	for (int i = 0; i < 32; i++)
		trk_buf_append(&text, "{% if new.a %}");
	trk_buf_append(&text, "x");
	for (int i = 0; i < 32; i++)
		trk_buf_append(&text, "{% endif %}");
	t = compile(trk_buf_cstr(&text));
	trk_template_free(t);

	trk_buf_reset(&text);
	for (int i = 0; i < 33; i++)
		trk_buf_append(&text, "{% if new.a %}");
	out = errors(text.data, text.len);
	assert_string_equal(out, "t.sql:1:449: error: \"if\" is nested too deeply (at most 32 levels)");

	trk_buf_reset(&text);
	trk_buf_append(&text, "SELECT {% if ");
	for (int i = 0; i < 40; i++)
		trk_buf_append(&text, "(");
	trk_buf_append(&text, "new.a %}x{% endif %}");
	assert_string_equal(errors(text.data, text.len),
						"t.sql:1:46: error: condition is nested too deeply (at most 32 levels)");

	/* errors stop after 50, with a note saying so */
	trk_buf_reset(&text);
	for (int i = 0; i < 60; i++)
		trk_buf_append(&text, "{{ x }}");
	{
		trk_diags_t diags = {0};

		assert_null(trk_template_compile("t.sql", text.data, text.len, NULL, &diags));
		assert_int_equal(diags.n, 51);
		assert_string_equal(diags.items[50].message, "too many errors, stopping");
		trk_diags_free(&diags);
	}

	/* a long or-chain costs no recursion */
	trk_buf_reset(&text);
	trk_buf_append(&text, "SELECT {% if new.a");
	for (int i = 0; i < 5000; i++)
		trk_buf_append(&text, " or new.a");
	trk_buf_append(&text, " %}1{% endif %}");
	t = compile(trk_buf_cstr(&text));
	{
		const trk_stmt_t *st;
		trk_value_t values[1];

		BIND(t, st, values, NEWB("a", false));
		assert_true(st->empty == false);
		assert_string_equal(st->sql, "SELECT");
	}
	trk_template_free(t);
	trk_buf_free(&text);
}

/* ----------------------------------------------------------------
 * Variants and positions
 * ----------------------------------------------------------------
 */

typedef struct visits
{
	int			n;
	int			fail_at;		/* make the call with this index fail */
	const trk_stmt_t *seen[8];
	char		sql[8][128];
} visits_t;

static int
visit(void *arg, const trk_stmt_t *st)
{
	visits_t   *v = arg;

	if (v->n < 8)
	{
		v->seen[v->n] = st;
		snprintf(v->sql[v->n], sizeof(v->sql[0]), "%s", st->sql);
	}
	return v->n++ == v->fail_at ? -1 : 0;
}

static void
test_each_variant(void **state)
{
	trk_template_t *t;
	visits_t	v = {0, -1, {0}, {{0}}};
	const trk_stmt_t *st;
	trk_value_t values[4];
	trk_buf_t	text = {0};

	(void) state;
	t = compile(by_operation);
	assert_int_equal(trk_template_each_variant(t, visit, &v), 0);
	assert_int_equal(v.n, 3);		/* if, elif, else: "none" cannot happen */
	assert_string_equal(v.sql[0], "DELETE FROM t WHERE id = $1");
	assert_string_equal(v.sql[1], "UPDATE t SET v = $1 WHERE id = $2");
	assert_string_equal(v.sql[2], "INSERT INTO t (id, v) VALUES ($1, $2)");
	for (int i = 0; i < 3; i++)
		assert_int_equal(v.seen[i]->id, i);
	/* binding finds the statements the walk compiled */
	BIND(t, st, values, OP("update"), NEWS("v", "x"), OLDV("id", TRK_V_NUMBER, "1"));
	assert_ptr_equal(st, v.seen[1]);
	trk_template_free(t);

	/* nested chains: only paths binding can take, each once; failures go on */
	memset(&v, 0, sizeof(v));
	v.fail_at = 1;
	t = compile("SELECT {% if new.a %}"
				"{% if new.b %}{{ new.x }}, {{ new.y }}{% else %}{{ new.y }}{% endif %}"
				"{% else %}"
				"{% if new.b %}{{ new.z }} + {% endif %}0"
				"{% endif %}");
	assert_int_equal(trk_template_each_variant(t, visit, &v), -1);
	assert_int_equal(v.n, 4);
	assert_string_equal(v.sql[0], "SELECT $1, $2");
	assert_string_equal(v.sql[1], "SELECT $1");
	assert_string_equal(v.sql[2], "SELECT $1 + 0");
	assert_string_equal(v.sql[3], "SELECT 0");
	trk_template_free(t);

	memset(&v, 0, sizeof(v));
	v.fail_at = -1;
	t = compile("SELECT 1");
	assert_int_equal(trk_template_each_variant(t, visit, &v), 0);
	assert_int_equal(v.n, 1);
	assert_string_equal(v.sql[0], "SELECT 1");
	trk_template_free(t);

	/* 2^11 combinations: the walk stops at the limit and says so */
	trk_buf_append(&text, "SELECT 1");
	for (int i = 0; i < 11; i++)
		trk_buf_append(&text, "{% if new.a %}+1{% endif %}");
	t = compile(trk_buf_cstr(&text));
	memset(&v, 0, sizeof(v));
	v.fail_at = -1;
	assert_int_equal(trk_template_each_variant(t, visit, &v), 1);
	assert_int_equal(v.n, TRK_TEMPLATE_MAX_VARIANTS);
	trk_template_free(t);
	trk_buf_free(&text);
}

static void
test_sql_position(void **state)
{
	trk_template_t *t;
	const trk_stmt_t *st;
	trk_value_t values[2];
	int			line,
				col;

	(void) state;
	t = compile("{# header #}\nSELECT a,\n       {{ new.x }} + bogus\nFROM t;");
	BIND(t, st, values, NEWS("x", "1"));
	assert_string_equal(st->sql, "\nSELECT a,\n       $1 + bogus\nFROM t");
	/* "bogus" is the 24th character of the statement */
	trk_template_sql_position(st, 24, &line, &col);
	assert_int_equal(line, 3);
	assert_int_equal(col, 22);
	/* inside a value: its tag */
	trk_template_sql_position(st, 19, &line, &col);
	assert_int_equal(line, 3);
	assert_int_equal(col, 8);
	trk_template_sql_position(st, 0, &line, &col);
	assert_int_equal(line, 0);
	assert_int_equal(col, 0);
	trk_template_sql_position(st, 500, &line, &col);
	assert_int_equal(line, 0);
	trk_template_free(t);

	/* characters, not bytes, on both sides */
	t = compile("SELECT 'é', {% if new.a %}bogus{% endif %}");
	BIND(t, st, values, NEWB("a", true));
	assert_string_equal(st->sql, "SELECT 'é', bogus");
	trk_template_sql_position(st, 13, &line, &col);
	assert_int_equal(line, 1);
	assert_int_equal(col, 27);
	trk_template_free(t);
}

static void
test_decimal(void **state)
{
	static const char *const bad[] = {
		"", "+", "-", ".", "1e", "1e+", "abc", " 1", "1 ", "--1", "1.2.3",
		"1e1000000000000000000", "NaN", "Infinity", "0x10"
	};
	static const char *const same[][2] = {
		{"1", "1.0"}, {"1.", "1"}, {".5", "0.5"}, {"+3", "3"}, {"0", "-0.0e7"},
		{"123.456e2", "12345.6"}, {"1e-3", "0.001"}, {"100e-2", "1"},
	};
	static const char *const differ[][2] = {
		{"1", "10"}, {"0.1", "0.01"}, {"1", "-1"}, {"12", "21"}, {"0", "1e-30"},
	};
	trk_decimal_t a,
				b;

	(void) state;
	for (size_t i = 0; i < LEN(bad); i++)
		assert_false(trk_decimal_parse(bad[i], strlen(bad[i]), &a));
	for (size_t i = 0; i < LEN(same); i++)
	{
		assert_true(trk_decimal_parse(same[i][0], strlen(same[i][0]), &a));
		assert_true(trk_decimal_parse(same[i][1], strlen(same[i][1]), &b));
		assert_true(trk_decimal_equal(&a, &b));
	}
	for (size_t i = 0; i < LEN(differ); i++)
	{
		assert_true(trk_decimal_parse(differ[i][0], strlen(differ[i][0]), &a));
		assert_true(trk_decimal_parse(differ[i][1], strlen(differ[i][1]), &b));
		assert_false(trk_decimal_equal(&a, &b));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_static_statement),
		cmocka_unit_test(test_param_reuse),
		cmocka_unit_test(test_branches_and_cache),
		cmocka_unit_test(test_nested_ifs),
		cmocka_unit_test(test_empty_branch),
		cmocka_unit_test(test_literals),
		cmocka_unit_test(test_injection_stays_in_values),
		cmocka_unit_test(test_tags_never_fuse_tokens),
		cmocka_unit_test(test_whitespace_control),
		cmocka_unit_test(test_trailing_semicolon),
		cmocka_unit_test(test_equality_rules),
		cmocka_unit_test(test_literal_comparisons),
		cmocka_unit_test(test_truthiness),
		cmocka_unit_test(test_logic_and_precedence),
		cmocka_unit_test(test_lookup_failure_has_position),
		cmocka_unit_test(test_references),
		cmocka_unit_test(test_error_tags),
		cmocka_unit_test(test_error_expressions),
		cmocka_unit_test(test_error_scope_and_suggestions),
		cmocka_unit_test(test_error_sql_context),
		cmocka_unit_test(test_error_statements),
		cmocka_unit_test(test_positions_count_characters),
		cmocka_unit_test(test_many_errors_at_once),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_each_variant),
		cmocka_unit_test(test_sql_position),
		cmocka_unit_test(test_decimal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

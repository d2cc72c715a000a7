/* test_write.c — binding insert.sql, update.sql and delete.sql to one change. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "apply/write.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/diag.h"
#include "decode/wal2json.h"

static trk_arena_t arena;
static trk_change_t change;

static const trk_change_t *
decode(const char *json)
{
	trk_buf_t	err = {0};

	trk_arena_reset(&arena);
	if (trk_wal2json_decode(&arena, json, strlen(json), &change, &err) != 0)
		fail_msg("decode: %s", trk_buf_cstr(&err));
	trk_buf_free(&err);
	return &change;
}

static trk_template_t *
compile(const char *file, const char *text)
{
	trk_diags_t diags = {0};
	trk_template_scope_t scope = {0};
	trk_template_t *t = trk_template_compile(file, text, strlen(text), &scope, &diags);

	if (t == NULL)
		fail_msg("compile failed");
	trk_diags_free(&diags);
	return t;
}

/* typed by OID: built-in types from the change, meta by field; values as text */
static void
test_write_bind_types(void **state)
{
	trk_template_t *t = compile("audit/delete.sql",
								"INSERT INTO log VALUES ({{ meta.lsn }}, {{ operation }}, {{ old.id }}, "
								"{{ new.id }}, {{ old.mood }}, {{ old.note }}, {{ meta.xid }})");
	trk_vars_t	v = {0};
	trk_write_t w = {0};
	trk_buf_t	err = {0};

	(void) state;
	v.change = decode("{\"action\":\"D\",\"lsn\":\"0/10\",\"schema\":\"public\",\"table\":\"t\","
					  "\"identity\":[{\"name\":\"id\",\"typeoid\":20,\"value\":7},"
					  "{\"name\":\"mood\",\"typeoid\":16390,\"value\":\"sad\"},"
					  "{\"name\":\"note\",\"typeoid\":25,\"value\":null}],"
					  "\"pk\":[{\"name\":\"id\",\"typeoid\":20}]}");
	v.xid = 42;
	v.has_xid = true;
	assert_int_equal(trk_write_bind(t, &v, &w, &err), 0);
	assert_int_equal(w.stmt->nparams, 7);
	assert_string_equal(w.stmt->sql, "INSERT INTO log VALUES ($1, $2, $3, $4, $5, $6, $7)");
	assert_string_equal(w.texts[0], "0/10");
	assert_int_equal(w.types[0], 3220);
	assert_string_equal(w.texts[1], "delete");
	assert_int_equal(w.types[1], 25);
	assert_string_equal(w.texts[2], "7");
	assert_int_equal(w.types[2], 20);
	/* new.id of a delete: NULL, but typed by its column as the old row has it */
	assert_null(w.texts[3]);
	assert_int_equal(w.types[3], 20);
	/* a user-defined type: untyped, the server infers it */
	assert_string_equal(w.texts[4], "sad");
	assert_int_equal(w.types[4], 0);
	assert_null(w.texts[5]);
	assert_string_equal(w.texts[6], "42");
	assert_int_equal(w.types[6], 20);

	trk_buf_reset(&err);
	trk_write_describe(&w, NULL, 0, &err);
	assert_string_equal(trk_buf_cstr(&err),
						"$1 meta.lsn = '0/10', $2 operation = 'delete', $3 old.id = '7', "
						"$4 new.id = NULL, $5 old.mood = 'sad', $6 old.note = NULL, $7 meta.xid = '42'");
	/* redacted columns, whichever row they come from; meta.* never */
	{
		char	   *redact[] = {"mood", "id", "xid"};

		trk_buf_reset(&err);
		trk_write_describe(&w, redact, 3, &err);
		assert_string_equal(trk_buf_cstr(&err),
							"$1 meta.lsn = '0/10', $2 operation = 'delete', $3 old.id = [redacted], "
							"$4 new.id = [redacted], $5 old.mood = [redacted], $6 old.note = NULL, "
							"$7 meta.xid = '42'");
	}
	trk_write_free(&w);
	trk_template_free(t);
	trk_buf_free(&err);
}

/* a value the change does not carry fails with the template's position */
static void
test_write_bind_missing(void **state)
{
	trk_template_t *t = compile("p/update.sql", "UPDATE x SET body =\n  {{ new.body }}");
	trk_vars_t	v = {0};
	trk_write_t w = {0};
	trk_buf_t	err = {0};

	(void) state;
	v.change = decode("{\"action\":\"U\",\"schema\":\"public\",\"table\":\"t\","
					  "\"columns\":[{\"name\":\"id\",\"typeoid\":23,\"value\":1}],"
					  "\"identity\":[{\"name\":\"id\",\"typeoid\":23,\"value\":1}],"
					  "\"pk\":[{\"name\":\"id\",\"typeoid\":23}]}");
	assert_int_equal(trk_write_bind(t, &v, &w, &err), -1);
	/* the reference's own position, inside the tag */
	assert_non_null(strstr(trk_buf_cstr(&err), "p/update.sql:2:6: new.body is not in this update"));
	assert_non_null(strstr(trk_buf_cstr(&err), "REPLICA IDENTITY FULL"));
	trk_write_free(&w);
	trk_template_free(t);
	trk_buf_free(&err);
}

/* descriptions quote, and cut long values */
static void
test_write_describe_param(void **state)
{
	trk_buf_t	b = {0};
	char		big[1000];

	(void) state;
	trk_write_describe_param(&b, 1, "new.s", "it's", NULL, 0);
	trk_write_describe_param(&b, 2, "new.n", NULL, NULL, 0);
	assert_string_equal(trk_buf_cstr(&b), "$1 new.s = 'it''s', $2 new.n = NULL");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	trk_buf_reset(&b);
	trk_write_describe_param(&b, 3, "new.big", big, NULL, 0);
	assert_non_null(strstr(trk_buf_cstr(&b), "' (first 200 of 999 bytes)"));
	assert_true(b.len < 260);
	trk_buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_bind_types),
		cmocka_unit_test(test_write_bind_missing),
		cmocka_unit_test(test_write_describe_param),
	};
	int			rc = cmocka_run_group_tests(tests, NULL, NULL);

	trk_arena_free(&arena);
	return rc;
}

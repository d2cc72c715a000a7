/* test_mirror.c — the default mirror's upsert, update and delete statements. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "apply/mirror.h"
#include "base/arena.h"
#include "base/buf.h"
#include "decode/pgtype.h"
#include "decode/wal2json.h"
#include "template/vars.h"

static trk_arena_t arena;
static trk_change_t change;

/* decode parses one wal2json format-2 message into the global change. */
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

/* mirror builds the mirror statement and renders it with its parameters. */
static void
mirror(const trk_change_t *c, char *const *key, size_t nkey, const trk_column_t *row,
	   size_t nrow, const char *want_sql, const char *want_params)
{
	static const trk_table_name_t out = {"public", "Out"};
	trk_mirror_stmt_t st = {0};
	trk_buf_t	err = {0};
	trk_buf_t	params = {0};

	if (trk_mirror_build(&out, key, nkey, c, row, nrow, &st, &err) != 0)
		fail_msg("mirror: %s", trk_buf_cstr(&err));
	assert_string_equal(trk_buf_cstr(&st.sql), want_sql);
	for (size_t i = 0; i < st.nparams; i++)
		trk_buf_appendf(&params, "%s%s=%s/%u", i ? " " : "", st.params[i].label,
						st.params[i].value.text ? st.params[i].value.text : "NULL",
						st.params[i].type);
	assert_string_equal(trk_buf_cstr(&params), want_params);
	trk_mirror_stmt_free(&st);
	trk_buf_free(&err);
	trk_buf_free(&params);
}

static void
mirror_fails(const trk_change_t *c, char *const *key, size_t nkey, const char *want)
{
	static const trk_table_name_t out = {"public", "out"};
	trk_mirror_stmt_t st = {0};
	trk_buf_t	err = {0};

	assert_int_equal(trk_mirror_build(&out, key, nkey, c, NULL, 0, &st, &err), -1);
	assert_string_equal(trk_buf_cstr(&err), want);
	trk_mirror_stmt_free(&st);
	trk_buf_free(&err);
}

#define COL(n, t, v) "{\"name\":\"" n "\",\"type\":\"" t "\",\"value\":" v "}"
#define PK "\"pk\":[{\"name\":\"id\",\"type\":\"bigint\"}]"

static void
test_mirror_insert_is_upsert(void **state)
{
	(void) state;
	decode("{\"action\":\"I\",\"schema\":\"public\",\"table\":\"t\",\"columns\":["
		   COL("id", "bigint", "1") "," COL("Amount", "numeric(60,20)",
										 "12345678901234567890123456789.12345678901234567890")
		   "," COL("we\\\"ird", "text", "\"x\"") "]," PK "}");
	mirror(&change, NULL, 0, NULL, 0,
		   "INSERT INTO \"public\".\"Out\" (\"id\", \"Amount\", \"we\"\"ird\") VALUES ($1, $2, $3) "
		   "ON CONFLICT (\"id\") DO UPDATE SET \"Amount\" = EXCLUDED.\"Amount\", "
		   "\"we\"\"ird\" = EXCLUDED.\"we\"\"ird\"",
		   "new.id=1/20 new.Amount=12345678901234567890123456789.12345678901234567890/1700 "
		   "new.we\"ird=x/25");
}

static void
test_mirror_insert_all_key(void **state)
{
	char	   *key[] = {"a", "b"};

	(void) state;
	decode("{\"action\":\"I\",\"schema\":\"public\",\"table\":\"t\",\"columns\":["
		   COL("a", "integer", "1") "," COL("b", "mood", "\"ok\"") "]}");
	mirror(&change, key, 2, NULL, 0,
		   "INSERT INTO \"public\".\"Out\" (\"a\", \"b\") VALUES ($1, $2) ON CONFLICT (\"a\", \"b\") DO NOTHING",
		   "new.a=1/23 new.b=ok/0");	/* a user type goes untyped */
}

/* An update sets only what the change carries (not unchanged TOAST), by the old key. */
static void
test_mirror_update_key_change_and_toast(void **state)
{
	(void) state;
	decode("{\"action\":\"U\",\"schema\":\"public\",\"table\":\"t\",\"columns\":["
		   COL("id", "bigint", "2") "," COL("n", "integer", "5") "],"
		   "\"identity\":[" COL("id", "bigint", "1") "]," PK "}");
	mirror(&change, NULL, 0, NULL, 0,
		   "UPDATE \"public\".\"Out\" SET \"id\" = $1, \"n\" = $2 WHERE \"id\" = $3",
		   "new.id=2/20 new.n=5/23 old.id=1/20");
}

static void
test_mirror_delete_and_transformed(void **state)
{
	char	   *key[] = {"id"};
	trk_column_t row[] = {
		{.name = "id",.value = {TRK_V_NUMBER, "9", 1, NULL}},
		{.name = "label",.value = {TRK_V_STRING, "x", 1, NULL}},
	};

	(void) state;
	decode("{\"action\":\"D\",\"schema\":\"public\",\"table\":\"t\",\"identity\":["
		   COL("id", "bigint", "7") "," COL("n", "integer", "null") "]," PK "}");
	mirror(&change, NULL, 0, NULL, 0, "DELETE FROM \"public\".\"Out\" WHERE \"id\" = $1", "old.id=7/20");
	/* a transformed row is deleted by its own key */
	mirror(&change, key, 1, row, 2, "DELETE FROM \"public\".\"Out\" WHERE \"id\" = $1",
		   "transformed.id=9/0");
	/* an update through a transform upserts the transformed row */
	decode("{\"action\":\"U\",\"schema\":\"public\",\"table\":\"t\",\"columns\":["
		   COL("id", "bigint", "7") "]," PK "}");
	mirror(&change, key, 1, row, 2,
		   "INSERT INTO \"public\".\"Out\" (\"id\", \"label\") VALUES ($1, $2) "
		   "ON CONFLICT (\"id\") DO UPDATE SET \"label\" = EXCLUDED.\"label\"",
		   "transformed.id=9/0 transformed.label=x/0");
}

static void
test_mirror_errors(void **state)
{
	char	   *key[] = {"code"};

	(void) state;
	decode("{\"action\":\"I\",\"schema\":\"s\",\"table\":\"t\",\"columns\":[" COL("id", "bigint", "1") "],\"pk\":[]}");
	mirror_fails(&change, NULL, 0,
				 "no key for public.out: set output.key in config.yml (or give the input table a primary key)");
	decode("{\"action\":\"D\",\"schema\":\"s\",\"table\":\"t\",\"identity\":[" COL("id", "bigint", "1") "]}");
	mirror_fails(&change, key, 1, "key column \"code\" is not in the old row of this delete on s.t");
	decode("{\"action\":\"D\",\"schema\":\"s\",\"table\":\"t\",\"identity\":[" COL("code", "text", "null") "]}");
	mirror_fails(&change, key, 1, "key column \"code\" is NULL in the old row of this delete on s.t");
}

static void
test_mirror_multi_row(void **state)
{
	static const trk_table_name_t out = {"public", "Out"};
	char	   *key[] = {"id"};
	char	   *key2[] = {"a", "b"};
	char	   *cols[] = {"id", "na\"me"};
	trk_buf_t	sql = {0};

	(void) state;
	trk_mirror_insert_rows(&sql, &out, key, 1, cols, 2, 3);
	assert_string_equal(trk_buf_cstr(&sql),
						"INSERT INTO \"public\".\"Out\" (\"id\", \"na\"\"me\") "
						"VALUES ($1, $2), ($3, $4), ($5, $6) ON CONFLICT (\"id\") "
						"DO UPDATE SET \"na\"\"me\" = EXCLUDED.\"na\"\"me\"");
	/* every column in the key: nothing to update */
	trk_mirror_insert_rows(&sql, &out, key, 1, cols, 1, 2);
	assert_string_equal(trk_buf_cstr(&sql),
						"INSERT INTO \"public\".\"Out\" (\"id\") VALUES ($1), ($2) "
						"ON CONFLICT (\"id\") DO NOTHING");
	trk_mirror_update_rows(&sql, &out, cols, 2, key, 1, 2);
	assert_string_equal(trk_buf_cstr(&sql),
						"UPDATE \"public\".\"Out\" AS trk_target SET \"id\" = trk_rows.c1, "
						"\"na\"\"me\" = trk_rows.c2 FROM (VALUES ($1, $2, $3), ($4, $5, $6)) "
						"AS trk_rows (c1, c2, k1) WHERE trk_target.\"id\" = trk_rows.k1");
	/* the mirror's update fails inside the batch unless every key is found */
	trk_mirror_expect_rows(&sql, 2);
	assert_string_equal(trk_buf_cstr(&sql),
						"WITH trk_updated AS (UPDATE \"public\".\"Out\" AS trk_target SET "
						"\"id\" = trk_rows.c1, \"na\"\"me\" = trk_rows.c2 FROM (VALUES ($1, $2, $3), "
						"($4, $5, $6)) AS trk_rows (c1, c2, k1) WHERE trk_target.\"id\" = trk_rows.k1 "
						"RETURNING 1) SELECT 1 / (count(*) = 2)::int FROM trk_updated");
	trk_mirror_delete_rows(&sql, &out, key, 1, 3);
	assert_string_equal(trk_buf_cstr(&sql),
						"DELETE FROM \"public\".\"Out\" WHERE \"id\" IN ($1, $2, $3)");
	trk_mirror_delete_rows(&sql, &out, key2, 2, 2);
	assert_string_equal(trk_buf_cstr(&sql),
						"DELETE FROM \"public\".\"Out\" WHERE (\"a\", \"b\") IN (($1, $2), ($3, $4))");
	trk_buf_free(&sql);
}

static int
setup(void **state)
{
	(void) state;
	trk_arena_init(&arena, 0);
	return 0;
}

static int
teardown(void **state)
{
	(void) state;
	trk_arena_free(&arena);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mirror_insert_is_upsert),
		cmocka_unit_test(test_mirror_insert_all_key),
		cmocka_unit_test(test_mirror_update_key_change_and_toast),
		cmocka_unit_test(test_mirror_delete_and_transformed),
		cmocka_unit_test(test_mirror_errors),
		cmocka_unit_test(test_mirror_multi_row),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

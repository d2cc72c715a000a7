/* test_vars.c — what operation, new, old, transformed and meta resolve to for a change. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
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

#define COL(n, t, v) "{\"name\":\"" n "\",\"type\":\"" t "\",\"value\":" v "}"
#define PK "\"pk\":[{\"name\":\"id\",\"type\":\"bigint\"}]"

/* lookup resolves one reference through trk_vars_lookup. */
static int
lookup(trk_vars_t *v, trk_root_t root, const char *field, trk_value_t *out, trk_buf_t *err)
{
	trk_ref_t	ref = {.root = root,.field = field};

	trk_buf_reset(err);
	return trk_vars_lookup(v, &ref, out, err);
}

static void
test_vars_rows(void **state)
{
	trk_vars_t	v = {0};
	trk_value_t val;
	trk_buf_t	err = {0};

	(void) state;
	/* insert: old.* is NULL */
	v.change = decode("{\"action\":\"I\",\"schema\":\"public\",\"table\":\"t\",\"columns\":["
					  COL("id", "bigint", "1") "]," PK "}");
	assert_int_equal(lookup(&v, TRK_ROOT_OLD, "anything", &val, &err), 0);
	assert_int_equal(val.kind, TRK_V_NULL);
	assert_int_equal(lookup(&v, TRK_ROOT_OPERATION, NULL, &val, &err), 0);
	assert_string_equal(val.text, "insert");
	assert_int_equal(lookup(&v, TRK_ROOT_NEW, "nope", &val, &err), -1);
	assert_string_equal(trk_buf_cstr(&err), "new.nope: table public.t has no column \"nope\"");

	/* delete: new.* is NULL */
	v.change = decode("{\"action\":\"D\",\"schema\":\"public\",\"table\":\"t\",\"identity\":["
					  COL("id", "bigint", "1") "]," PK "}");
	assert_int_equal(lookup(&v, TRK_ROOT_NEW, "id", &val, &err), 0);
	assert_int_equal(val.kind, TRK_V_NULL);
	assert_int_equal(lookup(&v, TRK_ROOT_OLD, "id", &val, &err), 0);
	assert_string_equal(val.text, "1");
	/* old beyond the key, without REPLICA IDENTITY FULL: an error, never NULL */
	assert_int_equal(lookup(&v, TRK_ROOT_OLD, "name", &val, &err), -1);
	assert_non_null(strstr(trk_buf_cstr(&err), "old.name is not known"));
	assert_non_null(strstr(trk_buf_cstr(&err), "REPLICA IDENTITY FULL"));
	trk_buf_free(&err);
}

/* An unchanged TOAST column: taken from the full old row, else an error. */
static void
test_vars_unchanged_toast(void **state)
{
	trk_vars_t	v = {0};
	trk_value_t val;
	trk_buf_t	err = {0};

	(void) state;
	v.change = decode("{\"action\":\"U\",\"schema\":\"public\",\"table\":\"docs\",\"columns\":["
					  COL("id", "bigint", "1") "," COL("title", "text", "\"new\"") "],\"identity\":["
					  COL("id", "bigint", "1") "," COL("title", "text", "\"old\"") ","
					  COL("body", "text", "\"a long body\"") "]," PK "}");
	assert_int_equal(lookup(&v, TRK_ROOT_NEW, "body", &val, &err), 0);
	assert_string_equal(val.text, "a long body");
	assert_int_equal(lookup(&v, TRK_ROOT_NEW, "title", &val, &err), 0);
	assert_string_equal(val.text, "new");

	v.change = decode("{\"action\":\"U\",\"schema\":\"public\",\"table\":\"docs\",\"columns\":["
					  COL("id", "bigint", "1") "]," PK "}");
	assert_int_equal(lookup(&v, TRK_ROOT_NEW, "body", &val, &err), -1);
	assert_non_null(strstr(trk_buf_cstr(&err), "unchanged TOAST value"));
	assert_non_null(strstr(trk_buf_cstr(&err), "ALTER TABLE public.docs REPLICA IDENTITY FULL"));
	/* no identity sent: the key did not change, old key = new key */
	assert_int_equal(lookup(&v, TRK_ROOT_OLD, "id", &val, &err), 0);
	assert_string_equal(val.text, "1");
	trk_buf_free(&err);
}

static void
test_vars_meta_and_transformed(void **state)
{
	trk_vars_t	v = {0};
	trk_value_t val;
	trk_buf_t	err = {0};
	trk_column_t row[] = {{.name = "x",.value = {TRK_V_STRING, "y", 1, NULL}}};

	(void) state;
	v.change = decode("{\"action\":\"I\",\"xid\":4294967295,\"lsn\":\"1/A0\",\"schema\":\"s\",\"table\":\"t\","
					  "\"columns\":[" COL("id", "bigint", "1") "]}");
	v.end_lsn = ((uint64_t) 1 << 32) | 0xF0;
	v.commit_time = "2026-11-22 10:00:00+00";
	assert_int_equal(lookup(&v, TRK_ROOT_META, "lsn", &val, &err), 0);
	assert_string_equal(val.text, "1/A0");
	assert_int_equal(lookup(&v, TRK_ROOT_META, "end_lsn", &val, &err), 0);
	assert_string_equal(val.text, "1/F0");
	assert_int_equal(lookup(&v, TRK_ROOT_META, "xid", &val, &err), 0);
	assert_string_equal(val.text, "4294967295");
	assert_int_equal(lookup(&v, TRK_ROOT_META, "commit_time", &val, &err), 0);
	assert_string_equal(val.text, "2026-11-22 10:00:00+00");
	assert_int_equal(lookup(&v, TRK_ROOT_META, "schema", &val, &err), 0);
	assert_string_equal(val.text, "s");
	assert_int_equal(lookup(&v, TRK_ROOT_META, "table", &val, &err), 0);
	assert_string_equal(val.text, "t");
	assert_int_equal(lookup(&v, TRK_ROOT_TRANSFORMED, "x", &val, &err), -1);
	v.transformed = row;
	v.ntransformed = 1;
	assert_int_equal(lookup(&v, TRK_ROOT_TRANSFORMED, "x", &val, &err), 0);
	assert_string_equal(val.text, "y");
	assert_int_equal(lookup(&v, TRK_ROOT_TRANSFORMED, "z", &val, &err), -1);
	assert_string_equal(trk_buf_cstr(&err), "transformed.z: transform.sql returned no column \"z\"");
	trk_buf_free(&err);
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
		cmocka_unit_test(test_vars_rows),
		cmocka_unit_test(test_vars_unchanged_toast),
		cmocka_unit_test(test_vars_meta_and_transformed),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

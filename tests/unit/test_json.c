/* test_json.c — the strict JSON parser (exact numbers, strings, positions) and its arena. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "decode/json.h"

static trk_arena_t arena;
static trk_buf_t err;

static int
setup(void **state)
{
	(void) state;
	trk_arena_init(&arena, 0);
	memset(&err, 0, sizeof(err));
	return 0;
}

static int
teardown(void **state)
{
	(void) state;
	trk_arena_free(&arena);
	trk_buf_free(&err);
	return 0;
}

/* parse_ok parses s (without its NUL, so a read past the end is a bug). */
static const trk_json_t *
parse_ok(const char *s)
{
	size_t		n = strlen(s);
	char	   *copy = malloc(n ? n : 1);
	const trk_json_t *j;

	memcpy(copy, s, n);
	trk_buf_reset(&err);
	j = trk_json_parse(&arena, copy, n, &err);
	if (j == NULL)
		fail_msg("unexpected parse error for %s: %s", s, trk_buf_cstr(&err));
	assert_int_equal(err.len, 0);
	/* the tree must not point into the input, except src */
	memset(copy, 'X', n);
	free(copy);
	return j;
}

/* parse_err expects a failure and returns its message. */
static const char *
parse_err(const char *s, size_t n)
{
	const trk_json_t *j;

	trk_buf_reset(&err);
	j = trk_json_parse(&arena, s, n, &err);
	if (j != NULL)
		fail_msg("expected a parse error for \"%.*s\"", (int) n, s);
	assert_true(err.len > 0);
	return trk_buf_cstr(&err);
}

#define PARSE_ERR(lit) parse_err((lit), sizeof(lit) - 1)

static void
assert_contains(const char *hay, const char *needle)
{
	if (strstr(hay, needle) == NULL)
		fail_msg("\"%s\" does not contain \"%s\"", hay, needle);
}

/* ---------------------------------------------------------------- numbers */

static void
test_numbers_keep_exact_text(void **state)
{
	const char *nums[] = {
		"12345678901234567890123456789.123456789",
		"-9223372036854775808",
		"9223372036854775807",
		"18446744073709551616",
		"1e-400",
		"1E+400",
		"0.1",
		"0.10",
		"-0",
		"0e0",
		"-0.000000000000000000001",
		"3.4028235e+38",
		"1234567890123456789012345678901234567890.12345678901234567890",
	};

	(void) state;
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
	{
		const trk_json_t *j = parse_ok(nums[i]);

		assert_int_equal(j->kind, TRK_JSON_NUMBER);
		assert_string_equal(j->text, nums[i]);
		assert_int_equal(j->len, strlen(nums[i]));
	}

	/* inside a structure, surrounded by whitespace */
	{
		const trk_json_t *j = parse_ok(" [ 0.1 ,\t-9223372036854775808\n]\r\n");

		assert_int_equal(j->kind, TRK_JSON_ARRAY);
		assert_int_equal(j->n, 2);
		assert_string_equal(j->child->text, "0.1");
		assert_string_equal(j->child->next->text, "-9223372036854775808");
		assert_null(j->child->next->next);
	}
}

static void
test_numbers_reject_bad_grammar(void **state)
{
	const char *bad[] = {"01", "-", "1.", ".5", "1e", "1e+", "+1", "1.e5", "-a",
	"NaN", "Infinity", "-Infinity", "0x10", "1_000", "- 1", "00", "-01", "1.5.2"};

	(void) state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		parse_err(bad[i], strlen(bad[i]));
	assert_contains(PARSE_ERR("01"), "leading zeros");
	assert_contains(PARSE_ERR("[1.]"), "line 1, column 4: invalid number");
}

/* ---------------------------------------------------------------- strings */

static void
test_string_escapes(void **state)
{
	const trk_json_t *j;

	(void) state;
	j = parse_ok("\"q \\\" b \\\\ n \\n t \\t s \\/ bf \\b\\f cr \\r\"");
	assert_int_equal(j->kind, TRK_JSON_STRING);
	assert_string_equal(j->text, "q \" b \\ n \n t \t s / bf \b\f cr \r");
	assert_int_equal(j->len, strlen(j->text));

	j = parse_ok("\"caf\\u00e9 \\u00E9\"");
	assert_string_equal(j->text, "caf\xC3\xA9 \xC3\xA9");

	j = parse_ok("\"\\u20AC\\u0041\\u007f\\u0001\"");
	assert_string_equal(j->text, "\xE2\x82\xAC" "A\x7F\x01");

	/* a surrogate pair is one code point, U+1F600, four bytes of UTF-8 */
	j = parse_ok("\"\\ud83d\\ude00\"");
	assert_int_equal(j->len, 4);
	assert_memory_equal(j->text, "\xF0\x9F\x98\x80", 5);

	/* the highest code point */
	j = parse_ok("\"\\uDBFF\\uDFFF\"");
	assert_memory_equal(j->text, "\xF4\x8F\xBF\xBF", 5);

	j = parse_ok("\"\"");
	assert_string_equal(j->text, "");
	assert_int_equal(j->len, 0);
}

static void
test_string_raw_utf8_passes_through(void **state)
{
	const char *s = "\"eé € 😀 \x7F end\"";
	const trk_json_t *j;

	(void) state;
	j = parse_ok(s);
	assert_int_equal(j->len, strlen(s) - 2);
	assert_memory_equal(j->text, s + 1, strlen(s) - 2);
	assert_string_equal(j->text, "e\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \x7F end");
}

static void
test_string_rejects(void **state)
{
	(void) state;
	assert_contains(PARSE_ERR("\"a\\x\""), "line 1, column 3: invalid escape");
	assert_contains(PARSE_ERR("\"\\'\""), "invalid escape");
	assert_contains(PARSE_ERR("\"\\u12\""), "expected 4 hex digits");
	assert_contains(PARSE_ERR("\"\\u12G4\""), "expected 4 hex digits");
	assert_contains(PARSE_ERR("\"\\u12"), "expected 4 hex digits");
	assert_contains(PARSE_ERR("\"ab\\"), "unterminated string");
	assert_contains(PARSE_ERR("\"abc"), "line 1, column 1: unterminated string");

	/* NUL cannot live in PostgreSQL text */
	assert_contains(PARSE_ERR("\"a\\u0000b\""),
					"line 1, column 3: \\u0000 is not allowed");
	assert_contains(PARSE_ERR("{\"k\\u0000\":1}"), "\\u0000 is not allowed");

	/* lone and mismatched surrogates */
	assert_contains(PARSE_ERR("\"\\ud83d\""), "not followed by a low surrogate");
	assert_contains(PARSE_ERR("\"\\ud83dx\""), "not followed by a low surrogate");
	assert_contains(PARSE_ERR("\"\\ud83d\\u0041\""), "not followed by a low surrogate");
	assert_contains(PARSE_ERR("\"\\ud83d\\ud83d\""), "not followed by a low surrogate");
	assert_contains(PARSE_ERR("\"\\ude00\""), "lone low surrogate \\uDE00");

	/* raw control characters must be escaped */
	assert_contains(PARSE_ERR("\"a\nb\""), "line 1, column 3: control character 0x0A");
	assert_contains(PARSE_ERR("\"a\tb\""), "control character 0x09");
	assert_contains(parse_err("\"a\0b\"", 5), "control character 0x00");

	/* malformed UTF-8: truncated, overlong, surrogate, too high, stray */
	assert_contains(PARSE_ERR("\"\xC3\""), "invalid UTF-8");
	assert_contains(PARSE_ERR("\"\xC0\xAF\""), "invalid UTF-8");
	assert_contains(PARSE_ERR("\"\xE0\x80\xAF\""), "invalid UTF-8");
	assert_contains(PARSE_ERR("\"\xED\xA0\x80\""), "invalid UTF-8");
	assert_contains(PARSE_ERR("\"\xF4\x90\x80\x80\""), "invalid UTF-8");
	assert_contains(PARSE_ERR("\"\xF0\x9F\x98\""), "invalid UTF-8");
	assert_contains(PARSE_ERR("\"ok \xFF\""), "line 1, column 5: invalid UTF-8");
	assert_contains(PARSE_ERR("\"\x80\""), "invalid UTF-8");
}

/* ---------------------------------------------------------------- structure */

static void
test_literals_and_objects(void **state)
{
	const trk_json_t *j,
			   *m;

	(void) state;
	j = parse_ok("{\"z\":true,\"a\":false,\"m\":null,\"a\":1,\"o\":{},\"l\":[]}");
	assert_int_equal(j->kind, TRK_JSON_OBJECT);
	assert_int_equal(j->n, 6);

	/* key order is kept */
	m = j->child;
	assert_string_equal(m->key, "z");
	assert_int_equal(m->kind, TRK_JSON_BOOL);
	assert_true(m->boolean);
	assert_string_equal(m->text, "true");
	m = m->next;
	assert_string_equal(m->key, "a");
	assert_false(m->boolean);
	assert_string_equal(m->text, "false");
	m = m->next;
	assert_string_equal(m->key, "m");
	assert_int_equal(m->kind, TRK_JSON_NULL);
	assert_null(m->text);

	/* duplicate keys are kept; get returns the first */
	assert_int_equal(trk_json_get(j, "a")->kind, TRK_JSON_BOOL);
	assert_int_equal(trk_json_get(j, "o")->kind, TRK_JSON_OBJECT);
	assert_int_equal(trk_json_get(j, "o")->n, 0);
	assert_null(trk_json_get(j, "o")->child);
	assert_int_equal(trk_json_get(j, "l")->kind, TRK_JSON_ARRAY);
	assert_null(trk_json_get(j, "missing"));
	assert_null(trk_json_get(j, ""));
	assert_null(trk_json_get(trk_json_get(j, "z"), "x"));

	/* keys are decoded like any string */
	j = parse_ok("{\"caf\\u00e9\":1,\"\":2}");
	assert_int_equal(trk_json_get(j, "caf\xC3\xA9")->kind, TRK_JSON_NUMBER);
	assert_string_equal(trk_json_get(j, "")->text, "2");
}

static void
test_positions_and_source_text(void **state)
{
	const char *s = "{\n  \"a\": [1, \"x\"],\n\t\"b\": {\"c\" :  [ true ]  }\n}";
	const trk_json_t *j,
			   *a,
			   *b;

	(void) state;
	/* parsed in place: src points into the input, which must outlive it */
	trk_buf_reset(&err);
	j = trk_json_parse(&arena, s, strlen(s), &err);
	assert_non_null(j);
	assert_int_equal(j->line, 1);
	assert_int_equal(j->col, 1);
	a = trk_json_get(j, "a");
	assert_int_equal(a->line, 2);
	assert_int_equal(a->col, 8);
	assert_int_equal(a->child->line, 2);
	assert_int_equal(a->child->col, 9);
	assert_int_equal(a->child->next->col, 12);
	b = trk_json_get(j, "b");
	assert_int_equal(b->line, 3);
	assert_int_equal(b->col, 7);		/* a tab counts as one byte */
	assert_int_equal(b->srclen, strlen("{\"c\" :  [ true ]  }"));
	assert_memory_equal(b->src, "{\"c\" :  [ true ]  }", b->srclen);
	assert_memory_equal(a->src, "[1, \"x\"]", a->srclen);
	assert_int_equal(j->srclen, strlen(s));
}

static void
test_malformed_reports_line_and_column(void **state)
{
	(void) state;
	assert_string_equal(PARSE_ERR("{\n  \"a\": 1,\n  \"b\" 2\n}"),
						"line 3, column 7: expected ':' after object key, found character '2'");
	assert_string_equal(PARSE_ERR("[1,2,]"),
						"line 1, column 6: unexpected character ']', expected a JSON value");
	assert_string_equal(PARSE_ERR("{\"a\":1,}"),
						"line 1, column 8: expected a string key in object, found character '}'");
	assert_string_equal(PARSE_ERR("[1 2]"),
						"line 1, column 4: expected ',' or ']' in array, found character '2'");
	assert_string_equal(PARSE_ERR("{\"a\":1 \"b\":2}"),
						"line 1, column 8: expected ',' or '}' in object, found character '\"'");
	assert_string_equal(PARSE_ERR(""),
						"line 1, column 1: unexpected end of input, expected a JSON value");
	assert_string_equal(PARSE_ERR(" \n "),
						"line 2, column 2: unexpected end of input, expected a JSON value");
	assert_string_equal(PARSE_ERR("[1"),
						"line 1, column 3: expected ',' or ']' in array, found end of input");
	assert_string_equal(PARSE_ERR("{} x"),
						"line 1, column 4: unexpected character 'x' after the JSON value");
	assert_string_equal(PARSE_ERR("{}{}"),
						"line 1, column 3: unexpected character '{' after the JSON value");
	assert_string_equal(PARSE_ERR("tru"), "line 1, column 1: invalid literal, expected \"true\"");
	assert_string_equal(PARSE_ERR("[nan]"), "line 1, column 2: invalid literal, expected \"null\"");
	assert_contains(PARSE_ERR("fALSE"), "expected \"false\"");
	assert_contains(PARSE_ERR("truex"), "after the JSON value");
	assert_contains(PARSE_ERR("nul"), "invalid literal");
	assert_contains(PARSE_ERR("{'a':1}"), "expected a string key");
	assert_contains(PARSE_ERR("{a:1}"), "expected a string key");
	assert_contains(PARSE_ERR("[1,]"), "expected a JSON value");
	assert_contains(PARSE_ERR("\xEF\xBB\xBF{}"), "byte 0xEF");
	assert_contains(PARSE_ERR("/* c */ {}"), "character '/'");
	assert_contains(parse_err("{}\0", 3), "byte 0x00 after the JSON value");
	assert_contains(PARSE_ERR("{\"a\":1}\n\n  ,"), "line 3, column 3:");
}

static void
test_depth_limit(void **state)
{
	char		buf[2 * (TRK_JSON_MAX_DEPTH + 1) + 1];
	const trk_json_t *j;
	int			depth = 0;

	(void) state;
	/* exactly the limit parses */
	memset(buf, '[', TRK_JSON_MAX_DEPTH);
	memset(buf + TRK_JSON_MAX_DEPTH, ']', TRK_JSON_MAX_DEPTH);
	buf[2 * TRK_JSON_MAX_DEPTH] = '\0';
	j = parse_ok(buf);
	for (; j != NULL; j = j->child)
		depth++;
	assert_int_equal(depth, TRK_JSON_MAX_DEPTH);

	/* one more does not, and neither does an unclosed deep prefix */
	memset(buf, '[', TRK_JSON_MAX_DEPTH + 1);
	memset(buf + TRK_JSON_MAX_DEPTH + 1, ']', TRK_JSON_MAX_DEPTH + 1);
	assert_string_equal(parse_err(buf, sizeof(buf) - 1),
						"line 1, column 257: nesting is deeper than 256 levels");
	{
		size_t		n = 100000;
		char	   *deep = malloc(n);

		for (size_t i = 0; i < n; i++)
			deep[i] = (i % 2) ? '[' : '{';
		/* "{[" is not even valid, but the parser must fail cleanly */
		parse_err(deep, n);
		for (size_t i = 0; i < n; i += 5)
			memcpy(deep + i, "{\"a\":", 5);
		assert_contains(parse_err(deep, n), "nesting is deeper than 256 levels");
		free(deep);
	}
}

/* ---------------------------------------------------------------- arena */

static void
test_arena_reuse(void **state)
{
	trk_arena_t a;
	char	   *big;
	size_t		used;

	(void) state;
	trk_arena_init(&a, 1024);
	for (int round = 0; round < 3; round++)
	{
		char	   *p = trk_arena_alloc(&a, 10);
		char	   *q = trk_arena_alloc(&a, 1);

		assert_true((uintptr_t) p % _Alignof(max_align_t) == 0);
		assert_true((uintptr_t) q % _Alignof(max_align_t) == 0);
		assert_true(q != p);
		memset(p, 'a', 10);
		/* small requests that overflow the block and a large one */
		for (int i = 0; i < 200; i++)
			memset(trk_arena_alloc(&a, 100), 'b', 100);
		big = trk_arena_alloc(&a, 100000);
		memset(big, 'c', 100000);
		assert_memory_equal(p, "aaaaaaaaaa", 10);
		assert_string_equal(trk_arena_strndup(&a, "hello world", 5), "hello");
		assert_string_equal(trk_arena_strndup(&a, "", 0), "");
		used = trk_arena_used(&a);
		assert_true(used >= 100000 + 200 * 100);
		trk_arena_reset(&a);
		assert_int_equal(trk_arena_used(&a), 0);
		/* the first block is kept: the first allocation lands in it again */
		assert_ptr_equal(trk_arena_alloc(&a, 10), p);
		trk_arena_reset(&a);
	}
	{
		unsigned char *z = trk_arena_calloc(&a, 64, 4);

		for (int i = 0; i < 256; i++)
			assert_int_equal(z[i], 0);
	}
	trk_arena_free(&a);
	assert_int_equal(trk_arena_used(&a), 0);
	/* a freed arena and a zeroed one are both usable */
	assert_non_null(trk_arena_alloc(&a, 1));
	trk_arena_free(&a);
	{
		trk_arena_t z = {0};

		assert_non_null(trk_arena_alloc(&z, 70000));
		assert_non_null(trk_arena_alloc(&z, 0));
		trk_arena_free(&z);
	}
	{
		/* zero-byte requests come from the current block, not new ones */
		trk_arena_t z = {0};
		char	   *first = trk_arena_alloc(&z, 1);

		for (int i = 0; i < 1000; i++)
			assert_non_null(trk_arena_calloc(&z, 0, 8));
		assert_true(trk_arena_used(&z) < 64 * 1024);
		assert_true(z.cur == z.first);
		assert_non_null(first);
		trk_arena_free(&z);
	}
}

static void
test_parse_many_with_reset(void **state)
{
	const char *msg = "{\"action\":\"I\",\"columns\":[{\"name\":\"id\",\"value\":1}]}";
	const trk_json_t *j;
	size_t		first;

	(void) state;
	trk_arena_reset(&arena);
	j = parse_ok(msg);
	first = trk_arena_used(&arena);
	assert_true(first > 0);
	for (int i = 0; i < 1000; i++)
	{
		trk_arena_reset(&arena);
		j = parse_ok(msg);
		assert_int_equal(trk_arena_used(&arena), first);
	}
	assert_string_equal(trk_json_get(j, "action")->text, "I");
	assert_string_equal(trk_json_kind_name(TRK_JSON_OBJECT), "object");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numbers_keep_exact_text),
		cmocka_unit_test(test_numbers_reject_bad_grammar),
		cmocka_unit_test(test_string_escapes),
		cmocka_unit_test(test_string_raw_utf8_passes_through),
		cmocka_unit_test(test_string_rejects),
		cmocka_unit_test(test_literals_and_objects),
		cmocka_unit_test(test_positions_and_source_text),
		cmocka_unit_test(test_malformed_reports_line_and_column),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_arena_reuse),
		cmocka_unit_test(test_parse_many_with_reset),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

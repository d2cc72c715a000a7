/* test_pgtype.c — built-in type names to fixed OIDs; user types untyped. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "decode/pgtype.h"

static void
test_pgtype(void **state)
{
	(void) state;
	assert_int_equal(trk_pgtype_oid("integer"), 23);
	assert_int_equal(trk_pgtype_oid("bigint"), 20);
	assert_int_equal(trk_pgtype_oid("character varying(255)"), 1043);
	assert_int_equal(trk_pgtype_oid("character(3)"), 1042);
	assert_int_equal(trk_pgtype_oid("numeric(10,2)"), 1700);
	assert_int_equal(trk_pgtype_oid("timestamp(3) with time zone"), 1184);
	assert_int_equal(trk_pgtype_oid("timestamp without time zone"), 1114);
	assert_int_equal(trk_pgtype_oid("text[]"), 1009);
	assert_int_equal(trk_pgtype_oid("numeric(5,1)[]"), 1231);
	assert_int_equal(trk_pgtype_oid("jsonb"), 3802);
	assert_int_equal(trk_pgtype_oid("bytea"), 17);
	/* user-defined types differ between clusters: untyped */
	assert_int_equal(trk_pgtype_oid("mood"), 0);
	assert_int_equal(trk_pgtype_oid("public.mood"), 0);
	assert_int_equal(trk_pgtype_oid("public.mood[]"), 0);
	assert_int_equal(trk_pgtype_oid(NULL), 0);
	assert_int_equal(trk_pgtype_oid(""), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pgtype),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_lsn.c — LSN parsing and formatting round trips. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "base/lsn.h"

static void
test_parse_format(void **state)
{
	trk_lsn_t	lsn;
	char		buf[TRK_LSN_BUFSIZE];

	(void) state;
	assert_true(trk_lsn_parse("0/16B3748", 9, &lsn));
	assert_int_equal(lsn, 0x16B3748);
	assert_string_equal(trk_lsn_format(lsn, buf), "0/16B3748");
	assert_true(trk_lsn_parse("FFFFFFFF/FFFFFFFF", 17, &lsn));
	assert_true(lsn == UINT64_MAX);
	assert_string_equal(trk_lsn_format(lsn, buf), "FFFFFFFF/FFFFFFFF");
	assert_true(trk_lsn_parse("1a/ff", 5, &lsn));
	assert_true(lsn == ((uint64_t) 0x1a << 32 | 0xff));
}

static void
test_parse_rejects(void **state)
{
	trk_lsn_t	lsn;
	const char *bad[] = {"", "/", "0/", "/0", "0x1/0", "1/2/3", "123456789/0",
	"g/0", "0/ 1"};

	(void) state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(trk_lsn_parse(bad[i], strlen(bad[i]), &lsn));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_format),
		cmocka_unit_test(test_parse_rejects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

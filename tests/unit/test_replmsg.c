/* test_replmsg.c — XLogData, keepalive and status update byte layouts. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "stream/replmsg.h"

static void
test_xlogdata(void **state)
{
	/* 'w', start 0/16B3748, walEnd 1/2, sendTime 3, payload "{}" */
	const char	msg[] = "w\0\0\0\0\x01\x6b\x37\x48" "\0\0\0\x01\0\0\0\x02"
		"\0\0\0\0\0\0\0\x03" "{}";
	trk_replmsg_t m;

	(void) state;
	assert_int_equal(trk_replmsg_parse(msg, sizeof(msg) - 1, &m), 0);
	assert_int_equal(m.kind, 'w');
	assert_true(m.start == 0x16B3748);
	assert_true(m.walend == ((uint64_t) 1 << 32 | 2));
	assert_true(m.sendtime == 3);
	assert_int_equal(m.len, 2);
	assert_memory_equal(m.data, "{}", 2);
	/* a header cut short is refused, not read past */
	assert_int_equal(trk_replmsg_parse(msg, 24, &m), -1);
}

static void
test_keepalive(void **state)
{
	const char	msg[] = "k\0\0\0\0\0\0\x10\0" "\0\0\0\0\0\0\0\x07" "\x01";
	trk_replmsg_t m;

	(void) state;
	assert_int_equal(trk_replmsg_parse(msg, sizeof(msg) - 1, &m), 0);
	assert_int_equal(m.kind, 'k');
	assert_true(m.walend == 0x1000);
	assert_true(m.reply);
	assert_int_equal(trk_replmsg_parse(msg, 17, &m), -1);
	assert_int_equal(trk_replmsg_parse("x", 1, &m), -1);
	assert_int_equal(trk_replmsg_parse("", 0, &m), -1);
}

static void
test_status(void **state)
{
	char		out[TRK_REPL_STATUS_SIZE];
	const char	want[] = "r" "\0\0\0\0\0\0\0\x30" "\0\0\0\x01\0\0\0\x20"
		"\0\0\0\x01\0\0\0\x20" "\0\0\0\0\0\0\x01\0" "\0";

	(void) state;
	trk_replmsg_status(out, 0x30, (uint64_t) 1 << 32 | 0x20, (uint64_t) 1 << 32 | 0x20, 256, false);
	assert_int_equal(sizeof(want) - 1, TRK_REPL_STATUS_SIZE);
	assert_memory_equal(out, want, TRK_REPL_STATUS_SIZE);
}

static void
test_epoch(void **state)
{
	(void) state;
	/* 2026 is about 26 years after PostgreSQL's epoch */
	assert_true(trk_repl_now() > INT64_C(25) * 365 * 86400 * 1000000);
	assert_true(trk_repl_now() < INT64_C(100) * 365 * 86400 * 1000000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xlogdata),
		cmocka_unit_test(test_keepalive),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_epoch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

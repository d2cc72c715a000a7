/* test_log.c — log lines in logfmt and JSON, escaped, one per call. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"

/* capture runs the log call with stderr on a pipe and returns what it wrote. */
static char captured[4096];

static const char *
capture_end(int saved, int rd)
{
	ssize_t		n;

	dup2(saved, STDERR_FILENO);
	close(saved);
	n = read(rd, captured, sizeof(captured) - 1);
	close(rd);
	captured[n > 0 ? n : 0] = '\0';
	/* the timestamp varies: keep what follows it */
	return strstr(captured, " level=") ? strstr(captured, " level=") + 1
		: strstr(captured, ",\"level\"") ? strstr(captured, ",\"level\"") + 1 : captured;
}

static int
capture_begin(int *rd)
{
	int			fds[2];
	int			saved = dup(STDERR_FILENO);

	assert_int_equal(pipe(fds), 0);
	dup2(fds[1], STDERR_FILENO);
	close(fds[1]);
	*rd = fds[0];
	return saved;
}

static void
test_logfmt(void **state)
{
	int			rd,
				saved;

	(void) state;
	trk_log_setup(TRK_LOG_LOGFMT, TRK_LOG_INFO);
	saved = capture_begin(&rd);
	trk_log_info("streaming started", "connection", "src", "lsn", "0/16B3748",
				 "skipped", NULL, "reason", "a \"quoted\" = value\nwith\x01 control", NULL);
	assert_string_equal(capture_end(saved, rd),
						"level=info msg=\"streaming started\" connection=src lsn=0/16B3748 "
						"reason=\"a \\\"quoted\\\" = value\\nwith\\x01 control\"\n");
	assert_true(strncmp(captured, "ts=20", 5) == 0);

	/* below the level: nothing at all */
	saved = capture_begin(&rd);
	trk_log_debug("noise", "k", "v", NULL);
	assert_string_equal(capture_end(saved, rd), "");
}

static void
test_json(void **state)
{
	int			rd,
				saved;

	(void) state;
	trk_log_setup(TRK_LOG_JSON, TRK_LOG_DEBUG);
	saved = capture_begin(&rd);
	trk_log_warn("x", "pipeline", "p\"1", "error", "tab\there\x7f", NULL);
	assert_string_equal(capture_end(saved, rd),
						"\"level\":\"warn\",\"msg\":\"x\",\"pipeline\":\"p\\\"1\","
						"\"error\":\"tab\\there\\u007f\"}\n");
	assert_true(strncmp(captured, "{\"ts\":\"20", 9) == 0);
	trk_log_setup(TRK_LOG_LOGFMT, TRK_LOG_INFO);
}

static void
test_parse(void **state)
{
	trk_log_level_t l;
	trk_log_format_t f;

	(void) state;
	assert_true(trk_log_parse_level("warn", &l));
	assert_int_equal(l, TRK_LOG_WARN);
	assert_false(trk_log_parse_level("WARN", &l));
	assert_true(trk_log_parse_format("json", &f));
	assert_int_equal(f, TRK_LOG_JSON);
	assert_false(trk_log_parse_format("xml", &f));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_logfmt),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

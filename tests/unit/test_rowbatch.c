/*
 * test_rowbatch.c — a multi-row run's bookkeeping: which keys it holds (a
 * row whose key is already in the run must not join it), when it is full,
 * and that clearing forgets everything.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "apply/rowbatch.h"

static const trk_table_name_t out = {.schema = "public", .name = "t"};

static void
start(trk_rowbatch_t *rb)
{
	const char *names[] = {"id", "v"};
	char	   *key[] = {"id"};
	uint32_t	types[] = {20, 25};

	trk_rowbatch_start(rb, 0, TRK_ACT_INSERT, &out, "INSERT …", names, 2, 0, key, 1, types);
}

static void
add(trk_rowbatch_t *rb, uint64_t keyhash, trk_lsn_t lsn)
{
	const char *values[] = {"1", NULL};
	trk_dest_tag_t tag = {0, lsn, 7, TRK_CHECK_NONE, 0, NULL, NULL, 0, 0};

	trk_rowbatch_add(rb, values, keyhash, &tag, 10);
}

static void
test_keys(void **state)
{
	trk_rowbatch_t rb = {.pipeline = -1};

	(void) state;
	start(&rb);
	assert_false(trk_rowbatch_has_key(&rb, 42));
	/* keys that land in the same slot, and the hash 0 */
	for (uint64_t k = 0; k < 200; k++)
		add(&rb, k * 1024, 0x100 + k);
	for (uint64_t k = 0; k < 200; k++)
		assert_true(trk_rowbatch_has_key(&rb, k * 1024));
	assert_false(trk_rowbatch_has_key(&rb, 1024 * 200));
	assert_false(trk_rowbatch_has_key(&rb, 3));
	assert_int_equal(rb.nrows, 200);
	assert_true(rb.tags[0].lsn == 0x100 && rb.tags[199].lsn == 0x100 + 199);
	assert_false(trk_rowbatch_full(&rb));
	for (uint64_t k = 200; k < TRK_ROWBATCH_MAX_ROWS; k++)
		add(&rb, k * 1024, 0x100 + k);
	assert_true(trk_rowbatch_full(&rb));

	/* a cleared run holds no key */
	trk_rowbatch_clear(&rb);
	assert_int_equal(rb.nrows, 0);
	for (uint64_t k = 0; k < TRK_ROWBATCH_MAX_ROWS; k++)
		assert_false(trk_rowbatch_has_key(&rb, k * 1024));
	start(&rb);
	add(&rb, 5, 0x500);
	assert_true(trk_rowbatch_has_key(&rb, 5));
	assert_false(trk_rowbatch_has_key(&rb, 0));
	trk_rowbatch_free(&rb);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

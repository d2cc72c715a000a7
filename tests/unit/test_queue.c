/* test_queue.c — messages waiting for their transforms leave in order. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "transform/queue.h"

static int freed;

static void
count_free(void *rows)
{
	(void) rows;
	freed++;
}

static int	rows_a,
			rows_b,
			rows_c;

/* the head leaves only when all it waits for has answered, whatever the order */
static void
test_queue_order(void **state)
{
	trk_xq_t	q;
	uint64_t	a,
				b,
				k;
	trk_xq_entry_t *e;

	(void) state;
	freed = 0;
	trk_xq_init(&q, count_free);
	a = trk_xq_push(&q, 100, "{\"action\":\"I\"}", 14, NULL, 0);
	trk_xq_expect(&q, a);
	trk_xq_expect(&q, a);
	b = trk_xq_push(&q, 200, "{\"action\":\"D\"}", 14, strdup("decoded"), 8);
	trk_xq_expect(&q, b);
	k = trk_xq_push(&q, 300, NULL, 0, NULL, 0);
	assert_int_equal(q.count, 3);
	assert_int_equal(q.bytes, 28 + 8);	/* what it decoded counts too */
	assert_null(trk_xq_ready(&q));
	/* b answers first: a still holds the line */
	assert_int_equal(trk_xq_answer(&q, b, 1, &rows_c, 0, 1), 0);
	assert_null(trk_xq_ready(&q));
	assert_int_equal(trk_xq_answer(&q, a, 0, &rows_a, 0, 1), 0);
	assert_null(trk_xq_ready(&q));
	assert_int_equal(trk_xq_answer(&q, a, 2, &rows_b, 3, 2), 0);
	e = trk_xq_ready(&q);
	assert_non_null(e);
	assert_int_equal(e->id, a);
	assert_int_equal(e->lsn, 100);
	assert_string_equal(e->data, "{\"action\":\"I\"}");
	assert_ptr_equal(trk_xq_rows(e, 0)->rows, &rows_a);
	assert_ptr_equal(trk_xq_rows(e, 2)->rows, &rows_b);
	assert_int_equal(trk_xq_rows(e, 2)->first, 3);
	assert_int_equal(trk_xq_rows(e, 2)->count, 2);
	assert_null(trk_xq_rows(e, 1));
	trk_xq_pop(&q);
	assert_int_equal(freed, 2);
	e = trk_xq_ready(&q);
	assert_int_equal(e->id, b);
	assert_string_equal(e->decoded, "decoded");
	assert_int_equal(q.bytes, 14 + 8);
	trk_xq_pop(&q);
	e = trk_xq_ready(&q);
	assert_int_equal(e->id, k);
	assert_true(e->keepalive);
	assert_int_equal(e->lsn, 300);
	trk_xq_pop(&q);
	assert_int_equal(q.count, 0);
	assert_int_equal(q.bytes, 0);
	assert_int_equal(freed, 3);
	trk_xq_free(&q);
}

/* an answer for an entry that is gone (cleared by a restart) is dropped */
static void
test_queue_stale_answer(void **state)
{
	trk_xq_t	q;
	uint64_t	a,
				b;

	(void) state;
	freed = 0;
	trk_xq_init(&q, count_free);
	a = trk_xq_push(&q, 1, "x", 1, NULL, 0);
	trk_xq_expect(&q, a);
	trk_xq_clear(&q);
	assert_int_equal(trk_xq_answer(&q, a, 0, &rows_a, 0, 1), -1);
	assert_int_equal(freed, 1);
	b = trk_xq_push(&q, 2, "y", 1, NULL, 0);
	assert_true(b > a);
	/* nothing expected: an answer is refused */
	assert_int_equal(trk_xq_answer(&q, b, 0, &rows_b, 0, 1), -1);
	assert_int_equal(freed, 2);
	assert_non_null(trk_xq_ready(&q));
	trk_xq_free(&q);
}

/* the ring grows past its first size and keeps the order */
static void
test_queue_grows(void **state)
{
	trk_xq_t	q;

	(void) state;
	trk_xq_init(&q, NULL);
	for (int i = 0; i < 1000; i++)
	{
		uint64_t	id = trk_xq_push(&q, (trk_lsn_t) i, "m", 1, NULL, 0);

		trk_xq_expect(&q, id);
		if (i % 3 == 0)
			trk_xq_pop(&q);		/* drops the head, answered or not */
	}
	assert_int_equal(q.count, 1000 - 334);
	assert_non_null(trk_xq_entry(&q, trk_xq_entry(&q, q.next_id - 1)->id));
	assert_null(trk_xq_entry(&q, q.next_id));
	for (uint64_t id = q.next_id - q.count; id < q.next_id; id++)
		assert_int_equal(trk_xq_answer(&q, id, 0, NULL, 0, 0), 0);
	for (size_t n = q.count, i = 0; i < n; i++)
	{
		trk_xq_entry_t *e = trk_xq_ready(&q);

		assert_non_null(e);
		assert_int_equal(e->lsn, 334 + i);
		trk_xq_pop(&q);
	}
	trk_xq_free(&q);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_queue_order),
		cmocka_unit_test(test_queue_stale_answer),
		cmocka_unit_test(test_queue_grows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

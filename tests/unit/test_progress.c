/*
 * test_progress.c — the exactly-once rules, driven by two adjacent source
 * transactions as wal2json 2.5 sends them (fixture two-transactions.jsonl).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "checkpoint/progress.h"
#include "decode/wal2json.h"

#define FIXTURE TRUCKER_FIXTURES "/wal2json/two-transactions.jsonl"

/* The B and C messages of the fixture's two transactions. */
typedef struct txn
{
	trk_lsn_t	commit_start;	/* "lsn" */
	trk_lsn_t	end;			/* "nextlsn" */
	trk_lsn_t	first_change;	/* "lsn" of its first change */
} txn_t;

static void
load(txn_t out[2])
{
	FILE	   *f = fopen(FIXTURE, "r");
	char		line[4096];
	int			t = -1;
	trk_arena_t a = {0};
	trk_buf_t	err = {0};

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
	{
		trk_change_t c;

		trk_arena_reset(&a);
		assert_int_equal(trk_wal2json_decode(&a, line, strlen(line), &c, &err), 0);
		if (c.action == TRK_ACT_BEGIN)
		{
			t++;
			assert_true(t < 2);
			out[t].end = c.nextlsn;
			out[t].first_change = 0;
		}
		else if (c.action == TRK_ACT_COMMIT)
		{
			assert_true(c.nextlsn == out[t].end);
			out[t].commit_start = c.lsn;
		}
		else if (out[t].first_change == 0)
			out[t].first_change = c.lsn;
	}
	assert_int_equal(t, 1);
	fclose(f);
	trk_arena_free(&a);
	trk_buf_free(&err);
}

/*
 * The second transaction's first change sits exactly at the first one's end
 * LSN, before the first one's commit record ends: only end LSNs order
 * transactions without overlap.
 */
static void
test_fixture_is_adjacent(void **state)
{
	txn_t		t[2];

	(void) state;
	load(t);
	assert_true(t[0].end == t[1].first_change);
	assert_true(t[0].commit_start < t[0].end);
	assert_true(t[0].end < t[1].end);
}

static void
test_restart_skips_exactly_what_is_stored(void **state)
{
	txn_t		t[2];
	trk_progress_t p = {0};

	(void) state;
	load(t);

	/* nothing stored yet: both apply */
	trk_progress_start(&p, t[0].first_change - 1);
	assert_false(trk_progress_skips(&p, t[0].end));
	assert_false(trk_progress_skips(&p, t[1].end));

	/* the first is stored: after a restart it is skipped, the second is not */
	trk_progress_start(&p, t[0].end);
	assert_true(trk_progress_skips(&p, t[0].end));
	assert_false(trk_progress_skips(&p, t[1].end));

	/* both stored: a replay (a slot moved back by a crash) applies nothing */
	trk_progress_start(&p, t[1].end);
	assert_true(trk_progress_skips(&p, t[0].end));
	assert_true(trk_progress_skips(&p, t[1].end));
}

static void
test_batch_positions(void **state)
{
	txn_t		t[2];
	trk_progress_t p = {0};
	trk_lsn_t	from = 0;

	(void) state;
	load(t);
	trk_progress_start(&p, 0x100);
	assert_false(trk_progress_writing(&p, 1, &from));	/* nothing new to write */

	trk_progress_applied(&p, t[0].end);
	/* applied but not yet written: still applies once only */
	assert_true(trk_progress_skips(&p, t[0].end));
	assert_true(p.stored == 0x100);
	assert_true(trk_progress_writing(&p, 1, &from));
	assert_true(from == 0x100);
	assert_true(p.written == t[0].end);
	trk_progress_applied(&p, t[1].end);	/* the next batch begins */
	trk_progress_committed(&p, 1);
	assert_true(p.stored == t[0].end);		/* not the second: not committed */
	assert_true(trk_progress_writing(&p, 2, &from));
	assert_true(from == t[0].end);
	trk_progress_committed(&p, 2);
	assert_true(p.stored == t[1].end);
	assert_int_equal(p.ncommitting, 0);

	/* a restart forgets what was not committed */
	trk_progress_applied(&p, t[1].end + 0x100);
	trk_progress_start(&p, p.stored);
	assert_true(p.seen == t[1].end);
}

/*
 * Batches commit in the order they were sent, several at a time: each one's
 * checkpoint is stored only when its own commit is back, and each moves the
 * checkpoint from where the one before it left it.
 */
static void
test_pipelined_batches(void **state)
{
	txn_t		t[2];
	trk_progress_t p = {0};
	trk_lsn_t	from = 0;

	(void) state;
	load(t);
	trk_progress_start(&p, 0x100);
	trk_progress_applied(&p, t[0].end);
	assert_true(trk_progress_writing(&p, 7, &from));
	assert_true(from == 0x100);
	/* batch 8 holds nothing of this pipeline: no checkpoint to write */
	assert_false(trk_progress_writing(&p, 8, &from));
	trk_progress_applied(&p, t[1].end);
	assert_true(trk_progress_writing(&p, 9, &from));
	assert_true(from == t[0].end);			/* where batch 7 leaves it */
	assert_true(p.stored == 0x100);
	assert_int_equal(p.ncommitting, 2);

	trk_progress_committed(&p, 7);
	assert_true(p.stored == t[0].end);
	trk_progress_committed(&p, 8);
	assert_true(p.stored == t[0].end);		/* batch 9 is still committing */
	trk_progress_committed(&p, 9);
	assert_true(p.stored == t[1].end);
	assert_int_equal(p.ncommitting, 0);

	/* a restart with batches committing: they may or may not have landed */
	trk_progress_applied(&p, t[1].end + 0x100);
	assert_true(trk_progress_writing(&p, 10, &from));
	trk_progress_start(&p, t[1].end);
	assert_int_equal(p.ncommitting, 0);
	assert_true(p.written == t[1].end);

	/* the memory of committing batches is bounded */
	for (int i = 0; i < TRK_PROGRESS_MAX_COMMITTING; i++)
	{
		trk_progress_applied(&p, t[1].end + 0x10 * (trk_lsn_t) (i + 1));
		assert_true(trk_progress_writing(&p, 20 + (uint64_t) i, &from));
	}
	trk_progress_applied(&p, t[1].end + 0x1000);
	assert_false(trk_progress_writing(&p, 40, &from));
	trk_progress_committed(&p, 20);
	assert_true(trk_progress_writing(&p, 40, &from));
}

static void
test_keepalive_and_stop(void **state)
{
	trk_progress_t p = {0};

	(void) state;
	trk_progress_start(&p, 0x1000);
	trk_progress_keepalive(&p, 0x2000);
	assert_true(p.seen == 0x2000);
	trk_progress_keepalive(&p, 0x1800);	/* never backwards */
	assert_true(p.seen == 0x2000);

	/* stopped at the transaction ending at 0x3000 */
	p.stop = 0x3000;
	assert_false(trk_progress_skips(&p, 0x2800));
	assert_true(trk_progress_skips(&p, 0x3000));
	assert_true(trk_progress_skips(&p, 0x9000));
	trk_progress_keepalive(&p, 0x5000);	/* a stopped pipeline holds */
	assert_true(p.seen == 0x2000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixture_is_adjacent),
		cmocka_unit_test(test_restart_skips_exactly_what_is_stored),
		cmocka_unit_test(test_batch_positions),
		cmocka_unit_test(test_pipelined_batches),
		cmocka_unit_test(test_keepalive_and_stop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

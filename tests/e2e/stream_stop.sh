# trucker run, one bad change costs one pipeline:
#  (a) divergence: a row deleted from the output by hand, then updated on the
#      source — the mirror's update finds no row, so the pipeline stops at
#      that transaction: what came before it is applied, nothing after; a
#      pipeline sharing the output (and the destination transaction) goes on;
#  (b) a source column the output lacks stops that pipeline, naming the column;
#  (c) a checkpoint moved behind trucker's back (as a second daemon would)
#      fails the batch that would have moved it; trucker starts again from
#      the stored checkpoints and goes on;
#  (d) a multi-row statement holding rows of three source transactions fails
#      on the second one's row: trucker applies them again one change at a
#      time, so the first transaction is applied and the pipeline stops at
#      the second, not at the first;
#  (e) a second daemon on the same pipelines waits: one session at a time
#      writes a pipeline.
. "$TRUCKER_SOURCE_DIR/tests/harness/lib.sh"
. "$TRUCKER_SOURCE_DIR/tests/harness/stream.sh"
stream_setup stop

on_src -c "CREATE TABLE d (id int PRIMARY KEY, v text)" \
	-c "CREATE TABLE o (id int PRIMARY KEY, v text)" \
	-c "CREATE TABLE m (id int PRIMARY KEY, v text, extra int)" \
	-c "CREATE TABLE k (id int PRIMARY KEY, v text)"
on_dst -c "CREATE TABLE d (id int PRIMARY KEY, v text)" \
	-c "CREATE TABLE o (id int PRIMARY KEY, v text)" \
	-c "CREATE TABLE m (id int PRIMARY KEY, v text)" \
	-c "CREATE TABLE k (id int PRIMARY KEY, v text CHECK (v <> 'bad'))"
add_pipeline d public.d public.d
add_pipeline k public.k public.k
add_pipeline o public.o public.o
add_pipeline m public.m public.m
trucker_start

on_src -c "INSERT INTO d SELECT g, 'd' || g FROM generate_series(1, 10) g" \
	-c "INSERT INTO o SELECT g, 'o' || g FROM generate_series(1, 10) g"
wait_same d
wait_same o

# (a) row 5 disappears from the output only
on_dst -c "DELETE FROM d WHERE id = 5"
# one source transaction per statement: before, the poison, after; and o's
# changes in the same transactions, so the destination batches mix both
on_src -c "BEGIN" -c "INSERT INTO d VALUES (11, 'before')" -c "INSERT INTO o VALUES (11, 'o11')" -c "COMMIT"
on_src -c "BEGIN" -c "UPDATE d SET v = 'poison' WHERE id = 5" -c "INSERT INTO o VALUES (12, 'o12')" -c "COMMIT"
on_src -c "BEGIN" -c "INSERT INTO d VALUES (12, 'after')" -c "INSERT INTO o VALUES (13, 'o13')" -c "COMMIT"
poison_end=$(q_src "SELECT pg_current_wal_lsn()")
wait_same o
expect_sql q_dst "SELECT string_agg(id || '=' || v, ',' ORDER BY id) FROM d WHERE id >= 10" "10=d10,11=before"
expect_sql q_dst "SELECT count(*) FROM d WHERE v = 'poison' OR id = 5" 0
grep -F 'msg="statement failed"' "$trucker_log" >"$work/failed" || true
expect_contains "$work/failed" "pipeline=d"
expect_contains "$work/failed" "diverged"
expect_contains "$trucker_log" 'msg="pipeline stopped"'
# the stopped pipeline's checkpoint stays before the poison; the other's
# passes it
expect_sql q_dst "SELECT (SELECT lsn FROM trucker.checkpoints WHERE pipeline = 'd') <
	(SELECT lsn FROM trucker.checkpoints WHERE pipeline = 'o')" t
checks=$((checks + 1))
lsn_ge "$poison_end" "$(q_dst "SELECT lsn FROM trucker.checkpoints WHERE pipeline = 'd'")" ||
	fail "pipeline d's checkpoint moved past the poison transaction"

# (b) a column the output lacks
on_src -c "INSERT INTO m VALUES (1, 'm1', 7)"
on_src -c "INSERT INTO o VALUES (14, 'o14')"
wait_same o
deadline=$((SECONDS + 60))
until grep -F 'msg="statement failed"' "$trucker_log" | grep -q "pipeline=m"; do
	[ "$SECONDS" -lt "$deadline" ] || { show_log; fail "no error for pipeline m"; }
	sleep 0.2
done
grep -F 'msg="statement failed"' "$trucker_log" | grep "pipeline=m" >"$work/failed-m"
expect_contains "$work/failed-m" "extra"
expect_contains "$work/failed-m" "sqlstate=42703"
expect_sql q_dst "SELECT count(*) FROM m" 0

# (c) o's checkpoint moved by someone else, one byte on: whatever trucker is
# writing for o now or next moves it from where it left it, and fails (o is
# caught up, so the byte skips nothing)
on_dst -c "UPDATE trucker.checkpoints SET lsn = lsn + 1 WHERE pipeline = 'o'"
on_src -c "INSERT INTO o VALUES (15, 'o15')"
deadline=$((SECONDS + 60))
until grep -q "is not where this session left it" "$trucker_log"; do
	[ "$SECONDS" -lt "$deadline" ] || { show_log; fail "the moved checkpoint went unnoticed"; }
	sleep 0.2
done
on_src -c "INSERT INTO o VALUES (16, 'o16')"
wait_same o
trucker_stop

# (d) written while trucker is stopped, so that they arrive together and
# their inserts form one multi-row run
on_src -c "INSERT INTO k VALUES (1, 'good')"
x_end=$(q_src "SELECT pg_current_wal_lsn()")
on_src -c "INSERT INTO k VALUES (2, 'bad')"
on_src -c "INSERT INTO k VALUES (3, 'after')"
trucker_start
deadline=$((SECONDS + 60))
until grep -F 'msg="statement failed"' "$trucker_log" | grep -q "pipeline=k"; do
	[ "$SECONDS" -lt "$deadline" ] || { show_log; fail "no error for pipeline k"; }
	sleep 0.2
done
expect_contains "$trucker_log" "applying them again one change at a time"
grep -F 'msg="statement failed"' "$trucker_log" | grep "pipeline=k" >"$work/failed-k"
expect_contains "$work/failed-k" "sqlstate=23514"
# the batch that failed held the first transaction too: it comes again with
# the restart after the stop
deadline=$((SECONDS + 60))
until [ "$(q_dst "SELECT count(*) FROM k")" = 1 ]; do
	[ "$SECONDS" -lt "$deadline" ] || { show_log; fail "k's first transaction was not applied"; }
	sleep 0.2
done
expect_sql q_dst "SELECT string_agg(id || '=' || v, ',' ORDER BY id) FROM k" "1=good"
# k's checkpoint is the first transaction's end: at or before x_end, past
# where it started
checks=$((checks + 1))
lsn_ge "$x_end" "$(q_dst "SELECT lsn FROM trucker.checkpoints WHERE pipeline = 'k'")" ||
	fail "pipeline k's checkpoint moved past its first transaction"
trucker_stop

# after a restart, d and m try their failing transactions again and stop
# again (nothing changed; skip/resume come later), and o goes on
trucker_start

# (e) a second daemon, while the first runs — once the first has settled
# (its last start found d, m and k stopped), so that it holds every lock
settled() {
	awk '/msg="streaming started"/ { n = 0 } /applies nothing from its failed transaction on/ { n++ }
		END { exit !(n >= 3) }' "$trucker_log"
}
deadline=$((SECONDS + 60))
until settled; do
	[ "$SECONDS" -lt "$deadline" ] || { show_log; fail "trucker did not settle with d, m and k stopped"; }
	sleep 0.2
done
"$TRUCKER" run "$work/p" >"$work/second.log" 2>&1 &
second=$!
deadline=$((SECONDS + 30))
until grep -q "another session is writing pipeline" "$work/second.log"; do
	if [ "$SECONDS" -ge "$deadline" ] || ! kill -0 "$second" 2>/dev/null; then
		cat "$work/second.log" >&2
		kill "$second" 2>/dev/null || true
		fail "a second daemon on the same pipelines did not wait for the first"
	fi
	sleep 0.2
done
checks=$((checks + 1))
kill -TERM "$second"
wait "$second" || fail "the waiting second daemon did not exit 0 on SIGTERM"
expect_lacks "$work/second.log" 'msg="streaming started"'
on_src -c "INSERT INTO o VALUES (17, 'o17')" -c "INSERT INTO d VALUES (13, 'later')"
wait_same o
expect_sql q_dst "SELECT count(*) FROM d WHERE id >= 12" 0
expect_sql q_dst "SELECT count(*) FROM k" 1
trucker_stop
pass

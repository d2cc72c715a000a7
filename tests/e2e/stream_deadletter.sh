# One bad change costs one pipeline — then the pipeline moves on:
#  (a) on_error: dead_letter — a transaction with a change its insert.sql
#      cannot apply (a CHECK) is applied again change by change: the failing
#      change goes to trucker.dead_letters (its change, statement, values and
#      error) and the rest of the transaction applies; the pipeline goes on;
#  (b) on_error: stop — the same transaction stops a mirror pipeline, and it
#      stays stopped across a restart of trucker (recorded in its output);
#  (c) `trucker skip` with trucker running: the stopped transaction's changes
#      go to the dead letters, the pipeline applies what came after; a wrong
#      --lsn is refused;
#  (d) `trucker resume` with no trucker running, after the cause is fixed:
#      the next start applies the transaction;
#  (e) on_error: dead_letter with a transform.sql that fails (a division by
#      zero) for one change of a transaction: that change goes to the dead
#      letters with the transform's statement, values and error, once; the
#      rest applies and the pipeline goes on;
#  (f) ... but a transform failing for want of its table (class 42, as it
#      would for every change) stops its pipeline, dead_letter or not.
. "$TRUCKER_SOURCE_DIR/tests/harness/lib.sh"
. "$TRUCKER_SOURCE_DIR/tests/harness/stream.sh"
stream_setup deadletter

on_src -c "CREATE TABLE t (id int PRIMARY KEY, v int)" -c "CREATE TABLE lk (id int PRIMARY KEY, v int)" \
	-c "INSERT INTO lk VALUES (1, 42)"
on_dst -c "CREATE TABLE t_strict (id int PRIMARY KEY, v int CHECK (v < 100))" \
	-c "CREATE TABLE t_dl (id int PRIMARY KEY, v int CHECK (v < 100))" \
	-c "CREATE TABLE t_other (id int PRIMARY KEY, v int)" \
	-c "CREATE TABLE t_xdl (id int PRIMARY KEY, per int)" \
	-c "CREATE TABLE t_xgone (id int PRIMARY KEY, v int)"
add_pipeline strict public.t public.t_strict
add_pipeline dl public.t public.t_dl "" "on_error: dead_letter
operations: [insert]"
printf 'INSERT INTO t_dl VALUES ({{ new.id }}, {{ new.v }})\n' >"$work/p/dl/insert.sql"
add_pipeline other public.t public.t_other
add_pipeline xdl public.t public.t_xdl id "on_error: dead_letter
operations: [insert]"
printf 'SELECT {{ new.id }}::int AS id, 100 / {{ new.v }} AS per\n' >"$work/p/xdl/transform.sql"
add_pipeline xgone public.t public.t_xgone id "on_error: dead_letter
operations: [insert]"
printf 'SELECT {{ new.id }}::int AS id, lk.v FROM lk WHERE lk.id = 1\n' >"$work/p/xgone/transform.sql"
trucker_start
rows() { q_dst "SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') FROM $1"; }
wait_rows() {
	local deadline=$((SECONDS + 60))
	until [ "$(rows "$1")" = "$2" ]; do
		[ "$SECONDS" -lt "$deadline" ] || { show_log; fail "$1 holds $(rows "$1"), want $2"; }
		sleep 0.2
	done
	checks=$((checks + 1))
}

on_src -c "INSERT INTO t VALUES (1, 1), (2, 2)"
wait_rows t_dl 1,2
# (a), (b): one transaction, one bad change
on_src -c "BEGIN" -c "INSERT INTO t VALUES (3, 500)" -c "INSERT INTO t VALUES (4, 4)" -c "COMMIT"
bad_end=$(q_src "SELECT pg_current_wal_lsn()")
on_src -c "INSERT INTO t VALUES (5, 5)"
wait_rows t_other 1,2,3,4,5
wait_rows t_dl 1,2,4,5
expect_sql q_dst "SELECT pipeline || ' ' || sqlstate || ' ' || (change LIKE '%500%') || ' ' || (statement LIKE 'INSERT INTO t_dl%')
	|| ' ' || array_to_string(params, ',') || ' ' || (error LIKE '%t_dl_v_check%') FROM trucker.dead_letters" \
	"dl 23514 true true 3,500 true"
wait_rows t_strict 1,2
expect_contains "$trucker_log" "each failing change sent to trucker.dead_letters"
deadline=$((SECONDS + 30))
until [ -n "$(q_dst "SELECT stopped_lsn FROM trucker.checkpoints WHERE pipeline = 'strict'")" ]; do
	[ "$SECONDS" -lt "$deadline" ] || { show_log; fail "strict's stop was not recorded in its output"; }
	sleep 0.2
done
stopped=$(q_dst "SELECT stopped_lsn FROM trucker.checkpoints WHERE pipeline = 'strict'")
checks=$((checks + 1))
lsn_ge "$bad_end" "$stopped" || fail "strict stopped at $stopped, past the bad transaction"
expect_sql q_dst "SELECT stopped_error LIKE '%t_strict_v_check%' FROM trucker.checkpoints WHERE pipeline = 'strict'" t

# (b) the stop survives a restart
trucker_stop
trucker_start
on_src -c "INSERT INTO t VALUES (6, 6)"
wait_rows t_other 1,2,3,4,5,6
wait_rows t_dl 1,2,4,5,6
expect_sql q_dst "SELECT string_agg(id::text, ',' ORDER BY id) FROM t_strict" 1,2
# and says how much WAL it makes the source keep
deadline=$((SECONDS + 30))
until grep -q 'msg="a stopped pipeline holds the slot.*pipeline=strict.*wal_held=' "$trucker_log"; do
	[ "$SECONDS" -lt "$deadline" ] || { show_log; fail "no word of the WAL strict holds"; }
	sleep 0.2
done
checks=$((checks + 1))

# (c) skip, trucker running; first with a wrong LSN
expect_status 1 "$TRUCKER" skip "$work/p" strict --lsn 0/1
expect_contains "$work/err" "is stopped at $stopped, not at 0/1"
expect_status 0 "$TRUCKER" skip "$work/p" strict --lsn "$stopped"
expect_contains "$work/out" "transaction $stopped goes to trucker.dead_letters"
expect_contains "$work/out" "the running trucker took it up"
wait_rows t_strict 1,2,5,6
expect_sql q_dst "SELECT string_agg((change::json->'columns'->0->>'value') || ':' || (error LIKE 'skipped by \`trucker skip\`; it had failed with: %t_strict_v_check%'), ','
	ORDER BY id) FROM trucker.dead_letters WHERE pipeline = 'strict'" "3:true,4:true"
expect_sql q_dst "SELECT count(*) FROM trucker.checkpoints WHERE pipeline = 'strict' AND (stopped_lsn IS NOT NULL OR skip_lsn IS NOT NULL)" 0
expect_status 1 "$TRUCKER" resume "$work/p" strict
expect_contains "$work/err" "pipeline strict is not stopped"

# (d) resume with no trucker running, after the cause is fixed
on_src -c "INSERT INTO t VALUES (7, 700)"
wait_rows t_other 1,2,3,4,5,6,7
deadline=$((SECONDS + 30))
until [ -n "$(q_dst "SELECT stopped_lsn FROM trucker.checkpoints WHERE pipeline = 'strict'")" ]; do
	[ "$SECONDS" -lt "$deadline" ] || { show_log; fail "strict did not stop on (7, 700)"; }
	sleep 0.2
done
trucker_stop
on_dst -c "ALTER TABLE t_strict DROP CONSTRAINT t_strict_v_check"
expect_status 0 "$TRUCKER" resume "$work/p" strict
expect_contains "$work/out" "resumed; it tries transaction"
expect_contains "$work/out" "no trucker runs on"
trucker_start
wait_rows t_strict 1,2,5,6,7
expect_sql q_dst "SELECT count(*) FROM trucker.dead_letters WHERE pipeline = 'dl'" 2

# (e) a failing transform, dead-lettered
on_src -c "BEGIN" -c "INSERT INTO t VALUES (8, 0)" -c "INSERT INTO t VALUES (9, 9)" -c "COMMIT"
on_src -c "INSERT INTO t VALUES (10, 10)"
wait_rows t_other 1,2,3,4,5,6,7,8,9,10
wait_rows t_xdl 1,2,3,4,5,6,7,9,10
expect_sql q_dst "SELECT per FROM t_xdl WHERE id = 9" 11
expect_sql q_dst "SELECT (change::json->'columns'->0->>'value') || ' ' || sqlstate || ' ' || (statement LIKE 'SELECT \$1::int AS id, 100 / \$2 AS per')
	|| ' ' || array_to_string(params, ',') || ' ' || error FROM trucker.dead_letters WHERE pipeline = 'xdl'" \
	"8 22012 true 8,0 division by zero"
expect_sql q_dst "SELECT stopped_lsn IS NULL FROM trucker.checkpoints WHERE pipeline = 'xdl'" t
expect_contains "$trucker_log" "transform.sql failed; its change goes to trucker.dead_letters"

# (f) a transform without its table stops, dead_letter or not
wait_rows t_xgone 1,2,3,4,5,6,7,8,9,10
on_src -c "DROP TABLE lk"
on_src -c "INSERT INTO t VALUES (11, 11)"
wait_rows t_other 1,2,3,4,5,6,7,8,9,10,11
wait_until "xgone did not stop without its lookup table" \
	sql_is q_dst "SELECT stopped_error LIKE '%lk%does not exist%' FROM trucker.checkpoints WHERE pipeline = 'xgone'" t
expect_sql q_dst "SELECT count(*) FROM trucker.dead_letters WHERE pipeline = 'xgone'" 0
expect_sql q_dst "SELECT count(*) FROM t_xgone" 10
trucker_stop
pass

# trucker run backfills a new default-mirror pipeline from a snapshot:
#  (a) first start, no slot yet: a table of 50,000 rows, written to by a
#      workload (inserts, updates, deletes) all through the backfill and
#      after: the output equals the source;
#  (b) a pipeline added beside an established one, on the existing slot:
#      backfilled from a temporary slot's snapshot by four workers while
#      the established one streams on, with trucker killed (SIGKILL) in the
#      middle of its copy — the killed copy leaves its row 'backfilling',
#      the next start empties the output and copies again, and both
#      outputs equal the source; no temporary slot remains; a transaction
#      left open on the source holds the temporary slot's creation, and the
#      log names it;
#  (c) an output that already holds rows parks its pipeline with an error
#      naming the fix, while the others stream; emptied, the next start
#      backfills it;
#  (d) a pipeline with insert.sql is backfilled through it; one that
#      applies no inserts is not, and says so;
#  (e) two new pipelines writing one output table (two shards) are both
#      backfilled: the second does not take the first's rows for a reason to
#      park;
#  (f) `trucker backfill DIR big2 --truncate` on the running daemon copies
#      big2 again under a workload, waiting until it is done, while big's
#      output and checkpoint go on untouched; without --truncate it refuses
#      a non-empty output; a shard, or a pipeline without inserts, is
#      refused; with no daemon running, it empties and marks the output,
#      and the next start copies it;
#  (g) a pipeline added by SIGHUP whose copy worker's output session is
#      killed: the backfill is tried again, emptying the output the first
#      attempt left half-filled;
#  (h) a partitioned input's leaf partitions are copied by a worker each.
. "$TRUCKER_SOURCE_DIR/tests/harness/lib.sh"
. "$TRUCKER_SOURCE_DIR/tests/harness/stream.sh"
stream_setup backfill

on_src -c "CREATE TABLE big (id int PRIMARY KEY, k int, v text)" \
	-c "INSERT INTO big SELECT g, g % 100, repeat('x', 40) || g FROM generate_series(1, 50000) g" \
	-c "CREATE TABLE small (id int PRIMARY KEY, v text)" \
	-c "INSERT INTO small SELECT g, 's' || g FROM generate_series(1, 100) g" \
	-c "CREATE TABLE shard_a (id int PRIMARY KEY, v text)" \
	-c "CREATE TABLE shard_b (id int PRIMARY KEY, v text)" \
	-c "INSERT INTO shard_a SELECT g, 'a' || g FROM generate_series(1, 300) g" \
	-c "INSERT INTO shard_b SELECT g, 'b' || g FROM generate_series(1001, 1200) g"
on_dst -c "CREATE TABLE big (id int PRIMARY KEY, k int, v text)" \
	-c "CREATE TABLE big2 (id int PRIMARY KEY, k int, v text)" \
	-c "CREATE TABLE small (id int PRIMARY KEY, v text)" \
	-c "CREATE TABLE small_log (id int, v text)" \
	-c "CREATE TABLE small_upd (id int PRIMARY KEY, v text)" \
	-c "CREATE TABLE shards (id int PRIMARY KEY, v text)"
add_pipeline big public.big public.big

# --- (a) first start, under a workload -------------------------------------
workload() {
	local id
	while [ ! -e "$work/stop" ]; do
		id=$((RANDOM % 60000 + 1))
		on_src -c "BEGIN" \
			-c "INSERT INTO big VALUES ($id, 1, 'new') ON CONFLICT (id) DO UPDATE SET k = big.k + 1" \
			-c "UPDATE big SET v = v || 'u' WHERE id = $((RANDOM % 50000 + 1))" \
			-c "DELETE FROM big WHERE id = $((RANDOM % 50000 + 1))" -c "COMMIT" >/dev/null 2>&1 || true
	done
}
rm -f "$work/stop"
workload &
load=$!
trucker_start
sleep 1
touch "$work/stop"
wait "$load"
wait_same big
grep -F 'msg="backfill done"' "$trucker_log" | grep -q 'pipeline=big ' ||
	{ show_log; fail "no backfill of pipeline big"; }
checks=$((checks + 1))
trucker_stop

# --- (b) a pipeline beside an established one, killed mid-copy --------------
add_pipeline big2 public.big public.big2 "" "backfill: {workers: 4}"
# the copy stalls at row 25,000 the first time only (a sequence is not
# transactional), so that trucker is killed in the middle of it
on_dst -c "CREATE SEQUENCE once" -c "CREATE FUNCTION stall() RETURNS trigger LANGUAGE plpgsql AS \$\$
BEGIN
	IF NEW.id = 25000 AND nextval('once') = 1 THEN PERFORM pg_sleep(5); END IF;
	RETURN NEW;
END \$\$" -c "CREATE TRIGGER stall BEFORE INSERT ON big2 FOR EACH ROW EXECUTE FUNCTION stall()"
on_src -c "INSERT INTO big VALUES (70001, 7, 'before the second start')"
# a transaction open on the source: creating the temporary slot waits for it
on_src -c "BEGIN" -c "INSERT INTO small VALUES (999, 'open')" -c "SELECT pg_sleep(4)" -c "ROLLBACK" >/dev/null &
holder=$!
sleep 0.5
holder_pid=$(q_src "SELECT pid FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(4)'")
[ -n "$holder_pid" ] || fail "the open transaction did not start"
trucker_launch
wait "$holder"
wait_until "no word of the transaction the slot waits for" \
	grep -q "msg=\"creating the replication slot waits.*pid_xid=$holder_pid:" "$trucker_log"
wait_until "big2's copy did not stall at row 25,000" \
	sql_is q_dst "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep'" 1
# the established pipeline streams while big2 copies
on_src -c "INSERT INTO big VALUES (70005, 7, 'during the copy')"
wait_until "big did not stream during big2's copy" \
	sql_is q_dst "SELECT v FROM big WHERE id = 70005" "during the copy"
expect_sql q_dst "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep'" 1
expect_sql q_dst "SELECT count(*) FROM big2 WHERE id = 70005" 0
trucker_kill
expect_sql q_dst "SELECT state FROM trucker.checkpoints WHERE pipeline = 'big2'" backfilling
on_src -c "INSERT INTO big VALUES (70002, 7, 'between the starts')"
trucker_start
on_src -c "INSERT INTO big VALUES (70003, 7, 'after')"
wait_same big
wait_same big big2
# both copies went past row 25,000: the killed one, and the one that committed
expect_sql q_dst "SELECT last_value FROM once" 2
[ "$(grep -F 'msg="backfill started"' "$trucker_log" | grep -c 'pipeline=big2 ')" -ge 2 ] ||
	{ show_log; fail "big2's backfill was not started again after the kill"; }
grep -F 'msg="backfill emptied the output first' "$trucker_log" |
	grep -q 'pipeline=big2' || { show_log; fail "big2's output was not emptied before the copy"; }
grep -F 'msg="backfill copying"' "$trucker_log" | grep -q 'pipeline=big2 workers=4 ' ||
	{ show_log; fail "big2 was not copied by four workers"; }
expect_sql q_dst "SELECT state FROM trucker.checkpoints WHERE pipeline = 'big2'" streaming
# the temporary slot went with its connection: the input's own is the only one
expect_sql q_src "SELECT string_agg(slot_name, ',') FROM pg_replication_slots WHERE database = current_database()" "$slot"
trucker_stop

# --- (c) an output that already holds rows ------------------------------------
add_pipeline small public.small public.small
on_dst -c "INSERT INTO small VALUES (1, 'already here')"
trucker_start
wait_until "no word that pipeline small is parked" \
	grep -q 'msg="pipeline not backfilled.*pipeline=small .*holds rows' "$trucker_log"
on_src -c "INSERT INTO big VALUES (70004, 7, 'while small is parked')"
wait_same big
wait_same big big2
expect_sql q_dst "SELECT count(*) FROM trucker.checkpoints WHERE pipeline = 'small'" 0
trucker_stop
on_dst -c "TRUNCATE small"
trucker_start
wait_same small

# --- (d) insert.sql backfilled; no inserts, not backfilled --------------------
add_pipeline small_log public.small public.small_log "" "operations: [insert]"
printf 'INSERT INTO small_log VALUES ({{ new.id }}, {{ new.v }})\n' >"$work/p/small_log/insert.sql"
add_pipeline small_upd public.small public.small_upd "" "operations: [update, delete]"
trucker_stop
trucker_start
wait_until "no word that small_upd is not backfilled" \
	grep -q 'is not backfilled (it applies no inserts).*pipeline=small_upd' "$trucker_log"
on_src -c "INSERT INTO small VALUES (101, 's101')"
wait_same small small_log
expect_sql q_dst "SELECT count(*) FROM small_upd" 0
trucker_stop

# --- (e) two shards into one output ------------------------------------------
add_pipeline shard_a public.shard_a public.shards
add_pipeline shard_b public.shard_b public.shards
trucker_start
on_src -c "INSERT INTO shard_b VALUES (1201, 'b1201')"
want=$(q_src "SELECT ((SELECT count(*) FROM shard_a) + (SELECT count(*) FROM shard_b)) || ' ' ||
	((SELECT sum(id) FROM shard_a) + (SELECT sum(id) FROM shard_b))")
wait_until "shards does not hold both shards" sql_is q_dst "SELECT count(*) || ' ' || sum(id) FROM shards" "$want"
expect_sql q_dst "SELECT count(*) FROM trucker.checkpoints WHERE pipeline LIKE 'shard_%'" 2

# --- (f) trucker backfill -----------------------------------------------------
backfill() { "$TRUCKER" backfill "$work/p" "$@"; }
expect_status 1 backfill big2
expect_contains "$work/err" "holds rows: a backfill copies into an empty output (--truncate empties it first)"
expect_status 1 backfill shard_a --truncate
expect_contains "$work/err" "emptying it would take that one's rows too"
expect_status 1 backfill small_upd
expect_contains "$work/err" "applies no inserts"
big_before=$(q_dst "SELECT lsn FROM trucker.checkpoints WHERE pipeline = 'big'")
copies_of_big=$(grep -F 'msg="backfill done"' "$trucker_log" | grep -c 'pipeline=big ')
on_dst -c "UPDATE big2 SET v = 'damaged' WHERE id % 7 = 0"
rm -f "$work/stop"
workload &
load=$!
out=$(backfill big2 --truncate) || { show_log; fail "trucker backfill failed: $out"; }
touch "$work/stop"
wait "$load"
printf '%s' "$out" | grep -q "pipeline big2: backfilled again" || fail "trucker backfill said: $out"
checks=$((checks + 1))
wait_same big
wait_same big big2
# big went on: its checkpoint only moved forward, and it never left 'streaming'
expect_sql q_dst "SELECT lsn >= '$big_before' AND state = 'streaming' FROM trucker.checkpoints WHERE pipeline = 'big'" t
[ "$(grep -F 'msg="backfill done"' "$trucker_log" | grep -c 'pipeline=big ')" = "$copies_of_big" ] ||
	fail "big was backfilled again"
checks=$((checks + 1))
trucker_stop
# no daemon: emptied and marked, then copied at the next start
out=$(backfill big2 --truncate) || fail "trucker backfill without a daemon failed: $out"
printf '%s' "$out" | grep -q "next .trucker run. copies it" || fail "trucker backfill said: $out"
expect_sql q_dst "SELECT state || ' ' || (SELECT count(*) FROM big2) FROM trucker.checkpoints WHERE pipeline = 'big2'" "backfilling 0"
trucker_start
wait_same big big2
expect_sql q_dst "SELECT state FROM trucker.checkpoints WHERE pipeline = 'big2'" streaming

# --- (g) a copy worker's session lost: tried again, the output emptied first ---
on_dst -c "CREATE TABLE big3 (id int PRIMARY KEY, k int, v text)" \
	-c "CREATE SEQUENCE once3" -c "CREATE FUNCTION stall3() RETURNS trigger LANGUAGE plpgsql AS \$\$
BEGIN
	IF NEW.id = 25000 AND nextval('once3') = 1 THEN PERFORM pg_sleep(30); END IF;
	RETURN NEW;
END \$\$" -c "CREATE TRIGGER stall3 BEFORE INSERT ON big3 FOR EACH ROW EXECUTE FUNCTION stall3()"
add_pipeline big3 public.big public.big3 "" "backfill: {workers: 4}"
kill -HUP "$trucker_pid"
wait_until "big3's copy did not stall" \
	sql_is q_dst "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep'" 1
on_dst -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE wait_event = 'PgSleep'" >/dev/null
wait_until "no word of big3's backfill tried again" \
	grep -q 'msg="backfill failed; trying again" pipeline=big3' "$trucker_log"
wait_until "big3 was not backfilled" \
	sql_is q_dst "SELECT state FROM trucker.checkpoints WHERE pipeline = 'big3'" streaming
wait_same big big3
grep -q 'msg="backfill emptied the output first.*pipeline=big3' "$trucker_log" ||
	{ show_log; fail "the second attempt did not empty big3 first"; }
checks=$((checks + 1))

# --- (h) a partitioned input: its leaves copied in parallel --------------------
on_src -c "CREATE TABLE parts (id int PRIMARY KEY, v text) PARTITION BY RANGE (id)" \
	-c "CREATE TABLE parts_1 PARTITION OF parts FOR VALUES FROM (1) TO (10001)" \
	-c "CREATE TABLE parts_2 PARTITION OF parts FOR VALUES FROM (10001) TO (20001)" \
	-c "CREATE TABLE parts_3 PARTITION OF parts FOR VALUES FROM (20001) TO (MAXVALUE)" \
	-c "INSERT INTO parts SELECT g, 'p' || g FROM generate_series(1, 30000) g"
on_dst -c "CREATE TABLE parts (id int PRIMARY KEY, v text)"
add_pipeline parts public.parts public.parts "" "backfill: {workers: 4}"
kill -HUP "$trucker_pid"
on_src -c "INSERT INTO parts VALUES (30001, 'during')" -c "DELETE FROM parts WHERE id = 5"
wait_same parts
grep -F 'msg="backfill copying"' "$trucker_log" | grep -q 'pipeline=parts workers=3 ranges=3' ||
	{ show_log; fail "parts' three partitions were not copied by three workers"; }
checks=$((checks + 1))
trucker_stop
pass

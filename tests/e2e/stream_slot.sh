# trucker run and its replication slot:
#  (b) an idle input: while only another database of the source cluster
#      writes, the slot's confirmed_flush_lsn and trucker.checkpoints still
#      advance (at most every 10 s by the contract), and the slot never runs
#      ahead of the checkpoints;
#  (a) the slot dropped while trucker is stopped: the next start refuses to
#      stream (exit 1), naming the pipelines and the need for a backfill.
. "$TRUCKER_SOURCE_DIR/tests/harness/lib.sh"
. "$TRUCKER_SOURCE_DIR/tests/harness/stream.sh"
stream_setup slot

schema="CREATE TABLE alpha (id int PRIMARY KEY, v text); CREATE TABLE beta (id int PRIMARY KEY, v text);"
on_src -c "$schema"
on_dst -c "$schema"
add_pipeline alpha public.alpha public.alpha
add_pipeline beta public.beta public.beta
trucker_start
expect_sql q_src "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '$slot' AND plugin = 'wal2json'" 1

on_src -c "INSERT INTO alpha SELECT g, 'a' || g FROM generate_series(1, 1000) g" \
	-c "INSERT INTO beta SELECT g, 'b' || g FROM generate_series(1, 10) g"
wait_same alpha
wait_same beta

# min_checkpoint / slot_lsn — the pipelines' lowest checkpoint, the slot's position
min_checkpoint() { q_dst "SELECT coalesce(min(lsn), '0/0') FROM trucker.checkpoints"; }
slot_lsn() { q_src "SELECT coalesce(confirmed_flush_lsn, '0/0') FROM pg_replication_slots WHERE slot_name = '$slot'"; }

# the slot is never ahead of the checkpoints (read the slot first: both only grow)
expect_slot_behind_checkpoints() {
	local s c
	s=$(slot_lsn)
	c=$(min_checkpoint)
	checks=$((checks + 1))
	lsn_ge "$c" "$s" || { show_log; fail "slot confirmed_flush_lsn $s is ahead of the lowest checkpoint $c"; }
}

# wait until the output database holds a checkpoint for both pipelines
deadline=$((SECONDS + 30))
until [ "$(q_dst "SELECT count(*) FROM trucker.checkpoints WHERE pipeline IN ('alpha', 'beta')" 2>/dev/null)" = 2 ]; do
	[ "$SECONDS" -lt "$deadline" ] || { show_log; fail "trucker.checkpoints has no row for both pipelines after 30 s"; }
	sleep 0.5
done
checks=$((checks + 1))
expect_slot_behind_checkpoints
c0=$(min_checkpoint)
s0=$(slot_lsn)

# (b) only another database writes: its WAL must not hold the slot back
noise=trk_slot_$$_noise
make_src_db "$noise"
psql -X -q -v ON_ERROR_STOP=1 -h "$src_host" -p "$src_port" -d "$noise" -c "CREATE TABLE noise (id serial, v text)"
noise_writer() {
	while [ ! -e "$work/stop-noise" ]; do
		psql -X -q -h "$src_host" -p "$src_port" -d "$noise" \
			-c "INSERT INTO noise (v) SELECT md5(g::text) FROM generate_series(1, 200) g" || true
		sleep 0.2
	done
}
stream_bg noise_writer
sleep 1
w=$(q_src "SELECT pg_current_wal_lsn()")
echo "checkpoint $c0, slot $s0, WAL end after the other database's first writes $w"
deadline=$((SECONDS + 40))
while :; do
	s=$(slot_lsn)
	c=$(min_checkpoint)
	if lsn_ge "$s" "$w" && lsn_ge "$c" "$w"; then break; fi
	if [ "$SECONDS" -ge "$deadline" ]; then
		show_log
		fail "idle input: after 40 s the slot is at $s and the lowest checkpoint at $c, want both >= $w (they were $s0 and $c0)"
	fi
	trucker_alive || { show_log; fail "trucker exited while idle"; }
	sleep 1
done
checks=$((checks + 1))
echo "advanced while idle: checkpoint $c, slot $s"
expect_slot_behind_checkpoints
# and the data still flows afterwards
on_src -c "UPDATE alpha SET v = 'after idle' WHERE id <= 10" -c "DELETE FROM beta WHERE id = 1"
wait_same alpha
wait_same beta
expect_slot_behind_checkpoints
touch "$work/stop-noise"
trucker_stop
expect_lacks "$trucker_log" "level=error"

# (a) the slot disappears while trucker is stopped: changes made in the
# meantime are lost to the stream, so trucker must refuse rather than start over
on_src_admin -c "SELECT pg_drop_replication_slot('$slot')" >/dev/null
on_src -c "INSERT INTO alpha VALUES (100000, 'lost with the slot')"
expect_status 1 timeout 60 "$TRUCKER" run "$work/p"
grep -F 'msg="refusing to stream"' "$work/err" >"$work/refusal" || true
expect_contains "$work/refusal" "level=error"
expect_contains "$work/refusal" "connection=src"
expect_contains "$work/refusal" "backfill"
cat "$work/refusal"
# the contract's field pipelines=… names both pipelines
grep -oE 'pipelines=("[^"]*"|[^ ]*)' "$work/refusal" >"$work/pipelines" || true
expect_contains "$work/pipelines" "alpha"
expect_contains "$work/pipelines" "beta"
# and it keeps refusing: the first refusal did not quietly create a new slot
expect_status 1 timeout 60 "$TRUCKER" run "$work/p"
expect_contains "$work/err" 'msg="refusing to stream"'
expect_sql q_dst "SELECT count(*) FROM alpha WHERE id = 100000" 0
pass

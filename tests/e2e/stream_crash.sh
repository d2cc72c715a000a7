# trucker run under kill -9: a workload of transactions of 1 to 100,000 rows
# over two tables (inserts, updates, deletes, key changes, a transaction over
# both, a rolled-back one) runs step by step; during every step trucker is
# killed with SIGKILL after a random 0.05–2 s — while a big transaction
# commits, while it streams, while trucker starts — and started again.  In the
# end each output equals its input exactly (no loss, no duplicate, no stale
# value), and the checkpoints are sane: past 0/0 and not beyond the source's
# WAL.  STREAM_SEED=N replays the same random choices.
. "$TRUCKER_SOURCE_DIR/tests/harness/lib.sh"
. "$TRUCKER_SOURCE_DIR/tests/harness/stream.sh"
stream_setup crash

seed=${STREAM_SEED:-$$}
RANDOM=$seed
echo "seed $seed (STREAM_SEED=$seed replays it)"
min_kills=${STREAM_KILLS:-30}

schema="
CREATE TABLE ca (id bigint PRIMARY KEY, grp int, v text, n bigint);
CREATE TABLE cb (k1 int, k2 int, payload text, PRIMARY KEY (k1, k2));
"
on_src -c "$schema"
on_dst -c "$schema"
add_pipeline ca public.ca public.ca
add_pipeline cb public.cb public.cb

# the workload, one file per step; each step is one or more transactions
nsteps=0
declare -A big_step=()
# step [big] <SQL — the next step; "big" when it changes 10,000 rows or more
step() {
	nsteps=$((nsteps + 1))
	[ "${1:-}" != big ] || big_step[$nsteps]=1
	cat >"$work/step$nsteps.sql"
}
# small_burst KIND — a step of 20 transactions of 1 to 100 rows each (built
# in this shell, not a subshell, so that STREAM_SEED replays it)
small_burst() {
	local i r x sql=
	for i in $(seq 20); do
		r=$((RANDOM % 100 + 1)) x=$((RANDOM % 90000 + 1))
		case $1 in
		insert) sql+="INSERT INTO cb SELECT $((5000 + nsteps * 100 + i)), g, md5(g::text) FROM generate_series(1, $r) g;"$'\n' ;;
		update) sql+="UPDATE ca SET n = -n, v = v || '.' WHERE id BETWEEN $x AND $((x + r - 1));"$'\n' ;;
		delete) sql+="DELETE FROM cb WHERE k1 = $((1000 + RANDOM % 200)) AND k2 <= $r;"$'\n' ;;
		mixed)
			sql+="BEGIN;
INSERT INTO ca SELECT 700000 + $((nsteps * 1000 + i * 10)) + g, 0, 'burst', g FROM generate_series(1, $((r % 10 + 1))) g;
UPDATE cb SET payload = 'burst $i' WHERE k1 = $((1000 + RANDOM % 200)) AND k2 = $r;
DELETE FROM ca WHERE id = $x;
COMMIT;
"
			;;
		esac
	done
	step <<<"$sql"
}

step big <<'SQL'
INSERT INTO ca SELECT g, g % 100, md5(g::text), g FROM generate_series(1, 100000) g;
SQL
small_burst insert
step big <<'SQL'
INSERT INTO cb SELECT k1, k2, md5((k1 * k2)::text) FROM generate_series(1000, 1199) k1, generate_series(1, 100) k2;
SQL
small_burst update
step big <<'SQL'
UPDATE ca SET v = md5(v), n = n + 1 WHERE id % 3 = 0;
SQL
small_burst delete
step big <<'SQL'
DELETE FROM ca WHERE id % 7 = 0;
SQL
step big <<'SQL'
-- key changes: a simple key, and one column of a composite key
UPDATE ca SET id = id + 1000000 WHERE id % 11 = 0;
UPDATE cb SET k2 = -k2 WHERE k1 % 10 = 0;
SQL
small_burst mixed
step big <<'SQL'
BEGIN;
INSERT INTO ca SELECT g, g % 50, 'second wave', g FROM generate_series(200001, 230000) g;
UPDATE cb SET payload = upper(payload) WHERE k2 % 2 = 0;
DELETE FROM ca WHERE id BETWEEN 50000 AND 52000;
COMMIT;
SQL
step <<'SQL'
BEGIN;
INSERT INTO ca SELECT g, 0, 'rolled back', 0 FROM generate_series(900001, 920000) g;
ROLLBACK;
INSERT INTO ca VALUES (1, 1, 'single', 1) ON CONFLICT (id) DO UPDATE SET v = 'single again';
UPDATE ca SET n = 0 WHERE id = 2;
DELETE FROM ca WHERE id = 3;
UPDATE cb SET k1 = k1 + 10000 WHERE k1 = 1001 AND k2 = 1;
SQL
step big <<'SQL'
INSERT INTO ca SELECT g, g % 100, md5(g::text), g FROM generate_series(300001, 360000) g;
SQL
small_burst insert
step <<'SQL'
UPDATE ca SET grp = grp + 1000 WHERE grp = 5;
DELETE FROM cb WHERE k1 % 3 = 0;
SQL
step <<'SQL'
UPDATE ca SET id = id + 4000000 WHERE id > 1000000 AND id < 2000000;
SQL
small_burst update
step big <<'SQL'
UPDATE ca SET v = 'x' || v, grp = -grp WHERE id % 6 = 0;
SQL
small_burst mixed
step big <<'SQL'
BEGIN;
DELETE FROM ca WHERE id BETWEEN 300001 AND 320000;
UPDATE cb SET payload = NULL WHERE k1 % 4 = 0;
INSERT INTO cb SELECT 3000, g, 'tail' FROM generate_series(1, 1000) g;
COMMIT;
SQL
small_burst delete
step big <<'SQL'
UPDATE ca SET n = n * 2 WHERE id BETWEEN 200001 AND 215000;
SQL
small_burst insert

# the schedule: every step, and after each big one (10,000 rows or more)
# one or two rounds without new work, so that trucker is also killed while it
# replays and applies a big transaction after a restart
schedule=()
for i in $(seq "$nsteps"); do
	schedule+=("$i")
	if [ -n "${big_step[$i]:-}" ]; then
		schedule+=(0)
		[ $((RANDOM % 2)) -eq 0 ] || schedule+=(0)
	fi
done
while [ "${#schedule[@]}" -lt "$min_kills" ]; do schedule+=(0); done
echo "${#schedule[@]} kill rounds over $nsteps workload steps"

trucker_start
kills=0 big_kills=0
run_step() {
	on_src -f "$work/step$1.sql" >/dev/null
}
i=0
for s in "${schedule[@]}"; do
	i=$((i + 1))
	step_pid=
	if [ "$s" -gt 0 ]; then
		run_step "$s" &
		step_pid=$!
	fi
	ms=$((50 + RANDOM % 1951))
	sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
	checks=$((checks + 1))
	if ! trucker_alive; then
		show_log
		fail "trucker exited by itself during step $i (before kill $((kills + 1)))"
	fi
	in_flight=no
	if [ -n "$step_pid" ] && [ -d "/proc/$step_pid" ]; then
		in_flight=yes
		big_kills=$((big_kills + 1))
	fi
	trucker_kill
	kills=$((kills + 1))
	if [ "$s" -gt 0 ]; then
		echo "kill $kills after $ms ms of step $s (step still committing: $in_flight)"
		wait "$step_pid" || fail "workload step $s failed"
	else
		echo "kill $kills after $ms ms of catching up"
	fi
	# every third restart waits until trucker streams; the others are killed
	# wherever they are, startup included
	if [ $((i % 3)) -eq 0 ]; then trucker_start; else trucker_launch; fi
done
echo "$kills kills, $big_kills of them while a workload step was still running"
checks=$((checks + 1))
[ "$kills" -ge "$min_kills" ] || fail "only $kills kills"

changes=$(q_src "SELECT sum(n_tup_ins + n_tup_upd + n_tup_del) FROM pg_stat_user_tables WHERE relname IN ('ca', 'cb')")
echo "$changes row changes in the workload (rolled-back ones included)"
checks=$((checks + 1))
[ "$changes" -ge 50000 ] || fail "the workload made only $changes changes"

# the last trucker is left running: it catches up and the outputs equal the inputs
t0=$SECONDS
wait_same ca ca 150
wait_same cb cb 60
echo "the last trucker caught up in $((SECONDS - t0)) s"
trucker_stop
expect_same_now ca
expect_same_now cb

end_lsn=$(q_src "SELECT pg_current_wal_lsn()")
slot_at=$(q_src "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '$slot'")
echo "source WAL end $end_lsn, slot at $slot_at, checkpoints:"
q_dst "SELECT pipeline, lsn, slot FROM trucker.checkpoints ORDER BY pipeline"
expect_sql q_dst "SELECT string_agg(pipeline || ' ' || (lsn > '0/0') || ' ' || (lsn <= '$end_lsn'), ',' ORDER BY pipeline)
	FROM trucker.checkpoints" "ca true true,cb true true"
expect_sql q_dst "SELECT min(lsn) >= '$slot_at' FROM trucker.checkpoints" t
pass

# trucker run, a big transaction: one source transaction of 1,000,000 inserted
# rows streams through (same count, same digest), then one transaction that
# updates 200,000 rows and deletes 100,000.  trucker's peak resident memory
# (VmHWM) is printed; it is only checked against a generous sanity bound.
. "$TRUCKER_SOURCE_DIR/tests/harness/lib.sh"
. "$TRUCKER_SOURCE_DIR/tests/harness/stream.sh"
stream_setup bigtxn

schema="CREATE TABLE bulk (id bigint PRIMARY KEY, grp int, v text, n numeric(12,2), at timestamptz);"
on_src -c "$schema"
on_dst -c "$schema"
add_pipeline bulk public.bulk public.bulk
trucker_start

t0=$SECONDS
on_src -c "INSERT INTO bulk SELECT g, g % 1000, md5(g::text), g * 1.5, '2024-01-01 00:00+00'::timestamptz + g * interval '1 second'
	FROM generate_series(1, 1000000) g"
echo "committed 1,000,000 rows in $((SECONDS - t0)) s"
wait_same bulk bulk 420
echo "1,000,000 rows streamed $((SECONDS - t0)) s after the start of the transaction"
expect_sql q_dst "SELECT count(*) FROM bulk" 1000000

t0=$SECONDS
on_src <<'SQL'
BEGIN;
UPDATE bulk SET grp = -grp, v = upper(v) WHERE id % 5 = 0;
DELETE FROM bulk WHERE id % 10 = 1;
COMMIT;
SQL
wait_same bulk bulk 420
echo "200,000 updates and 100,000 deletes streamed in $((SECONDS - t0)) s"
expect_sql q_dst "SELECT count(*) FROM bulk WHERE grp < 0" "$(q_src "SELECT count(*) FROM bulk WHERE grp < 0")"

hwm_kb=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$trucker_pid/status")
[ -n "$hwm_kb" ] || fail "could not read VmHWM of trucker (pid $trucker_pid)"
echo "trucker peak RSS (VmHWM): $((hwm_kb / 1024)) MB"
checks=$((checks + 1))
[ "$hwm_kb" -lt $((512 * 1024)) ] || fail "trucker peak RSS $((hwm_kb / 1024)) MB exceeds the 512 MB sanity bound"
trucker_stop
pass

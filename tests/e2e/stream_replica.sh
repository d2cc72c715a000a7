# trucker run with transform.sql on a streaming replica (replica_host): a
# third cluster replicates the source; the transforms run there, and never
# read a state older than their change:
#  (a) an order and its new customer, committed together: the enriched row
#      has the customer although the replica got both at the same time;
#  (b) the replica's replay paused: the transform waits (no enriched row
#      without its customer), and goes on once replay resumes;
#  (c) replay paused past replica_wait_ms: trucker says the replica is
#      behind and restarts the input, then catches up when it resumes.
. "$TRUCKER_SOURCE_DIR/tests/harness/lib.sh"
. "$TRUCKER_SOURCE_DIR/tests/harness/stream.sh"
stream_setup replica

bindir=${PG_BINDIR:-$(ls -d /usr/lib/postgresql/15/bin 2>/dev/null || dirname "$(command -v pg_ctl)")}
as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
replica_port=$((src_port + 20))
replica_dir=$(mktemp -d /tmp/trucker-replica.XXXXXX)
[ "$(id -u)" -ne 0 ] || chown postgres: "$replica_dir"
replica_down() {
	as_postgres "$bindir/pg_ctl" -D "$replica_dir/data" -m immediate -w stop >/dev/null 2>&1 || true
	rm -rf "$replica_dir"
}
# the test's status must reach stream_cleanup, which exits with it
replica_cleanup() {
	local rc=$?
	set +e
	replica_down
	(exit "$rc")
	stream_cleanup
}
trap replica_cleanup EXIT
on_replica() { psql -X -q -v ON_ERROR_STOP=1 -h "$replica_dir" -p "$replica_port" -d "$srcdb" "$@"; }
q_replica() { on_replica -At -c "$1"; }

on_src -f "$src/tests/fixtures/schema/source.sql"
on_dst -f "$src/tests/fixtures/schema/warehouse.sql"
as_postgres "$bindir/pg_basebackup" -h "$src_host" -p "$src_port" -U postgres -D "$replica_dir/data" -R -X stream -c fast \
	>"$work/basebackup.log" 2>&1 || { cat "$work/basebackup.log" >&2; fail "pg_basebackup failed"; }
cat >>"$replica_dir/data/postgresql.conf" <<CONF
port = $replica_port
unix_socket_directories = '$replica_dir'
hot_standby = on
CONF
as_postgres "$bindir/pg_ctl" -D "$replica_dir/data" -l "$replica_dir/server.log" -w -t 60 start >/dev/null ||
	{ tail -n 30 "$replica_dir/server.log" >&2; fail "the replica did not start"; }
expect_sql q_replica "SELECT pg_is_in_recovery()" t

# the source connection gets a replica
awk -v dir="$replica_dir" -v port="$replica_port" '
	{ print }
	/^    slot: / && !done { print "    replica_host: \"" dir "\""; print "    replica_port: " port; print "    replica_wait_ms: 3000"; done = 1 }
' "$work/p/trucker.yml" >"$work/p/trucker.yml.new" && mv "$work/p/trucker.yml.new" "$work/p/trucker.yml"
add_pipeline orders_enriched public.orders public.orders_enriched id
cp "$src/pipelines/orders_enriched/transform.sql" "$work/p/orders_enriched/"
trucker_start

join="SELECT o.id, c.id AS customer_id, c.name AS customer_name, c.country, o.amount, o.status
	FROM orders o JOIN customers c ON c.id = o.customer_id"
enriched_equals_join() {
	local want deadline=$((SECONDS + ${2:-60}))
	want=$(q_src "SELECT md5(coalesce(string_agg(j::text, ',' ORDER BY id), '')) FROM ($join) j")
	until [ "$(q_dst "SELECT md5(coalesce(string_agg(e::text, ',' ORDER BY id), '')) FROM orders_enriched e")" = "$want" ]; do
		[ "$SECONDS" -lt "$deadline" ] || { show_log; fail "$1: orders_enriched differs from the join on the source"; }
		sleep 0.2
	done
	checks=$((checks + 1))
}

# (a) customers and their orders, each pair in one transaction
for i in $(seq 1 200); do
	echo "BEGIN; INSERT INTO customers VALUES ($i, 'customer $i', 'NL');
		INSERT INTO orders (id, customer_id, amount) VALUES ($i, $i, $i); COMMIT;"
done | on_src >/dev/null
enriched_equals_join "(a)"
expect_sql q_dst "SELECT count(*) FROM orders_enriched" 200

# (b) replay paused for less than replica_wait_ms
on_replica -c "SELECT pg_wal_replay_pause()" >/dev/null
on_src -c "BEGIN" -c "INSERT INTO customers VALUES (1001, 'late', 'BE')" \
	-c "INSERT INTO orders (id, customer_id, amount) VALUES (1001, 1001, 5)" -c "COMMIT"
sleep 1.5
expect_sql q_dst "SELECT count(*) FROM orders_enriched WHERE id = 1001" 0
on_replica -c "SELECT pg_wal_replay_resume()" >/dev/null
enriched_equals_join "(b)"
expect_sql q_dst "SELECT customer_name FROM orders_enriched WHERE id = 1001" late
expect_lacks "$trucker_log" "has not replayed up to"

# (c) replay paused past replica_wait_ms
on_replica -c "SELECT pg_wal_replay_pause()" >/dev/null
on_src -c "BEGIN" -c "INSERT INTO customers VALUES (1002, 'later', 'BE')" \
	-c "INSERT INTO orders (id, customer_id, amount) VALUES (1002, 1002, 6)" -c "COMMIT"
deadline=$((SECONDS + 30))
until grep -q "has not replayed up to" "$trucker_log"; do
	[ "$SECONDS" -lt "$deadline" ] || { show_log; fail "no word of the lagging replica"; }
	sleep 0.2
done
expect_sql q_dst "SELECT count(*) FROM orders_enriched WHERE id = 1002" 0
on_replica -c "SELECT pg_wal_replay_resume()" >/dev/null
enriched_equals_join "(c)"
trucker_stop
pass

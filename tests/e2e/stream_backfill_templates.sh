# trucker run backfills pipelines with templates, each existing row going
# through the pipeline as an insert, as the stream's would:
#  (a) first start, under a workload of inserts, updates (moving orders
#      between customers) and deletes: the repository's customer_totals
#      (insert.sql, update.sql, delete.sql) equals a fresh GROUP BY, and
#      orders_enriched (transform.sql, run inside the snapshot) equals the
#      join on the source;
#  (b) the same aggregate added beside them on the running slot, trucker
#      killed (SIGKILL) in the middle of its copy: the killed copy left
#      nothing (one output transaction), the next start copies again, and it
#      equals a fresh GROUP BY; the established pipelines went on;
#  (c) a transform that fails for one row parks its pipeline with the
#      template's file and the row's values, while the others stream.
. "$TRUCKER_SOURCE_DIR/tests/harness/lib.sh"
. "$TRUCKER_SOURCE_DIR/tests/harness/stream.sh"
stream_setup backfill_tpl

on_src -c "CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL, country text)" \
	-c "INSERT INTO customers SELECT g, 'customer ' || g, CASE WHEN g % 3 = 0 THEN 'NZ' ELSE 'FR' END
		FROM generate_series(1, 50) g" \
	-c "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL,
		amount numeric(12,2) NOT NULL, status text, note text)" \
	-c "ALTER TABLE orders REPLICA IDENTITY FULL" \
	-c "INSERT INTO orders SELECT g, g % 50 + 1, (g % 997) + 0.25, 'new', NULL
		FROM generate_series(1, 30000) g"
on_dst -c "CREATE TABLE customer_totals (customer_id bigint PRIMARY KEY, orders bigint NOT NULL,
		amount numeric(14,2) NOT NULL)" \
	-c "CREATE TABLE customer_totals2 (LIKE customer_totals INCLUDING ALL)" \
	-c "CREATE TABLE orders_enriched (id bigint PRIMARY KEY, customer_id bigint,
		customer_name text, country text, amount numeric(12,2), status text)" \
	-c "CREATE TABLE order_ratio (id bigint PRIMARY KEY, ratio numeric)"

add_pipeline customer_totals public.orders public.customer_totals customer_id
cp "$src/pipelines/customer_totals/"*.sql "$work/p/customer_totals/"
add_pipeline orders_enriched public.orders public.orders_enriched id
cp "$src/pipelines/orders_enriched/transform.sql" "$work/p/orders_enriched/"

totals_sql="SELECT customer_id, count(*), sum(amount) FROM orders GROUP BY customer_id"
enriched_sql="SELECT o.id, c.id, c.name, c.country, o.amount, o.status FROM orders o JOIN customers c ON c.id = o.customer_id"

workload() {
	local id
	while [ ! -e "$work/stop" ]; do
		id=$((RANDOM % 40000 + 1))
		on_src -c "BEGIN" \
			-c "INSERT INTO orders VALUES ($id, $((RANDOM % 50 + 1)), $((RANDOM % 500)).50, 'new')
				ON CONFLICT (id) DO UPDATE SET customer_id = EXCLUDED.customer_id, amount = orders.amount + 1" \
			-c "UPDATE orders SET customer_id = $((RANDOM % 50 + 1)), status = 'moved' WHERE id = $((RANDOM % 30000 + 1))" \
			-c "DELETE FROM orders WHERE id = $((RANDOM % 30000 + 1))" -c "COMMIT" >/dev/null 2>&1 || true
	done
}

# same_as NAME SRC_SQL DST_TABLE — the output equals the query's rows on the source
same_as() {
	local want
	want=$(q_src "SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM ($2) t")
	wait_until "$1 differs from the source" \
		sql_is q_dst "SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM $3 t" "$want"
}

# --- (a) first start, under a workload -------------------------------------
rm -f "$work/stop"
workload &
load=$!
trucker_start
sleep 1
touch "$work/stop"
wait "$load"
same_as customer_totals "$totals_sql" customer_totals
same_as orders_enriched "$enriched_sql" orders_enriched
for p in customer_totals orders_enriched; do
	grep -F 'msg="backfill done"' "$trucker_log" | grep -q "pipeline=$p " ||
		{ show_log; fail "no backfill of pipeline $p"; }
	checks=$((checks + 1))
done
trucker_stop

# --- (b) beside them, killed in the middle -----------------------------------
add_pipeline customer_totals2 public.orders public.customer_totals2 customer_id
sed 's/customer_totals/customer_totals2/g' "$work/p/customer_totals/insert.sql" >"$work/p/customer_totals2/insert.sql"
sed 's/customer_totals/customer_totals2/g' "$work/p/customer_totals/update.sql" >"$work/p/customer_totals2/update.sql"
sed 's/customer_totals/customer_totals2/g' "$work/p/customer_totals/delete.sql" >"$work/p/customer_totals2/delete.sql"
# the copy stalls once, on the row of order 20,000, so the kill lands inside it
on_dst -c "CREATE SEQUENCE once" -c "CREATE FUNCTION stall() RETURNS trigger LANGUAGE plpgsql AS \$\$
BEGIN
	IF NEW.customer_id = 20000 % 50 + 1 AND nextval('once') = 300 THEN PERFORM pg_sleep(5); END IF;
	RETURN NEW;
END \$\$" -c "CREATE TRIGGER stall BEFORE INSERT ON customer_totals2 FOR EACH ROW EXECUTE FUNCTION stall()"
rm -f "$work/stop"
workload &
load=$!
trucker_launch
wait_until "customer_totals2's copy did not stall" \
	sql_is q_dst "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep'" 1
# the established pipelines stream meanwhile
on_src -c "INSERT INTO orders VALUES (90001, 7, 5.00, 'during the copy')"
wait_until "orders_enriched did not stream during the copy" \
	sql_is q_dst "SELECT status FROM orders_enriched WHERE id = 90001" "during the copy"
trucker_kill
expect_sql q_dst "SELECT (SELECT count(*) FROM customer_totals2) || ' ' ||
	(SELECT count(*) FROM trucker.checkpoints WHERE pipeline = 'customer_totals2')" "0 0"
trucker_start
touch "$work/stop"
wait "$load"
same_as customer_totals "$totals_sql" customer_totals
same_as customer_totals2 "$totals_sql" customer_totals2
same_as orders_enriched "$enriched_sql" orders_enriched
[ "$(grep -F 'msg="backfill started"' "$trucker_log" | grep -c 'pipeline=customer_totals2 ')" -ge 2 ] ||
	{ show_log; fail "customer_totals2's backfill was not started again after the kill"; }
checks=$((checks + 1))
trucker_stop

# --- (c) a transform that fails for one row ---------------------------------
on_src -c "INSERT INTO orders VALUES (90002, 3, 0.00, 'zero')"
add_pipeline order_ratio public.orders public.order_ratio id
printf 'SELECT {{ new.id }}::bigint AS id, 100 / {{ new.amount }}::numeric AS ratio\n' >"$work/p/order_ratio/transform.sql"
trucker_start
wait_until "no word that order_ratio is parked" \
	grep -q 'msg="pipeline not backfilled.*pipeline=order_ratio .*transform.sql.*division by zero.*90002' "$trucker_log"
on_src -c "INSERT INTO orders VALUES (90003, 4, 9.00, 'after')"
same_as customer_totals "$totals_sql" customer_totals
expect_sql q_dst "SELECT count(*) FROM order_ratio" 0
trucker_stop
pass

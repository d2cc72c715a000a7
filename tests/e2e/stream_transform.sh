# trucker run with transform.sql, the enrichment query on the input database:
#  (a) the repository's orders_enriched example — each order joined with its
#      customer on the source, the transformed row mirrored — beside a plain
#      mirror of the same table and a transform feeding a pipeline's own
#      insert.sql, under inserts, updates, key changes and deletes while
#      trucker is killed with SIGKILL again and again: the enriched table
#      equals the join, the mirror equals the table, deletes remove enriched
#      rows (the transform returns no row for them; the mirror deletes by the
#      old key), a changed key moves the enriched row; the status written
#      holds quotes, a backslash, braces and the word NULL, which reach the
#      transforms through a batch's array literals;
#  (b) the transform reads the source as it is when it runs: a customer
#      renamed before an order changes is seen by that order only;
#  (c) a transform failing with a data error (division by zero) stops its
#      pipeline at that transaction, logged with transform.sql and the
#      values, while the others go on; the transaction before it in the same
#      batch of transforms is applied;
#  (d) a transform that only works one change at a time (an aggregate of
#      its values alone, which a batch's LATERAL subquery cannot hold) says
#      so once and runs unbatched, losing nothing.
. "$TRUCKER_SOURCE_DIR/tests/harness/lib.sh"
. "$TRUCKER_SOURCE_DIR/tests/harness/stream.sh"
stream_setup transform

seed=${STREAM_SEED:-$$}
RANDOM=$seed
echo "seed $seed (STREAM_SEED=$seed replays it)"
kills_wanted=${STREAM_KILLS:-8}

on_src -f "$src/tests/fixtures/schema/source.sql" \
	-c "ALTER TABLE orders ADD COLUMN qty int NOT NULL DEFAULT 1"
on_dst -f "$src/tests/fixtures/schema/warehouse.sql" \
	-c "ALTER TABLE orders_mirror ADD COLUMN qty int" \
	-c "CREATE TABLE per_unit (id bigint PRIMARY KEY, per numeric)" \
	-c "CREATE TABLE enriched_log (id bigint, customer_name text, op text)" \
	-c "CREATE TABLE unbatched (id bigint PRIMARY KEY, per numeric)"

add_pipeline orders_enriched public.orders public.orders_enriched id
cp "$src/pipelines/orders_enriched/transform.sql" "$work/p/orders_enriched/"
add_pipeline orders_mirror public.orders public.orders_mirror
# a transform that divides by the quantity
add_pipeline per_unit public.orders public.per_unit id "operations: [insert]"
printf 'SELECT {{ new.id }}::bigint AS id, {{ new.amount }}::numeric / {{ new.qty }}::int AS per\n' \
	>"$work/p/per_unit/transform.sql"
# the same rows as per_unit's (until it stops), from a transform that fails
# when batched
add_pipeline unbatched public.orders public.unbatched id "operations: [insert]"
printf 'SELECT {{ new.id }}::bigint AS id, max({{ new.amount }}::numeric) AS per\n' \
	>"$work/p/unbatched/transform.sql"
# a transform feeding the pipeline's own insert.sql and update.sql
add_pipeline enriched_log public.orders public.enriched_log id "operations: [insert, update]"
cat >"$work/p/enriched_log/transform.sql" <<'SQL'
SELECT {{ new.id }}::bigint AS id, c.name AS customer_name
FROM customers c WHERE c.id = {{ new.customer_id }}
SQL
for op in insert update; do
	printf 'INSERT INTO enriched_log VALUES ({{ transformed.id }}, {{ transformed.customer_name }}, {{ operation }})\n' \
		>"$work/p/enriched_log/$op.sql"
done
"$TRUCKER" check "$work/p" >"$work/check.out" 2>&1 || { cat "$work/check.out" >&2; fail "trucker check rejected the test's pipelines"; }

on_src -c "INSERT INTO customers SELECT g, 'customer ' || g, CASE WHEN g % 2 = 0 THEN 'NL' ELSE 'BE' END
	FROM generate_series(1, 50) g"
trucker_start

# --- (a) the workload under kill -9 ---------------------------------------
step_sql() {
	local i id sql="BEGIN;"$'\n'
	for i in $(seq $((RANDOM % 50 + 1))); do
		id=$((RANDOM % 2000 + 1))
		case $((RANDOM % 5)) in
		0 | 1) sql+="INSERT INTO orders (id, customer_id, amount, status, qty) VALUES ($id, $((RANDOM % 50 + 1)), $((RANDOM % 9000)) / 100.0, 'new', $((RANDOM % 5 + 1))) ON CONFLICT (id) DO NOTHING;"$'\n' ;;
		2) sql+="UPDATE orders SET status = 'p\"a\\id {,} NULL''s', amount = amount + 1, customer_id = $((RANDOM % 50 + 1)) WHERE id = $id;"$'\n' ;;
		3) sql+="DELETE FROM orders WHERE id = $id;"$'\n' ;;
		4) sql+="UPDATE orders SET id = id + 100000 WHERE id = $id AND NOT EXISTS (SELECT FROM orders WHERE id = $id + 100000);"$'\n' ;;
		esac
	done
	echo "$sql COMMIT;"
}
ten_steps() { for _ in $(seq 10); do step_sql; done; }
kill_during "$kills_wanted" ten_steps
kills=$kills_wanted
echo "$kills kills, $(q_src "SELECT count(*) FROM orders") orders"

wait_same orders orders_mirror 120
join="SELECT o.id, c.id AS customer_id, c.name AS customer_name, c.country, o.amount, o.status
	FROM orders o JOIN customers c ON c.id = o.customer_id"
want=$(q_src "SELECT md5(coalesce(string_agg(j::text, ',' ORDER BY id), '')) FROM ($join) j")
have() { q_dst "SELECT md5(coalesce(string_agg(e::text, ',' ORDER BY id), '')) FROM orders_enriched e"; }
deadline=$((SECONDS + 60))
until [ "$(have)" = "$want" ]; do
	[ "$SECONDS" -lt "$deadline" ] || { show_log; fail "orders_enriched differs from the join on the source"; }
	sleep 0.3
done
checks=$((checks + 1))
expect_sql q_dst "SELECT count(*) FROM orders_enriched" "$(q_src "SELECT count(*) FROM orders")"
# the transformed rows through insert.sql and update.sql: every insert and
# update once, with its customer's name
expect_sql q_dst "SELECT count(*) FROM enriched_log WHERE customer_name IS NULL OR customer_name NOT LIKE 'customer %'" 0

# --- (d) a transform that cannot be batched ----------------------------------
ids() { q_dst "SELECT md5(coalesce(string_agg(id::text, ',' ORDER BY id), '')) FROM $1"; }
same_ids() { [ "$(ids unbatched)" = "$(ids per_unit)" ]; }
wait_until "unbatched holds other rows than per_unit" same_ids
expect_sql q_dst "SELECT count(*) > 0 FROM unbatched" t
grep -F 'runs one change at a time' "$trucker_log" | grep -q 'pipeline=unbatched' ||
	{ show_log; fail "no word that unbatched's transform runs one change at a time"; }

# --- (b) the transform reads the source as it is now -----------------------
a=$(q_src "SELECT min(id) FROM orders WHERE customer_id = 7")
b=$(q_src "SELECT max(id) FROM orders WHERE customer_id = 7")
[ -n "$a" ] && [ "$a" != "$b" ] || {
	on_src -c "INSERT INTO orders (id, customer_id, amount, qty) VALUES (5001, 7, 1, 1), (5002, 7, 2, 1)"
	a=5001 b=5002
}
on_src -c "UPDATE customers SET name = 'renamed' WHERE id = 7"
on_src -c "UPDATE orders SET status = 'shipped' WHERE id = $a"
deadline=$((SECONDS + 60))
until [ "$(q_dst "SELECT customer_name FROM orders_enriched WHERE id = $a")" = renamed ]; do
	[ "$SECONDS" -lt "$deadline" ] || { show_log; fail "the changed order did not see its customer's new name"; }
	sleep 0.2
done
expect_sql q_dst "SELECT customer_name FROM orders_enriched WHERE id = $b" "customer 7"

# --- (c) a failing transform -------------------------------------------------
# three transactions at once: most likely one batch of transforms, whose
# failure must be pinned on the second
on_src -At -c "INSERT INTO orders (id, customer_id, amount, status, qty) VALUES (9000, 1, 10, 'before', 5)" \
	-c "INSERT INTO orders (id, customer_id, amount, status, qty) VALUES (9001, 1, 10, 'zero', 0)" \
	-c "SELECT pg_current_wal_lsn()" \
	-c "INSERT INTO orders (id, customer_id, amount, status, qty) VALUES (9002, 1, 10, 'after', 2)" >"$work/zero.out"
end_zero=$(grep -m 1 / "$work/zero.out" || true)
[ -n "$end_zero" ] || fail "no LSN read after the failing transaction"
deadline=$((SECONDS + 60))
until grep -F 'msg="statement failed"' "$trucker_log" | grep -q "pipeline=per_unit"; do
	[ "$SECONDS" -lt "$deadline" ] || { show_log; fail "no error for pipeline per_unit"; }
	sleep 0.2
done
grep -F 'msg="statement failed"' "$trucker_log" | grep "pipeline=per_unit" | tail -n 1 >"$work/failed"
expect_contains "$work/failed" "sqlstate=22012"
expect_contains "$work/failed" "per_unit/transform.sql"
expect_contains "$work/failed" "new.qty = '0'"
expect_contains "$work/failed" "(transform)"
checks=$((checks + 1))
lsn_ge "$end_zero" "$(q_dst "SELECT lsn FROM trucker.checkpoints WHERE pipeline = 'per_unit'")" ||
	fail "per_unit's checkpoint moved past the failing transaction"
expect_sql q_dst "SELECT count(*) FROM per_unit WHERE id >= 9001" 0
wait_same orders orders_mirror 60
deadline=$((SECONDS + 60))
until [ "$(q_dst "SELECT count(*) FROM orders_enriched WHERE id IN (9001, 9002)")" = 2 ]; do
	[ "$SECONDS" -lt "$deadline" ] || { show_log; fail "orders_enriched did not go on past per_unit's failure"; }
	sleep 0.2
done
# per_unit applied what came before the failure, exactly
wait_until "per_unit lost the transaction before its failing one" \
	sql_is q_dst "SELECT per = 2 FROM per_unit WHERE id = 9000" t
expect_sql q_dst "SELECT count(*) FROM per_unit p WHERE per IS NULL" 0

# deletes remove the enriched rows
on_src -c "DELETE FROM orders WHERE id IN (9000, 9001, 9002)"
deadline=$((SECONDS + 60))
until [ "$(q_dst "SELECT count(*) FROM orders_enriched WHERE id IN (9000, 9001, 9002)")" = 0 ]; do
	[ "$SECONDS" -lt "$deadline" ] || { show_log; fail "deletes did not remove the enriched rows"; }
	sleep 0.2
done
trucker_stop
pass

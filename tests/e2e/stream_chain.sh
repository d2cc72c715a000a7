# A two-level chain: pipeline `totals` keeps an aggregate of orders in the
# source database itself (its output connection is its input's), and
# pipeline `totals_copy` mirrors that aggregate into the destination —
# reading, from the same slot, the changes trucker's own writes made.
# Under a workload with kill -9s, the copy equals the aggregate, which
# equals a fresh GROUP BY.  trucker's own tables in the source
# (trucker.checkpoints, written by `totals`) never come back as changes.
. "$TRUCKER_SOURCE_DIR/tests/harness/lib.sh"
. "$TRUCKER_SOURCE_DIR/tests/harness/stream.sh"
stream_setup chain

on_src -c "CREATE TABLE orders (id int PRIMARY KEY, customer int NOT NULL, amount numeric(12,2) NOT NULL)" \
	-c "ALTER TABLE orders REPLICA IDENTITY FULL" \
	-c "CREATE TABLE totals (customer int PRIMARY KEY, orders bigint NOT NULL, amount numeric NOT NULL)"
on_dst -c "CREATE TABLE totals_copy (customer int PRIMARY KEY, orders bigint NOT NULL, amount numeric NOT NULL)"
add_pipeline totals public.orders public.totals customer
sed -i 's/connection: dst/connection: src/' "$work/p/totals/config.yml"
cat >"$work/p/totals/insert.sql" <<'SQL'
INSERT INTO totals AS t VALUES ({{ new.customer }}, 1, {{ new.amount }})
ON CONFLICT (customer) DO UPDATE SET orders = t.orders + 1, amount = t.amount + EXCLUDED.amount
SQL
cat >"$work/p/totals/update.sql" <<'SQL'
INSERT INTO totals AS t
SELECT customer, sum(n), sum(a) FROM (VALUES ({{ old.customer }}::int, -1, -{{ old.amount }}::numeric),
                                             ({{ new.customer }}::int, 1, {{ new.amount }}::numeric)) d (customer, n, a)
GROUP BY customer
ON CONFLICT (customer) DO UPDATE SET orders = t.orders + EXCLUDED.orders, amount = t.amount + EXCLUDED.amount
SQL
cat >"$work/p/totals/delete.sql" <<'SQL'
UPDATE totals SET orders = orders - 1, amount = amount - {{ old.amount }} WHERE customer = {{ old.customer }}
SQL
add_pipeline totals_copy public.totals public.totals_copy
"$TRUCKER" check "$work/p" >"$work/check.out" 2>&1 || { cat "$work/check.out" >&2; fail "trucker check rejected the chain"; }
trucker_start

for round in 1 2 3 4; do
	on_src -c "INSERT INTO orders SELECT g, g % 17, g / 10.0 FROM generate_series($((round * 1000)), $((round * 1000 + 499))) g" \
		-c "UPDATE orders SET customer = (customer + 1) % 17, amount = amount + 1 WHERE id % 5 = 0" \
		-c "DELETE FROM orders WHERE id % 7 = 0" &
	load=$!
	sleep "0.$((RANDOM % 5 + 1))"
	trucker_kill
	wait "$load" || fail "a workload step failed"
	trucker_launch
done
group="SELECT coalesce(string_agg(customer || ':' || n || ':' || a, ',' ORDER BY customer), '')
	FROM (SELECT customer, count(*) AS n, sum(amount) AS a FROM orders GROUP BY customer) g"
totals="SELECT coalesce(string_agg(customer || ':' || orders || ':' || amount, ',' ORDER BY customer), '')
	FROM totals WHERE orders <> 0"
copy="SELECT coalesce(string_agg(customer || ':' || orders || ':' || amount, ',' ORDER BY customer), '')
	FROM totals_copy WHERE orders <> 0"
want=$(q_src "$group")
deadline=$((SECONDS + 90))
until [ "$(q_src "$totals")" = "$want" ] && [ "$(q_dst "$copy")" = "$want" ]; do
	[ "$SECONDS" -lt "$deadline" ] || { show_log; fail "the chain did not converge: totals $(q_src "$totals" | head -c 200), copy $(q_dst "$copy" | head -c 200)"; }
	sleep 0.3
done
checks=$((checks + 1))
wait_same totals totals_copy 30
# the first level's checkpoint lives in the source; nothing of it was mirrored
expect_sql q_src "SELECT count(*) FROM trucker.checkpoints WHERE pipeline = 'totals'" 1
expect_sql q_dst "SELECT count(*) FROM trucker.checkpoints WHERE pipeline = 'totals'" 0
expect_lacks "$trucker_log" "statement failed"
expect_lacks "$trucker_log" "pipeline stopped"
trucker_stop
pass

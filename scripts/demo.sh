#!/usr/bin/env bash
# demo.sh — set up, build, and run trucker on the example pipelines.
#
# Checks every example pipeline, shows exactly what a few of them execute
# for a change, then streams: two throwaway PostgreSQL clusters (a shop and
# a warehouse) are started, the shop already holding 500 orders, which
# `trucker run pipelines` backfills from a snapshot into every pipeline;
# then it follows the shop, and a burst of orders (inserts, updates, a key
# change, deletes) arrives in the warehouse's orders_mirror exactly, in the
# customer_totals aggregate, in the enriched orders and in the audit trail.
# Everything is removed at the end.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

bash scripts/setup.sh
trucker=build/trucker

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "trucker check pipelines"
$trucker check pipelines

step "an insert through the default mirror (orders_mirror)"
$trucker render pipelines/orders_mirror --op insert --pk id \
	--new '{"id": 1001, "customer_id": 7, "amount": 12345678901.25, "status": "new", "note": "it'"'"'s fragile", "created_at": "2026-11-22 10:00:00+00"}'

step "a wal2json transaction through the incremental aggregate (customer_totals)"
$trucker render pipelines/customer_totals --change tests/fixtures/wal2json/demo-orders.jsonl

step "the same transaction through the audit trail (orders_audit)"
$trucker render pipelines/orders_audit --change tests/fixtures/wal2json/demo-orders.jsonl

step "a broken pipeline folder: every error, with its position"
broken=$(mktemp -d)
demo=$(mktemp -d)
chmod 755 "$demo"
trucker_pid=
cleanup() {
	[ -n "$trucker_pid" ] && kill "$trucker_pid" 2>/dev/null && wait "$trucker_pid" 2>/dev/null
	bash tests/harness/pg.sh destroy "$demo/shop" >/dev/null 2>&1 || true
	bash tests/harness/pg.sh destroy "$demo/warehouse" >/dev/null 2>&1 || true
	rm -rf "$broken" "$demo"
}
trap cleanup EXIT
cp -r pipelines/. "$broken/"
echo "on_error: stp" >>"$broken/orders_mirror/config.yml"
sed -i 's/{{ new.customer_id }}, 1/{{ new.custmer_id }, 1/' "$broken/customer_totals/insert.sql"
sed -i 's/connection: lake/connection: laek/' "$broken/orders_lake/config.yml"
$trucker check "$broken" || echo "(exit status $? — as expected)"

step "streaming: a throwaway shop database into a throwaway warehouse"
shop_port=${DEMO_SHOP_PORT:-55440}
warehouse_port=${DEMO_WAREHOUSE_PORT:-55441}
bash tests/harness/pg.sh start "$demo/shop" "$shop_port"
bash tests/harness/pg.sh start "$demo/warehouse" "$warehouse_port"
shop() { psql -X -q -v ON_ERROR_STOP=1 -h "$demo/shop" -p "$shop_port" -U postgres -d shop "$@"; }
warehouse() { psql -X -q -v ON_ERROR_STOP=1 -h "$demo/warehouse" -p "$warehouse_port" -U postgres -d warehouse "$@"; }
psql -X -q -h "$demo/shop" -p "$shop_port" -U postgres -c "CREATE DATABASE shop"
psql -X -q -h "$demo/warehouse" -p "$warehouse_port" -U postgres -c "CREATE DATABASE warehouse"
shop -f tests/fixtures/schema/source.sql
warehouse -f tests/fixtures/schema/warehouse.sql

export SOURCE_HOST=$demo/shop SOURCE_PORT=$shop_port SOURCE_DB=shop SOURCE_USER=postgres
export WAREHOUSE_HOST=$demo/warehouse WAREHOUSE_PORT=$warehouse_port WAREHOUSE_DB=warehouse WAREHOUSE_USER=postgres
echo "-- the shop holds 50 customers and 500 orders before trucker starts:"
shop <<'SQL'
INSERT INTO customers SELECT g, 'customer ' || g, 'NL' FROM generate_series(1, 50) g;
INSERT INTO orders (id, customer_id, amount, status, note)
SELECT g, 1 + g % 50, round((g * 12.34)::numeric, 2), 'new', CASE WHEN g % 7 = 0 THEN 'it''s fragile' END
FROM generate_series(1, 500) g;
SQL
echo "\$ trucker run pipelines     (each pipeline is first backfilled from a snapshot)"
$trucker run pipelines 2>"$demo/trucker.log" &
trucker_pid=$!
for _ in $(seq 100); do
	grep -q 'msg="streaming started"' "$demo/trucker.log" && break
	kill -0 "$trucker_pid" 2>/dev/null || break
	sleep 0.1
done
cat "$demo/trucker.log"
grep -q 'msg="streaming started"' "$demo/trucker.log" || { echo "trucker did not start" >&2; exit 1; }

echo
echo "-- the shop takes 500 more orders, changes some, re-keys one, cancels ten:"
shop <<'SQL'
INSERT INTO orders (id, customer_id, amount, status, note)
SELECT g, 1 + g % 50, round((g * 12.34)::numeric, 2), 'new', CASE WHEN g % 7 = 0 THEN 'it''s fragile' END
FROM generate_series(501, 1000) g;
UPDATE orders SET status = 'paid' WHERE id % 3 = 0;
UPDATE orders SET id = 100000 WHERE id = 42;
DELETE FROM orders WHERE id BETWEEN 990 AND 999;
SQL
digest="SELECT count(*) AS orders, sum(amount) AS total, md5(string_agg(id || '|' || customer_id || '|' || amount || '|' || status || '|' || coalesce(note, '') || '|' || created_at, ',' ORDER BY id)) AS digest FROM"
for _ in $(seq 100); do
	[ "$(shop -tAc "$digest orders")" = "$(warehouse -tAc "$digest orders_mirror")" ] && break
	sleep 0.1
done
echo "shop.orders:"
shop -c "$digest orders"
echo "warehouse.orders_mirror:"
warehouse -c "$digest orders_mirror"
[ "$(shop -tAc "$digest orders")" = "$(warehouse -tAc "$digest orders_mirror")" ] ||
	{ echo "the mirror differs from its input" >&2; exit 1; }

# the incremental aggregate, kept by its own insert.sql, update.sql and
# delete.sql, against a fresh GROUP BY on the shop
group="SELECT customer_id, count(*) AS orders, sum(amount) AS amount FROM orders GROUP BY customer_id ORDER BY customer_id"
totals="SELECT customer_id, orders, amount FROM customer_totals WHERE orders <> 0 ORDER BY customer_id"
for _ in $(seq 100); do
	[ "$(shop -tAc "$group")" = "$(warehouse -tAc "$totals")" ] && break
	sleep 0.1
done
echo "warehouse.customer_totals (its own insert.sql, update.sql, delete.sql), first rows:"
warehouse -c "$totals LIMIT 5"
[ "$(shop -tAc "$group")" = "$(warehouse -tAc "$totals")" ] ||
	{ echo "customer_totals differs from a GROUP BY on the shop" >&2; exit 1; }
echo "... equal, row for row, to the shop's $group"
# the enrichment: transform.sql joins each order with its customer on the shop
join="SELECT o.id, c.id, c.name, c.country, o.amount, o.status FROM orders o JOIN customers c ON c.id = o.customer_id ORDER BY o.id"
enriched="SELECT id, customer_id, customer_name, country, amount, status FROM orders_enriched ORDER BY id"
for _ in $(seq 100); do
	[ "$(shop -tAc "$join")" = "$(warehouse -tAc "$enriched")" ] && break
	sleep 0.1
done
echo "warehouse.orders_enriched (transform.sql: each order joined with its customer on the shop), first rows:"
warehouse -c "$enriched LIMIT 3"
[ "$(shop -tAc "$join")" = "$(warehouse -tAc "$enriched")" ] ||
	{ echo "orders_enriched differs from the join on the shop" >&2; exit 1; }
echo "... equal, row for row, to the join on the shop"
echo "warehouse.audit.orders_log (one row per change, by meta.lsn):"
warehouse -c "SELECT op, count(*) FROM audit.orders_log GROUP BY op ORDER BY op"
echo "warehouse.trucker.checkpoints (written in the same transaction as the rows):"
warehouse -c "SELECT pipeline, lsn, slot, updated_at FROM trucker.checkpoints"

kill -TERM "$trucker_pid"
wait "$trucker_pid"
trucker_pid=
echo "-- trucker stopped cleanly; its log:"
cat "$demo/trucker.log"

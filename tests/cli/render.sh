# trucker render prints exactly the statements and parameters each example pipeline would run.
. "$TRUCKER_SOURCE_DIR/tests/harness/lib.sh"

changes=$src/tests/fixtures/wal2json/demo-orders.jsonl
golden=$src/tests/fixtures/render

for p in orders_mirror customer_totals orders_audit; do
	expect_status 0 "$TRUCKER" render "$src/pipelines/$p" --change "$changes"
	expect_same "$work/out" "$golden/$p.out"
done

# the same changes from stdin
expect_status 0 "$TRUCKER" render "$src/pipelines/orders_mirror" --change - <"$changes"
expect_same "$work/out" "$golden/orders_mirror.out"

# transform.sql: the writes need the rows it would return; none means a
# delete by the old key
{
	"$TRUCKER" render "$src/pipelines/orders_enriched" --op insert \
		--new '{"id":1001,"customer_id":7,"amount":12345678901.25,"status":"new"}' \
		--transformed '{"id":1001,"customer_id":7,"customer_name":"Ada","country":"NO","amount":12345678901.25,"status":"new"}'
	"$TRUCKER" render "$src/pipelines/orders_enriched" --op delete --old '{"id":1001}' --transformed '[]'
	"$TRUCKER" render "$src/pipelines/orders_enriched" --op update \
		--new '{"id":1001,"customer_id":7,"amount":1,"status":"x"}' --old '{"id":1001}'
} >"$work/enriched" 2>&1
expect_same "$work/enriched" "$golden/orders_enriched.out"

# hostile values are parameters, never SQL text
expect_status 0 "$TRUCKER" render "$src/pipelines/orders_audit" --op insert \
	--new '{"id": 1, "status": "'"'"'); DROP TABLE orders; --", "amount": "{{ new.id }}"}'
expect_contains "$work/out" "VALUES (\$1, \$2, \$3, \$4,"
expect_contains "$work/out" "--   \$7  new.status = '''); DROP TABLE orders; --'"
expect_contains "$work/out" "--   \$8  new.amount = '{{ new.id }}'"
expect_lacks "$work/out" "DROP TABLE orders; --,"

# a typed row carries no primary key: --pk gives it, for the default mirror's key
expect_status 1 "$TRUCKER" render "$src/pipelines/orders_mirror" --op update --new '{"id":5,"note":"x"}' --old '{"id":4}'
expect_contains "$work/err" "no key for public.orders_mirror"
expect_contains "$work/err" "hint: a typed row has no primary key: pass --pk"
expect_status 0 "$TRUCKER" render "$src/pipelines/orders_mirror" --op update --new '{"id":5,"note":"x"}' --old '{"id":4}' --pk id
expect_contains "$work/out" 'UPDATE "public"."orders_mirror" SET "id" = $1, "note" = $2 WHERE "id" = $3;'
expect_contains "$work/out" "--   \$3  old.id = '4'"

# a template that needs a value the change does not carry says so
expect_status 1 "$TRUCKER" render "$src/pipelines/customer_totals" --op update \
	--new '{"id":1,"customer_id":7,"amount":2}' --old '{"id":1}'
expect_contains "$work/err" "customer_totals/update.sql:6:18: old.customer_id is not known: the replica identity of public.orders logs only its key; run ALTER TABLE public.orders REPLICA IDENTITY FULL"

# bad input: a malformed message names its line; wrong flags are usage errors
printf '%s\n' '{"action":"B","xid":1}' '{"action":"I","table":"orders","columns":[{"name":"id","value":1' >"$work/bad.jsonl"
expect_status 1 "$TRUCKER" render "$src/pipelines/orders_mirror" --change "$work/bad.jsonl"
expect_contains "$work/err" "bad.jsonl:2: error: line 1, column"
expect_status 2 "$TRUCKER" render "$src/pipelines/orders_mirror"
expect_status 2 "$TRUCKER" render "$src/pipelines/orders_mirror" --op insert
expect_status 2 "$TRUCKER" render "$src/pipelines/orders_mirror" --op update --new '{"id":1}'
expect_contains "$work/err" "--op update needs --old"
expect_status 2 "$TRUCKER" render "$src/pipelines/orders_mirror" --op upsert --new '{}'
expect_status 1 "$TRUCKER" render "$src/pipelines/no_such_pipeline" --op insert --new '{"id":1}'
expect_contains "$work/err" "no_such_pipeline: error: pipeline folder has no config.yml"
pass

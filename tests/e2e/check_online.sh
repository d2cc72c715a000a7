# trucker check --online against real databases: the examples pass, and each
# class of problem that only a database can reveal is reported at its position.
. "$TRUCKER_SOURCE_DIR/tests/harness/lib.sh"
. "$TRUCKER_PGTEST_DIR/env"

shop=shop_$$ warehouse=warehouse_$$
trap 'dropdb --if-exists "$shop"; dropdb --if-exists "$warehouse"; rm -rf "$work"' EXIT
createdb "$shop"
createdb "$warehouse"
psql -q -v ON_ERROR_STOP=1 -d "$shop" -f "$src/tests/fixtures/schema/source.sql"
psql -q -v ON_ERROR_STOP=1 -d "$warehouse" -f "$src/tests/fixtures/schema/warehouse.sql"

cp -r "$src/pipelines" "$work/p"
export SOURCE_HOST=$PGHOST SOURCE_PORT=$PGPORT SOURCE_DB=$shop SOURCE_USER=postgres
export WAREHOUSE_HOST=$PGHOST WAREHOUSE_PORT=$PGPORT WAREHOUSE_DB=$warehouse WAREHOUSE_USER=postgres

expect_status 0 "$TRUCKER" check --online "$work/p"
expect_contains "$work/out" "ok: 5 pipelines, 3 connections (checked online)"
expect_contains "$work/err" "p/orders_lake/config.yml:3:35: warning: output \"lake\" is a ducklake connection"

# a table without a primary key or REPLICA IDENTITY FULL loses updates and deletes
psql -q -d "$shop" -c "CREATE TABLE events (id int, body text)"
psql -q -d "$warehouse" -c "CREATE TABLE events (id int PRIMARY KEY, body text)"
mkdir "$work/p/events"
printf 'input:  {connection: source, table: events}\noutput: {connection: warehouse, table: events, key: [id]}\n' \
	>"$work/p/events/config.yml"
expect_status 1 "$TRUCKER" check --online "$work/p"
expect_contains "$work/err" "p/events/config.yml:1:37: error: input table public.events has no primary key and no REPLICA IDENTITY FULL"
# inserts only: nothing is lost, so no error
echo "operations: [insert]" >>"$work/p/events/config.yml"
expect_status 0 "$TRUCKER" check --online "$work/p"
rm -r "$work/p/events"

# old.<column> beyond the key needs REPLICA IDENTITY FULL
psql -q -d "$shop" -c "ALTER TABLE orders REPLICA IDENTITY DEFAULT"
expect_status 1 "$TRUCKER" check --online "$work/p"
expect_contains "$work/err" "p/customer_totals/delete.sql:3:26: error: old.amount will not be known: public.orders logs only its primary key as the old row"
psql -q -d "$shop" -c "ALTER TABLE orders REPLICA IDENTITY FULL"

# a misspelt column, with a suggestion from the real table
sed -i 's/{{ new.customer_id }}, 1/{{ new.custmer_id }}, 1/' "$work/p/customer_totals/insert.sql"
expect_status 1 "$TRUCKER" check --online "$work/p"
expect_contains "$work/err" "p/customer_totals/insert.sql:2:12: error: new.custmer_id: table public.orders has no column \"custmer_id\"; did you mean \"customer_id\"?"
cp "$src/pipelines/customer_totals/insert.sql" "$work/p/customer_totals/insert.sql"

# SQL that does not prepare on its database, positioned in the template
sed -i 's/INSERT INTO audit.orders_log/INSERT INTO audit.order_log/' "$work/p/orders_audit/insert.sql"
expect_status 1 "$TRUCKER" check --online "$work/p"
expect_contains "$work/err" "p/orders_audit/insert.sql:1:13: error: does not prepare on \"warehouse\": relation \"audit.order_log\" does not exist"
cp "$src/pipelines/orders_audit/insert.sql" "$work/p/orders_audit/insert.sql"

# transform.sql is prepared on the input, and its columns are checked against the output
psql -q -d "$warehouse" -c "ALTER TABLE orders_enriched DROP COLUMN country"
expect_status 1 "$TRUCKER" check --online "$work/p"
expect_contains "$work/err" "p/orders_enriched/config.yml:4:40: error: output table public.orders_enriched has no column \"country\", which the default mirror writes (it comes from transform.sql)"
psql -q -d "$warehouse" -c "ALTER TABLE orders_enriched ADD COLUMN country text"

# the mirror's upsert needs a unique index on the key
sed -i 's/table: public.orders_mirror}/table: public.orders_mirror, key: [customer_id]}/' "$work/p/orders_mirror/config.yml"
expect_status 1 "$TRUCKER" check --online "$work/p"
expect_contains "$work/err" "p/orders_mirror/config.yml:4:67: error: output table public.orders_mirror has no unique index on (customer_id)"
# ... and, without REPLICA IDENTITY FULL, the old row must carry that key
psql -q -d "$shop" -c "ALTER TABLE orders REPLICA IDENTITY DEFAULT"
expect_status 1 "$TRUCKER" check --online "$work/p"
expect_contains "$work/err" "p/orders_mirror/config.yml:4:67: error: key column \"customer_id\" is not logged in the old row of public.orders"
psql -q -d "$shop" -c "ALTER TABLE orders REPLICA IDENTITY FULL"
# a deferrable unique constraint cannot arbitrate ON CONFLICT
psql -q -d "$warehouse" -c "ALTER TABLE orders_mirror ADD CONSTRAINT by_customer UNIQUE (customer_id) DEFERRABLE"
expect_status 1 "$TRUCKER" check --online "$work/p"
expect_contains "$work/err" "has no unique index on (customer_id)"
psql -q -d "$warehouse" -c "ALTER TABLE orders_mirror DROP CONSTRAINT by_customer"
psql -q -d "$warehouse" -c "ALTER TABLE orders_mirror ADD CONSTRAINT by_customer UNIQUE (customer_id)"
expect_status 0 "$TRUCKER" check --online "$work/p"
psql -q -d "$warehouse" -c "ALTER TABLE orders_mirror DROP CONSTRAINT by_customer"
cp "$src/pipelines/orders_mirror/config.yml" "$work/p/orders_mirror/config.yml"

# missing tables
psql -q -d "$warehouse" -c "ALTER TABLE orders_mirror RENAME TO orders_copy"
expect_status 1 "$TRUCKER" check --online "$work/p"
expect_contains "$work/err" "p/orders_mirror/config.yml:4:40: error: output table public.orders_mirror does not exist on \"warehouse\""
psql -q -d "$warehouse" -c "ALTER TABLE orders_copy RENAME TO orders_mirror"

# a connection that cannot be made is reported at its entry in trucker.yml
WAREHOUSE_PORT=1 expect_status 1 "$TRUCKER" check --online "$work/p"
expect_contains "$work/err" "p/trucker.yml:15:5: error: could not connect to \"warehouse\""
expect_status 0 "$TRUCKER" check --online "$work/p"
pass

# Three errors in three files give three positioned lines, exit status 1, and nothing else.
. "$TRUCKER_SOURCE_DIR/tests/harness/lib.sh"

cp -r "$src/pipelines" "$work/p"
echo "on_error: stp" >>"$work/p/orders_mirror/config.yml"
sed -i 's/{{ new.customer_id }}, 1/{{ new.custmer_id }, 1/' "$work/p/customer_totals/insert.sql"
sed -i 's/connection: lake/connection: laek/' "$work/p/orders_lake/config.yml"
expect_status 1 "$TRUCKER" check "$work/p"
grep ': error: ' "$work/err" | sed "s|$work/||" >"$work/errors"
cat >"$work/want" <<'WANT'
p/customer_totals/insert.sql:2:27: error: unexpected "}" after the value; "{{ }}" holds one reference or literal
p/orders_lake/config.yml:3:22: error: unknown connection "laek"; did you mean "lake"?
p/orders_mirror/config.yml:5:11: error: on_error must be stop or dead_letter, not "stp"; did you mean "stop"?
WANT
expect_same "$work/errors" "$work/want"
expect_contains "$work/err" "3 errors"

# an empty folder, and a folder with no pipelines at all
mkdir "$work/p/scratch"
expect_status 1 "$TRUCKER" check "$work/p"
expect_contains "$work/err" "p/scratch: error: empty pipeline folder: add a config.yml, or remove the folder"
mkdir "$work/none"
cp "$src/pipelines/trucker.yml" "$work/none/"
expect_status 1 "$TRUCKER" check "$work/none"
expect_contains "$work/err" "error: no pipelines: each pipeline is a subfolder holding a config.yml"

# chains are allowed, cycles are not: source.orders → source.orders_copy is a
# chain; a second pipeline writing orders_copy back into orders closes a cycle
mkdir -p "$work/g/copy" "$work/g/back" "$work/g/next"
cp "$src/pipelines/trucker.yml" "$work/g/"
printf 'input:  {connection: source, table: public.orders}\noutput: {connection: source, table: public.orders_copy}\n' >"$work/g/copy/config.yml"
printf 'input:  {connection: source, table: public.orders_copy}\noutput: {connection: warehouse, table: public.orders_copy}\n' >"$work/g/next/config.yml"
printf 'input:  {connection: source, table: public.orders_copy}\noutput: {connection: source, table: public.orders}\n' >"$work/g/back/config.yml"
expect_status 1 "$TRUCKER" check "$work/g"
expect_contains "$work/err" "g/back/config.yml:2:37: error: pipelines back → copy → back form a cycle"
rm -r "$work/g/back"
expect_status 0 "$TRUCKER" check "$work/g"
# a pipeline into its own input table, and trucker's own schema
printf 'input:  {connection: source, table: public.orders}\noutput: {connection: source, table: public.orders}\n' >"$work/g/copy/config.yml"
printf 'input:  {connection: source, table: trucker.checkpoints}\noutput: {connection: warehouse, table: public.orders_copy}\n' >"$work/g/next/config.yml"
expect_status 1 "$TRUCKER" check "$work/g"
expect_contains "$work/err" "input table trucker.checkpoints is one of trucker's own"
printf 'input:  {connection: source, table: public.x}\noutput: {connection: warehouse, table: public.orders_copy}\n' >"$work/g/next/config.yml"
expect_status 1 "$TRUCKER" check "$work/g"
expect_contains "$work/err" "pipelines copy → copy form a cycle"

# usage errors are exit status 2
expect_status 2 "$TRUCKER" check
expect_status 2 "$TRUCKER" check --bogus "$work/p"
pass

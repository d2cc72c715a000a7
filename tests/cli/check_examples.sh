# The example pipelines check clean, offline, through every way of naming trucker.yml.
. "$TRUCKER_SOURCE_DIR/tests/harness/lib.sh"

expect_status 0 "$TRUCKER" check "$src/pipelines"
expect_contains "$work/out" "ok: 5 pipelines, 3 connections"

# -c and TRUCKER_CONFIG name the connections file
cp -r "$src/pipelines" "$work/p"
mv "$work/p/trucker.yml" "$work/conns.yml"
expect_status 1 "$TRUCKER" check "$work/p"
expect_contains "$work/err" "trucker.yml: error: could not read connections file: No such file or directory"
expect_status 0 "$TRUCKER" check -c "$work/conns.yml" "$work/p"
TRUCKER_CONFIG="$work/conns.yml" expect_status 0 "$TRUCKER" check "$work/p"
# -c wins over TRUCKER_CONFIG
TRUCKER_CONFIG=/nonexistent.yml expect_status 0 "$TRUCKER" check -c "$work/conns.yml" "$work/p"

# trucker.yml.example is valid: its only errors are the secret files it names
mkdir -p "$work/ex/p"
cp "$src/trucker.yml.example" "$work/ex/trucker.yml"
printf 'input: {connection: shop, table: orders}\noutput: {connection: warehouse, table: o}\n' \
	>"$work/ex/p/config.yml"
expect_status 1 "$TRUCKER" check "$work/ex"
grep ': error: ' "$work/err" | grep -v 'could not read' >"$work/other" || true
expect_same "$work/other" /dev/null
expect_contains "$work/err" 'trucker.yml:19:16: error: could not read "/run/secrets/shop_pass" for pass_path'
pass

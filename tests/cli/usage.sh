# --help, version, unknown commands, and run's checks before it connects.
. "$TRUCKER_SOURCE_DIR/tests/harness/lib.sh"

expect_status 0 "$TRUCKER" --help
expect_contains "$work/out" "Usage: trucker COMMAND"
for cmd in run check render; do
	expect_status 0 "$TRUCKER" "$cmd" --help
	expect_contains "$work/out" "Usage: trucker $cmd"
	expect_status 0 "$TRUCKER" help "$cmd"
	expect_contains "$work/out" "Usage: trucker $cmd"
done
expect_status 0 "$TRUCKER" version
expect_contains "$work/out" "trucker 0."
expect_status 0 "$TRUCKER" --version
expect_status 2 "$TRUCKER"
expect_status 2 "$TRUCKER" frobnicate
expect_contains "$work/err" "unknown command \"frobnicate\""

# run checks the folder before it connects anywhere, and its flags
mkdir "$work/empty"
expect_status 1 "$TRUCKER" run "$work/empty"
expect_contains "$work/err" "could not read connections file"
expect_status 2 "$TRUCKER" run --log-format xml "$src/pipelines"
expect_contains "$work/err" "unknown log format \"xml\""
expect_status 2 "$TRUCKER" run --log-level loud "$src/pipelines"
expect_status 2 "$TRUCKER" run --shutdown-timeout soon "$src/pipelines"
expect_status 2 "$TRUCKER" run
pass

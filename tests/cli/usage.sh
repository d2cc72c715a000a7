# --help, version, unknown commands, and run's honest refusal to stream.
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

# run checks the folder first; this version then says it cannot stream yet
expect_status 1 "$TRUCKER" run "$src/pipelines"
expect_contains "$work/err" "streaming is not part of this version yet"
mkdir "$work/empty"
expect_status 1 "$TRUCKER" run "$work/empty"
expect_contains "$work/err" "could not read connections file"
pass

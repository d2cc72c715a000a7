# docs/configuration.md lists every configuration key exactly as the code declares it.
. "$TRUCKER_SOURCE_DIR/tests/harness/lib.sh"

expect_status 0 "$TRUCKER" check --keys
grep '^| `' "$work/out" >"$work/rows"
[ -s "$work/rows" ] || fail "check --keys printed no rows"
while IFS= read -r row; do
	expect_contains "$src/docs/configuration.md" "$row"
done <"$work/rows"
pass

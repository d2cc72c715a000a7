# lib.sh — assertions for the shell tests (sourced, not run).
#
#   expect_status N CMD…       run CMD, fail unless it exits with N
#   expect_contains FILE TEXT  fail unless FILE holds TEXT (fixed string)
#   expect_lacks FILE TEXT     fail if FILE holds TEXT
#   expect_same FILE WANTFILE  fail unless the two files are equal
#
# Every test ends with "pass", which prints the number of assertions; a test
# that checked nothing fails.
set -euo pipefail

: "${TRUCKER:?TRUCKER must point at the trucker binary}"
: "${TRUCKER_SOURCE_DIR:?}"
src=$TRUCKER_SOURCE_DIR
checks=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

expect_status() {
	local want=$1 got=0
	shift
	"$@" >"$work/out" 2>"$work/err" || got=$?
	checks=$((checks + 1))
	if [ "$got" -ne "$want" ]; then
		echo "--- stdout:" >&2; cat "$work/out" >&2
		echo "--- stderr:" >&2; cat "$work/err" >&2
		fail "$* exited with $got, want $want"
	fi
}

expect_contains() {
	checks=$((checks + 1))
	grep -qF -- "$2" "$1" || { echo "--- $1:" >&2; cat "$1" >&2; fail "$1 lacks: $2"; }
}

expect_lacks() {
	checks=$((checks + 1))
	if grep -qF -- "$2" "$1"; then echo "--- $1:" >&2; cat "$1" >&2; fail "$1 holds: $2"; fi
}

expect_same() {
	checks=$((checks + 1))
	diff -u "$2" "$1" >&2 || fail "$1 differs from $2"
}

pass() {
	[ "$checks" -gt 0 ] || fail "the test checked nothing"
	echo "ok: $checks checks"
}

#!/usr/bin/env bash
# test.sh — set up everything and run every test:
#
#   1. scripts/setup.sh: Debian packages, DuckDB, the release build (build/)
#   2. the full suite on build/: unit tests, CLI tests, end-to-end tests
#      against a throwaway PostgreSQL, the DuckDB smoke test
#   3. a clang build with AddressSanitizer + UndefinedBehaviorSanitizer
#      (build-asan/): the unit tests again, and each fuzz target for
#      TRUCKER_FUZZ_SECONDS (default 60)
#
# Ends with one line "N passed, M failed" over all of it; exits non-zero if
# anything failed.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

SKIP_SMOKE=1 bash scripts/setup.sh || exit 1  # ctest runs the DuckDB smoke test

fuzz_seconds=${TRUCKER_FUZZ_SECONDS:-60}
jobs=$(nproc 2>/dev/null || echo 2)
passed=0 failed=0 status=0

# run_ctest DIR ARGS… — run ctest, add its counts to the totals
run_ctest() {
	local dir=$1 log
	shift
	log=$(mktemp)
	ctest --test-dir "$dir" --output-on-failure "$@" 2>&1 | tee "$log"
	[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
	# "100% tests passed, 0 tests failed out of 12"
	local line total bad
	line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1)
	if [ -z "$line" ]; then
		echo "test.sh: ctest in $dir printed no summary" >&2
		status=1
	else
		bad=$(sed -E 's/.* ([0-9]+) tests? failed out of.*/\1/' <<<"$line")
		total=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$line")
		passed=$((passed + total - bad))
		failed=$((failed + bad))
	fi
	rm -f "$log"
}

echo "== release build: unit, cli, end-to-end and DuckDB tests"
run_ctest build -j "$jobs"

echo "== sanitizer build (ASan + UBSan): unit tests and ${fuzz_seconds}s per fuzz target"
# the sanitizer build must be clang's (libFuzzer); start over if it is not
if [ -f build-asan/CMakeCache.txt ] && ! grep -q '^CMAKE_C_COMPILER:.*clang' build-asan/CMakeCache.txt; then
	rm -rf build-asan
fi
if cmake -S . -B build-asan -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
	-DTRUCKER_SANITIZE=ON -DTRUCKER_FUZZ=ON -DTRUCKER_FUZZ_SECONDS="$fuzz_seconds" >/dev/null &&
	cmake --build build-asan; then
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		run_ctest build-asan -j "$jobs" -L 'unit|fuzz'
else
	echo "test.sh: the sanitizer build failed" >&2
	status=1
	failed=$((failed + 1))
fi

echo
echo "total: $passed passed, $failed failed"
exit $status

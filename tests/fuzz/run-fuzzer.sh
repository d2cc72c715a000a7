#!/usr/bin/env bash
# run-fuzzer.sh BIN CORPUS SECONDS FINDINGS — run one libFuzzer target for a
# fixed time from its committed seed corpus.  New inputs go to a scratch copy,
# so the committed corpus never changes; a crash, leak or timeout is saved
# under FINDINGS and fails the run.
set -euo pipefail
bin=$1 corpus=$2 seconds=$3 findings=$4
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$findings"
"$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	-artifact_prefix="$findings/" "$scratch" "$corpus" 2>&1 | tail -n 25
exit "${PIPESTATUS[0]}"

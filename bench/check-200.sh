#!/usr/bin/env bash
# check-200.sh — how fast `trucker check` is on a folder of 200 pipelines.
#
#   bench/check-200.sh [TRUCKER] [RUNS]
#
# Generates 200 pipelines (a quarter each: default mirror, transform.sql,
# custom insert/update/delete with {% if %}, audit with meta.*), then times
# RUNS runs of `trucker check` (best and median wall time).  Beside it, in
# the same run, the floor any checker pays: reading every file once (cat).
# The target is a check under 0.5 s.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
trucker=${1:-$root/build/trucker}
runs=${2:-21}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

cp "$root/pipelines/trucker.yml" "$dir/"
for i in $(seq 1 200); do
	p=$dir/p$(printf %03d "$i")
	mkdir "$p"
	case $((i % 4)) in
	0) printf 'input:  {connection: source, table: public.t%d}\noutput: {connection: warehouse, table: public.t%d, key: [id]}\n' "$i" "$i" >"$p/config.yml" ;;
	1) cp "$root/pipelines/orders_enriched/"* "$p/" ;;
	2) cp "$root/pipelines/customer_totals/"* "$p/" ;;
	3) cp "$root/pipelines/orders_audit/"* "$p/" ;;
	esac
done

# time_ms CMD… — wall time of one run in milliseconds
time_ms() {
	local t0 t1
	t0=$(date +%s%N)
	"$@" >/dev/null 2>&1
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000))
}

stats() { # reads microseconds, prints "best median" in ms with 1 decimal
	sort -n | awk '{a[NR]=$1} END {printf "%.1f %.1f", a[1]/1000, a[int((NR+1)/2)]/1000}'
}

"$trucker" check "$dir" >/dev/null # must be clean, and warms the page cache
check=$(for _ in $(seq "$runs"); do time_ms "$trucker" check "$dir"; done | stats)
files=$(find "$dir" -type f | wc -l)
catfloor=$(for _ in $(seq "$runs"); do time_ms sh -c "find '$dir' -type f -exec cat {} + >/dev/null"; done | stats)

read -r best median <<<"$check"
read -r cbest cmedian <<<"$catfloor"
echo "trucker check, 200 pipelines ($files files), $runs runs"
printf '  trucker check         best %6.1f ms   median %6.1f ms\n' "$best" "$median"
printf '  reference: read all   best %6.1f ms   median %6.1f ms\n' "$cbest" "$cmedian"
awk -v m="$median" -v c="$cmedian" 'BEGIN {
	printf "  check / read-all (median)      %.1fx\n", m / c
	printf "  check / 500 ms target (median) %.3f  (%s)\n", m / 500, (m < 500 ? "met" : "NOT met")
}'

#!/usr/bin/env bash
# backfill.sh — how fast `trucker run` backfills a new default-mirror
# pipeline, against a COPY piped between the same clusters, in the same run.
#
#   bench/backfill.sh [--quick] [--rounds N] [--rows N] [--workers LIST]
#                     [--trucker PATH] [--ports SRC,DST] [--keep]
#
# Starts two throwaway PostgreSQL 15 clusters (tests/harness/pg.sh) in a temp
# folder removed at exit.  The source holds `bench` (as in bench/stream.sh),
# 5,000,000 rows.  Each round, in turn (the order rotating):
#   copy      psql -c "COPY bench TO STDOUT" | psql -c "COPY bench FROM STDIN"
#             into an empty table (the reference)
#   trucker   `trucker run` on a pipelines folder with one default mirror of
#             `bench` and no checkpoint: from its launch until its log says
#             "backfill done" (slot creation included), once for each
#             number of copy workers in --workers (default 1,2,4: how the
#             parallel copy scales)
# Both read the source over TCP on 127.0.0.1 and write the destination over
# its Unix socket.  --quick: 10x fewer rows, a smoke run.  Only one run at a
# time: it waits for /tmp/trucker-bench.lock, shared with the other benches.
# Benchmarks report, a person reads: nothing here is a timed assertion.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
trucker=$root/build/trucker
quick=0 keep=0 rounds=3 rows=5000000 workers=1,2,4
ports=55442,55443
command_line="bench/backfill.sh${*:+ $*}"

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
	case $1 in
	--quick) quick=1 ;;
	--rounds) rounds=$2; shift ;;
	--rows) rows=$2; shift ;;
	--workers) workers=$2; shift ;;
	--trucker) trucker=$2; shift ;;
	--ports) ports=$2; shift ;;
	--keep) keep=1 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
	shift
done
[ -x "$trucker" ] || { echo "no trucker at $trucker (build first: scripts/setup.sh)" >&2; exit 1; }
psrc=${ports%,*} pdst=${ports#*,}
[ "$quick" = 1 ] && rows=$((rows / 10))

. "$root/bench/lib.sh"
bench_start backfill

ddl="create table bench (id bigint primary key, k int not null, v text not null, n numeric(16,2) not null, ts timestamptz not null)"
sq postgres -c "create database bench"
sq bench -c "$ddl"
note "loading $rows rows"
sq bench -c "insert into bench select g, g % 1000, md5(g::text), (g * 1.25)::numeric(16,2),
	timestamptz '2026-01-01 00:00:00+00' + g * interval '1 second' from generate_series(1, $rows) g" \
	-c "vacuum analyze bench"
size=$(sq bench -c "select pg_size_pretty(pg_table_size('bench'))")

# fresh DB — an empty destination database with the table
fresh() {
	dq postgres -c "drop database if exists $1 with (force)" -c "create database $1"
	dq "$1" -c "$ddl"
}

# run_copy — seconds for the piped COPY
run_copy() {
	local t0
	fresh d_copy
	t0=$(now)
	sq bench -c "copy bench to stdout" | dq d_copy -c "copy bench from stdin"
	secs "$t0" "$(now)"
	[ "$(dq d_copy -c "select count(*) from bench")" = "$rows" ] || echo " (WRONG COUNT)"
}

# run_trucker ROUND WORKERS — seconds from launch to "backfill done", or FAILED
run_trucker() {
	local d=$tmp/t$1-$2 t0
	fresh d_trucker
	sq bench -c "select pg_drop_replication_slot(slot_name) from pg_replication_slots" >/dev/null
	mkdir -p "$d/p/m"
	cat >"$d/trucker.yml" <<YML
connections:
  - name: src
    adapter: postgres
    host: 127.0.0.1
    port: $psrc
    database: bench
    user: postgres
    slot: s_backfill
  - name: dst
    adapter: postgres
    host: $dstdir
    port: $pdst
    database: d_trucker
    user: postgres
YML
	printf 'input:  {connection: src, table: public.bench}\noutput: {connection: dst, table: public.bench}\nbackfill: {workers: %s}\n' "$2" >"$d/p/m/config.yml"
	t0=$(now)
	"$trucker" run --control "$d/ctl.sock" -c "$d/trucker.yml" "$d/p" 2>"$d/log" &
	trk_pid=$!
	until grep -q 'msg="backfill done"' "$d/log"; do
		if ! kill -0 "$trk_pid" 2>/dev/null; then
			echo FAILED
			tail -n 5 "$d/log" >&2
			trk_pid=
			return
		fi
		sleep 0.02
	done
	secs "$t0" "$(now)"
	kill -TERM "$trk_pid"
	wait "$trk_pid" || true
	trk_pid=
	[ "$(dq d_trucker -c "select count(*) from bench")" = "$rows" ] || echo " (WRONG COUNT)"
	grep -o 'msg="backfill done".*' "$d/log" >"$tmp/last-done-$2"
}

declare -A res
IFS=, read -r -a counts <<<"$workers"
kinds=(copy)
for w in "${counts[@]}"; do kinds+=("w$w"); done
nk=${#kinds[@]}
for ((r = 1; r <= rounds; r++)); do
	for ((i = 0; i < nk; i++)); do
		k=${kinds[$(((i + r - 1) % nk))]}
		note "round $r: $k"
		if [ "$k" = copy ]; then res[copy,$r]=$(run_copy); else res[$k,$r]=$(run_trucker "$r" "${k#w}"); fi
	done
done

# best and median over the rounds
stats() {
	local k=$1 v=() r
	for ((r = 1; r <= rounds; r++)); do v+=("${res[$k,$r]}"); done
	printf '%s\n' "${v[@]}" | sort -n | awk '{ a[NR] = $1 } END { printf "%s %s\n", a[1], a[int((NR + 1) / 2)] }'
}
read -r cb cm < <(stats copy)
echo "Backfill of $rows rows ($size), $rounds round(s), the order rotating"
printf '  %-44s %8s %10s %12s %14s\n' "" "best s" "median s" "rows/s (best)" "vs the pipe"
printf '  %-44s %8s %10s %12.0f\n' "psql COPY TO STDOUT | psql COPY FROM STDIN" "$cb" "$cm" "$(awk -v n="$rows" -v s="$cb" 'BEGIN { print n / s }')"
for w in "${counts[@]}"; do
	read -r tb tm < <(stats "w$w")
	printf '  %-44s %8s %10s %12.0f %6.2fx %.2fx\n' "trucker, backfill.workers: $w" "$tb" "$tm" \
		"$(awk -v n="$rows" -v s="$tb" 'BEGIN { print n / s }')" \
		"$(awk -v a="$cb" -v b="$tb" 'BEGIN { print a / b }')" "$(awk -v a="$cm" -v b="$tm" 'BEGIN { print a / b }')"
done
echo "  (vs the pipe: the pipe's time over trucker's, at the best rounds, then at the medians)"
for k in "${kinds[@]}"; do
	printf '  every round, %s:' "$k"; for ((r = 1; r <= rounds; r++)); do printf ' %s' "${res[$k,$r]}"; done; echo
done
for w in "${counts[@]}"; do
	printf '  trucker'"'"'s last log line, %s worker(s): %s\n' "$w" "$(cat "$tmp/last-done-$w" 2>/dev/null || echo '?')"
done

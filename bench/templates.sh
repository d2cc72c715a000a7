#!/usr/bin/env bash
# templates.sh — how fast `trucker run` streams pipelines with SQL templates,
# against native logical replication and the default mirror, measured in the
# same run on the same backlog.
#
#   bench/templates.sh [--quick] [--rounds N] [--trucker PATH] [--ports SRC,DST]
#                      [--timeout SECS] [--keep]
#
# Starts two throwaway PostgreSQL 15 clusters (tests/harness/pg.sh) in a temp
# folder removed at exit.  The source holds `bench` (as in bench/stream.sh)
# and `lookup`, 1,000 rows keyed by bench.k.  Every consumer gets its own
# slot, created before the load; the load is 1,000,000 inserts in 1,000-row
# transactions; then each consumer in turn drains the whole backlog and the
# clock stops when its output holds every change:
#   native      publication + subscription of `bench` (the reference)
#   mirror      trucker, default mirror of `bench`
#   transform   trucker, transform.sql joining each row with `lookup` on the
#               source, the transformed rows mirrored
#   aggregate   trucker, insert.sql keeping count and sum(n) per k (an upsert
#               of an incremental aggregate)
# Every consumer reads the source over TCP on 127.0.0.1.  --quick: 10x
# smaller, a smoke run.  --rounds N repeats the drains on fresh slots,
# rotating the order, and reports the best and the median.  Only one run at
# a time: it waits for /tmp/trucker-bench.lock, shared with bench/stream.sh.
# Benchmarks report, a person reads: nothing here is a timed assertion.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
trucker=$root/build/trucker
quick=0 keep=0 rounds=1 timeout=900
ports=55442,55443
command_line="bench/templates.sh${*:+ $*}"

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
	case $1 in
	--quick) quick=1 ;;
	--rounds) rounds=$2; shift ;;
	--trucker) trucker=$2; shift ;;
	--ports) ports=$2; shift ;;
	--timeout) timeout=$2; shift ;;
	--keep) keep=1 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
	shift
done
[ -x "$trucker" ] || { echo "no trucker at $trucker (build first: scripts/setup.sh)" >&2; exit 1; }
psrc=${ports%,*} pdst=${ports#*,}
rows=1000000 txn=1000
[ "$quick" = 1 ] && rows=100000

. "$root/bench/lib.sh"
bench_start templates "$(printf 'logical_decoding_work_mem = 64MB\nmax_logical_replication_workers = 4\nmax_worker_processes = 16')"

ddl="create table bench (id bigint primary key, k int not null, v text not null, n numeric(16,2) not null, ts timestamptz not null)"
sq postgres -c "create database bench"
sq bench -c "$ddl" -c "create table lookup (k int primary key, name text not null, region text not null)" \
	-c "insert into lookup select g, 'name ' || g, 'region ' || (g % 7) from generate_series(0, 999) g" \
	-c "create publication p_bench for table bench"

# trucker_dir NAME SLOT — a pipelines folder with one pipeline of that kind
trucker_dir() {
	local d=$tmp/$1
	mkdir -p "$d/p"
	cat >"$d/trucker.yml" <<YML
connections:
  - name: src
    adapter: postgres
    host: 127.0.0.1
    port: $psrc
    database: bench
    user: postgres
    slot: $2
  - name: dst
    adapter: postgres
    host: $dstdir
    port: $pdst
    database: d_$1
    user: postgres
YML
	case $1 in
	mirror) printf 'input:  {connection: src, table: public.bench}\noutput: {connection: dst, table: public.bench}\n' >"$d/p/config.yml" ;;
	transform)
		printf 'input:  {connection: src, table: public.bench}\noutput: {connection: dst, table: public.enriched, key: [id]}\n' >"$d/p/config.yml"
		cat >"$d/p/transform.sql" <<'SQL'
SELECT {{ new.id }}::bigint AS id, l.k, l.name, l.region, {{ new.n }}::numeric AS n
FROM lookup l WHERE l.k = {{ new.k }}
SQL
		;;
	aggregate)
		printf 'input:  {connection: src, table: public.bench}\noutput: {connection: dst, table: public.totals, key: [k]}\noperations: [insert]\n' >"$d/p/config.yml"
		cat >"$d/p/insert.sql" <<'SQL'
INSERT INTO totals AS t (k, changes, n) VALUES ({{ new.k }}, 1, {{ new.n }})
ON CONFLICT (k) DO UPDATE SET changes = t.changes + 1, n = t.n + EXCLUDED.n
SQL
		;;
	esac
}

# fresh_round — destination databases and slots for every consumer
fresh_round() {
	local c
	for c in native mirror transform aggregate; do
		dq postgres -c "drop database if exists d_$c with (force)" -c "create database d_$c"
	done
	dq d_native -c "$ddl"
	dq d_mirror -c "$ddl"
	dq d_transform -c "create table enriched (id bigint primary key, k int, name text, region text, n numeric(16,2))"
	dq d_aggregate -c "create table totals (k int primary key, changes bigint not null, n numeric not null)"
	sq bench -c "select pg_drop_replication_slot(slot_name) from pg_replication_slots" >/dev/null
	sq bench -c "truncate bench"	# before the slots: no consumer sees it
	sq bench -c "select pg_create_logical_replication_slot('s_native', 'pgoutput')" >/dev/null
	dq d_native -c "create subscription s_bench connection 'host=127.0.0.1 port=$psrc dbname=bench user=postgres'
		publication p_bench with (create_slot = false, slot_name = 's_native', copy_data = false, enabled = false)"
	for c in mirror transform aggregate; do
		sq bench -c "select pg_create_logical_replication_slot('s_$c', 'wal2json')" >/dev/null
		trucker_dir "$c" "s_$c"
	done
	note "loading $rows inserts in $txn-row transactions"
	for ((i = 0; i < rows; i += txn)); do
		echo "insert into bench select g, g % 1000, md5(g::text), (g * 1.25)::numeric(16,2), timestamptz '2026-01-01 00:00:00+00' + g * interval '1 second' from generate_series($((i + 1)), $((i + txn))) g;"
	done | sq bench
}

# done_sql CONSUMER — true once the consumer's output holds every change
done_sql() {
	case $1 in
	native | mirror) echo "select count(*) = $rows from bench" ;;
	transform) echo "select count(*) = $rows from enriched" ;;
	aggregate) echo "select coalesce(sum(changes), 0) = $rows from totals" ;;
	esac
}

# ticks PID — CPU time of a process so far, in clock ticks
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
# cpu_of CONSUMER — µs of CPU per change of each process on its path; they
# all start with the drain, so their CPU so far is the drain's
cpu_of() {
	local c=$1 hz out=() pid name
	hz=$(getconf CLK_TCK)
	if [ "$c" = native ]; then
		out+=("walsender:$(sq bench -c "select active_pid from pg_replication_slots where slot_name = 's_native'")")
		out+=("apply-worker:$(dq d_native -c "select pid from pg_stat_subscription where subname = 's_bench' and relid is null")")
	else
		out+=("walsender:$(sq bench -c "select active_pid from pg_replication_slots where slot_name = 's_$c'")")
		out+=("trucker:$trk_pid")
		[ "$c" != transform ] || out+=("transform-backend:$(sq bench -c "select pid from pg_stat_activity where application_name = 'trucker' and backend_type = 'client backend' and pid <> pg_backend_pid() limit 1")")
		out+=("output-backend:$(dq "d_$c" -c "select pid from pg_stat_activity where datname = 'd_$c' and application_name = 'trucker' limit 1")")
	fi
	for pid in "${out[@]}"; do
		name=${pid%%:*} pid=${pid#*:}
		printf '%s %s ' "$name" "$(awk -v t="$(ticks "$pid")" -v hz="$hz" -v n="$rows" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }')"
	done
}

# drain CONSUMER — seconds to drain the backlog, or FAILED
drain() {
	local c=$1 t0 deadline
	t0=$(now)
	deadline=$(($(date +%s) + timeout))
	if [ "$c" = native ]; then
		dq d_native -c "alter subscription s_bench enable"
	else
		"$trucker" run --control "$tmp/$c/ctl.sock" -c "$tmp/$c/trucker.yml" "$tmp/$c" 2>>"$tmp/$c.log" &
		trk_pid=$!
	fi
	until [ "$(dq "d_$c" -c "$(done_sql "$c")")" = t ]; do
		if [ "$(date +%s)" -ge "$deadline" ] || { [ "$c" != native ] && ! kill -0 "$trk_pid" 2>/dev/null; }; then
			echo FAILED
			[ "$c" = native ] || { tail -n 5 "$tmp/$c.log" >&2; kill -KILL "$trk_pid" 2>/dev/null; wait "$trk_pid" 2>/dev/null; trk_pid=; }
			return
		fi
		sleep 0.05
	done
	secs "$t0" "$(now)"
	cpu_of "$c" >"$tmp/$c.cpu"
	if [ "$c" = native ]; then
		dq d_native -c "alter subscription s_bench disable"
	else
		kill -TERM "$trk_pid"
		wait "$trk_pid" || true
		trk_pid=
	fi
}

declare -A res
consumers=(native mirror transform aggregate)
for ((r = 1; r <= rounds; r++)); do
	fresh_round
	n=${#consumers[@]}
	for ((i = 0; i < n; i++)); do
		c=${consumers[$(((i + r - 1) % n))]}
		note "round $r: $c"
		res[$c,$r]=$(drain "$c")
	done
	dq d_native -c "alter subscription s_bench disable" -c "alter subscription s_bench set (slot_name = none)" \
		-c "drop subscription s_bench" >/dev/null
done

label() {
	case $1 in
	native) echo "native logical replication" ;;
	mirror) echo "trucker: default mirror" ;;
	transform) echo "trucker: transform.sql (lookup join)" ;;
	aggregate) echo "trucker: insert.sql aggregate" ;;
	esac
}
echo "Backlog drain: $rows inserts in $txn-row transactions, $rounds round(s), the order rotating"
printf '  %-40s %10s %12s %12s\n' consumer "best s" "changes/s" "vs native"
best() { # CONSUMER — the smallest time over the rounds, or FAILED
	local r b=
	for ((r = 1; r <= rounds; r++)); do
		[ "${res[$1,$r]}" = FAILED ] && continue
		if [ -z "$b" ] || awk -v a="${res[$1,$r]}" -v b="$b" 'BEGIN { exit !(a < b) }'; then b=${res[$1,$r]}; fi
	done
	echo "${b:-FAILED}"
}
nat=$(best native)
for c in "${consumers[@]}"; do
	b=$(best "$c")
	if [ "$b" = FAILED ]; then
		printf '  %-40s %10s\n' "$(label "$c")" FAILED
		continue
	fi
	ratio=-
	[ "$nat" = FAILED ] || ratio=$(awk -v n="$nat" -v t="$b" 'BEGIN { printf "%.2fx", n / t }')
	printf '  %-40s %10s %12s %12s\n' "$(label "$c")" "$b" "$(rate "$rows" "$b")" "$ratio"
done
echo "  CPU per change, µs, by process (last round):"
for c in "${consumers[@]}"; do
	[ -s "$tmp/$c.cpu" ] && printf '    %-38s %s\n' "$(label "$c")" "$(cat "$tmp/$c.cpu")"
done
echo "  (every round: $(for c in "${consumers[@]}"; do printf '%s' "$c"; for ((r = 1; r <= rounds; r++)); do printf ' %s' "${res[$c,$r]}"; done; printf '; '; done))"
for c in mirror transform aggregate; do
	n=$(grep -cE 'level=(warn|error)' "$tmp/$c.log" 2>/dev/null || true)
	[ "${n:-0}" = 0 ] || { echo "  $c logged $n warn/error lines:"; grep -E 'level=(warn|error)' "$tmp/$c.log" | sed 's/^ts=[^ ]* //' | sort | uniq -c | sort -rn | head -n 5 | sed 's/^/    /'; }
done

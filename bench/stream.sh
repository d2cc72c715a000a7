#!/usr/bin/env bash
# stream.sh — how fast `trucker run` streams PostgreSQL → PostgreSQL, against
# the references a reader would compare it with, measured in the same run.
#
#   bench/stream.sh [--quick] [--skip-native] [--skip-recvlogical]
#                   [--skip-trucker] [--skip-latency] [--skip-memory]
#                   [--trucker PATH] [--ports SRC,DST] [--timeout SECS]
#                   [--rounds N] [--quiet PCT[,SECS]] [--log-level LEVEL] [--keep]
#                   [--source-via tcp|unix]
#
# Starts two throwaway PostgreSQL 15 clusters (tests/harness/pg.sh) in a temp
# folder removed at exit, a source and a destination, and measures:
#
#  1. Backlog drain.  Every consumer gets its own slot, created before the load
#     so that it holds the changes; the source is loaded first, then each
#     consumer in turn is started on the whole backlog and the clock stops
#     when its output equals the input.
#       phase 1: 1,000,000 inserts in 1,000-row transactions
#       phase 2: 500,000 updates, then 500,000 deletes, 1,000-row transactions
#     Consumers: native logical replication (publication + subscription, the
#     slot pre-created, copy_data = false), pg_recvlogical through wal2json
#     format 2 with trucker's options (add-tables too) into /dev/null
#     (--endpos = the WAL end after the load, so it exits on its own), and
#     `trucker run` with a default-mirror pipeline.  Done = the destination's max(id) shows the last
#     transaction applied (transactions are applied in commit order), then a
#     count + digest of every row is compared with the source.  At that
#     moment the CPU time of each process on the path (native: walsender and
#     apply worker; trucker: walsender, trucker and its output backend, all
#     started with the drain) is read from /proc and reported per change.
#  2. Latency: source commit → row in the output, at a steady 5,000
#     single-row transactions/s for 20 s (pgbench -R on the source).  The
#     source row carries clock_timestamp() at insert; the destination table has
#     an extra column `seen timestamptz default clock_timestamp()` that the
#     mirror does not write (when the row was written), and the destination
#     runs with track_commit_timestamp, so greatest(seen, commit timestamp) is
#     when the row became visible (native apply records the source's commit
#     time instead, so for native that is seen).  Both clusters share this
#     machine's clock.  Native replication is the reference.
#  3. Memory: trucker's peak RSS (VmHWM, read before stopping it) while
#     streaming one 5,000,000-row source transaction, against the 64 MB target;
#     the time native replication takes to drain the same transaction is the
#     reference for trucker's.
#
# Every consumer reads the source over TCP on 127.0.0.1, as it would from
# another machine (--source-via unix: the source's Unix socket instead, for
# all of them); trucker writes to the destination through its Unix socket.
# The transport matters: the walsender sends each change as its own message,
# and on a Unix socket each one costs the reader a kernel buffer and often a
# wake-up.
# --quick makes every size 10x smaller (latency: 5 s) for a smoke run.
# --rounds N repeats the backlog drain N times on fresh slots, rotating the
# order of the consumers, and reports the best and the median: the machine is
# shared, and interference only ever slows a consumer down.  Before every
# measurement the script waits (--quiet, default 10,180) until processes
# outside the benchmark use under 10% of the CPU over 3 s, for at most 180 s
# (--quiet 100 never waits); beside every measurement it prints the share
# they used meanwhile, and what the hypervisor stole.
# Only one run at a time: a second one waits for /tmp/trucker-bench.lock.
# Exits non-zero when a consumer did not converge.  Benchmarks report, a
# person reads: nothing here is a timed assertion.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
pgsh=$root/tests/harness/pg.sh
trucker=$root/build/trucker
quick=0 skip_native=0 skip_recv=0 skip_trucker=0 skip_latency=0 skip_memory=0 keep=0
ports=55432,55433
source_via=tcp
log_level=info
rounds=1
quiet=10,180
timeout=900
command_line="bench/stream.sh${*:+ $*}"

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
	case $1 in
	--quick) quick=1 ;;
	--skip-native) skip_native=1 ;;
	--skip-recvlogical) skip_recv=1 ;;
	--skip-trucker) skip_trucker=1 ;;
	--skip-latency) skip_latency=1 ;;
	--skip-memory) skip_memory=1 ;;
	--keep) keep=1 ;;
	--log-level) log_level=${2:?--log-level needs a level}; shift ;;
	--trucker) trucker=${2:?--trucker needs a path}; shift ;;
	--ports) ports=${2:?--ports needs SRC,DST}; shift ;;
	--rounds) rounds=${2:?--rounds needs a number}; shift ;;
	--quiet) quiet=${2:?--quiet needs PCT or PCT,SECS}; shift ;;
	--timeout) timeout=${2:?--timeout needs seconds}; shift ;;
	--source-via) source_via=${2:?--source-via needs tcp or unix}; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "stream.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done
psrc=${ports%,*} pdst=${ports#*,}

if [ "$quick" = 1 ]; then
	rows=100000 batch=1000 lat_rate=5000 lat_secs=5 mem_rows=500000
else
	rows=1000000 batch=1000 lat_rate=5000 lat_secs=20 mem_rows=5000000
fi
half=$((rows / 2))

if [ "$skip_trucker" = 0 ]; then
	if ! "$trucker" run --help 2>&1 | grep -q -- --log-format; then
		echo "stream.sh: $trucker cannot stream yet (run --help lacks --log-format); use --skip-trucker" >&2
		exit 2
	fi
fi
for p in "$psrc" "$pdst"; do
	if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
		echo "stream.sh: port $p is in use; pick others with --ports SRC,DST" >&2
		exit 2
	fi
done

# one benchmark at a time on this machine: wait for any other run of this script
lock=/tmp/trucker-bench.lock
exec {lockfd}>>"$lock"
if ! flock -n "$lockfd"; then
	echo "stream.sh: another benchmark holds $lock; waiting for it" >&2
	flock "$lockfd"
fi

tmp=$(mktemp -d /tmp/trucker-stream.XXXXXX)
chmod 711 "$tmp" # the clusters run as postgres when we are root
srcdir=$tmp/src dstdir=$tmp/dst
case $source_via in
tcp) srchost=127.0.0.1 ;;
unix) srchost=$srcdir ;;
*) echo "stream.sh: --source-via takes tcp or unix, not $source_via" >&2; exit 2 ;;
esac
trk_pid=
cleanup() {
	# a trucker of ours still running (our child: its pid cannot have been reused)
	if [ -n "$trk_pid" ] && [ "$(awk '{ sub(/^.*\) /, ""); print $2 }' "/proc/$trk_pid/stat" 2>/dev/null)" = "$$" ]; then
		kill -9 "$trk_pid" 2>/dev/null || true
	fi
	"$pgsh" destroy "$srcdir" >/dev/null 2>&1 || true
	"$pgsh" destroy "$dstdir" >/dev/null 2>&1 || true
	if [ "$keep" = 1 ]; then echo "kept: $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export PGTZ=UTC PGDATESTYLE=ISO PGAPPNAME=stream-bench
unset PGHOST PGPORT PGDATABASE PGSERVICE PGOPTIONS
bindir=${PG_BINDIR:-$(ls -d /usr/lib/postgresql/15/bin 2>/dev/null || dirname "$(command -v pg_ctl)")}
psql=$bindir/psql # not Debian's perl wrapper: it costs 40 ms a call
sq() { local db=$1; shift; "$psql" -X -A -t -q -v ON_ERROR_STOP=1 -h "$srcdir" -p "$psrc" -U postgres -d "$db" "$@"; }
dq() { local db=$1; shift; "$psql" -X -A -t -q -v ON_ERROR_STOP=1 -h "$dstdir" -p "$pdst" -U postgres -d "$db" "$@"; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }
commas() { # 1234567 -> 1,234,567
	awk -v n="$1" 'BEGIN { s = sprintf("%.0f", n); o = ""
		while (length(s) > 3) { o = "," substr(s, length(s) - 2) o; s = substr(s, 1, length(s) - 3) }
		print s o }'
}
note() { printf '  [%s] %s\n' "$(date +%T)" "$*" >&2; } # progress, on stderr
failures=()
fail_consumer() { failures+=("$1"); echo "  FAILED: $1"; }

# cpu_sample — "BUSY STEAL OURS TIME": in clock ticks, the whole machine's
# busy time (without steal), the time the hypervisor stole, and the time of
# this benchmark's processes (this script's tree and both clusters: live
# processes plus the children they reaped); then the time of day.  Busy minus
# ours is other people's builds and tests on this shared machine.
cpu_sample() {
	local pm1 pm2
	pm1=$(head -n1 "$srcdir/data/postmaster.pid" 2>/dev/null || true)
	pm2=$(head -n1 "$dstdir/data/postmaster.pid" 2>/dev/null || true)
	{ head -n1 /proc/stat; cat /proc/[0-9]*/stat 2>/dev/null; } | awk -v r="$$ $pm1 $pm2" '
		NR == 1 { busy = $2 + $3 + $4 + $7 + $8; steal = $9; next }
		{ pid = $1; sub(/^.*\) /, ""); ppid[pid] = $2; t[pid] = $12 + $13 + $14 + $15 }
		END {
			n = split(r, a, " "); for (i = 1; i <= n; i++) root[a[i]] = 1
			for (p in t) {
				q = p; d = 0
				while (!(q in root) && (q in ppid) && d < 64) { q = ppid[q]; d++ }
				if (q in root) ours += t[p]
			}
			printf "%d %d %d ", busy, steal, ours
		}'
	now
}
# proc_ticks PID… — CPU clock ticks (user + system) each process has used so far
proc_ticks() {
	local p
	for p in "$@"; do
		if [ -n "$p" ] && [ -r "/proc/$p/stat" ]; then
			sed 's/^.*) //' "/proc/$p/stat" | awk '{ printf "%d ", $12 + $13 }'
		else
			printf 'NA '
		fi
	done
}
# others_cpu SAMPLE0 SAMPLE1 — "O%/S%": other processes' share of the machine
# (all cores) between the two samples, and the hypervisor's steal
others_cpu() {
	awk -v a="$1" -v b="$2" -v n="$(nproc)" -v hz="$(getconf CLK_TCK)" 'BEGIN {
		split(a, x, " "); split(b, y, " "); s = (y[4] - x[4]) * hz * n
		o = (y[1] - x[1]) - (y[3] - x[3]); if (o < 0) o = 0
		printf "%.0f%%/%.0f%%", 100 * o / s, 100 * (y[2] - x[2]) / s }'
}

# wait_quiet — before a measurement: wait until other processes use less than
# quiet_pct of the machine over 3 s, for at most quiet_max seconds
quiet_pct=${quiet%%,*} quiet_max=${quiet#*,}
[ "$quiet_max" != "$quiet" ] || quiet_max=180
wait_quiet() {
	local a b o deadline=$(($(date +%s) + quiet_max))
	[ "$quiet_pct" -lt 100 ] || return 0
	while :; do
		a=$(cpu_sample); sleep 3; b=$(cpu_sample)
		o=$(others_cpu "$a" "$b"); o=${o%%%*}
		[ "$o" -ge "$quiet_pct" ] || return 0
		if [ "$(date +%s)" -ge "$deadline" ]; then
			note "other processes still use $o% of the CPU after $quiet_max s: measuring anyway"
			return 0
		fi
	done
}

# wait_until QUERYFN DB COND TIMEOUT [PID] — poll COND every 0.2 s on one
# connection; print the time it first held.  Returns 1 on timeout, 2 when PID
# died meanwhile, 3 when the polling connection broke.
wait_until() {
	local q=$1 db=$2 cond=$3 limit=$4 pid=${5:-} deadline r st=1 fifo pp pw pr line
	deadline=$(($(date +%s) + limit))
	fifo=$(mktemp -u "$tmp/poll.XXXXXX")
	mkfifo "$fifo.in" "$fifo.out"
	$q "$db" -v ON_ERROR_STOP=0 <"$fifo.in" >"$fifo.out" 2>&1 &
	pp=$!
	exec {pw}>"$fifo.in" {pr}<"$fifo.out"
	while :; do
		r=
		printf 'select (%s);\n\\echo __done\n' "$cond" >&"$pw" 2>/dev/null || { st=3; break; }
		while IFS= read -r -t 600 line <&"$pr"; do
			[ "$line" = __done ] && break
			[ -n "$r" ] || r=$line
		done
		if [ "$r" = t ]; then now; st=0; break; fi
		kill -0 "$pp" 2>/dev/null || { st=3; break; }
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then st=2; break; fi
		[ "$(date +%s)" -lt "$deadline" ] || { st=1; break; }
		sleep 0.2
	done
	exec {pw}>&- {pr}<&-
	wait "$pp" 2>/dev/null || true
	rm -f "$fifo.in" "$fifo.out"
	return "$st"
}

# digest: row count and an order-independent hash of every row of a table
digest_sql() { echo "select count(*) || ' ' || coalesce(sum(hashtextextended(row($2)::text, 0)::numeric), 0) from $1"; }

# ---------------------------------------------------------------- clusters
note "starting clusters in $tmp"
"$pgsh" start "$srcdir" "$psrc" >/dev/null
"$pgsh" start "$dstdir" "$pdst" >/dev/null
# autovacuum off: vacuuming the million rows one consumer just wrote would run
# during the next one's drain, and its workers are the clusters' own
# processes, which the quiet check does not count as others
both_settings="max_wal_size = '8GB'|checkpoint_timeout = '30min'|autovacuum = off"
# wal_retrieve_retry_interval: the launcher starts an apply worker at most once
# per interval (5 s by default), which would add up to 5 s to a native drain
dst_settings="max_worker_processes = 16|max_logical_replication_workers = 4|max_sync_workers_per_subscription = 2|track_commit_timestamp = on|wal_retrieve_retry_interval = '100ms'"
IFS='|' read -r -a s1 <<<"$both_settings"
IFS='|' read -r -a s2 <<<"$dst_settings"
for s in "${s1[@]}"; do
	sq postgres -c "alter system set ${s/ = / to }"
	dq postgres -c "alter system set ${s/ = / to }"
done
for s in "${s2[@]}"; do dq postgres -c "alter system set ${s/ = / to }"; done
"$pgsh" stop "$srcdir"; "$pgsh" start "$srcdir" "$psrc" >/dev/null
"$pgsh" stop "$dstdir"; "$pgsh" start "$dstdir" "$pdst" >/dev/null
pgver=$(sq postgres -c "select current_setting('server_version')")
showset() { $1 postgres -c "select string_agg(name || '=' || current_setting(name), ', ' order by name) from pg_settings where name in ($2)"; }
common=$(showset sq "'autovacuum','fsync','full_page_writes','synchronous_commit','shared_buffers','max_wal_size','checkpoint_timeout','wal_level','logical_decoding_work_mem'")
dstonly=$(showset dq "'max_worker_processes','max_logical_replication_workers','track_commit_timestamp','wal_retrieve_retry_interval'")

# ---------------------------------------------------------------- header
git_rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
git_dirty=$(git -C "$root" status --porcelain -- src include 2>/dev/null | wc -l)
echo "trucker streaming benchmark — $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "command: $command_line"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GB", $2/1048576}' /proc/meminfo), load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "         (shared machine: other builds/tests may run meanwhile; 'others/steal' = the share of all
          cores used by processes outside this benchmark / stolen by the hypervisor, per measurement)"
if [ "$quiet_pct" -lt 100 ]; then
	echo "         before each measurement: waits until other processes use < $quiet_pct% of the CPU over 3 s (at most $quiet_max s)"
fi
echo "PostgreSQL $pgver, source :$psrc, destination :$pdst, both on this machine"
echo "  every consumer reads the source over $([ "$source_via" = tcp ] && echo "TCP (127.0.0.1)" || echo "its Unix socket"); trucker writes the destination through its Unix socket"
echo "  both clusters: $common"
echo "  destination:   $dstonly"
echo "  fsync=off on both clusters: acceptable here because native and trucker get the same settings"
if [ "$skip_trucker" = 0 ]; then
	echo "trucker: ${trucker#"$root"/} (built $(date -u -r "$trucker" +%Y-%m-%dT%H:%M:%SZ); HEAD $git_rev, $git_dirty uncommitted files in src/ include/)"
	echo "  default mirror pipelines, default batch settings, --log-level $log_level"
fi
[ "$quick" = 1 ] && echo "QUICK run: sizes 10x smaller — a smoke test, not a result"
echo

# trucker_conf DIR SRCDB DSTDB SLOT TABLE — a folder with one default mirror
trucker_conf() {
	local d=$1
	mkdir -p "$d/mirror"
	cat >"$d/trucker.yml" <<YML
connections:
  - name: src
    adapter: postgres
    host: $srchost
    port: $psrc
    database: $2
    user: postgres
    slot: $4
  - name: dst
    adapter: postgres
    host: $dstdir
    port: $pdst
    database: $3
    user: postgres
YML
	printf 'input:  {connection: src, table: public.%s}\noutput: {connection: dst, table: public.%s}\n' "$5" "$5" >"$d/mirror/config.yml"
}

# trucker_start DIR LOG — start trucker run in the background; sets trk_pid
trucker_start() {
	"$trucker" run --log-format logfmt --log-level "$log_level" "$1" 2>>"$2" &
	trk_pid=$!
}
# trucker_ready LOG SECS FROM — wait for "streaming started" in LOG from byte FROM on
trucker_ready() {
	local log=$1 limit=$2 from=$3 i
	for ((i = 0; i < limit * 10; i++)); do
		if tail -c +"$from" "$log" | grep -q 'msg="streaming started"'; then return 0; fi
		kill -0 "$trk_pid" 2>/dev/null || return 2
		sleep 0.1
	done
	return 1
}
# trucker_stop — SIGTERM, wait up to 60 s; sets trk_rc to the exit status
# (called directly, not in $(…): only this shell can wait for trucker)
trk_rc=
trucker_stop() {
	local i
	trk_rc=0
	kill -TERM "$trk_pid" 2>/dev/null || true
	for ((i = 0; i < 600; i++)); do
		kill -0 "$trk_pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$trk_pid" 2>/dev/null; then
		echo "  trucker did not exit within 60 s of SIGTERM; killed (-9)"
		kill -9 "$trk_pid" 2>/dev/null || true
	fi
	wait "$trk_pid" 2>/dev/null || trk_rc=$?
	trk_pid=
}
hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
log_trouble() { # LOG — warn/error lines, counted by message, for the printout
	local n
	n=$(grep -cE 'level=(warn|error)' "$1" 2>/dev/null || true)
	if [ "${n:-0}" -gt 0 ]; then
		echo "  trucker logged $n warn/error lines:"
		grep -E 'level=(warn|error)' "$1" | sed 's/^ts=[^ ]* //' | sort | uniq -c | sort -rn | head -n 8 | sed 's/^ */    /'
	fi
}

# ================================================================ 1. backlog
# res[CONSUMER,PHASE,ROUND] = seconds; oth[…] = others/steal during it
declare -A res oth load_s cpu
bench_ddl="create table bench (id bigint primary key, k int not null, v text not null, n numeric(16,2) not null, ts timestamptz not null)"
bench_cols="id, k, v, n, ts"
consumer_name() {
	case $1 in
	native) echo "native logical replication" ;;
	recv) echo "pg_recvlogical (wal2json to /dev/null)" ;;
	trucker) echo "trucker run (default mirror)" ;;
	esac
}
consumers=()
[ "$skip_native" = 1 ] || consumers+=(native)
[ "$skip_recv" = 1 ] || consumers+=(recv)
[ "$skip_trucker" = 1 ] || consumers+=(trucker)

# drain_native PHASE ROUND WANT SRCDIGEST
drain_native() {
	local t0 t1 c0 got
	c0=$(cpu_sample); t0=$(now)
	dq b_native -c "alter subscription s_bench enable"
	if t1=$(wait_until dq b_native "$3" "$timeout"); then
		got=$(dq b_native -c "$(digest_sql bench "$bench_cols")")
		if [ "$got" != "$4" ]; then
			echo "  native: last transaction applied but the table differs from the source ($got vs $4); waiting"
			t1=$(wait_until dq b_native "($(digest_sql bench "$bench_cols")) = '$4'" "$timeout") || t1=
		fi
	fi
	if [ -n "$t1" ]; then
		res[native,$1,$2]=$(secs "$t0" "$t1")
		oth[native,$1,$2]=$(others_cpu "$c0" "$(cpu_sample)")
		# both processes start with the drain: their CPU so far is the drain's
		cpu[native,$1,$2]=$(proc_ticks "$(sq bench -c "select active_pid from pg_replication_slots where slot_name = 'bench_native'")" \
			"$(dq b_native -c "select pid from pg_stat_subscription where subname = 's_bench' and relid is null")")
	else
		fail_consumer "native replication, phase $1, round $2"
	fi
	dq b_native -c "alter subscription s_bench disable"
	wait_until sq bench "not exists (select from pg_replication_slots where slot_name = 'bench_native' and active)" 60 >/dev/null || true
}

# drain_recv PHASE ROUND ENDLSN
drain_recv() {
	local t0 t1 c0 rc=0
	c0=$(cpu_sample); t0=$(now)
	timeout "$timeout" "$bindir/pg_recvlogical" -h "$srchost" -p "$psrc" -U postgres -d bench --slot bench_recv \
		--start --endpos "$3" --no-loop -f /dev/null \
		-o format-version=2 -o include-lsn=1 -o include-xids=1 -o include-timestamp=1 \
		-o include-pk=1 -o include-type-oids=1 -o include-types=0 -o add-tables=public.bench 2>"$tmp/recv.err" || rc=$?
	t1=$(now)
	if [ "$rc" = 0 ]; then
		res[recv,$1,$2]=$(secs "$t0" "$t1")
		oth[recv,$1,$2]=$(others_cpu "$c0" "$(cpu_sample)")
	else
		sed 's/^/    /' "$tmp/recv.err"
		fail_consumer "pg_recvlogical, phase $1, round $2 (exit $rc)"
	fi
	# the next phase starts where this one ended, whatever pg_recvlogical confirmed
	if [ "$(sq bench -c "select confirmed_flush_lsn < '$3' from pg_replication_slots where slot_name = 'bench_recv'")" = t ]; then
		sq bench -c "select pg_replication_slot_advance('bench_recv', '$3')" >/dev/null
	fi
}

# drain_trucker PHASE ROUND WANT SRCDIGEST
drain_trucker() {
	local t0 t1 c0 st=0 got hwm from tdir=$tmp/trucker-bench tlog=$tmp/trucker-bench.log
	from=$(($(stat -c %s "$tlog") + 1))
	c0=$(cpu_sample); t0=$(now)
	trucker_start "$tdir" "$tlog"
	t1=$(wait_until dq b_trucker "$3" "$timeout" "$trk_pid") || st=$?
	if [ "$st" = 0 ]; then
		got=$(dq b_trucker -c "$(digest_sql bench "$bench_cols")")
		if [ "$got" != "$4" ]; then
			echo "  trucker: last transaction applied but the table differs from the source ($got vs $4); waiting"
			t1=$(wait_until dq b_trucker "($(digest_sql bench "$bench_cols")) = '$4'" "$timeout" "$trk_pid") || st=$?
		fi
	fi
	hwm=$(hwm_kb "$trk_pid")
	if [ "$st" = 0 ]; then
		cpu[trucker,$1,$2]=$(proc_ticks "$(sq bench -c "select active_pid from pg_replication_slots where slot_name = 'trucker_bench'")" \
			"$trk_pid" "$(dq b_trucker -c "select pid from pg_stat_activity where datname = 'b_trucker' and application_name = 'trucker' order by backend_start limit 1")")
		res[trucker,$1,$2]=$(secs "$t0" "$t1")
		oth[trucker,$1,$2]=$(others_cpu "$c0" "$(cpu_sample)")
		res[trucker_hwm,$1,$2]=$hwm
	else
		if [ "$st" = 2 ]; then
			echo "  trucker exited while streaming:"
		else
			echo "  trucker did not converge within $timeout s; output now: $(dq b_trucker -c "$(digest_sql bench "$bench_cols")") vs source $4"
		fi
		tail -c +"$from" "$tlog" | tail -n 15 | sed 's/^/    /'
		fail_consumer "trucker, phase $1, round $2"
	fi
	trucker_stop
	if [ "$trk_rc" != 0 ] && [ "$st" = 0 ]; then
		echo "  trucker exited $trk_rc after SIGTERM (contract: 0); its log:"
		tail -c +"$from" "$tlog" | tail -n 10 | sed 's/^/    /'
		fail_consumer "trucker, phase $1, round $2 (exit $trk_rc on SIGTERM)"
	fi
}

# backlog_round ROUND — fresh databases and slots, both phases, every consumer
# (the order of the consumers rotates from round to round)
backlog_round() {
	local round=$1 i n=${#consumers[@]} order=() c d
	for ((i = 0; i < n; i++)); do order+=("${consumers[$(((i + round - 1) % n))]}"); done
	note "round $round: schema and slots (order: ${order[*]})"
	sq postgres -c "create database bench"
	sq bench -c "$bench_ddl"
	sq bench -c "create publication p_bench for table bench"
	for d in b_native b_trucker; do
		dq postgres -c "create database $d"
		dq "$d" -c "$bench_ddl"
	done
	# every slot exists before the load, so that it holds the whole backlog
	if [ "$skip_native" = 0 ]; then
		sq bench -c "select pg_create_logical_replication_slot('bench_native', 'pgoutput')" >/dev/null
		dq b_native -c "create subscription s_bench connection 'host=$srchost port=$psrc dbname=bench user=postgres application_name=s_bench' publication p_bench with (create_slot = false, slot_name = 'bench_native', copy_data = false, enabled = false)"
	fi
	[ "$skip_recv" = 1 ] || sq bench -c "select pg_create_logical_replication_slot('bench_recv', 'wal2json')" >/dev/null
	if [ "$skip_trucker" = 0 ]; then
		local tlog=$tmp/trucker-bench.log
		rm -rf "$tmp/trucker-bench"
		trucker_conf "$tmp/trucker-bench" bench b_trucker trucker_bench bench
		echo "# round $round" >>"$tlog"
		local from=$(($(stat -c %s "$tlog") + 1))
		trucker_start "$tmp/trucker-bench" "$tlog" # the first start creates the slot
		if ! trucker_ready "$tlog" 60 "$from"; then
			echo "  trucker did not report \"streaming started\" within 60 s:"; tail -n 20 "$tlog" | sed 's/^/    /'
			fail_consumer "trucker (startup), round $round"
			trucker_stop
			order=("${order[@]/trucker/}")
		else
			trucker_stop
			[ "$trk_rc" = 0 ] || echo "  trucker exited $trk_rc on SIGTERM after creating its slot (contract: 0)"
		fi
	fi

	local phase t0 t1 endlsn srcdig want
	for phase in 1 2; do
		t0=$(now)
		if [ "$phase" = 1 ]; then
			note "round $round, phase 1: loading $rows inserts"
			awk -v n="$rows" -v b="$batch" 'BEGIN { for (a = 1; a <= n; a += b)
				printf "insert into bench select g, g %% 1000, md5(g::text), (g * 1.25)::numeric(16,2), timestamptz %s + g * interval %s from generate_series(%d, %d) g;\n",
					"'"'"'2026-01-01 00:00:00+00'"'"'", "'"'"'1 second'"'"'", a, a + b - 1 }' | sq bench
			want="coalesce((select max(id) from bench), 0) >= $rows"
		else
			note "round $round, phase 2: loading $half updates, $half deletes"
			awk -v n="$rows" -v h="$half" -v b="$batch" 'BEGIN {
				for (a = 1; a <= h; a += b)
					printf "update bench set k = k + 1, v = md5(v), n = n + 0.01, ts = ts + interval %s where id between %d and %d;\n", "'"'"'1 day'"'"'", a, a + b - 1
				for (a = h + 1; a <= n; a += b)
					printf "delete from bench where id between %d and %d;\n", a, a + b - 1 }' | sq bench
			# deletes go up by id: the max only drops to $half with the last transaction
			want="(select max(id) from bench) = $half"
		fi
		t1=$(now)
		load_s[$phase,$round]=$(secs "$t0" "$t1")
		endlsn=$(sq bench -c "select pg_current_wal_lsn()")
		sq bench -c "vacuum analyze bench"
		srcdig=$(sq bench -c "$(digest_sql bench "$bench_cols")")
		for c in "${order[@]}"; do
			[ -n "$c" ] || continue
			note "round $round, phase $phase: $c"
			sq postgres -c checkpoint; dq postgres -c checkpoint
			wait_quiet
			case $c in
			native) drain_native "$phase" "$round" "$want" "$srcdig"; dq b_native -c "vacuum analyze bench" ;;
			recv) drain_recv "$phase" "$round" "$endlsn" ;;
			trucker) drain_trucker "$phase" "$round" "$want" "$srcdig"; dq b_trucker -c "vacuum analyze bench" ;;
			esac
		done
		# one line per consumer, as measured
		for c in "${consumers[@]}"; do
			if [ -n "${res[$c,$phase,$round]:-}" ]; then
				printf '  %-5s %-6s %-38s %8s %12s %13s\n' "$round" "$phase" "$(consumer_name "$c")" "${res[$c,$phase,$round]}" \
					"$(commas "$(rate "$rows" "${res[$c,$phase,$round]}")")" "${oth[$c,$phase,$round]}"
			fi
		done
	done
	# drop everything: the next round starts afresh
	if [ "$skip_native" = 0 ]; then
		dq b_native -c "alter subscription s_bench set (slot_name = none)"
		dq b_native -c "drop subscription s_bench"
	fi
	wait_until sq bench "not exists (select from pg_replication_slots where database = 'bench' and active)" 60 >/dev/null || true
	sq bench -c "select pg_drop_replication_slot(slot_name) from pg_replication_slots where database = 'bench'" >/dev/null
	sq postgres -c "drop database bench with (force)"
	dq postgres -c "drop database b_native with (force)"
	dq postgres -c "drop database b_trucker with (force)"
}

run_backlog() {
	local round phase c r tr best med n
	echo "Backlog drain: each consumer on the same backlog, $rounds round(s), the consumer order rotating"
	echo "  phase 1: $(commas "$rows") inserts in $(commas "$batch")-row transactions"
	echo "  phase 2: $(commas "$half") updates then $(commas "$half") deletes in $(commas "$batch")-row transactions"
	echo "  (clock: from starting the consumer until its output equals the input; $(commas "$rows") changes per phase)"
	printf '  %-5s %-6s %-38s %8s %12s %13s\n' round phase consumer seconds changes/s "others/steal"
	for ((round = 1; round <= rounds; round++)); do
		backlog_round "$round"
	done
	echo "  source load, seconds: phase 1 $(for ((r = 1; r <= rounds; r++)); do printf '%s ' "${load_s[1,$r]}"; done)/ phase 2 $(for ((r = 1; r <= rounds; r++)); do printf '%s ' "${load_s[2,$r]}"; done)"
	# stats CONSUMER PHASE — "best median" changes/s over the rounds that converged
	stats() {
		for ((r = 1; r <= rounds; r++)); do
			if [ -n "${res[$1,$2,$r]:-}" ]; then rate "$rows" "${res[$1,$2,$r]}"; echo; fi
		done | sort -n | awk 'NF { a[++n] = $1 } END { if (n) printf "%d %d", a[n], (n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2) }'
	}
	for phase in 1 2; do
		echo "  phase $phase, changes/s over $rounds round(s):         best       median"
		for c in "${consumers[@]}"; do
			read -r best med <<<"$(stats "$c" "$phase")" || true
			if [ -n "${best:-}" ]; then
				printf '    %-44s %10s %12s\n' "$(consumer_name "$c")" "$(commas "$best")" "$(commas "$med")"
			else
				printf '    %-44s %10s\n' "$(consumer_name "$c")" "FAILED"
			fi
		done
		read -r tr trm <<<"$(stats trucker "$phase")" || true
		for c in native recv; do
			[ "$skip_trucker" = 0 ] && [ -n "${tr:-}" ] || break
			read -r best med <<<"$(stats "$c" "$phase")" || true
			[ -n "${best:-}" ] || continue
			awk -v a="$tr" -v b="$best" -v am="$trm" -v bm="$med" -v n="trucker / ${c/recv/pg_recvlogical}" 'BEGIN {
				printf "    %-44s %9.2fx %11.2fx   (>1 = trucker faster)\n", n, a / b, am / bm }'
		done
		best= med= tr= trm=
	done
	# CPU per change of each process on the path, median over the rounds
	echo "  CPU per change, µs, by process (median over the rounds; 2 cores in all):"
	cpu_line() { # CONSUMER PHASE LABEL… — one line per consumer and phase
		local c=$1 ph=$2 r
		shift 2
		for ((r = 1; r <= rounds; r++)); do echo "${cpu[$c,$ph,$r]:-}"; done | awk -v n="$rows" -v hz="$(getconf CLK_TCK)" \
			-v labels="$*" -v head="$(consumer_name "$c"), phase $ph" '
			NF { k++; for (i = 1; i <= NF; i++) v[i, k] = $i; nf = NF }
			END {
				if (!k) exit
				split(labels, L, " "); line = sprintf("    %-46s", head); tot = 0
				for (i = 1; i <= nf; i++) {
					m = 0; for (j = 1; j <= k; j++) a[j] = v[i, j]
					for (x = 1; x <= k; x++) for (y = x + 1; y <= k; y++) if (a[y] < a[x]) { t = a[x]; a[x] = a[y]; a[y] = t }
					m = (k % 2) ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
					us = m * 1e6 / hz / n; tot += us
					line = line sprintf(" %s %.1f", L[i], us)
				}
				printf "%s  = %.1f\n", line, tot
			}'
	}
	for phase in 1 2; do
		[ "$skip_native" = 1 ] || cpu_line native "$phase" walsender apply-worker
		[ "$skip_trucker" = 1 ] || cpu_line trucker "$phase" walsender trucker output-backend
	done
	if [ "$skip_trucker" = 0 ]; then
		local hwm
		hwm=$(for k in "${!res[@]}"; do if [[ $k == trucker_hwm,* ]]; then echo "${res[$k]}"; fi; done | sort -n | tail -n1)
		[ -z "$hwm" ] || awk -v a="$hwm" 'BEGIN { printf "  trucker peak RSS (VmHWM) over these drains: %.1f MB\n", a / 1024 }'
		log_trouble "$tmp/trucker-bench.log"
	fi
	echo
}

# ================================================================ 2. latency
declare -A lat
run_latency() {
	local script=$tmp/latency.sql
	echo "insert into lat (t0) values (clock_timestamp());" >"$script"
	sq postgres -c "create database lat"
	sq lat -c "create table lat (id bigserial primary key, t0 timestamptz not null)"
	sq lat -c "create publication p_lat for table lat"
	local d
	for d in l_native l_trucker; do
		dq postgres -c "create database $d"
		dq "$d" -c "create table lat (id bigint primary key, t0 timestamptz, seen timestamptz default clock_timestamp())"
	done
	echo "Latency: source commit → visible in the output, $(commas "$lat_rate") single-row insert transactions/s for $lat_secs s"
	echo "  (pgbench -R $lat_rate -T $lat_secs -c 4 -j 2 on the source; t0 = clock_timestamp() in the source insert;"
	echo "   written = seen, the destination's default clock_timestamp() (a column the mirror does not write);"
	echo "   committed = greatest(seen, pg_xact_commit_timestamp(xmin)) on the destination: when the row became"
	echo "   visible.  Native apply records the source's commit time as its commit timestamp (replication origin),"
	echo "   so for native committed = written, which its one-row transactions commit right after.)"
	# pgbench_run DBDIR-LABEL — runs pgbench on the source; prints tps and lag
	pgbench_run() {
		"$bindir/pgbench" -n -h "$srcdir" -p "$psrc" -U postgres -f "$script" -R "$lat_rate" -T "$lat_secs" -c 4 -j 2 lat >"$tmp/pgbench.out" 2>&1 || { cat "$tmp/pgbench.out"; return 1; }
		awk '/^tps =/ {tps = $3} /^latency average/ {lat = $4} /^rate limit schedule lag/ {lag = $NF; sub(/\)$/, "", lag); lag = $0}
			END { printf "%s", tps }' "$tmp/pgbench.out"
	}
	# lat_stats DB — "rows p50w p99w p50c p99c maxc" in ms
	lat_stats() {
		dq "$1" -c "with l as (select extract(epoch from seen - t0) * 1000 as w,
				extract(epoch from greatest(seen, pg_xact_commit_timestamp(xmin)) - t0) * 1000 as c from lat)
			select count(*), round(percentile_cont(0.5) within group (order by w)::numeric, 1),
				round(percentile_cont(0.99) within group (order by w)::numeric, 1),
				round(percentile_cont(0.5) within group (order by c)::numeric, 1),
				round(percentile_cont(0.99) within group (order by c)::numeric, 1),
				round(max(c)::numeric, 1) from l" | tr '|' ' '
	}
	local tps srcn c0
	if [ "$skip_native" = 0 ]; then
		note "latency: native"
		dq l_native -c "set client_min_messages = warning" -c "create subscription s_lat connection 'host=$srchost port=$psrc dbname=lat user=postgres application_name=s_lat' publication p_lat with (copy_data = false)"
		if wait_until sq lat "exists (select from pg_stat_replication where application_name = 's_lat' and state = 'streaming')" 60 >/dev/null; then
			sq postgres -c checkpoint; dq postgres -c checkpoint
			wait_quiet
			c0=$(cpu_sample)
			tps=$(pgbench_run) || tps=
			srcn=$(sq lat -c "select count(*) from lat")
			if [ -n "$tps" ] && wait_until dq l_native "(select count(*) from lat) = $srcn" 120 >/dev/null; then
				lat[native]="$tps $(lat_stats l_native) $(others_cpu "$c0" "$(cpu_sample)")"
			else
				fail_consumer "native replication, latency"
			fi
		else
			fail_consumer "native replication, latency (subscription never streamed)"
		fi
		dq l_native -c "set client_min_messages = warning" -c "drop subscription s_lat"
		sq lat -c "truncate lat" # nobody listens now: trucker's slot comes next
	fi
	if [ "$skip_trucker" = 0 ]; then
		note "latency: trucker"
		local tdir=$tmp/trucker-lat tlog=$tmp/trucker-lat.log rc st=0
		trucker_conf "$tdir" lat l_trucker trucker_lat lat
		: >"$tlog"
		trucker_start "$tdir" "$tlog"
		if trucker_ready "$tlog" 60 1; then
			sq postgres -c checkpoint; dq postgres -c checkpoint
			wait_quiet
			c0=$(cpu_sample)
			tps=$(pgbench_run) || tps=
			srcn=$(sq lat -c "select count(*) from lat")
			st=0
			[ -n "$tps" ] || st=3
			[ "$st" != 0 ] || wait_until dq l_trucker "(select count(*) from lat) = $srcn" 120 "$trk_pid" >/dev/null || st=$?
			if [ "$st" = 0 ]; then
				lat[trucker]="$tps $(lat_stats l_trucker) $(others_cpu "$c0" "$(cpu_sample)")"
			else
				case $st in
				2) echo "  trucker exited while streaming:" ;;
				3) echo "  pgbench failed; trucker's log:" ;;
				*) echo "  trucker did not deliver the $srcn rows within 120 s of the end of the load:" ;;
				esac
				tail -n 15 "$tlog" | sed 's/^/    /'
				fail_consumer "trucker, latency"
			fi
		else
			echo "  trucker did not report \"streaming started\" within 60 s:"; tail -n 20 "$tlog" | sed 's/^/    /'
			fail_consumer "trucker, latency (startup)"
		fi
		trucker_stop; rc=$trk_rc
		[ "$rc" = 0 ] || [ "$st" = 2 ] || echo "  trucker exited $rc after SIGTERM (contract: 0)"
		sq lat -c "select pg_drop_replication_slot('trucker_lat')" >/dev/null 2>&1 || true
	fi
	printf '  %-28s %8s %6s %17s %19s %9s %12s\n' consumer rows "tx/s" "written p50/p99" "committed p50/p99" "max" "others/steal"
	local c name a
	for c in native trucker; do
		[ -n "${lat[$c]:-}" ] || continue
		read -r -a a <<<"${lat[$c]}"
		case $c in native) name="native logical replication" ;; trucker) name="trucker run (default mirror)" ;; esac
		printf '  %-28s %8s %6.0f %17s %19s %9s %12s\n' "$name" "$(commas "${a[1]}")" "${a[0]}" "${a[2]} / ${a[3]} ms" "${a[4]} / ${a[5]} ms" "${a[6]} ms" "${a[7]}"
	done
	if [ -n "${lat[native]:-}" ] && [ -n "${lat[trucker]:-}" ]; then
		read -r -a a <<<"${lat[native]}"
		read -r -a b <<<"${lat[trucker]}"
		awk -v n50="${a[4]}" -v n99="${a[5]}" -v t50="${b[4]}" -v t99="${b[5]}" 'BEGIN {
			printf "  trucker / native (committed)   p50 %.1fx   p99 %.1fx   (<1 = trucker sooner)\n", t50 / n50, t99 / n99 }'
	fi
	[ "$skip_trucker" = 1 ] || log_trouble "$tmp/trucker-lat.log"
	echo
}

# ================================================================ 3. memory
run_memory() {
	local tdir=$tmp/trucker-mem tlog=$tmp/trucker-mem.log rc st=0 t0 t1 hwm rss
	local cols="id, k, v, n, ts"
	sq postgres -c "create database mem"
	sq mem -c "create table big (id bigint primary key, k int not null, v text not null, n numeric(16,2) not null, ts timestamptz not null)"
	local d
	for d in m_trucker m_native; do
		dq postgres -c "create database $d"
		dq "$d" -c "create table big (id bigint primary key, k int not null, v text not null, n numeric(16,2) not null, ts timestamptz not null)"
	done
	if [ "$skip_native" = 0 ]; then # the reference for the drain time
		sq mem -c "create publication p_big for table big"
		sq mem -c "select pg_create_logical_replication_slot('mem_native', 'pgoutput')" >/dev/null
		dq m_native -c "create subscription s_big connection 'host=$srchost port=$psrc dbname=mem user=postgres application_name=s_big' publication p_big with (create_slot = false, slot_name = 'mem_native', copy_data = false, enabled = false)"
	fi
	trucker_conf "$tdir" mem m_trucker trucker_mem big
	: >"$tlog"
	echo "Memory: trucker streaming one $(commas "$mem_rows")-row source transaction (backlog: slots created first)"
	trucker_start "$tdir" "$tlog"
	if ! trucker_ready "$tlog" 60 1; then
		echo "  trucker did not report \"streaming started\" within 60 s:"; tail -n 20 "$tlog" | sed 's/^/    /'
		fail_consumer "trucker, memory (startup)"; trucker_stop
		echo; return
	fi
	trucker_stop; rc=$trk_rc
	note "memory: loading one transaction of $mem_rows rows"
	t0=$(now)
	sq mem -c "insert into big select g, g % 1000, md5(g::text), (g * 1.25)::numeric(16,2), timestamptz '2026-01-01 00:00:00+00' + g * interval '1 second' from generate_series(1, $mem_rows) g"
	t1=$(now)
	echo "  source load: $(secs "$t0" "$t1") s"
	sq mem -c "vacuum analyze big"
	local srcdig got
	srcdig=$(sq mem -c "$(digest_sql big "$cols")")
	sq postgres -c checkpoint; dq postgres -c checkpoint
	note "memory: trucker"
	wait_quiet
	local from=$(($(stat -c %s "$tlog") + 1))
	local c0 tfirst nfirst=0
	c0=$(cpu_sample); t0=$(now)
	trucker_start "$tdir" "$tlog"
	# the first rows to show: are they the whole source transaction?
	tfirst=$(wait_until dq m_trucker "exists (select from big)" "$timeout" "$trk_pid") && nfirst=$(dq m_trucker -c "select count(*) from big")
	t1=$(wait_until dq m_trucker "coalesce((select max(id) from big), 0) >= $mem_rows" "$timeout" "$trk_pid") || st=$?
	if [ "$st" = 0 ]; then
		got=$(dq m_trucker -c "$(digest_sql big "$cols")")
		[ "$got" = "$srcdig" ] || { st=0; t1=$(wait_until dq m_trucker "($(digest_sql big "$cols")) = '$srcdig'" "$timeout" "$trk_pid") || st=$?; }
	fi
	hwm=$(hwm_kb "$trk_pid")
	rss=$(awk '/^VmRSS/ {print $2}' "/proc/$trk_pid/status" 2>/dev/null || echo 0)
	trucker_stop; rc=$trk_rc
	local s=
	if [ "$st" = 0 ]; then
		s=$(secs "$t0" "$t1")
		echo "  trucker drained it in $s s ($(commas "$(rate "$mem_rows" "$s")") changes/s; CPU of others/steal $(others_cpu "$c0" "$(cpu_sample)"))"
		if [ "$nfirst" -lt "$mem_rows" ]; then
			echo "  the source transaction became visible piecewise: $(commas "$nfirst") of $(commas "$mem_rows") rows were visible after $(secs "$t0" "$tfirst") s"
		else
			echo "  the source transaction became visible at once"
		fi
		awk -v k="$hwm" -v r="$rss" 'BEGIN { printf "  trucker peak RSS (VmHWM)  %.1f MB  (RSS at the end %.1f MB)\n  peak / 64 MB target        %.2f  (%s)\n",
			k / 1024, r / 1024, k / 1024 / 64, (k / 1024 < 64 ? "met" : "NOT met") }'
	else
		[ "$st" = 2 ] && echo "  trucker exited while streaming:" || echo "  trucker did not converge within $timeout s; output: $(dq m_trucker -c "$(digest_sql big "$cols")") vs source $srcdig"
		tail -c +"$from" "$tlog" | tail -n 15 | sed 's/^/    /'
		[ "${hwm:-0}" = 0 ] || awk -v k="$hwm" 'BEGIN { printf "  trucker peak RSS (VmHWM) when it stopped: %.1f MB\n", k / 1024 }'
		fail_consumer "trucker, memory"
	fi
	[ "$rc" = 0 ] || [ "$st" != 0 ] || echo "  trucker exited $rc after SIGTERM (contract: 0)"
	sq mem -c "select pg_drop_replication_slot('trucker_mem')" >/dev/null 2>&1 || true
	if [ "$skip_native" = 0 ]; then
		note "memory: native"
		sq postgres -c checkpoint; dq postgres -c checkpoint
		wait_quiet
		local s2=
		c0=$(cpu_sample); t0=$(now)
		dq m_native -c "alter subscription s_big enable"
		if t1=$(wait_until dq m_native "coalesce((select max(id) from big), 0) >= $mem_rows" "$timeout"); then
			got=$(dq m_native -c "$(digest_sql big "$cols")")
			[ "$got" = "$srcdig" ] || t1=$(wait_until dq m_native "($(digest_sql big "$cols")) = '$srcdig'" "$timeout") || t1=
		fi
		if [ -n "$t1" ]; then
			s2=$(secs "$t0" "$t1")
			echo "  reference: native logical replication drained it in $s2 s ($(commas "$(rate "$mem_rows" "$s2")") changes/s; CPU of others/steal $(others_cpu "$c0" "$(cpu_sample)"))"
			[ "$st" != 0 ] || awk -v a="$s2" -v t="$s" 'BEGIN { printf "  trucker / native (changes/s)  %.2fx\n", a / t }'
		else
			fail_consumer "native replication, memory"
		fi
		dq m_native -c "alter subscription s_big disable"
		wait_until sq mem "not exists (select from pg_replication_slots where slot_name = 'mem_native' and active)" 60 >/dev/null || true
		dq m_native -c "alter subscription s_big set (slot_name = none)"
		dq m_native -c "drop subscription s_big"
		sq mem -c "select pg_drop_replication_slot('mem_native')" >/dev/null || true
	fi
	log_trouble "$tlog"
	echo
}

run_backlog
[ "$skip_latency" = 1 ] || run_latency
[ "$skip_trucker" = 1 ] || [ "$skip_memory" = 1 ] || run_memory

echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "${#failures[@]}" -gt 0 ]; then
	echo "NOT CONVERGED: ${failures[*]}"
	exit 1
fi
echo "all consumers converged"

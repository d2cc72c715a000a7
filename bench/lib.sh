# lib.sh — what bench/templates.sh and bench/backfill.sh share: the lock,
# a temp folder removed at exit, two tuned throwaway clusters
# (tests/harness/pg.sh) and the header every result starts with.
#
# The sourcing script sets root, trucker, quick, keep, psrc, pdst and
# command_line first, then calls bench_start.

# bench_start NAME [CONF] — wait for /tmp/trucker-bench.lock (one benchmark
# at a time), start the source on psrc and the destination on pdst with
# benchmark settings (plus the lines in CONF), and print the header
bench_start() {
	local name=$1 conf=${2:-} d as_owner=()
	exec 9>/tmp/trucker-bench.lock
	flock 9
	tmp=$(mktemp -d "/tmp/trucker-bench-$name.XXXXXX")
	chmod 755 "$tmp"
	srcdir=$tmp/src dstdir=$tmp/dst
	trk_pid=
	trap bench_cleanup EXIT
	bindir=$(ls -d /usr/lib/postgresql/15/bin 2>/dev/null || dirname "$(command -v pg_ctl)")
	psql=$bindir/psql
	[ "$(id -u)" -eq 0 ] && as_owner=(runuser -u postgres --)
	for d in "$srcdir:$psrc" "$dstdir:$pdst"; do
		bash "$root/tests/harness/pg.sh" start "${d%:*}" "${d#*:}" >/dev/null
		printf 'autovacuum = off\ncheckpoint_timeout = 30min\nmax_wal_size = 8GB\n%s\n' "$conf" \
			>>"${d%:*}/data/postgresql.conf"
		"${as_owner[@]}" "$bindir/pg_ctl" -D "${d%:*}/data" -w restart -l "${d%:*}/server.log" >/dev/null
	done
	echo "trucker $name benchmark — $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "command: $command_line"
	echo "machine: $(nproc) cores, load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "PostgreSQL $(sq postgres -c 'show server_version'), source :$psrc (read over TCP), destination :$pdst"
	echo "trucker: ${trucker#"$root"/} (HEAD $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?'))"
	[ "$quick" = 1 ] && echo "QUICK run: 10x smaller — a smoke test, not a result"
	echo
}

bench_cleanup() {
	set +e
	[ -z "$trk_pid" ] || { kill -KILL "$trk_pid"; wait "$trk_pid"; } 2>/dev/null
	bash "$root/tests/harness/pg.sh" destroy "$srcdir" >/dev/null 2>&1
	bash "$root/tests/harness/pg.sh" destroy "$dstdir" >/dev/null 2>&1
	[ "$keep" = 1 ] && echo "kept $tmp" >&2 || rm -rf "$tmp"
}

# sq DB ARGS… / dq DB ARGS… — psql on the source (TCP) / the destination (socket)
sq() { PGOPTIONS="-c client_min_messages=warning" "$psql" -X -A -t -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$psrc" -U postgres -d "$1" "${@:2}"; }
dq() { PGOPTIONS="-c client_min_messages=warning" "$psql" -X -A -t -q -v ON_ERROR_STOP=1 -h "$dstdir" -p "$pdst" -U postgres -d "$1" "${@:2}"; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }
note() { printf '  [%s] %s\n' "$(date +%T)" "$*" >&2; }

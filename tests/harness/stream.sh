# stream.sh — helpers for the streaming end-to-end tests (sourced after
# lib.sh, not run).
#
# A test gets a source database on the `pg` cluster, an output database on the
# `pgdst` cluster, a replication slot name of its own and a pipelines folder
# $work/p whose trucker.yml names them as the connections "src" and "dst".
# trucker runs in the background with its log in $trucker_log; tables are
# compared across the two clusters by the text of their rows.  At exit
# trucker is stopped and the slot and both databases are dropped.
#
#   stream_setup NAME             $srcdb, $dstdb, $slot, $work/p/trucker.yml;
#                                 runs a copy of $TRUCKER taken now
#   on_src / on_dst [ARGS…]       psql on the source / output database
#   q_src / q_dst SQL             a query's result, unaligned, tuples only
#   add_pipeline NAME IN OUT [OUTPUT_KEYS] [MORE_YAML]
#                                 $work/p/NAME/config.yml (a default mirror)
#   trucker_start [OPTIONS…]      run trucker, wait for msg="streaming started"
#   trucker_launch [OPTIONS…]     run trucker in the background, do not wait
#   trucker_alive                 true while the trucker we started runs
#   trucker_stop                  SIGTERM, wait, expect exit status 0
#   trucker_kill                  SIGKILL, and reap it
#   wait_same IN [OUT] [SECONDS]  poll until output table OUT (default IN)
#                                 holds exactly the rows of input table IN
#   expect_same_now IN [OUT]      the same, without waiting
#   table_digest on_src|on_dst TABLE   "count md5" of the table's rows
#   show_log [LINES]              the tail of trucker's log, on stderr
#   show_sessions                 the sessions of the test's databases and the
#                                 slot (printed with every difference report)
#   stream_bg CMD…                run CMD in the background, killed at exit
#   make_src_db NAME              another database on the source cluster, dropped at exit
#   cluster_stop / cluster_start src|dst   stop or start one of the clusters
#   lsn_ge A B                    true when pg_lsn A >= B
#   stream_diff_key[TABLE]=EXPR   on a difference, also list it column by
#                                 column for rows keyed by EXPR
#   expect_sql q_src|q_dst SQL WANT   the query prints exactly WANT
#
# Tunables (environment): STREAM_START_TIMEOUT (30 s), STREAM_WAIT (90 s),
# STREAM_STOP_TIMEOUT (60 s), TRUCKER_STREAM_OPTIONS (extra `trucker run`
# options, e.g. "--log-level debug"), STREAM_KEEP=1 keeps $work.

: "${TRUCKER_PGTEST_DIR:?TRUCKER_PGTEST_DIR must name the source cluster folder}"
: "${TRUCKER_PGDST_DIR:?TRUCKER_PGDST_DIR must name the destination cluster folder}"

# shellcheck disable=SC1091
src_host=$(. "$TRUCKER_PGTEST_DIR/env" && echo "$PGHOST")
src_port=$(. "$TRUCKER_PGTEST_DIR/env" && echo "$PGPORT")
dst_host=$(. "$TRUCKER_PGDST_DIR/env" && echo "$PGHOST")
dst_port=$(. "$TRUCKER_PGDST_DIR/env" && echo "$PGPORT")
unset PGHOST PGPORT PGDATABASE
export PGUSER=postgres PGCONNECT_TIMEOUT=10

STREAM_START_TIMEOUT=${STREAM_START_TIMEOUT:-30}
STREAM_WAIT=${STREAM_WAIT:-90}
STREAM_STOP_TIMEOUT=${STREAM_STOP_TIMEOUT:-60}

srcdb= dstdb= slot=
trucker_pid=
trucker_runs=0
trucker_log=$work/trucker.log
stream_bg_pids=()
stream_src_dbs=()
declare -A stream_diff_key=()

on_src() { psql -X -q -v ON_ERROR_STOP=1 -h "$src_host" -p "$src_port" -d "$srcdb" "$@"; }
on_dst() { psql -X -q -v ON_ERROR_STOP=1 -h "$dst_host" -p "$dst_port" -d "$dstdb" "$@"; }
q_src() { on_src -At -c "$1"; }
q_dst() { on_dst -At -c "$1"; }
# the maintenance database of each cluster (slots, other databases)
on_src_admin() { psql -X -q -v ON_ERROR_STOP=1 -h "$src_host" -p "$src_port" -d postgres "$@"; }
on_dst_admin() { psql -X -q -v ON_ERROR_STOP=1 -h "$dst_host" -p "$dst_port" -d postgres "$@"; }

# stream_setup NAME — databases, slot and trucker.yml for the test NAME
stream_setup() {
	local name=$1
	srcdb=trk_${name}_$$_src
	dstdb=trk_${name}_$$_dst
	slot=trucker_${name}_$$
	trap stream_cleanup EXIT
	# every run of the test uses the same binary, even if it is rebuilt meanwhile
	local i
	for i in $(seq 20); do
		cp "$TRUCKER" "$work/trucker" 2>/dev/null && "$work/trucker" version >/dev/null 2>&1 && break
		[ "$i" -lt 20 ] || fail "cannot run a copy of $TRUCKER"
		sleep 1 # being relinked
	done
	TRUCKER=$work/trucker
	createdb -h "$src_host" -p "$src_port" "$srcdb"
	createdb -h "$dst_host" -p "$dst_port" "$dstdb"
	mkdir -p "$work/p"
	cat >"$work/p/trucker.yml" <<YML
connections:
  - name: src
    adapter: postgres
    host: "$src_host"
    port: $src_port
    database: $srcdb
    user: postgres
    slot: $slot
    options:
      application_name: trucker_$name
  - name: dst
    adapter: postgres
    host: "$dst_host"
    port: $dst_port
    database: $dstdb
    user: postgres
    options:
      application_name: trucker_$name
YML
	: >"$trucker_log"
}

# add_pipeline NAME INPUT_TABLE OUTPUT_TABLE [KEY_LIST] [MORE_YAML]
add_pipeline() {
	local name=$1 in=$2 out=$3 key=${4:-} more=${5:-}
	mkdir -p "$work/p/$name"
	{
		echo "input:  {connection: src, table: $in}"
		if [ -n "$key" ]; then
			echo "output: {connection: dst, table: $out, key: [$key]}"
		else
			echo "output: {connection: dst, table: $out}"
		fi
		[ -z "$more" ] || echo "$more"
	} >"$work/p/$name/config.yml"
}

show_log() {
	local lines=${1:-40}
	echo "--- trucker log ($trucker_log), last $lines lines:" >&2
	tail -n "$lines" "$trucker_log" >&2 || true
	echo "---" >&2
}

# trucker_alive — the trucker we started has not exited (zombies count as exited)
trucker_alive() {
	[ -n "$trucker_pid" ] || return 1
	local state
	state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$trucker_pid/status" 2>/dev/null) || return 1
	[ -n "$state" ] && [ "$state" != Z ]
}

trucker_launch() {
	[ -z "$trucker_pid" ] || fail "trucker_launch: trucker (pid $trucker_pid) is already running"
	trucker_runs=$((trucker_runs + 1))
	echo "=== harness: run $trucker_runs at $(date +%T.%N)" >>"$trucker_log"
	# shellcheck disable=SC2086
	"$TRUCKER" run ${TRUCKER_STREAM_OPTIONS:-} "$@" "$work/p" >>"$trucker_log" 2>&1 &
	trucker_pid=$!
}

# trucker_start [OPTIONS…] — launch and wait until the log says streaming started
trucker_start() {
	local before after deadline rc
	before=$(grep -c 'msg="streaming started"' "$trucker_log" || true)
	trucker_launch "$@"
	deadline=$((SECONDS + STREAM_START_TIMEOUT))
	while :; do
		after=$(grep -c 'msg="streaming started"' "$trucker_log" || true)
		[ "$after" -le "$before" ] || break
		if ! trucker_alive; then
			rc=0
			wait "$trucker_pid" || rc=$?
			trucker_pid=
			show_log
			fail "trucker exited with status $rc before streaming started"
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			show_log
			fail "no msg=\"streaming started\" within $STREAM_START_TIMEOUT s"
		fi
		sleep 0.1
	done
	checks=$((checks + 1))
}

# trucker_stop — SIGTERM; trucker must exit with 0 within STREAM_STOP_TIMEOUT
trucker_stop() {
	local deadline rc=0
	[ -n "$trucker_pid" ] || fail "trucker_stop: trucker is not running"
	if ! trucker_alive; then
		wait "$trucker_pid" || rc=$?
		trucker_pid=
		show_log
		fail "trucker had already exited (status $rc) before SIGTERM"
	fi
	kill -TERM "$trucker_pid"
	deadline=$((SECONDS + STREAM_STOP_TIMEOUT))
	while trucker_alive; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			show_log
			kill -KILL "$trucker_pid" 2>/dev/null || true
			wait "$trucker_pid" || true
			trucker_pid=
			fail "trucker did not exit within $STREAM_STOP_TIMEOUT s of SIGTERM"
		fi
		sleep 0.1
	done
	wait "$trucker_pid" || rc=$?
	trucker_pid=
	checks=$((checks + 1))
	if [ "$rc" -ne 0 ]; then
		show_log
		fail "trucker exited with status $rc after SIGTERM, want 0"
	fi
}

# trucker_kill — SIGKILL at whatever point trucker is
trucker_kill() {
	[ -n "$trucker_pid" ] || fail "trucker_kill: trucker is not running"
	kill -KILL "$trucker_pid" 2>/dev/null || true
	wait "$trucker_pid" 2>/dev/null || true
	trucker_pid=
	echo "=== harness: killed at $(date +%T.%N)" >>"$trucker_log"
}

# kill_during N STEP — N times: run the SQL that function STEP prints on the
# source in the background, SIGKILL trucker 0.1–0.9 s later (whatever it is
# doing), wait for the step, and start trucker again.  STEP runs in this
# shell, so that STREAM_SEED replays its random choices.
kill_during() {
	local n=$1 step=$2 i load
	for ((i = 0; i < n; i++)); do
		"$step" >"$work/step.sql"
		on_src -f "$work/step.sql" >/dev/null &
		load=$!
		sleep "0.$((RANDOM % 9 + 1))"
		trucker_kill
		wait "$load" || fail "a workload step failed"
		trucker_launch
		sleep "0.$((RANDOM % 3))"
	done
}

# table_digest on_src|on_dst TABLE — "<count> <md5 of the sorted row texts>"
table_digest() {
	"$1" -At -c "SELECT count(*) || ' ' || coalesce(md5(string_agg(r, E'\\n' ORDER BY r COLLATE \"C\")), '-')
		FROM (SELECT t::text AS r FROM $2 t) s"
}

# rows_of on_src|on_dst TABLE FILE — every row's text, sorted, long ones cut
rows_of() {
	"$1" -At -c "SELECT CASE WHEN length(r) > 300
			THEN left(r, 240) || '…(' || length(r) || ' chars, md5 ' || md5(r) || ')' ELSE r END
		FROM (SELECT t::text AS r FROM $2 t) s ORDER BY r COLLATE \"C\"" >"$3" 2>&1 || true
}

# values_of on_src|on_dst TABLE KEY_EXPR FILE — "key column = value" lines,
# the value as the JSON string of its PostgreSQL text (control characters
# show as escapes); the column list comes from the source table
values_of() {
	local q
	q=$(q_src "SELECT string_agg(format('SELECT (%s)::text AS k, %L AS c, coalesce(to_json(t.%I::text)::text, ''NULL'') AS v FROM %s t',
			'$3', attname, attname, '$2'), ' UNION ALL ' ORDER BY attnum)
		FROM pg_attribute WHERE attrelid = '$2'::regclass AND attnum > 0 AND NOT attisdropped") || return 0
	"$1" -At -F ' ' -c "SELECT k, c, '=', left(v, 300) FROM ($q) s ORDER BY k COLLATE \"C\", c" >"$4" 2>&1 || true
}

report_difference() {
	local in=$1 out=$2
	rows_of on_src "$in" "$work/rows.in"
	rows_of on_dst "$out" "$work/rows.out"
	echo "--- rows of $in (source, $(wc -l <"$work/rows.in")) vs $out (output, $(wc -l <"$work/rows.out")), first differences:" >&2
	diff -u --label "source $in" --label "output $out" "$work/rows.in" "$work/rows.out" | head -n 60 >&2 || true
	if [ -n "${stream_diff_key[$in]:-}" ]; then
		values_of on_src "$in" "${stream_diff_key[$in]}" "$work/values.in"
		values_of on_dst "$out" "${stream_diff_key[$in]}" "$work/values.out"
		echo "--- the same, value by value (key column = value as JSON text):" >&2
		diff -u --label "source $in" --label "output $out" "$work/values.in" "$work/values.out" | head -n 80 >&2 || true
	fi
	show_sessions
	show_log 30
}

# show_sessions — what the test's databases are doing (a stuck stream is
# often a session waiting on a lock)
show_sessions() {
	local q="SELECT pid, backend_type, state, coalesce(wait_event_type || ':' || wait_event, '-'),
		coalesce(pg_blocking_pids(pid)::text, '-'), coalesce(now() - xact_start, '0')::text, left(query, 100)
		FROM pg_stat_activity WHERE datname IN ('$srcdb', '$dstdb') AND pid <> pg_backend_pid() ORDER BY pid"
	echo "--- sessions on the source cluster (pid|type|state|wait|blocked by|in transaction for|query):" >&2
	on_src_admin -At -c "$q" >&2 2>&1 || true
	echo "--- sessions on the output cluster:" >&2
	on_dst_admin -At -c "$q" >&2 2>&1 || true
	echo "--- replication slot $slot:" >&2
	on_src_admin -At -c "SELECT active_pid, restart_lsn, confirmed_flush_lsn, pg_current_wal_lsn() FROM pg_replication_slots
		WHERE slot_name = '$slot'" >&2 2>&1 || true
}

# sql_is QFN SQL WANT — QFN (q_src or q_dst) gives WANT for SQL
sql_is() { [ "$("$1" "$2")" = "$3" ]; }

# wait_until WHAT COMMAND… — poll COMMAND until it succeeds (a check), or
# fail after STREAM_WAIT seconds saying WHAT went wrong
wait_until() {
	local what=$1 deadline=$((SECONDS + STREAM_WAIT))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$deadline" ] || { show_log; fail "$what"; }
		sleep 0.2
	done
	checks=$((checks + 1))
}

# wait_same IN [OUT] [SECONDS] — poll until the output equals the input
wait_same() {
	local in=$1 out=${2:-$1} limit=${3:-$STREAM_WAIT} deadline a b pause=0.2
	deadline=$((SECONDS + limit))
	while :; do
		# counting is cheap; the digests only when the counts agree
		a=$(on_src -At -c "SELECT count(*) FROM $in" 2>/dev/null || echo "source unavailable")
		b=$(on_dst -At -c "SELECT count(*) FROM $out" 2>/dev/null || echo "output unavailable")
		if [ "$a" = "$b" ]; then
			a=$(table_digest on_src "$in" 2>/dev/null || echo "source unavailable")
			b=$(table_digest on_dst "$out" 2>/dev/null || echo "output unavailable")
			[ "$a" != "$b" ] || break
		fi
		if [ -n "$trucker_pid" ] && ! trucker_alive; then
			report_difference "$in" "$out"
			fail "trucker exited while $out was catching up with $in"
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			report_difference "$in" "$out"
			fail "$out (output: $b) still differs from $in (source: $a) after $limit s"
		fi
		sleep "$pause"
		case $pause in 0.2) pause=0.5 ;; 0.5) pause=1 ;; esac
	done
	checks=$((checks + 1))
}

# expect_same_now IN [OUT] — the two tables are equal right now
expect_same_now() {
	local in=$1 out=${2:-$1} a b
	a=$(table_digest on_src "$in")
	b=$(table_digest on_dst "$out")
	checks=$((checks + 1))
	if [ "$a" != "$b" ]; then
		report_difference "$in" "$out"
		fail "$out (output: $b) differs from $in (source: $a)"
	fi
}

# expect_sql q_src|q_dst SQL WANT — the query's output is exactly WANT
expect_sql() {
	local got
	checks=$((checks + 1))
	got=$("$1" "$2" 2>&1) || { echo "$got" >&2; fail "$1 failed: $2"; }
	if [ "$got" != "$3" ]; then
		printf -- '--- %s %s\n--- gave:\n%s\n--- want:\n%s\n' "$1" "$2" "$got" "$3" >&2
		fail "$1: unexpected result"
	fi
}

# lsn_ge A B — pg_lsn A >= pg_lsn B
lsn_ge() {
	[ "$(q_src "SELECT '$1'::pg_lsn >= '$2'::pg_lsn")" = t ]
}

make_src_db() {
	createdb -h "$src_host" -p "$src_port" "$1"
	stream_src_dbs+=("$1")
}

stream_bg() {
	"$@" &
	stream_bg_pids+=($!)
}

cluster_dir() { case $1 in src) echo "$TRUCKER_PGTEST_DIR" ;; dst) echo "$TRUCKER_PGDST_DIR" ;; *) fail "no cluster $1" ;; esac; }
cluster_port() { case $1 in src) echo "$src_port" ;; dst) echo "$dst_port" ;; esac; }
cluster_stop() { "$src/tests/harness/pg.sh" stop "$(cluster_dir "$1")"; }
cluster_start() { "$src/tests/harness/pg.sh" start "$(cluster_dir "$1")" "$(cluster_port "$1")"; }
cluster_up() {
	local host port
	case $1 in src) host=$src_host port=$src_port ;; dst) host=$dst_host port=$dst_port ;; esac
	pg_isready -q -h "$host" -p "$port"
}

stream_cleanup() {
	local rc=$? pid i
	set +e
	for pid in "${stream_bg_pids[@]}"; do
		pkill -TERM -P "$pid" 2>/dev/null
		kill -TERM "$pid" 2>/dev/null
	done
	if [ -n "$trucker_pid" ]; then
		kill -TERM "$trucker_pid" 2>/dev/null
		for i in $(seq 100); do trucker_alive || break; sleep 0.1; done
		trucker_alive && kill -KILL "$trucker_pid" 2>/dev/null
		wait "$trucker_pid" 2>/dev/null
		trucker_pid=
	fi
	wait 2>/dev/null
	if [ "$rc" -ne 0 ] && [ -s "$trucker_log" ]; then
		echo "=== test failed (status $rc); trucker log at the end:" >&2
		tail -n 15 "$trucker_log" >&2
	fi
	# a test that stopped a cluster must not leave it down for the others
	cluster_up src || cluster_start src
	cluster_up dst || cluster_start dst
	if [ -n "$srcdb" ]; then
		# the slot: ours and any other on the test's database
		for i in $(seq 20); do
			on_src_admin -At -c "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots
				WHERE (slot_name = '$slot' OR database = '$srcdb') AND active_pid IS NOT NULL" >/dev/null 2>&1
			on_src_admin -At -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
				WHERE slot_name = '$slot' OR database = '$srcdb'" >/dev/null 2>&1 && break
			sleep 0.5
		done
		dropdb --force --if-exists -h "$src_host" -p "$src_port" "$srcdb"
		dropdb --force --if-exists -h "$dst_host" -p "$dst_port" "$dstdb"
	fi
	for i in "${stream_src_dbs[@]}"; do
		dropdb --force --if-exists -h "$src_host" -p "$src_port" "$i"
	done
	if [ "${STREAM_KEEP:-0}" = 1 ]; then
		echo "kept $work" >&2
	else
		rm -rf "$work"
	fi
	exit "$rc"
}

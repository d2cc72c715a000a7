# trucker run reloads its pipelines folder on SIGHUP:
#  (a) a pipeline added to the running daemon is backfilled from a snapshot
#      and streams, while the established one goes on;
#  (b) a folder with an error is refused whole, naming file:line:col, and
#      every pipeline goes on by its last good definition; one that changed
#      nothing leaves the stream alone;
#  (c) a pipeline whose insert.sql changed keeps its old definition, as the
#      log says, until `trucker backfill --truncate` rebuilds it by the new
#      one;
#  (d) a removed pipeline stops, and its checkpoint stays;
#  (e) a pipeline changed while trucker was down applies nothing and holds
#      the slot; `trucker run --accept-changed` takes the new definition as
#      is, from its checkpoint, without a gap.
. "$TRUCKER_SOURCE_DIR/tests/harness/lib.sh"
. "$TRUCKER_SOURCE_DIR/tests/harness/stream.sh"
stream_setup reload

on_src -c "CREATE TABLE ta (id int PRIMARY KEY, v text)" \
	-c "CREATE TABLE tb (id int PRIMARY KEY, v text)" \
	-c "INSERT INTO tb SELECT g, 'b' || g FROM generate_series(1, 5000) g"
on_dst -c "CREATE TABLE ta (id int PRIMARY KEY, v text)" \
	-c "CREATE TABLE tb (id int PRIMARY KEY, v text)" \
	-c "CREATE TABLE tags (id int PRIMARY KEY, tag text)"
add_pipeline a public.ta public.ta
add_pipeline tags public.ta public.tags "" "operations: [insert]"
printf "INSERT INTO tags VALUES ({{ new.id }}, 'old')\n" >"$work/p/tags/insert.sql"
on_src -c "INSERT INTO ta VALUES (1, 'one')"
trucker_start
wait_same ta
expect_sql q_dst "SELECT string_agg(id || tag, ',') FROM tags" 1old

# reloads — how many reloads the log tells of
reloads() { grep -c 'msg="pipelines reloaded\|msg="reload refused' "$trucker_log" || true; }
reloaded_since() { [ "$(reloads)" -gt "$1" ]; }
# reload — SIGHUP, and wait for the reload's outcome; then for the stream
reload() {
	local before
	before=$(reloads)
	kill -HUP "$trucker_pid"
	wait_until "no reload after SIGHUP" reloaded_since "$before"
}

# --- (a) added ----------------------------------------------------------------
add_pipeline b public.tb public.tb
reload
on_src -c "INSERT INTO ta VALUES (2, 'two')" -c "INSERT INTO tb VALUES (5001, 'b5001')"
wait_same tb
wait_same ta
# b rejoined the stream: the input started again after its copy
rejoined() { grep -A100 'msg="backfill done" pipeline=b ' "$trucker_log" | grep -q 'msg="streaming started"'; }
wait_until "b did not rejoin the stream" rejoined
grep -q 'msg="pipeline added" pipeline=b' "$trucker_log" || fail "no word of pipeline b added"
grep -F 'msg="backfill done"' "$trucker_log" | grep -q 'pipeline=b ' || fail "pipeline b was not backfilled"
checks=$((checks + 2))

# --- (b) an error in the folder -----------------------------------------------
mkdir -p "$work/p/c"
printf 'input: {connection: src, table: public.ta\noutput: {connection: dst, table: public.tc}\n' >"$work/p/c/config.yml"
reload
grep -q 'msg="reload refused' "$trucker_log" || fail "the broken folder was not refused"
grep 'msg="the pipelines folder has an error"' "$trucker_log" | grep -q 'c/config.yml:[0-9]*:[0-9]*: error' ||
	{ show_log; fail "the refusal does not name file:line:col"; }
checks=$((checks + 2))
rm -r "$work/p/c"
# the folder as it runs: nothing to drain for
runs=$(grep -c 'msg="streaming started"' "$trucker_log")
reload
grep -q 'msg="pipelines reloaded: nothing changed"' "$trucker_log" || fail "an unchanged folder was reloaded"
[ "$(grep -c 'msg="streaming started"' "$trucker_log")" = "$runs" ] || fail "an unchanged folder restarted the stream"
checks=$((checks + 2))
on_src -c "INSERT INTO ta VALUES (3, 'three')" -c "INSERT INTO tb VALUES (5002, 'b5002')"
wait_same ta
wait_same tb

# --- (c) a changed template keeps its old definition ---------------------------
printf "INSERT INTO tags VALUES ({{ new.id }}, 'new')\n" >"$work/p/tags/insert.sql"
reload
grep -q 'msg="pipeline changed.*keeps its old definition.*pipeline=tags' "$trucker_log" ||
	{ show_log; fail "no word that tags keeps its old definition"; }
checks=$((checks + 1))
on_src -c "INSERT INTO ta VALUES (4, 'four')"
wait_same ta
wait_until "tags did not go on by its old definition" \
	sql_is q_dst "SELECT string_agg(id || tag, ',' ORDER BY id) FROM tags" 1old,2old,3old,4old
out=$("$TRUCKER" backfill "$work/p" tags --truncate) || { show_log; fail "trucker backfill failed: $out"; }
expect_sql q_dst "SELECT string_agg(id || tag, ',' ORDER BY id) FROM tags" 1new,2new,3new,4new
on_src -c "INSERT INTO ta VALUES (5, 'five')"
wait_until "tags did not go on by its new definition" \
	sql_is q_dst "SELECT string_agg(id || tag, ',' ORDER BY id) FROM tags" 1new,2new,3new,4new,5new

# --- (d) removed --------------------------------------------------------------
rm -r "$work/p/b"
reload
grep -q 'msg="pipeline removed: it stops, and its checkpoint stays" pipeline=b' "$trucker_log" ||
	fail "no word of pipeline b removed"
checks=$((checks + 1))
on_src -c "INSERT INTO tb VALUES (5003, 'after b left')" -c "INSERT INTO ta VALUES (6, 'six')"
wait_same ta
expect_sql q_dst "SELECT count(*) FROM tb WHERE id = 5003" 0
expect_sql q_dst "SELECT count(*) FROM trucker.checkpoints WHERE pipeline = 'b'" 1
trucker_stop

# --- (e) changed while down ----------------------------------------------------
add_pipeline a public.ta public.ta "" "operations: [insert, update]"
trucker_start
wait_until "no word that a changed while trucker was down" \
	grep -q 'msg="pipeline changed since its checkpoint.*pipeline=a ' "$trucker_log"
on_src -c "INSERT INTO ta VALUES (7, 'while a waits')"
wait_until "tags did not stream" sql_is q_dst "SELECT count(*) FROM tags WHERE id = 7" 1
expect_sql q_dst "SELECT count(*) FROM ta WHERE id = 7" 0
trucker_stop
TRUCKER_STREAM_OPTIONS=--accept-changed trucker_start
wait_same ta
grep -q 'msg="pipeline changed since its checkpoint: taken as is' "$trucker_log" ||
	fail "no word that --accept-changed took a as is"
checks=$((checks + 1))
trucker_stop
trucker_start
grep -c 'msg="pipeline changed since its checkpoint (its' "$trucker_log" | grep -qx 1 ||
	fail "a still counts as changed after --accept-changed"
checks=$((checks + 1))
trucker_stop
pass

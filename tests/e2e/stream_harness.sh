# The streaming tests' own helpers (tests/harness/stream.sh), without
# trucker: tables copied by hand between the two clusters compare equal, and
# every kind of difference — a changed value, a missing row, a duplicate, a
# NULL for an empty string, -0 for 0 — makes the comparison fail.
. "$TRUCKER_SOURCE_DIR/tests/harness/lib.sh"
. "$TRUCKER_SOURCE_DIR/tests/harness/stream.sh"
stream_setup harness

schema="CREATE TABLE t (id int, v text, f float8, b bytea, j json);"
on_src -c "$schema"
on_dst -c "$schema"
on_src -c "INSERT INTO t SELECT g, CASE WHEN g % 10 = 0 THEN '' ELSE E'v\\t\\\\' || g END, g / 7.0, '\x00ff', '{\"a\": [1, 2]}'
	FROM generate_series(1, 5000) g" -c "INSERT INTO t VALUES (0, NULL, 0, NULL, NULL)"
copy() { on_dst -c "TRUNCATE t"; on_src -c "COPY t TO STDOUT" | on_dst -c "COPY t FROM STDIN"; }
copy
wait_same t t 5
expect_same_now t

# differs DESCRIPTION SQL — after SQL on the output, both comparisons fail
differs() {
	copy
	on_dst -c "$2"
	checks=$((checks + 1))
	if (STREAM_WAIT=1 wait_same t) 2>"$work/diff"; then fail "wait_same missed: $1"; fi
	expect_contains "$work/diff" "still differs from t"
	if (expect_same_now t) 2>/dev/null; then fail "expect_same_now missed: $1"; fi
	checks=$((checks + 1))
}
differs "a changed value" "UPDATE t SET v = 'changed' WHERE id = 5"
differs "a missing row" "DELETE FROM t WHERE id = 7"
differs "a duplicate row" "INSERT INTO t SELECT * FROM t WHERE id = 9"
differs "a duplicate instead of a row" "DELETE FROM t WHERE id = 8; INSERT INTO t SELECT * FROM t WHERE id = 9"
differs "NULL for ''" "UPDATE t SET v = NULL WHERE id = 10"
differs "-0 for 0" "UPDATE t SET f = '-0' WHERE id = 0"
differs "json spacing" "UPDATE t SET j = '{\"a\":[1,2]}' WHERE id = 11"
differs "a bytea byte" "UPDATE t SET b = '\x00fe' WHERE id = 12"
# the report shows the rows that differ, and value by value when asked to
stream_diff_key[t]=id
differs "a value" "UPDATE t SET v = 'seen' WHERE id = 13"
expect_contains "$work/diff" "+(13,seen,"
expect_contains "$work/diff" "+13 v = \"seen\""
expect_contains "$work/diff" "-13 v = \"v\\t\\\\13\""

# trucker_start fails, showing the log, when trucker exits before streaming
checks=$((checks + 1))
if (TRUCKER=false trucker_start) 2>"$work/start"; then fail "trucker_start accepted an exiting trucker"; fi
expect_contains "$work/start" "exited with status 1 before streaming started"
pass

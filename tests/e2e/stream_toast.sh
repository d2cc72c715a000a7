# trucker run, TOAST: with REPLICA IDENTITY DEFAULT an update that leaves a
# large out-of-line value alone does not carry it (wal2json omits unchanged
# TOAST columns); the output must keep the value it has — never NULL it — also
# when the key changes in the same update.
. "$TRUCKER_SOURCE_DIR/tests/harness/lib.sh"
. "$TRUCKER_SOURCE_DIR/tests/harness/stream.sh"
stream_setup toast

schema="CREATE TABLE docs (id int PRIMARY KEY, n int, big text, meta jsonb);"
on_src -c "$schema" -c "ALTER TABLE docs REPLICA IDENTITY DEFAULT"
on_dst -c "$schema"
add_pipeline docs public.docs public.docs
trucker_start

# big(seed): ~1.3 MB of md5 hex, which pglz cannot compress, so it is stored
# out of line as is
on_src <<'SQL'
CREATE FUNCTION big(seed int) RETURNS text LANGUAGE sql AS
	$$ SELECT string_agg(md5(seed::text || ':' || g), '') FROM generate_series(1, 40000) g $$;
INSERT INTO docs SELECT g, 0, big(g), jsonb_build_object('g', g) FROM generate_series(1, 4) g;
INSERT INTO docs VALUES (5, 0, 'small', '{}'), (6, 0, NULL, '{}');
SQL
expect_sql q_src "SELECT bool_and(pg_column_size(big) > 1000000 AND length(big) = 1280000) FROM docs WHERE id <= 4" t
wait_same docs

# updates of other columns only: the big values are not in the changes (a
# second wal2json slot shows it, so that this test cannot pass vacuously: of
# the 11 updates only the 3 of rows 5 and 6, whose values are inline, carry "big")
q_src "SELECT 'peek' FROM pg_create_logical_replication_slot('${slot}_peek', 'wal2json')" >/dev/null
on_src <<'SQL'
UPDATE docs SET n = n + 1;
UPDATE docs SET meta = meta || '{"touched": true}' WHERE id % 2 = 0;
BEGIN;
UPDATE docs SET n = 100 WHERE id = 1;
UPDATE docs SET n = 101 WHERE id = 1;
COMMIT;
SQL
expect_sql q_src "SELECT count(*) FILTER (WHERE data LIKE '%\"table\":\"docs\"%'),
		count(*) FILTER (WHERE data LIKE '%\"name\":\"big\"%')
	FROM pg_logical_slot_peek_changes('${slot}_peek', NULL, NULL, 'format-version', '2')
	WHERE data LIKE '{\"action\":\"U\"%'" "11|3"
q_src "SELECT pg_drop_replication_slot('${slot}_peek')" >/dev/null
wait_same docs
expect_sql q_dst "SELECT string_agg(id || ':' || coalesce(length(big)::text, 'NULL'), ',' ORDER BY id) FROM docs" \
	"1:1280000,2:1280000,3:1280000,4:1280000,5:5,6:NULL"

# a key change that leaves the big value alone; a new big value, then another
# column updated again; a big value replaced by a small one and back
on_src <<'SQL'
UPDATE docs SET id = 20 WHERE id = 2;
UPDATE docs SET id = 30, n = -3 WHERE id = 3;
UPDATE docs SET big = big(1000) WHERE id = 4;
UPDATE docs SET n = 44 WHERE id = 4;
UPDATE docs SET big = 'now small' WHERE id = 1;
UPDATE docs SET n = n + 1 WHERE id = 1;
UPDATE docs SET big = big(7) WHERE id = 5;
UPDATE docs SET n = 55 WHERE id = 5;
SQL
wait_same docs
expect_sql q_dst "SELECT string_agg(id || ':' || coalesce(md5(big), 'NULL'), ',' ORDER BY id) FROM docs" \
	"$(q_src "SELECT string_agg(id || ':' || coalesce(md5(big), 'NULL'), ',' ORDER BY id) FROM docs")"

# in one transaction: insert a big row and update it before commit; delete one
on_src <<'SQL'
BEGIN;
INSERT INTO docs VALUES (7, 0, big(77), '{}');
UPDATE docs SET n = 7 WHERE id = 7;
DELETE FROM docs WHERE id = 30;
COMMIT;
SQL
wait_same docs
expect_sql q_dst "SELECT count(*) FROM docs WHERE big IS NULL" 1

# after a restart, an update of another column still keeps the value
trucker_stop
on_src -c "UPDATE docs SET n = n * 2"
trucker_start
on_src -c "UPDATE docs SET meta = '{\"after\": \"restart\"}'"
wait_same docs
expect_sql q_dst "SELECT string_agg(id || ':' || coalesce(length(big)::text, 'NULL'), ',' ORDER BY id) FROM docs" \
	"1:9,4:1280000,5:1280000,6:NULL,7:1280000,20:1280000"
trucker_stop
pass

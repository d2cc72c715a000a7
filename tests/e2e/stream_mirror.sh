# trucker run, default mirrors: inserts, updates, deletes, primary-key changes,
# TRUNCATE, rolled-back work, on three tables (a simple key, a composite key,
# REPLICA IDENTITY FULL without a primary key); a SIGTERM restart in the
# middle with changes made while trucker is down; the output ends equal to the
# input and trucker.checkpoints holds one row per pipeline.
. "$TRUCKER_SOURCE_DIR/tests/harness/lib.sh"
. "$TRUCKER_SOURCE_DIR/tests/harness/stream.sh"
stream_setup mirror

schema="
CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, qty int, price numeric(12,2), note text);
CREATE TABLE pairs (k1 int, k2 text, payload jsonb, seen timestamptz, PRIMARY KEY (k1, k2));
CREATE TABLE events (id bigint NOT NULL, kind text, body text);
"
on_src -c "$schema" -c "ALTER TABLE events REPLICA IDENTITY FULL"
on_dst -c "$schema" -c "CREATE UNIQUE INDEX ON events (id)"
add_pipeline items public.items public.items
add_pipeline pairs public.pairs public.pairs
add_pipeline events public.events public.events id

trucker_start

# inserts
on_src <<'SQL'
INSERT INTO items SELECT g, 'item ' || g, g % 17, g * 1.25, CASE WHEN g % 5 = 0 THEN NULL ELSE 'n' || g END
FROM generate_series(1, 5000) g;
INSERT INTO pairs SELECT g % 100, 'k' || (g / 100), jsonb_build_object('g', g, 'tags', jsonb_build_array('x', g)),
	'2024-01-01 00:00:00+00'::timestamptz + g * interval '1 minute'
FROM generate_series(1, 3000) g;
INSERT INTO events SELECT g, CASE WHEN g % 2 = 0 THEN 'even' ELSE 'odd' END, repeat('b', g % 50)
FROM generate_series(1, 2000) g;
SQL
wait_same items
wait_same pairs
wait_same events

# updates of some columns, to NULL and back, deletes, a no-op update
on_src <<'SQL'
UPDATE items SET qty = qty + 1 WHERE id % 3 = 0;
UPDATE items SET note = NULL, price = NULL WHERE id % 11 = 0;
UPDATE items SET note = 'back' WHERE id % 22 = 0;
UPDATE items SET name = name WHERE id % 13 = 0;
DELETE FROM items WHERE id % 10 = 7;
UPDATE pairs SET payload = payload || '{"updated": true}' WHERE k1 % 4 = 1;
DELETE FROM pairs WHERE k2 = 'k3';
UPDATE events SET body = 'changed' WHERE id % 9 = 0;
DELETE FROM events WHERE kind = 'odd' AND id > 1500;
SQL
wait_same items
wait_same pairs
wait_same events

# primary-key changes: simple, composite (one column of two), and the key of
# a REPLICA IDENTITY FULL table; with other columns changing at the same time
on_src <<'SQL'
UPDATE items SET id = id + 100000 WHERE id % 7 = 0;
UPDATE items SET id = id + 200000, qty = -1 WHERE id BETWEEN 4000 AND 4100;
UPDATE pairs SET k2 = k2 || '_moved' WHERE k1 = 5;
UPDATE pairs SET k1 = k1 + 1000, payload = '{"moved": 1}' WHERE k1 = 6;
UPDATE events SET id = -id WHERE id % 100 = 0;
SQL
wait_same items
wait_same pairs
wait_same events

# one transaction across the tables with a rolled-back savepoint, and a
# transaction that rolls back altogether: neither rolled-back part arrives
on_src <<'SQL'
BEGIN;
INSERT INTO items VALUES (900001, 'in txn', 1, 1.00, 'kept');
SAVEPOINT s;
INSERT INTO items VALUES (900002, 'rolled back', 2, 2.00, 'gone');
UPDATE pairs SET payload = '{"rolled back": true}';
ROLLBACK TO SAVEPOINT s;
UPDATE items SET note = 'after savepoint' WHERE id = 900001;
DELETE FROM events WHERE id = 1;
COMMIT;
BEGIN;
DELETE FROM items;
INSERT INTO events VALUES (999999, 'never', 'never');
ROLLBACK;
SQL
wait_same items
wait_same pairs
wait_same events

# TRUNCATE, and TRUNCATE followed by inserts in the same transaction
on_src -c "TRUNCATE pairs"
wait_same pairs
expect_sql q_dst "SELECT count(*) FROM pairs" 0
on_src <<'SQL'
BEGIN;
TRUNCATE events;
INSERT INTO events SELECT g, 'after truncate', md5(g::text) FROM generate_series(1, 500) g;
COMMIT;
INSERT INTO pairs SELECT g, 'new', '{}', now() FROM generate_series(1, 50) g;
SQL
wait_same events
wait_same pairs

# a clean stop; changes made while trucker is down arrive after the restart
trucker_stop
expect_contains "$trucker_log" 'msg="streaming started"'
on_src <<'SQL'
INSERT INTO items SELECT g, 'while down ' || g, 0, 0, NULL FROM generate_series(300001, 301000) g;
UPDATE items SET qty = 42 WHERE id % 5 = 1;
UPDATE items SET id = id + 1000000 WHERE id BETWEEN 300001 AND 300100;
DELETE FROM events WHERE id % 3 = 0;
UPDATE pairs SET k2 = 'renamed' WHERE k1 = 10;
SQL
trucker_start
wait_same items
wait_same pairs
wait_same events

on_src <<'SQL'
INSERT INTO items SELECT g, 'after restart', 1, 1, 'x' FROM generate_series(400001, 402000) g;
DELETE FROM items WHERE id % 4 = 0;
TRUNCATE events;
INSERT INTO events VALUES (1, 'last', NULL);
UPDATE pairs SET seen = NULL;
SQL
wait_same items
wait_same pairs
wait_same events
trucker_stop

# one checkpoint per pipeline, each past the start of the WAL and not beyond its end
expect_sql q_dst "SELECT string_agg(pipeline || ' ' || (lsn > '0/0') || ' ' || slot, ',' ORDER BY pipeline)
	FROM trucker.checkpoints" "events true $slot,items true $slot,pairs true $slot"
end_lsn=$(q_src "SELECT pg_current_wal_lsn()")
expect_sql q_dst "SELECT count(*) FROM trucker.checkpoints WHERE lsn <= '$end_lsn'" 3
pass

# trucker run, a partitioned input: changes to the leaf partitions reach the
# pipeline of the parent and land in one plain output table — inserts,
# updates, deletes, an update that moves rows to another partition (a delete
# from one leaf and an insert into another), and a key change.
. "$TRUCKER_SOURCE_DIR/tests/harness/lib.sh"
. "$TRUCKER_SOURCE_DIR/tests/harness/stream.sh"
stream_setup part

on_src <<'SQL'
CREATE TABLE measures (k int PRIMARY KEY, region text NOT NULL, v numeric, at timestamptz) PARTITION BY RANGE (k);
CREATE TABLE measures_low PARTITION OF measures FOR VALUES FROM (MINVALUE) TO (1000);
CREATE TABLE measures_mid PARTITION OF measures FOR VALUES FROM (1000) TO (2000);
CREATE TABLE measures_high PARTITION OF measures DEFAULT;
SQL
on_dst -c "CREATE TABLE measures (k int PRIMARY KEY, region text NOT NULL, v numeric, at timestamptz)"
add_pipeline measures public.measures public.measures
trucker_start

on_src <<'SQL'
INSERT INTO measures SELECT g, 'r' || (g % 7), g / 3.0, '2024-01-01 00:00+00'::timestamptz + g * interval '1 hour'
FROM generate_series(1, 3000) g;
SQL
wait_same measures
expect_sql q_src "SELECT string_agg(tableoid::regclass || ' ' || n, ',' ORDER BY tableoid::regclass::text)
	FROM (SELECT tableoid, count(*) n FROM measures GROUP BY tableoid) s" \
	"measures_high 1001,measures_low 999,measures_mid 1000"

# updates and deletes inside each leaf
on_src <<'SQL'
UPDATE measures SET v = -v WHERE k % 5 = 0;
UPDATE measures SET region = 'updated', at = NULL WHERE k % 13 = 0;
DELETE FROM measures WHERE k % 17 = 0;
-- room for the moves below
DELETE FROM measures WHERE k BETWEEN 1100 AND 1149 OR k BETWEEN 400 AND 409
	OR k BETWEEN 990 AND 999 OR k BETWEEN 1950 AND 1999;
SQL
wait_same measures

# rows moved between partitions: low→mid, mid→high, high→low, and a key change
# within a leaf
on_src <<'SQL'
UPDATE measures SET k = k + 1000, region = 'moved up' WHERE k BETWEEN 100 AND 149;
UPDATE measures SET k = k + 2000 WHERE k BETWEEN 1500 AND 1519;
UPDATE measures SET k = k - 2500, v = 0 WHERE k BETWEEN 2900 AND 2909;
UPDATE measures SET k = 0 WHERE k = 1;
SQL
wait_same measures
expect_sql q_dst "SELECT count(*) FROM measures WHERE region = 'moved up'" 47
expect_sql q_dst "SELECT count(*) FROM measures WHERE k BETWEEN 100 AND 149" 0

# a move and deletes in one transaction with a new row in every leaf; a leaf
# written directly
on_src <<'SQL'
BEGIN;
INSERT INTO measures VALUES (-5, 'neg', 1, NULL), (1999, 'edge', 2, NULL), (1000000, 'far', 3, NULL);
UPDATE measures SET k = 999 WHERE k = 1999;
DELETE FROM measures WHERE region = 'r3';
COMMIT;
INSERT INTO measures_mid VALUES (1998, 'direct', 4, now());
UPDATE measures_mid SET v = 44 WHERE k = 1998;
DELETE FROM measures_low WHERE k = 2;
SQL
wait_same measures
trucker_stop
pass

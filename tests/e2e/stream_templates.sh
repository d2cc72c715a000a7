# trucker run with a pipeline's own insert.sql, update.sql and delete.sql:
#  (a) an incremental aggregate (orders and amounts per customer) and an
#      append-only audit trail keyed by meta.lsn, under a mixed workload —
#      inserts, updates that move an order to another customer, deletes,
#      hostile strings — while trucker is killed with SIGKILL again and
#      again: in the end the aggregate equals a fresh GROUP BY on the source,
#      and the audit holds every change exactly once (as many rows as the
#      source made changes, no (lsn, order, op) twice), its strings intact;
#  (b) an unchanged TOAST value: with REPLICA IDENTITY FULL the template
#      gets it from the old row; without, the pipeline stops and says to set
#      REPLICA IDENTITY FULL (never a NULL in its place);
#  (c) a constraint violation in one pipeline's insert.sql stops that
#      pipeline at that transaction, with one log line naming its file and
#      the values at fault, while the other pipelines on the same output go
#      on.  STREAM_SEED=N replays the random kill times; STREAM_KILLS=N sets
#      how many.
. "$TRUCKER_SOURCE_DIR/tests/harness/lib.sh"
. "$TRUCKER_SOURCE_DIR/tests/harness/stream.sh"
stream_setup templates

seed=${STREAM_SEED:-$$}
RANDOM=$seed
echo "seed $seed (STREAM_SEED=$seed replays it)"
kills_wanted=${STREAM_KILLS:-20}

on_src -c "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL,
		amount numeric(12,2) NOT NULL, status text, note text)" \
	-c "ALTER TABLE orders REPLICA IDENTITY FULL" \
	-c "CREATE TABLE notes (id int PRIMARY KEY, tag text, body text)" \
	-c "CREATE TABLE changes (n bigserial, op text, order_id bigint)" \
	-c "CREATE FUNCTION count_change() RETURNS trigger LANGUAGE plpgsql AS \$\$
		BEGIN
			INSERT INTO changes (op, order_id)
			VALUES (lower(TG_OP), CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END);
			RETURN NULL;
		END \$\$" \
	-c "CREATE TRIGGER count_change AFTER INSERT OR UPDATE OR DELETE ON orders
		FOR EACH ROW EXECUTE FUNCTION count_change()"
on_dst -c "CREATE TABLE customer_totals (customer_id bigint PRIMARY KEY, orders bigint NOT NULL,
		amount numeric(14,2) NOT NULL)" \
	-c "CREATE SCHEMA audit" \
	-c "CREATE TABLE audit.orders_log (lsn pg_lsn NOT NULL, end_lsn pg_lsn NOT NULL, xid bigint,
		committed_at timestamptz, op text NOT NULL, order_id bigint NOT NULL, status text, note text)" \
	-c "CREATE TABLE small_orders (id bigint PRIMARY KEY, amount numeric(12,2) CHECK (amount < 1000))" \
	-c "CREATE TABLE note_log (id int, body text)" \
	-c "CREATE TABLE status_cast (id bigint, n int)"

# the aggregate: the repository's example, verbatim
add_pipeline customer_totals public.orders public.customer_totals customer_id
cp "$src/pipelines/customer_totals/"*.sql "$work/p/customer_totals/"
# the audit: a plain INSERT, so that a change applied twice would show
add_pipeline orders_audit public.orders audit.orders_log "lsn, order_id, op"
for op in insert update delete; do
	row=new
	[ "$op" != delete ] || row=old
	cat >"$work/p/orders_audit/$op.sql" <<SQL
INSERT INTO audit.orders_log (lsn, end_lsn, xid, committed_at, op, order_id, status, note)
VALUES ({{ meta.lsn }}, {{ meta.end_lsn }}, {{ meta.xid }}, {{ meta.commit_time }},
        {{ operation }}, {{ $row.id }}, {{ $row.status }}, {{ $row.note }})
SQL
done
# a pipeline whose insert.sql a big order breaks (CHECK amount < 1000); its
# amounts are kept out of the log
add_pipeline small_orders public.orders public.small_orders "" "operations: [insert]
redact: [amount]"
cat >"$work/p/small_orders/insert.sql" <<'SQL'
INSERT INTO small_orders (id, amount) VALUES ({{ new.id }}, {{ new.amount }})
ON CONFLICT (id) DO UPDATE SET amount = EXCLUDED.amount
SQL
# a redacted column that fails a cast: the server's message would quote it
add_pipeline status_cast public.orders public.status_cast "" "operations: [insert]
redact: [status]"
printf 'INSERT INTO status_cast VALUES ({{ new.id }}, {{ new.status }}::int)\n' >"$work/p/status_cast/insert.sql"
# a template on a table without REPLICA IDENTITY FULL that reads new.body
add_pipeline note_log public.notes public.note_log "" "operations: [insert, update]"
printf 'INSERT INTO note_log (id, body) VALUES ({{ new.id }}, {{ new.body }})\n' >"$work/p/note_log/insert.sql"
cp "$work/p/note_log/insert.sql" "$work/p/note_log/update.sql"
"$TRUCKER" check "$work/p" >"$work/check.out" 2>&1 || { cat "$work/check.out" >&2; fail "trucker check rejected the test's pipelines"; }

trucker_start

# --- (a) the workload under kill -9 -------------------------------------
hostile=("'); DROP TABLE orders; --" '{{ new.id }}' '$1' "back\\slash \"quoted\"" $'tab\there\nnewline' 'ünïcødé ✓ 🚚' '')
sql_literal() { printf "'%s'" "${1//\'/\'\'}"; }
step_sql() {
	local i id c a s sql="BEGIN;"$'\n'
	for i in $(seq $((RANDOM % 20 + 1))); do
		id=$((RANDOM % 400 + 1)) c=$((RANDOM % 12 + 1)) a=$((RANDOM % 90000))
		s=$(sql_literal "${hostile[RANDOM % ${#hostile[@]}]}")
		case $((RANDOM % 4)) in
		0 | 1) sql+="INSERT INTO orders VALUES ($id, $c, $a / 100.0, $s, 'n$id') ON CONFLICT (id) DO UPDATE SET amount = EXCLUDED.amount, status = EXCLUDED.status;"$'\n' ;;
		2) sql+="UPDATE orders SET customer_id = $c, amount = amount + 1.25, status = $s WHERE id = $id;"$'\n' ;;
		3) sql+="DELETE FROM orders WHERE id = $id;"$'\n' ;;
		esac
	done
	echo "$sql COMMIT;"
}
ten_steps() { for _ in $(seq 10); do step_sql; done; }
kill_during "$kills_wanted" ten_steps
kills=$kills_wanted
# a big order: small_orders stops on it, the others go on (part c)
on_src -c "INSERT INTO orders VALUES (1000001, 1, 5000, 'big', 'big')"
big_end=$(q_src "SELECT pg_current_wal_lsn()")
on_src -c "INSERT INTO orders VALUES (1000002, 2, 10, 'after', 'after')"
echo "$kills kills"

# the aggregate equals a fresh GROUP BY on the source
want_totals() { q_src "SELECT coalesce(string_agg(customer_id || ':' || n || ':' || s, ',' ORDER BY customer_id), '')
	FROM (SELECT customer_id, count(*) AS n, sum(amount) AS s FROM orders GROUP BY customer_id) g"; }
have_totals() { q_dst "SELECT coalesce(string_agg(customer_id || ':' || orders || ':' || amount, ',' ORDER BY customer_id), '')
	FROM customer_totals WHERE orders <> 0"; }
want=$(want_totals)
deadline=$((SECONDS + 120))
until [ "$(have_totals)" = "$want" ]; do
	[ "$SECONDS" -lt "$deadline" ] || { show_log; echo "want: $want" >&2; echo "have: $(have_totals)" >&2; fail "customer_totals differs from GROUP BY"; }
	sleep 0.3
done
checks=$((checks + 1))
expect_sql q_dst "SELECT count(*) FROM customer_totals WHERE orders = 0 AND amount <> 0" 0

# the audit: every change once
changes=$(q_src "SELECT count(*) FROM changes")
echo "$changes changes to orders"
deadline=$((SECONDS + 120))
until [ "$(q_dst "SELECT count(*) FROM audit.orders_log")" -ge "$changes" ]; do
	[ "$SECONDS" -lt "$deadline" ] || { show_log; fail "the audit has $(q_dst "SELECT count(*) FROM audit.orders_log") of $changes changes"; }
	sleep 0.3
done
expect_sql q_dst "SELECT count(*) FROM audit.orders_log" "$changes"
expect_sql q_dst "SELECT count(*) FROM (SELECT DISTINCT lsn, order_id, op FROM audit.orders_log) d" "$changes"
# the same changes per order and operation as the source made
expect_sql q_src "SELECT md5(string_agg(op || order_id, ',' ORDER BY op, order_id)) FROM changes" \
	"$(q_dst "SELECT md5(string_agg(op || order_id, ',' ORDER BY op, order_id)) FROM audit.orders_log")"
# each order's last status arrived intact, byte for byte
last_status_src=$(q_src "SELECT md5(string_agg(id || '=' || coalesce(status, '<null>'), '|' ORDER BY id)) FROM orders")
last_status_dst=$(q_dst "SELECT md5(string_agg(order_id || '=' || coalesce(status, '<null>'), '|' ORDER BY order_id))
	FROM (SELECT DISTINCT ON (order_id) order_id, status, op FROM audit.orders_log ORDER BY order_id, lsn DESC) l
	WHERE op <> 'delete'")
checks=$((checks + 1))
[ "$last_status_src" = "$last_status_dst" ] || fail "the orders' last statuses differ between the source and the audit"
expect_sql q_src "SELECT to_regclass('public.orders') IS NOT NULL" t
# meta: end_lsn at or past lsn, xid and commit time filled in
expect_sql q_dst "SELECT count(*) FROM audit.orders_log WHERE end_lsn <= lsn OR xid IS NULL OR committed_at IS NULL" 0

# --- (c) the constraint violation -----------------------------------------
deadline=$((SECONDS + 60))
until grep -F 'msg="statement failed"' "$trucker_log" | grep -q "pipeline=small_orders"; do
	[ "$SECONDS" -lt "$deadline" ] || { show_log; fail "no error for pipeline small_orders"; }
	sleep 0.2
done
grep -F 'msg="statement failed"' "$trucker_log" | grep "pipeline=small_orders" | tail -n 1 >"$work/failed"
expect_contains "$work/failed" "sqlstate=23514"
expect_contains "$work/failed" "small_orders/insert.sql"
expect_contains "$work/failed" "\$2 new.amount = [redacted]"
expect_contains "$work/failed" "\$1 new.id = '1000001'"
expect_lacks "$work/failed" "5000.00"
expect_sql q_dst "SELECT count(*) FROM small_orders WHERE id >= 1000001" 0
checks=$((checks + 1))
lsn_ge "$big_end" "$(q_dst "SELECT lsn FROM trucker.checkpoints WHERE pipeline = 'small_orders'")" ||
	fail "small_orders' checkpoint moved past the failing transaction"
# the others took the big order and the one after it
deadline=$((SECONDS + 60))
until [ "$(q_dst "SELECT count(*) FROM audit.orders_log WHERE order_id IN (1000001, 1000002)")" = 2 ]; do
	[ "$SECONDS" -lt "$deadline" ] || { show_log; fail "orders_audit did not go on past small_orders' failure"; }
	sleep 0.2
done

# a redacted value in a failing cast stays out of the log
grep -F "pipeline=status_cast" "$trucker_log" >"$work/cast" || true
expect_contains "$work/cast" "sqlstate=22P02"
expect_contains "$work/cast" "the message is withheld"
expect_contains "$work/cast" "\$2 new.status = [redacted]"
expect_lacks "$work/cast" "invalid input syntax"

# --- (b) unchanged TOAST ----------------------------------------------------
# 320 kB of hex digits: stored out of line even compressed
big="(SELECT string_agg(md5(g::text), '') FROM generate_series(1, 10000) g)"
on_src -c "UPDATE orders SET note = $big WHERE id = 1000002"
on_src -c "UPDATE orders SET status = 'toast kept' WHERE id = 1000002"
deadline=$((SECONDS + 60))
until [ "$(q_dst "SELECT count(*) FROM audit.orders_log WHERE status = 'toast kept'")" = 1 ]; do
	[ "$SECONDS" -lt "$deadline" ] || { show_log; fail "the update leaving a TOAST value unchanged did not arrive"; }
	sleep 0.2
done
expect_sql q_dst "SELECT md5(note) FROM audit.orders_log WHERE status = 'toast kept'" "$(q_src "SELECT md5(note) FROM orders WHERE id = 1000002")"
on_src -c "INSERT INTO notes VALUES (1, 'a', $big)"
on_src -c "UPDATE notes SET tag = 'b' WHERE id = 1"
deadline=$((SECONDS + 60))
until grep -F 'msg="pipeline stopped"' "$trucker_log" | grep -q "pipeline=note_log"; do
	[ "$SECONDS" -lt "$deadline" ] || { show_log; fail "note_log did not stop on the unchanged TOAST value"; }
	sleep 0.2
done
grep -F 'msg="pipeline stopped"' "$trucker_log" | grep "pipeline=note_log" | tail -n 1 >"$work/toast"
expect_contains "$work/toast" "new.body is not in this update"
expect_contains "$work/toast" "REPLICA IDENTITY FULL"
expect_contains "$work/toast" "note_log/update.sql:1:"
expect_sql q_dst "SELECT count(*) || ':' || count(body) FROM note_log" "1:1"

trucker_stop
pass

INSERT INTO audit.orders_log (lsn, end_lsn, xid, committed_at, op, order_id, status, amount)
VALUES ({{ meta.lsn }}, {{ meta.end_lsn }}, {{ meta.xid }}, {{ meta.commit_time }},
        {{ operation }}, {{ new.id }}, {{ new.status }}, {{ new.amount }})
ON CONFLICT (lsn, order_id, op) DO NOTHING

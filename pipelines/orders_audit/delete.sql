INSERT INTO audit.orders_log (lsn, end_lsn, xid, committed_at, op, order_id)
VALUES ({{ meta.lsn }}, {{ meta.end_lsn }}, {{ meta.xid }}, {{ meta.commit_time }},
        {{ operation }}, {{ old.id }})
ON CONFLICT (lsn, order_id, op) DO NOTHING

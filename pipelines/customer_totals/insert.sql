INSERT INTO customer_totals AS t (customer_id, orders, amount)
VALUES ({{ new.customer_id }}, 1, {{ new.amount }})
ON CONFLICT (customer_id) DO UPDATE
SET orders = t.orders + 1,
    amount = t.amount + EXCLUDED.amount

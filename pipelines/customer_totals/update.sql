-- Take the old amount from the old customer and add the new amount to the
-- new customer.  They may be the same customer, and one statement may not
-- change a row twice, so the two deltas are summed per customer first.
INSERT INTO customer_totals AS t (customer_id, orders, amount)
SELECT customer_id, sum(orders), sum(amount)
FROM (VALUES ({{ old.customer_id }}::bigint, -1, -{{ old.amount }}::numeric),
             ({{ new.customer_id }}::bigint,  1,  {{ new.amount }}::numeric))
     AS delta (customer_id, orders, amount)
GROUP BY customer_id
ON CONFLICT (customer_id) DO UPDATE
SET orders = t.orders + EXCLUDED.orders,
    amount = t.amount + EXCLUDED.amount

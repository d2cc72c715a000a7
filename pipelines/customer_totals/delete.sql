UPDATE customer_totals
SET orders = orders - 1,
    amount = amount - {{ old.amount }}
WHERE customer_id = {{ old.customer_id }}

-- Runs on the source for each change; its rows are "transformed".
-- On delete every new.* is NULL, so the join finds no customer and the
-- transform returns no row: the mirror then deletes by the old row's key.
SELECT {{ new.id }}::bigint      AS id,
       c.id                      AS customer_id,
       c.name                    AS customer_name,
       c.country                 AS country,
       {{ new.amount }}::numeric AS amount,
       {{ new.status }}::text    AS status
FROM customers c
WHERE c.id = {{ new.customer_id }}

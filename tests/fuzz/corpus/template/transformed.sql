INSERT INTO agg (k, total) VALUES ({{ transformed.k }}, {{ transformed.total }})
ON CONFLICT (k) DO UPDATE SET total = agg.total + EXCLUDED.total;

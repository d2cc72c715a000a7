{% if operation == 'delete' -%}
DELETE FROM t WHERE id = {{ old.id }}
{%- elif operation == 'update' -%}
UPDATE t SET v = {{ new.v }} WHERE id = {{ old.id }}
{%- else -%}
INSERT INTO t (id, v) VALUES ({{ new.id }}, {{ new.v }})
{%- endif %};

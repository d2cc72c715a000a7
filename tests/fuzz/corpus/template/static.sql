INSERT INTO t (id, name) VALUES ({{ new.id }}, {{ new.name }});

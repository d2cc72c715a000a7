{# every operator #}
UPDATE t SET v = 1
WHERE {% if (new.a == 10.0 or new.b != 'x') and not new.c is null and new.d is not null %}TRUE{% elif new.e == true %}FALSE{% else %}NULL{% endif %}

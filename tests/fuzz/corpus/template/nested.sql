SELECT {% if new.a %}{% if new.b == 't' %}{{ new.x }}, {{ new.y }}{% else %}{{ new.y }}{% endif %}{% else %}{% if not new.b %}{{ new.z }} + {% endif %}0{% endif %}

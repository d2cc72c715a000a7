SELECT
  {%- if new.a %}
    a,
  {%- else -%}
    b
  {%- endif %}
FROM t {#- comment -#} ;

{#- Fails on rows where the column is negative (zero allowed, nulls ignored). -#}
{% test positive_value(model, column_name) %}

select {{ column_name }}
from {{ model }}
where {{ column_name }} < 0

{% endtest %}

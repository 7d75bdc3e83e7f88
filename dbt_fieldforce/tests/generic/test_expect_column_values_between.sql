{#- Expectation-style: every non-null value lies in [min_value, max_value] (SQL expressions). -#}
{% test expect_column_values_between(model, column_name, min_value=none, max_value=none, row_condition=none) %}

select {{ column_name }}
from {{ model }}
where {{ column_name }} is not null
    {%- if row_condition %}
    and ({{ row_condition }})
    {%- endif %}
    and (
        1 = 0
        {%- if min_value is not none %}
        or {{ column_name }} < {{ min_value }}
        {%- endif %}
        {%- if max_value is not none %}
        or {{ column_name }} > {{ max_value }}
        {%- endif %}
    )

{% endtest %}

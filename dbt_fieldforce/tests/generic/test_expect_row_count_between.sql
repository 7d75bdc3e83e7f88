{#- Expectation-style: the model's row count lies in [min_value, max_value] (either optional). -#}
{% test expect_row_count_between(model, min_value=none, max_value=none) %}

with

row_count as (

    select count(*) as row_count from {{ model }}

)

select row_count
from row_count
where 1 = 0
    {%- if min_value is not none %}
    or row_count < {{ min_value }}
    {%- endif %}
    {%- if max_value is not none %}
    or row_count > {{ max_value }}
    {%- endif %}

{% endtest %}

{#-
    Expectation-style recency: the newest value of a timestamp column is at most
    `interval` `datepart`s older than the newest value of `reference_column` in
    `reference_model` (or, without a reference, than the current UTC time).
-#}
{% test expect_recency(model, column_name, datepart, interval, reference_model=none, reference_column=none) %}

with

newest as (

    select max({{ column_name }}) as newest_at from {{ model }}

),

reference as (

    {%- if reference_model is not none %}
    select max({{ reference_column }}) as reference_at from {{ reference_model }}
    {%- else %}
    select {{ utc_now() }} as reference_at
    {%- endif %}

)

select
    newest.newest_at,
    reference.reference_at
from newest
cross join reference
where newest.newest_at is null
    or newest.newest_at < {{ dbt.dateadd(datepart, -1 * interval, 'reference.reference_at') }}

{% endtest %}

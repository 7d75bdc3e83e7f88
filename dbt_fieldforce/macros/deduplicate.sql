{#-
    Keep one row per key: the first by `order_by` (e.g. latest sync first).
    `relation` is a relation or a CTE name; returns a select statement.
-#}
{% macro deduplicate(relation, partition_by, order_by) -%}
    select *
    from {{ relation }}
    qualify row_number() over (
        partition by {{ partition_by }}
        order by {{ order_by }}
    ) = 1
{%- endmacro %}

{#- Small adapter-dispatched helpers where DuckDB and Snowflake differ. -#}

{#- The current time as a naive UTC timestamp (the warehouse convention). -#}
{% macro utc_now() -%}
    {{ return(adapter.dispatch('utc_now', 'dbt_fieldforce')()) }}
{%- endmacro %}

{% macro default__utc_now() -%}
    cast(convert_timezone('UTC', current_timestamp()) as timestamp_ntz)
{%- endmacro %}

{% macro duckdb__utc_now() -%}
    cast(timezone('UTC', current_timestamp) as timestamp)
{%- endmacro %}

{#- A top-level string field of a JSON text column. -#}
{% macro json_extract_string(column_name, key) -%}
    {{ return(adapter.dispatch('json_extract_string', 'dbt_fieldforce')(column_name, key)) }}
{%- endmacro %}

{% macro default__json_extract_string(column_name, key) -%}
    cast(parse_json({{ column_name }}):{{ key }} as varchar)
{%- endmacro %}

{% macro duckdb__json_extract_string(column_name, key) -%}
    json_extract_string({{ column_name }}, '$.{{ key }}')
{%- endmacro %}

{#- Schemas of `database` whose lowercased name starts with `prefix` and hold `table_name`. -#}
{% macro tenant_schemas_sql(database, prefix, table_name) -%}
    {{ return(adapter.dispatch('tenant_schemas_sql', 'dbt_fieldforce')(database, prefix, table_name)) }}
{%- endmacro %}

{% macro default__tenant_schemas_sql(database, prefix, table_name) -%}
    select distinct lower(table_schema) as table_schema
    from {{ database }}.information_schema.tables
    where left(lower(table_schema), {{ prefix | length }}) = '{{ prefix | lower }}'
        and lower(table_name) = '{{ table_name | lower }}'
    order by 1
{%- endmacro %}

{% macro duckdb__tenant_schemas_sql(database, prefix, table_name) -%}
    select distinct lower(table_schema) as table_schema
    from information_schema.tables
    where table_catalog = '{{ database }}'
        and left(lower(table_schema), {{ prefix | length }}) = '{{ prefix | lower }}'
        and lower(table_name) = '{{ table_name | lower }}'
    order by 1
{%- endmacro %}

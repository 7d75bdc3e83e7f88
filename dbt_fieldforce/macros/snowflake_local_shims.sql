{#
    Target-only shims for the `snowflake_local` target (dbt-snowflake against a fakesnow
    server): fakesnow runs MERGE through DuckDB, which needs the source
    columns in VALUES qualified (else "Ambiguous reference"), and fails on the
    `begin ... commit` dbt-snowflake wraps around DML. Every other Snowflake target uses
    dbt-snowflake's own macros unchanged.
#}

{% macro snowflake__get_merge_sql(target, source, unique_key, dest_columns, incremental_predicates=none) -%}
    {%- if not fieldforce_is_snowflake_local() -%}
        {{ return(dbt.snowflake__get_merge_sql(target, source, unique_key, dest_columns, incremental_predicates)) }}
    {%- endif -%}
    {%- set merge_sql = default__get_merge_sql(target, source, unique_key, dest_columns, incremental_predicates) -%}
    {%- set dest_cols_csv = get_quoted_csv(dest_columns | map(attribute="name")) -%}
    {%- set qualified = [] -%}
    {%- for column in dest_columns -%}
        {%- do qualified.append("DBT_INTERNAL_SOURCE." ~ adapter.quote(column.name)) -%}
    {%- endfor -%}
    {{ return(fieldforce_qualify_values(merge_sql, dest_cols_csv, qualified | join(', '))) }}
{%- endmacro %}

{% macro snowflake__snapshot_merge_sql(target, source, insert_cols) -%}
    {%- if not fieldforce_is_snowflake_local() -%}
        {{ return(dbt.snowflake__snapshot_merge_sql(target, source, insert_cols)) }}
    {%- endif -%}
    {%- set merge_sql = default__snapshot_merge_sql(target, source, insert_cols) -%}
    {%- set insert_cols_csv = insert_cols | join(', ') -%}
    {%- set qualified = [] -%}
    {%- for column in insert_cols -%}
        {%- do qualified.append("DBT_INTERNAL_SOURCE." ~ column) -%}
    {%- endfor -%}
    {{ return(fieldforce_qualify_values(merge_sql, insert_cols_csv, qualified | join(', '))) }}
{%- endmacro %}

{% macro fieldforce_is_snowflake_local() -%}
    {{ return(target.name == 'snowflake_local') }}
{%- endmacro %}

{#- Rewrite the `values (<cols>)` clause of a merge to `values (<qualified cols>)`. -#}
{% macro fieldforce_qualify_values(merge_sql, columns_csv, qualified_csv) -%}
    {%- set parts = merge_sql.split('values') -%}
    {%- set head = parts[:-1] | join('values') -%}
    {%- set tail = parts[-1] -%}
    {{ return(head ~ 'values' ~ tail.replace('(' ~ columns_csv ~ ')', '(' ~ qualified_csv ~ ')', 1)) }}
{%- endmacro %}

{#
    Unit tests on snowflake_local: dbt's `unit` materialization types the expected rows through
    a `create temporary table "db"."schema"."x"`, which fakesnow rejects (DuckDB keeps
    temporary tables in its own catalog). This is dbt's default materialization with a plain
    table on that target only; it is dropped at the end as before.
#}
{%- materialization unit, adapter='snowflake' -%}

  {% set relations = [] %}
  {% set sql_header = config.get('sql_header') if flags.REQUIRE_SQL_HEADER_IN_TEST_CONFIGS else none %}

  {% set expected_rows = config.get('expected_rows') %}
  {% set expected_sql = config.get('expected_sql') %}
  {% set tested_expected_column_names = expected_rows[0].keys() if (expected_rows | length ) > 0 else get_columns_in_query(sql) %}

  {%- set target_relation = this.incorporate(type='table') -%}
  {%- set temp_relation = make_temp_relation(target_relation)-%}
  {% do run_query(get_create_table_as_sql(not fieldforce_is_snowflake_local(), temp_relation, get_empty_subquery_sql(sql))) %}
  {%- set columns_in_relation = adapter.get_columns_in_relation(temp_relation) -%}
  {%- set column_name_to_data_types = {} -%}
  {%- set column_name_to_quoted = {} -%}
  {%- for column in columns_in_relation -%}
  {%-   do column_name_to_data_types.update({column.name|lower: column.data_type}) -%}
  {%-   do column_name_to_quoted.update({column.name|lower: column.quoted}) -%}
  {%- endfor -%}

  {%- set expected_column_names_quoted = [] -%}
  {%- for column_name in tested_expected_column_names -%}
  {%-   do expected_column_names_quoted.append(column_name_to_quoted[column_name|lower]) -%}
  {%- endfor -%}

  {% if not expected_sql %}
  {%   set expected_sql = get_expected_sql(expected_rows, column_name_to_data_types, column_name_to_quoted) %}
  {% endif %}
  {% set unit_test_sql = get_unit_test_sql(sql, expected_sql, expected_column_names_quoted) %}

  {% call statement('main', fetch_result=True) -%}

    {% if sql_header %}{{ sql_header }}{% endif %}
    {{ unit_test_sql }}

  {%- endcall %}

  {% do adapter.drop_relation(temp_relation) %}

  {{ return({'relations': relations}) }}

{%- endmaterialization -%}

{#-
    Snapshots on snowflake_local: the staging table of a snapshot is a database-qualified
    temporary table too; use a plain table there and drop it after the merge.
-#}
{% macro build_snapshot_staging_table(strategy, sql, target_relation) %}
    {% set temp_relation = make_temp_relation(target_relation) %}

    {% set select = snapshot_staging_table(strategy, sql, target_relation) %}

    {% call statement('build_snapshot_staging_relation') %}
        {{ create_table_as(not fieldforce_is_snowflake_local(), temp_relation, select) }}
    {% endcall %}

    {% do return(temp_relation) %}
{% endmacro %}

{% macro snowflake__post_snapshot(staging_relation) %}
    {% if fieldforce_is_snowflake_local() %}
        {% do adapter.drop_relation(staging_relation) %}
    {% endif %}
{% endmacro %}

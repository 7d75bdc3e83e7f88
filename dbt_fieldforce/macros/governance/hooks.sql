{#
    Governance hooks, wired in dbt_project.yml (on-run-start, the models' post-hook,
    on-run-end) and dispatched by adapter:
    * snowflake: the DDL of snowflake.sql, only against a real account (governance_enabled);
      on snowflake_local (fakesnow) they render empty and nothing runs.
    * duckdb: the local warehouse's governed layer (duckdb.sql), refreshed at the end of each
      `dbt run` / `dbt build`.
    The run hooks act on `dbt run` and `dbt build` only: `dbt compile` renders hooks too, and
    `dbt test` / `dbt seed` build nothing a policy or a governed view covers.
    Each hook renders its statements as one script that dbt runs as the hook (dbt-snowflake
    splits it per statement); only reads happen while rendering.
#}

{% macro governance_script_sql(statements) -%}
    {{ return(statements | join(';\n') ~ (';' if statements else '')) }}
{%- endmacro %}

{% macro governance_on_run_start() -%}
    {%- if execute -%}
        {{- adapter.dispatch('governance_on_run_start', 'dbt_fieldforce')() -}}
    {%- endif -%}
{%- endmacro %}

{% macro default__governance_on_run_start() -%}{%- endmacro %}

{% macro snowflake__governance_on_run_start() -%}
    {%- if governance_enabled() and flags.WHICH in ('run', 'build') -%}
        {#- dbt listed the relations before this hook: tell its cache the mapping table will
            exist, or the seed would try to create it a second time. -#}
        {%- do adapter.cache_added(governance_mapping_relation()) -%}
        {{- governance_script_sql(governance_policy_statements()) -}}
    {%- endif -%}
{%- endmacro %}

{% macro governance_post_hook() -%}
    {%- if execute -%}
        {{- adapter.dispatch('governance_post_hook', 'dbt_fieldforce')() -}}
    {%- endif -%}
{%- endmacro %}

{% macro default__governance_post_hook() -%}{%- endmacro %}

{% macro snowflake__governance_post_hook() -%}
    {%- if governance_enabled() -%}
        {%- set attached = governance_layer(model) == 'marts'
            and governance_config().region_filtered.get(model.name)
            and governance_row_policy_attached(
                this, 'view' if model.config.materialized == 'view' else 'table') -%}
        {{- governance_script_sql(governance_model_statements(model, this, attached)) -}}
    {%- endif -%}
{%- endmacro %}

{% macro governance_on_run_end(results) -%}
    {%- if execute -%}
        {{- adapter.dispatch('governance_on_run_end', 'dbt_fieldforce')(results) -}}
    {%- endif -%}
{%- endmacro %}

{% macro default__governance_on_run_end(results) -%}{%- endmacro %}

{% macro snowflake__governance_on_run_end(results) -%}
    {%- if governance_enabled() and flags.WHICH in ('run', 'build') -%}
        {%- set built = [] -%}
        {%- for result in results if result.status == 'success' -%}
            {%- do built.append(result.node.unique_id) -%}
        {%- endfor -%}
        {%- set nodes = [] -%}
        {%- for node in governance_nodes(['staging', 'intermediate', 'marts']) if node.unique_id in built -%}
            {%- do nodes.append(node) -%}
        {%- endfor -%}
        {{- governance_script_sql(governance_schema_statements(nodes)) -}}
    {%- endif -%}
{%- endmacro %}

{% macro duckdb__governance_on_run_end(results) -%}
    {%- if flags.WHICH in ('run', 'build') -%}
        {%- set statements = governance_governed_layer_statements() -%}
        {#- the reads above opened a transaction on dbt's master connection, which dbt rolls
            back after the last hook: end it, so the hook's statements run in autocommit -#}
        {%- do adapter.commit() -%}
        {{- governance_script_sql(statements) -}}
    {%- endif -%}
{%- endmacro %}

{#
    The design's schema naming. Production-like targets (local, snowflake, snowflake_local) use the
    folder's schema as-is (core, finance, stg_jobs, ...); every other target (ci, dev) prefixes
    it with the target schema, so each CI run or developer builds into its own schemas.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- set prod_like_targets = ['local', 'snowflake', 'snowflake_local'] -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- elif target.name in prod_like_targets -%}
        {{ custom_schema_name | trim }}
    {%- else -%}
        {{ target.schema }}_{{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}

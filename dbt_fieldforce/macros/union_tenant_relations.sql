{#
    Multi-tenant discovery. The Jobs DB lands one schema per business unit
    (fivetran_postgres_bu_north, fivetran_postgres_bu_south, ...). This returns a
    `union all` of `table_name` from every such schema that exists at run time, each row
    tagged with `tenant_id` (the schema name without the prefix), so a new tenant needs no
    code change: its schema is picked up by the next `dbt run` of the staging views.

    The dbt source `fivetran_postgres` points at the template tenant (var
    `jobs_template_tenant`); calling `source()` here gives the model its lineage edge and the
    column list. Tenants whose table lacks a template column get a typed null for it;
    columns only some tenants have are ignored until the template has them.
#}
{% macro union_tenant_relations(table_name, source_name='fivetran_postgres') -%}
    {%- set template = source(source_name, table_name) -%}
    {%- set prefix = var('jobs_tenant_schema_prefix') -%}

    {%- if not execute -%}
    select '{{ var("jobs_template_tenant") }}' as tenant_id, * from {{ template }}
    {%- else -%}

    {%- set schemas = run_query(tenant_schemas_sql(template.database, prefix, table_name)).columns[0].values() -%}
    {%- if schemas | length == 0 -%}
        {%- do exceptions.raise_compiler_error(
            "union_tenant_relations: no schema starting with '" ~ prefix ~ "' holds table '"
            ~ table_name ~ "' in database " ~ template.database
        ) -%}
    {%- endif -%}

    {%- set relations = [] -%}
    {%- for schema_name in schemas -%}
        {%- do relations.append(template.incorporate(path={'schema': schema_name})) -%}
    {%- endfor -%}

    {%- set template_columns = adapter.get_columns_in_relation(template) -%}
    {%- if template_columns | length == 0 -%}
        {%- set template_columns = adapter.get_columns_in_relation(relations[0]) -%}
    {%- endif -%}

    {%- for relation in relations %}
        {%- set present = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list %}
    select
        cast('{{ relation.schema[prefix | length:] | lower }}' as {{ dbt.type_string() }}) as tenant_id,
        {%- for column in template_columns %}
            {%- if column.name | lower in present %}
        {{ column.name }} as {{ column.name | lower }}
            {%- else %}
        cast(null as {{ column.data_type }}) as {{ column.name | lower }}
            {%- endif -%}
            {{- "," if not loop.last }}
        {%- endfor %}
    from {{ relation }}
        {%- if not loop.last %}

    union all
        {% endif -%}
    {%- endfor %}
    {%- endif -%}
{%- endmacro %}

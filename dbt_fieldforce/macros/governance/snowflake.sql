{#
    The Snowflake governance DDL, as lists of statements (no side effects here; hooks.sql and
    operations.sql run or print them). Four parts, by who runs them and when:

    1. account   roles, role hierarchy, warehouse and database grants, raw future grants.
                 Needs CREATE ROLE and MANAGE GRANTS: run once (and after a matrix change)
                 as SECURITYADMIN: `dbt run-operation governance_setup --target snowflake`.
    2. policies  the security schema, the mapping table, the masking policies and the row
                 access policy; on-run-start of every dbt run, as DBT_PROD_ROLE (their owner),
                 so the post-hooks below can attach them.
    3. models    post-hook of every staging/intermediate/mart model, as DBT_PROD_ROLE (the
                 table's owner): attach the mart's policies, then grant select to the layer's
                 read role. In that order, so a rebuilt table is never readable unprotected.
    4. schemas   on-run-end: usage on the layer schemas to the layer's read role.

    `dbt run-operation governance_script --target snowflake` prints all four for review.
#}

{#- True only against a real Snowflake account: fakesnow (snowflake_local) cannot parse
    grants or policies, and DuckDB has neither. -#}
{% macro governance_enabled() -%}
    {{ return(target.type == 'snowflake' and not fieldforce_is_snowflake_local()
        and (target.account | default('', true) | lower) != 'fakesnow') }}
{%- endmacro %}

{% macro governance_policy_relation(name) -%}
    {%- set mapping = governance_mapping_relation() -%}
    {{ return(mapping.database ~ '.' ~ mapping.schema ~ '.' ~ name) }}
{%- endmacro %}

{#- 1. account: roles, hierarchy, warehouses, databases. -#}
{% macro governance_account_statements() -%}
    {%- set config = governance_config() -%}
    {%- set statements = [] -%}
    {%- set data_roles = [config.raw_write_role, config.raw_read_role]
        + (config.layer_read_roles.values() | list) + [config.transform_write_role] -%}
    {%- for role in data_roles + (config.functional_roles.keys() | list) -%}
        {%- do statements.append('create role if not exists ' ~ role) -%}
    {%- endfor -%}
    {%- for role, spec in config.functional_roles.items() -%}
        {%- for data_role in spec.data_roles -%}
            {%- do statements.append('grant role ' ~ data_role ~ ' to role ' ~ role) -%}
        {%- endfor -%}
        {%- do statements.append('grant role ' ~ role ~ ' to role ' ~ config.parent_role) -%}
        {%- do statements.append('grant usage on warehouse ' ~ spec.warehouse ~ ' to role ' ~ role) -%}
        {%- if spec.sandbox_database -%}
            {%- do statements.append(
                'grant usage, create schema on database ' ~ spec.sandbox_database ~ ' to role ' ~ role
            ) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- for database in governance_raw_databases() -%}
        {%- do statements.append('grant usage, create schema on database ' ~ database ~ ' to role ' ~ config.raw_write_role) -%}
        {%- do statements.append('grant usage on database ' ~ database ~ ' to role ' ~ config.raw_read_role) -%}
        {%- do statements.append('grant usage on all schemas in database ' ~ database ~ ' to role ' ~ config.raw_read_role) -%}
        {%- do statements.append('grant usage on future schemas in database ' ~ database ~ ' to role ' ~ config.raw_read_role) -%}
        {%- do statements.append('grant select on all tables in database ' ~ database ~ ' to role ' ~ config.raw_read_role) -%}
        {%- do statements.append('grant select on future tables in database ' ~ database ~ ' to role ' ~ config.raw_read_role) -%}
    {%- endfor -%}
    {%- do statements.append('grant usage, create schema on database ' ~ target.database ~ ' to role ' ~ config.transform_write_role) -%}
    {%- for read_role in config.layer_read_roles.values() -%}
        {%- do statements.append('grant usage on database ' ~ target.database ~ ' to role ' ~ read_role) -%}
    {%- endfor -%}
    {{ return(statements) }}
{%- endmacro %}

{#- Databases the Fivetran sources live in (ANALYTICS_RAW; FIELDFORCE_RAW_DATABASE overrides). -#}
{% macro governance_raw_databases() -%}
    {%- set databases = [] -%}
    {%- for source in graph.sources.values() -%}
        {%- if source.package_name == project_name and source.database not in databases -%}
            {%- do databases.append(source.database) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(databases | sort) }}
{%- endmacro %}

{#- 2. policies: schema, mapping table, masking and row access policies (create, then keep
    the body current: `create or replace` is refused while a policy is attached). -#}
{% macro governance_policy_statements() -%}
    {%- set config = governance_config() -%}
    {%- set mapping = governance_mapping_relation() -%}
    {%- set statements = [
        'create schema if not exists ' ~ mapping.database ~ '.' ~ mapping.schema,
        'create table if not exists ' ~ mapping
            ~ ' (sigma_email varchar, region_id integer, access_level varchar)',
    ] -%}
    {%- for policy in config.masking_policies -%}
        {%- set name = governance_policy_relation(policy) -%}
        {%- set body = governance_mask_sql(policy, 'val', 'current_role()') | trim -%}
        {%- do statements.append('create masking policy if not exists ' ~ name
            ~ ' as (val string) returns string ->\n    ' ~ body) -%}
        {%- do statements.append('alter masking policy ' ~ name ~ ' set body ->\n    ' ~ body) -%}
    {%- endfor -%}
    {%- set name = governance_policy_relation(config.row_access_policy) -%}
    {%- set body = governance_region_predicate_sql(
        'row_region_id', 'current_user()', 'current_role()', mapping) | trim -%}
    {%- do statements.append('create row access policy if not exists ' ~ name
        ~ ' as (row_region_id number) returns boolean ->\n    ' ~ body) -%}
    {%- do statements.append('alter row access policy ' ~ name ~ ' set body ->\n    ' ~ body) -%}
    {{ return(statements) }}
{%- endmacro %}

{#- 3. models: a model's policies (marts only) then its read grant. `row_policy_attached`
    is true when an incremental run finds the table already filtered: Snowflake refuses a
    second `add row access policy`, and dropping it first would open a window. -#}
{% macro governance_model_statements(node, relation, row_policy_attached=false) -%}
    {%- set config = governance_config() -%}
    {%- set layer = governance_layer(node) -%}
    {%- set statements = [] -%}
    {%- if layer is none -%}
        {{ return(statements) }}
    {%- endif -%}
    {%- set kind = 'view' if node.config.materialized == 'view' else 'table' -%}
    {%- if layer == 'marts' -%}
        {%- for column, policy in config.masked_columns.get(node.name, {}).items() -%}
            {%- do statements.append('alter ' ~ kind ~ ' ' ~ relation ~ ' modify column ' ~ column
                ~ ' set masking policy ' ~ governance_policy_relation(policy) ~ ' force') -%}
        {%- endfor -%}
        {%- set region_column = config.region_filtered.get(node.name) -%}
        {%- if region_column and not row_policy_attached -%}
            {%- do statements.append('alter ' ~ kind ~ ' ' ~ relation ~ ' add row access policy '
                ~ governance_policy_relation(config.row_access_policy) ~ ' on (' ~ region_column ~ ')') -%}
        {%- endif -%}
    {%- endif -%}
    {%- do statements.append('grant select on ' ~ kind ~ ' ' ~ relation ~ ' to role '
        ~ config.layer_read_roles[layer]) -%}
    {{ return(statements) }}
{%- endmacro %}

{#- 4. schemas: usage on each layer schema holding one of `nodes`. -#}
{% macro governance_schema_statements(nodes) -%}
    {%- set config = governance_config() -%}
    {%- set statements = [] -%}
    {%- for node in nodes -%}
        {%- set statement = 'grant usage on schema ' ~ node.database ~ '.' ~ node.schema
            ~ ' to role ' ~ config.layer_read_roles[governance_layer(node)] -%}
        {%- if statement not in statements -%}
            {%- do statements.append(statement) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(statements) }}
{%- endmacro %}

{#- Is `relation`'s row access policy already attached (an incremental run's table)? -#}
{% macro governance_row_policy_attached(relation, kind='table') -%}
    {%- set sql -%}
        select count(*)
        from table({{ relation.database }}.information_schema.policy_references(
            ref_entity_name => '{{ relation }}', ref_entity_domain => '{{ kind }}'
        ))
        where policy_kind = 'ROW_ACCESS_POLICY'
    {%- endset -%}
    {{ return(run_query(sql).columns[0].values()[0] > 0) }}
{%- endmacro %}

{#- Every part in order, as (title, statements) pairs: what governance_script prints. -#}
{% macro governance_script_sections() -%}
    {%- set nodes = governance_nodes(['staging', 'intermediate', 'marts']) -%}
    {%- set model_statements = [] -%}
    {%- for node in nodes -%}
        {%- do model_statements.extend(governance_model_statements(node, governance_relation(node))) -%}
    {%- endfor -%}
    {{ return([
        ('1. account: roles, hierarchy, warehouses, databases (SECURITYADMIN, dbt run-operation governance_setup)',
            governance_account_statements()),
        ('2. policies (on-run-start, DBT_PROD_ROLE)', governance_policy_statements()),
        ('3. models: policies, then read grants (post-hook of each model, DBT_PROD_ROLE)', model_statements),
        ('4. schemas: usage per layer schema (on-run-end, DBT_PROD_ROLE)', governance_schema_statements(nodes)),
    ]) }}
{%- endmacro %}

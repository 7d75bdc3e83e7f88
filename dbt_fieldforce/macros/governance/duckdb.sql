{#
    The local warehouse's governance. DuckDB has no roles, grants or policies, so the same
    rules are enforced in two pieces:

    * Here, the rules: a `governed` schema with one view per intermediate and mart relation,
      applying the masking policies and the region filter of policies.sql to the identity of
      the reading session (`getvariable('fieldforce_user')`, `getvariable('fieldforce_role')`,
      unset = no privilege, no region). Plus two tables describing it: `governed_relations`
      (view, source schema and relation, layer) and `role_layers` (role, layer it may read:
      the Snowflake read grants of governance_config()).
    * In local/standins/snowflake/governance.py, the door: a governed connection sets the
      identity, copies exactly what `role_layers` lets the role read through these views into
      a private in-memory database, detaches the warehouse and locks the session down, so
      neither raw nor the unmasked marts are reachable from it, whatever SQL is sent.

    The statements are run by the on-run-end hook (hooks.sql). They also create
    security.user_region_access when it is missing (nobody is mapped yet), so a warehouse
    whose seed has not been built fails closed instead of failing.
#}
{% macro governance_governed_layer_statements() -%}
    {%- set config = governance_config() -%}
    {%- set mapping = governance_mapping_relation() -%}
    {%- set governed = api.Relation.create(
        database=target.database,
        schema=(generate_schema_name(config.governed_schema, none) | trim),
    ) -%}
    {%- set statements = [
        'create schema if not exists ' ~ mapping.include(identifier=false),
        'create table if not exists ' ~ mapping
            ~ ' (sigma_email varchar, region_id integer, access_level varchar)',
        'create schema if not exists ' ~ governed.include(identifier=false),
    ] -%}

    {#- What is there: the governed views, the definition each was made from (the catalog's
        digest) and, in one query, the columns of every relation they read. A view is made
        again only when its definition or its relation's columns changed, or it is missing:
        dbt rebuilds a relation under the same name, and a view binds it by name at each read.
        Dagster runs a few models at a time, so re-making every view after each run was most
        of the hook's cost. -#}
    {%- set catalog = governed.incorporate(path={'identifier': 'governed_relations'}) -%}
    {%- set nodes = governance_nodes(['intermediate', 'marts']) -%}
    {%- set schemas = [governed.schema] -%}
    {%- for node in nodes if node.schema not in schemas -%}
        {%- do schemas.append(node.schema) -%}
    {%- endfor -%}
    {%- set found -%}
        select table_schema, table_name, column_name, data_type
        from information_schema.columns
        where table_catalog = '{{ governed.database }}'
            and table_schema in ('{{ schemas | join("', '") }}')
        order by table_schema, table_name, ordinal_position
    {%- endset -%}
    {%- set columns_of = {} -%}
    {%- for row in run_query(found).rows -%}
        {%- do columns_of.setdefault((row[0] ~ '.' ~ row[1]) | lower, []).append((row[2], row[3])) -%}
    {%- endfor -%}
    {%- set existing_views -%}
        select table_name
        from information_schema.tables
        where table_catalog = '{{ governed.database }}'
            and table_schema = '{{ governed.schema }}'
            and table_type = 'VIEW'
    {%- endset -%}
    {%- set existing = run_query(existing_views).columns[0].values() | list -%}
    {%- set made = {} -%}
    {%- if ('definition_md5', 'VARCHAR') in columns_of.get((governed.schema ~ '.governed_relations') | lower, []) -%}
        {%- for row in run_query('select view_name, definition_md5 from ' ~ catalog).rows -%}
            {%- do made.update({row[0]: row[1]}) -%}
        {%- endfor -%}
    {%- endif -%}

    {%- set rows = [] -%}
    {%- set current = [] -%}
    {%- for node in nodes -%}
        {%- set relation = adapter.get_relation(node.database, node.schema, node.alias) -%}
        {%- if relation is not none -%}
            {%- set view = governed.incorporate(
                path={'identifier': node.schema ~ '__' ~ node.alias}, type='view') -%}
            {%- set names = [] -%}
            {%- set typed = [] -%}
            {%- for name, type in columns_of.get((node.schema ~ '.' ~ node.alias) | lower, []) -%}
                {%- do names.append(name) -%}
                {%- do typed.append(name ~ ' ' ~ type) -%}
            {%- endfor -%}
            {%- set definition = 'create or replace view ' ~ view ~ ' as\n'
                ~ governance_governed_select(node, relation, mapping, names) -%}
            {%- set digest = local_md5(definition ~ '\n-- ' ~ typed | join(', ')) -%}
            {%- if view.identifier not in existing or made.get(view.identifier) != digest -%}
                {%- do statements.append(definition) -%}
            {%- endif -%}
            {%- do rows.append("('" ~ view.identifier ~ "', '" ~ node.schema ~ "', '"
                ~ node.alias ~ "', '" ~ governance_layer(node) ~ "', '" ~ digest ~ "')") -%}
            {%- do current.append(view.identifier) -%}
        {%- endif -%}
    {%- endfor -%}

    {#- views of relations that are gone (renamed or deleted models) must not stay readable -#}
    {%- for name in existing if name not in current -%}
        {%- do statements.append('drop view ' ~ governed.incorporate(path={'identifier': name}, type='view')) -%}
    {%- endfor -%}

    {%- do statements.append('create or replace table ' ~ catalog
        ~ ' (view_name varchar, source_schema varchar, source_name varchar, layer varchar,'
        ~ ' definition_md5 varchar)') -%}
    {%- if rows -%}
        {%- do statements.append('insert into ' ~ catalog ~ ' values\n    ' ~ rows | join(',\n    ')) -%}
    {%- endif -%}

    {%- set role_rows = [] -%}
    {%- for role, spec in config.functional_roles.items() -%}
        {%- for data_role in spec.data_roles -%}
            {%- if data_role == config.raw_read_role -%}
                {%- do role_rows.append("('" ~ role ~ "', 'raw')") -%}
            {%- endif -%}
            {%- for layer, read_role in config.layer_read_roles.items() if read_role == data_role -%}
                {%- do role_rows.append("('" ~ role ~ "', '" ~ layer ~ "')") -%}
            {%- endfor -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- set role_layers = governed.incorporate(path={'identifier': 'role_layers'}) -%}
    {%- do statements.append('create or replace table ' ~ role_layers ~ ' (role_name varchar, layer varchar)') -%}
    {%- do statements.append('insert into ' ~ role_layers ~ ' values ' ~ role_rows | join(', ')) -%}
    {{ return(statements) }}
{%- endmacro %}

{#- The governed view's select: every column of `relation` (`column_names`, in order),
    masked where governance_config() says, rows filtered by region where it says. A declared column the relation lacks is an
    error: a renamed column must not silently drop out of its policy. -#}
{% macro governance_governed_select(node, relation, mapping, column_names) -%}
    {%- set config = governance_config() -%}
    {%- set role_sql = "getvariable('" ~ config.session_role_variable ~ "')" -%}
    {%- set user_sql = "getvariable('" ~ config.session_user_variable ~ "')" -%}
    {%- set is_mart = governance_layer(node) == 'marts' -%}
    {%- set masked = config.masked_columns.get(node.name, {}) if is_mart else {} -%}
    {%- set region_column = config.region_filtered.get(node.name) if is_mart else none -%}
    {%- set names = column_names | map('lower') | list -%}
    {%- for required in (masked.keys() | list) + ([region_column] if region_column else []) -%}
        {%- if required | lower not in names -%}
            {%- do exceptions.raise_compiler_error(
                "governance: " ~ node.name ~ " has no column '" ~ required
                ~ "' named in governance_config(); update the declaration") -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set selected = [] -%}
    {%- for name in column_names -%}
        {%- set quoted = 'governed_source.' ~ adapter.quote(name) -%}
        {%- if name | lower in masked -%}
            {%- do selected.append(governance_mask_sql(masked[name | lower], quoted, role_sql)
                | trim ~ ' as ' ~ adapter.quote(name)) -%}
        {%- else -%}
            {%- do selected.append(quoted) -%}
        {%- endif -%}
    {%- endfor -%}
select
    {{ selected | join(',\n    ') }}
from {{ relation }} as governed_source
{%- if region_column %}
where {{ governance_region_predicate_sql(
    'governed_source.' ~ adapter.quote(region_column), user_sql, role_sql, mapping) }}
{%- endif %}
{%- endmacro %}

{#
    Governance settings: the design's role matrix (least-privilege RBAC per layer, the Sigma
    role, row-level security by region, dynamic masking of PII; docs/ARCHITECTURE.md) and which
    mart columns the policies protect.

    One place, read by the Snowflake DDL (snowflake.sql), the local warehouse's governed layer
    (duckdb.sql) and, through the tables that layer writes,
    local/standins/snowflake/governance.py.

    Deliberate choices, each for least privilege:
    * Read grants are per layer schema, never `on all schemas in database`: staging,
      intermediate and marts share the transform database here, and a BI grant on every
      schema would reach the staging views, i.e. raw rows.
    * Marts get no `future tables` grant: dbt replaces a mart table on every full build, and
      a future grant would let the BI role read the new table before its policies are
      attached. The post-hook attaches the policies, then grants select.
    * Rows are filtered by a row access policy on the mart tables themselves rather than only
      by a `v_fct_jobs_rls` secure view, so every path to a region-scoped mart
      (Sigma datasets, ad-hoc SQL) is filtered, not just one view.
    * The design's masks are written for clear values; the sync lands PII as SHA-256 only, so a
      value that is not a clear email/phone is masked whole (no hash fragment is shown).
    * DBT_PROD_ROLE is exempt from masking and row filtering: it already reads every raw row,
      and incremental models read their own table (`{{ this }}`) and other marts while
      building; a masked or filtered read there would write wrong data.
    * FIVETRAN_INGEST_ROLE gets RAW_WRITE_ROLE: a raw read role cannot land data.
      INTERMEDIATE_READ_ROLE exists because the matrix gives ANALYST_ROLE intermediate reads.
#}
{% macro governance_config() -%}
    {{ return({
        'security_schema': 'security',
        'mapping_table': 'user_region_access',
        'row_access_policy': 'region_access_policy',
        'governed_schema': 'governed',
        'session_user_variable': 'fieldforce_user',
        'session_role_variable': 'fieldforce_role',
        'masked_value': '***MASKED***',
        'masking_policies': {
            'email_mask': {'unmasked_roles': ['ADMIN_ROLE', 'ANALYST_ROLE', 'DBT_PROD_ROLE']},
            'phone_mask': {'unmasked_roles': ['ADMIN_ROLE', 'DBT_PROD_ROLE']},
        },
        'unrestricted_roles': ['ADMIN_ROLE', 'ANALYST_ROLE', 'DBT_PROD_ROLE'],
        'masked_columns': {
            'dim_customers': {'email_hash': 'email_mask', 'phone_hash': 'phone_mask'},
            'dim_technicians': {'email_hash': 'email_mask', 'phone_hash': 'phone_mask'},
        },
        'region_filtered': {
            'dim_customers': 'region_id',
            'dim_technicians': 'region_id',
            'fct_jobs': 'region_id',
            'fct_revenue': 'region_id',
            'fct_technician_performance': 'region_id',
        },
        'raw_read_role': 'RAW_READ_ROLE',
        'raw_write_role': 'RAW_WRITE_ROLE',
        'transform_write_role': 'MARTS_WRITE_ROLE',
        'layer_read_roles': {
            'staging': 'STAGING_READ_ROLE',
            'intermediate': 'INTERMEDIATE_READ_ROLE',
            'marts': 'MARTS_READ_ROLE',
        },
        'functional_roles': {
            'FIVETRAN_INGEST_ROLE': {'warehouse': 'INGEST_WH', 'data_roles': ['RAW_WRITE_ROLE']},
            'DBT_DEV_ROLE': {
                'warehouse': 'DEV_WH',
                'data_roles': ['RAW_READ_ROLE', 'STAGING_READ_ROLE'],
                'sandbox_database': 'ANALYTICS_DEV',
            },
            'DBT_PROD_ROLE': {
                'warehouse': 'TRANSFORM_WH',
                'data_roles': ['RAW_READ_ROLE', 'STAGING_READ_ROLE', 'MARTS_WRITE_ROLE'],
            },
            'SIGMA_BI_ROLE': {'warehouse': 'BI_WH', 'data_roles': ['MARTS_READ_ROLE']},
            'ANALYST_ROLE': {
                'warehouse': 'ADHOC_WH',
                'data_roles': ['INTERMEDIATE_READ_ROLE', 'MARTS_READ_ROLE'],
            },
            'ADMIN_ROLE': {'warehouse': 'ADHOC_WH', 'data_roles': ['MARTS_READ_ROLE']},
        },
        'parent_role': 'SYSADMIN',
    }) }}
{%- endmacro %}

{#- The layer a node belongs to (`staging`, `intermediate`, `marts`), or none (seeds, snapshots). -#}
{% macro governance_layer(node) -%}
    {%- if node.resource_type == 'model' and node.fqn | length > 2
        and node.fqn[1] in governance_config().layer_read_roles
        and node.config.materialized != 'ephemeral' -%}
        {{ return(node.fqn[1]) }}
    {%- endif -%}
    {{ return(none) }}
{%- endmacro %}

{#- Enabled project models of the given layers, ordered by layer, schema and name. -#}
{% macro governance_nodes(layers) -%}
    {%- set found = [] -%}
    {%- for node in graph.nodes.values() -%}
        {%- set layer = governance_layer(node) -%}
        {%- if node.package_name == project_name and layer in layers -%}
            {%- do found.append(node) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(found | sort(attribute='alias') | sort(attribute='schema')
        | sort(attribute='fqn.1') | list) }}
{%- endmacro %}

{#- The relation of a graph node. -#}
{% macro governance_relation(node) -%}
    {{ return(api.Relation.create(
        database=node.database, schema=node.schema, identifier=node.alias,
        type=('view' if node.config.materialized == 'view' else 'table'),
    )) }}
{%- endmacro %}

{#- security.user_region_access: the seed's relation in the current target. -#}
{% macro governance_mapping_relation() -%}
    {%- set name = governance_config().mapping_table -%}
    {%- for node in graph.nodes.values() -%}
        {%- if node.resource_type == 'seed' and node.package_name == project_name and node.name == name -%}
            {{ return(api.Relation.create(
                database=node.database, schema=node.schema, identifier=node.alias, type='table'
            )) }}
        {%- endif -%}
    {%- endfor -%}
    {%- do exceptions.raise_compiler_error("governance: seed '" ~ name ~ "' is missing") -%}
{%- endmacro %}

{#- 'A', 'B', ... for a SQL `in` list. -#}
{% macro governance_quoted_list(values) -%}
    {%- set quoted = [] -%}
    {%- for value in values -%}
        {%- do quoted.append("'" ~ value ~ "'") -%}
    {%- endfor -%}
    {{ return(quoted | join(', ')) }}
{%- endmacro %}

{% snapshot snap_customers %}

{{
    config(
        unique_key='customer_id',
        strategy='timestamp',
        updated_at='updated_at',
    )
}}

-- SCD2 history of customers (timestamp strategy on updated_at). The first snapshot reads
-- every staged customer; later ones stage only the customers landed since the snapshot's
-- newest customer sync minus lookback_days (macros/staging.sql: the staging view ranks
-- every landed customer, 1.7 M at the design's volume, before any filter applies). The same
-- versions either way: a customer whose row changed was landed again, the timestamp strategy
-- adds a version only for a newer updated_at, and customers missing from the source query
-- are left as they are (hard deletes are not invalidated, as before).
-- depends_on: {{ source('fivetran_postgres', 'customers') }}
{%- set existing = load_relation(this) if execute else none %}
{%- if existing is none %}

select * from {{ ref('stg_jobs__customers') }}

{%- else %}
{%- set cutoff_sql -%}
    select {{ dbt.dateadd('day', -1 * (var('lookback_days') | int), 'max(_fivetran_synced)') }}
    from {{ this }}
{%- endset -%}
{%- set cutoff = run_query(cutoff_sql).columns[0].values()[0] %}
{%- set since = "cast('1900-01-01' as " ~ dbt.type_timestamp() ~ ")" if cutoff is none
    else "cast('" ~ cutoff ~ "' as " ~ dbt.type_timestamp() ~ ")" %}

{{ staged_customers(only_customer_ids='select landed.customer_id from (' ~ landed_customers(since) ~ ') as landed') }}

{%- endif %}

{% endsnapshot %}

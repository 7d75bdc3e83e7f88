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
{#- an existing but empty snapshot (no newest sync) re-reads every customer -#}
{%- set since = "coalesce(" ~ lookback_cutoff('_fivetran_synced') ~ ", cast('1900-01-01' as "
    ~ dbt.type_timestamp() ~ "))" %}

{{ staged_customers(only_customer_ids='select landed.customer_id from (' ~ landed_customers(since) ~ ') as landed') }}

{%- endif %}

{% endsnapshot %}

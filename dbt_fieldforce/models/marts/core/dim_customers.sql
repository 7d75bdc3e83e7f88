{{
    config(
        materialized='incremental',
        unique_key='customer_id',
        incremental_strategy=upsert_strategy(),
        meta={'rebuild': {'hard_deletes': 'stg_jobs__customer_deletions'}},
        on_schema_change='sync_all_columns',
        post_hook="{{ delete_hard_deleted() }}",
    )
}}

-- One row per customer (soft-deleted kept, hard-deleted removed), with the Salesforce account
-- and the lifetime figures of their completed jobs. Incremental: upsert on customer_id of
-- the customers touched: the customer synced since max(_source_synced_at) - lookback_days and
-- newer than its row's version (_customer_synced_at), their account synced in the lookback,
-- one of their jobs rewritten by int_jobs_enriched since this model last read it or
-- hard-deleted in the lookback; hard-deleted customers removed. An incremental run finds the
-- changed customers in the landed rows and stages only the touched ones (macros/staging.sql:
-- the staging view ranks every landed customer before any filter applies).
-- depends_on: {{ ref('stg_jobs__customer_deletions') }}
-- depends_on: {{ ref('stg_jobs__job_deletions') }}
-- depends_on: {{ source('fivetran_postgres', 'customers') }}
with

{%- set cutoff = lookback_cutoff() if is_incremental() else none %}

accounts as (

    select * from {{ ref('stg_salesforce__accounts') }}

),

regions as (

    select * from {{ ref('seed_regions') }}

),

jobs as (

    select * from {{ ref('int_jobs_enriched') }}

),

{%- set is_touched = '1 = 1' -%}
{%- if is_incremental() -%}
    {#- distinct: an `in` over the branches' union as it is makes the warehouse probe every
        job against it (0.6 s at the design's volume), the distinct keys a hash join -#}
    {%- set touched_ids = 'select distinct touched_customer_ids.customer_id from touched_customer_ids' -%}
    {%- set is_touched = 'customer_id in (' ~ touched_ids ~ ')' -%}
{%- endif %}

-- the version of the customer row each target row was built from (an incremental run)
built_versions as (  -- noqa: ST03

    {% if is_incremental() -%}
        {#- a target built before the version column existed has none: every row is older -#}
        {%- set columns = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
        select
            customer_id,
            sf_account_id,
            {{ '_customer_synced_at' if '_customer_synced_at' in columns
                else 'cast(null as ' ~ dbt.type_timestamp() ~ ')' }} as _customer_synced_at
        from {{ this }}
    {%- else -%}
        select
            customer_id,
            sf_account_id,
            _fivetran_synced as _customer_synced_at
        from {{ ref('stg_jobs__customers') }}
        where false
    {%- endif %}

),

-- the customers to rebuild: anything a row is built from that changed (an incremental run;
-- a full build reads every customer and does not refer to it)
touched_customer_ids as (  -- noqa: ST03

    {% if is_incremental() -%}
        -- a customer landed since the cutoff, newer than its row's version (a deletion is
        -- the hard-delete post-hook's); an account synced in the lookback, through the
        -- account its row was built with (a customer moved to another account landed)
        select landed.customer_id
        from ({{ landed_customers(cutoff) }}) as landed
        left join built_versions as built
            on landed.customer_id = built.customer_id
        where not landed.is_deleted
            and (
                built._customer_synced_at is null
                or built._customer_synced_at < landed._fivetran_synced
            )
        union all
        select built.customer_id
        from built_versions as built
        inner join accounts
            on built.sf_account_id = accounts.account_id
        where accounts._fivetran_synced >= {{ cutoff }}
        union all
        select customer_id from jobs
        where {{ changed_since_read() }}
        union all
        select customer_id from {{ ref('stg_jobs__job_deletions') }}
        where _fivetran_synced >= {{ cutoff }}
    {%- else -%}
        select customer_id from {{ ref('stg_jobs__customers') }}
        where false
    {%- endif %}

),

-- the staged customers: of the touched customers only in an incremental run
customers as (

    {% if is_incremental() -%}
        {{ staged_customers(only_customer_ids=touched_ids) }}
    {%- else -%}
        select * from {{ ref('stg_jobs__customers') }}
    {%- endif %}

),

customers_to_build as (

    select * from customers
    where {{ is_touched }}

),

completed_jobs_summed_to_customers as (

    select
        customer_id,
        min(completed_at) as first_completed_job_at,
        max(completed_at) as last_completed_job_at,
        count(*) as completed_jobs,
        sum(total_amount_cents) as lifetime_revenue_cents,
        max(_source_synced_at) as jobs_synced_at

    from jobs
    where is_completed
        and {{ is_touched }}
    group by 1

),

final as (

    select
        {{ generate_surrogate_key(['customers.customer_id']) }} as customer_key,
        customers.customer_id,
        customers.tenant_id,
        customers.first_name,
        customers.last_name,
        customers.email_hash,
        customers.phone_hash,
        customers.city,
        customers.state_code,
        customers.postal_code,
        customers.region_id,
        regions.region_name,
        customers.time_zone,
        customers.customer_type,
        customers.sf_account_id,
        accounts.account_name as sf_account_name,
        accounts.account_type as sf_account_type,
        accounts.industry as sf_industry,
        customers.is_deleted,
        customers.deleted_at,
        completed_jobs_summed_to_customers.first_completed_job_at,
        completed_jobs_summed_to_customers.last_completed_job_at,
        coalesce(completed_jobs_summed_to_customers.completed_jobs, 0) as completed_jobs,
        coalesce(completed_jobs_summed_to_customers.lifetime_revenue_cents, 0) as lifetime_revenue_cents,
        {{ cents_to_dollars(
            'coalesce(completed_jobs_summed_to_customers.lifetime_revenue_cents, 0)'
        ) }} as lifetime_revenue,
        customers.created_at,
        customers.updated_at,
        -- the row's version: the newest sync of anything it is built from
        greatest(
            customers._fivetran_synced,
            coalesce(accounts._fivetran_synced, customers._fivetran_synced),
            coalesce(completed_jobs_summed_to_customers.jobs_synced_at, customers._fivetran_synced)
        ) as _source_synced_at,
        -- the customer row's version (what an incremental run compares a re-read row with)
        customers._fivetran_synced as _customer_synced_at,
        {{ changes_read_at() }} as _changes_read_at

    from customers_to_build as customers
    left join accounts
        on customers.sf_account_id = accounts.account_id
        and not accounts.is_deleted
    left join regions
        on customers.region_id = regions.region_id
    left join completed_jobs_summed_to_customers
        on customers.customer_id = completed_jobs_summed_to_customers.customer_id

)

select * from final

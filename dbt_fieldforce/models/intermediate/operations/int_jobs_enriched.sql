{{
    config(
        materialized='incremental',
        unique_key='job_id',
        incremental_strategy=upsert_strategy(),
        meta={'rebuild': {'hard_deletes': 'stg_jobs__job_deletions'}},
        on_schema_change='sync_all_columns',
        post_hook="{{ delete_hard_deleted() }}",
    )
}}

-- One row per job (hard-deleted jobs excluded), with its service, region, customer,
-- technician, line-item totals and QuickBooks invoice. Incremental: upsert on job_id of the
-- jobs with an input synced since max(_source_synced_at) - lookback_days that is newer than
-- the version the job's row was built from (the job, a line item, an invoice, its customer,
-- technician or service type: one version column each), hard deletes removed. Window vars do
-- not apply: every run is an upsert of changed keys. Seed changes (regions, service
-- categories) need a full refresh. An incremental run finds its candidates in the landed
-- tables and stages only the touched jobs and their customers (macros/staging.sql: the
-- staging views rank every landed row before any filter applies).
-- depends_on: {{ ref('stg_jobs__job_deletions') }}
-- depends_on: {{ ref('stg_jobs__jobs') }}
-- depends_on: {{ ref('stg_jobs__customers') }}
-- depends_on: {{ ref('stg_jobs__job_line_items') }}
-- depends_on: {{ ref('stg_quickbooks__invoices') }}
-- depends_on: {{ source('fivetran_postgres', 'jobs') }}
-- depends_on: {{ source('fivetran_postgres', 'job_line_items') }}
-- depends_on: {{ source('fivetran_postgres', 'customers') }}
-- depends_on: {{ source('fivetran_quickbooks', 'invoice') }}
{%- set cutoff = lookback_cutoff() if is_incremental() else none -%}
{%- set is_touched = '1 = 1' -%}
{%- if is_incremental() -%}
    {%- set is_touched = 'job_id in (select touched_job_ids.job_id from touched_job_ids)' -%}
{%- endif %}

with

service_types as (

    select * from {{ ref('stg_jobs__service_types') }}

),

service_categories as (

    select * from {{ ref('seed_service_categories') }}

),

regions as (

    select * from {{ ref('seed_regions') }}

),

technicians as (

    select * from {{ ref('stg_jobs__technicians') }}

),

-- the landed job, line-item and invoice rows synced since the cutoff (an incremental run):
-- read below staging, where the cutoff prunes the scan (see macros/staging.sql)
landed_since_cutoff as (  -- noqa: ST03

    {% if is_incremental() -%}
        select
            'job' as landed_from,
            cast(job_id as {{ dbt.type_bigint() }}) as job_id,
            cast(_fivetran_synced as {{ dbt.type_timestamp() }}) as _fivetran_synced
        from ({{ union_tenant_relations('jobs') }}) as landed_jobs
        where _fivetran_synced >= {{ cutoff }}
        union all
        select
            'line_item' as landed_from,
            cast(job_id as {{ dbt.type_bigint() }}) as job_id,
            cast(_fivetran_synced as {{ dbt.type_timestamp() }}) as _fivetran_synced
        from ({{ union_tenant_relations('job_line_items') }}) as landed_line_items
        where _fivetran_synced >= {{ cutoff }}
        union all
        select
            'invoice' as landed_from,
            cast(job_id as {{ dbt.type_bigint() }}) as job_id,
            cast(_fivetran_synced as {{ dbt.type_timestamp() }}) as _fivetran_synced
        from {{ source('fivetran_quickbooks', 'invoice') }}
        where _fivetran_synced >= {{ cutoff }}
    {%- else -%}
        select
            'job' as landed_from,
            cast(null as {{ dbt.type_bigint() }}) as job_id,
            cast(null as {{ dbt.type_timestamp() }}) as _fivetran_synced
        where false
    {%- endif %}

),

-- the customers landed since the cutoff, the latest row of each (an incremental run)
landed_customers as (  -- noqa: ST03

    {% if is_incremental() -%}
        {{ landed_customers(cutoff) }}
    {%- else -%}
        select
            cast(null as {{ dbt.type_bigint() }}) as customer_id,
            cast(null as {{ dbt.type_timestamp() }}) as _fivetran_synced,
            false as is_deleted
        where false
    {%- endif %}

),

-- the version of each input the target's rows were built from (an incremental run)
built_versions as (  -- noqa: ST03

    {% if is_incremental() -%}
        {#- a target built before the version columns existed has none: every row is older -#}
        {%- set columns = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
        {%- set versioned = '_customer_synced_at' in columns -%}
        {%- set missing = 'cast(null as ' ~ dbt.type_timestamp() ~ ')' %}
        select
            job_id,
            customer_id,
            technician_id,
            service_type_id,
            _fivetran_synced,
            {{ '_line_items_synced_at' if versioned else missing }} as _line_items_synced_at,
            {{ '_invoices_synced_at' if versioned else missing }} as _invoices_synced_at,
            {{ '_customer_synced_at' if versioned else missing }} as _customer_synced_at,
            {{ '_technician_synced_at' if versioned else missing }} as _technician_synced_at,
            {{ '_service_type_synced_at' if versioned else missing }} as _service_type_synced_at
        from {{ this }}
    {%- else -%}
        select
            job_id,
            job_id as customer_id,
            job_id as technician_id,
            job_id as service_type_id,
            _fivetran_synced,
            _fivetran_synced as _line_items_synced_at,
            _fivetran_synced as _invoices_synced_at,
            _fivetran_synced as _customer_synced_at,
            _fivetran_synced as _technician_synced_at,
            _fivetran_synced as _service_type_synced_at
        from landed_since_cutoff
        where false
    {%- endif %}

),

-- the jobs to rebuild: an input row synced since the cutoff (the lookback bounds the scan)
-- that is newer than the version the job's row was built from (a row re-read by the
-- lookback but unchanged costs a probe, not a rebuild); an incremental run only, a full
-- build reads every job and does not refer to it
touched_job_ids as (  -- noqa: ST03

    {% if is_incremental() -%}
        select landed.job_id
        from landed_since_cutoff as landed
        left join built_versions as built
            on landed.job_id = built.job_id
        where
            built.job_id is null
            or (landed.landed_from = 'job' and built._fivetran_synced < landed._fivetran_synced)
            or (
                landed.landed_from = 'line_item'
                and (
                    built._line_items_synced_at is null
                    or built._line_items_synced_at < landed._fivetran_synced
                )
            )
            or (
                landed.landed_from = 'invoice'
                and (
                    built._invoices_synced_at is null
                    or built._invoices_synced_at < landed._fivetran_synced
                )
            )
        union all
        -- a customer landed since the cutoff: newer than the version the job was built
        -- with, or deleted since (read from the landed rows: see macros/staging.sql)
        select built.job_id
        from built_versions as built
        inner join landed_customers
            on built.customer_id = landed_customers.customer_id
        where
            (
                not landed_customers.is_deleted
                and (
                    built._customer_synced_at is null
                    or built._customer_synced_at < landed_customers._fivetran_synced
                )
            )
            or (landed_customers.is_deleted and built._customer_synced_at is not null)
        union all
        select built.job_id
        from built_versions as built
        inner join technicians
            on built.technician_id = technicians.technician_id
        where technicians._fivetran_synced >= {{ cutoff }}
            and (
                built._technician_synced_at is null
                or built._technician_synced_at < technicians._fivetran_synced
            )
        union all
        select built.job_id
        from built_versions as built
        inner join service_types
            on built.service_type_id = service_types.service_type_id
        where service_types._fivetran_synced >= {{ cutoff }}
            and (
                built._service_type_synced_at is null
                or built._service_type_synced_at < service_types._fivetran_synced
            )
    {%- else -%}
        select job_id from jobs
        where false
    {%- endif %}

),

{%- set only_touched = 'select touched_job_ids.job_id from touched_job_ids' if is_incremental() else none %}

-- the staged jobs, line items and invoices: of the touched jobs only in an incremental run
jobs as (

    {% if is_incremental() -%}
        {{ staged_jobs(only_job_ids=only_touched) }}
    {%- else -%}
        select * from {{ ref('stg_jobs__jobs') }}
    {%- endif %}

),

line_items as (

    {% if is_incremental() -%}
        {{ staged_job_line_items(only_job_ids=only_touched) }}
    {%- else -%}
        select * from {{ ref('stg_jobs__job_line_items') }}
    {%- endif %}

),

invoices as (

    {% if is_incremental() -%}
        {{ staged_invoices(only_job_ids=only_touched) }}
    {%- else -%}
        select * from {{ ref('stg_quickbooks__invoices') }}
    {%- endif %}

),

jobs_to_build as (

    select * from jobs
    where {{ is_touched }}

),

-- the staged customers: of the jobs to build only in an incremental run
customers as (

    {% if is_incremental() -%}
        {{ staged_customers(only_customer_ids='select jobs_to_build.customer_id from jobs_to_build') }}
    {%- else -%}
        select * from {{ ref('stg_jobs__customers') }}
    {%- endif %}

),

-- the rows being replaced (their days are rebuilt too by the daily aggregates); empty unless
-- an incremental run
existing_jobs as (

    {% if is_incremental() -%}
        {#- a target built before these columns existed has none to carry over -#}
        {%- set columns = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
        {%- set tracked = '_replaced_scheduled_at' in columns -%}
        {%- set missing = 'cast(null as ' ~ dbt.type_timestamp() ~ ')' -%}
        select
            job_id,
            scheduled_at,
            completed_at,
            {{ '_replaced_scheduled_at' if tracked else missing }} as _replaced_scheduled_at,
            {{ '_replaced_completed_at' if tracked else missing }} as _replaced_completed_at
        from {{ this }}
        where job_id in (select touched_job_ids.job_id from touched_job_ids)
    {%- else -%}
        select
            job_id,
            scheduled_at,
            completed_at,
            scheduled_at as _replaced_scheduled_at,
            completed_at as _replaced_completed_at
        from jobs
        where false
    {%- endif %}

),

line_items_summed_to_jobs as (

    select
        job_id,
        count(*) as line_item_count,
        sum(amount_cents) as line_items_amount_cents,
        max(_fivetran_synced) as line_items_synced_at

    from line_items
    where {{ is_touched }}
    group by job_id

),

invoices_of_jobs_to_build as (

    select * from invoices
    where {{ is_touched }}

),

invoices_synced_to_jobs as (

    select
        job_id,
        max(_fivetran_synced) as invoices_synced_at

    from invoices_of_jobs_to_build
    group by job_id

),

latest_invoice_per_job as (

    {{ deduplicate('invoices_of_jobs_to_build', 'job_id', 'updated_at desc, invoice_id desc') }}

),

final as (

    select
        jobs.job_id,
        jobs.tenant_id,
        jobs.customer_id,
        jobs.technician_id,
        jobs.service_type_id,
        jobs.region_id,
        regions.region_name,
        service_types.service_name,
        service_types.service_category,
        service_categories.category_group,
        customers.customer_type,
        technicians.skill_level as technician_skill_level,
        jobs.job_status,
        jobs.job_priority,
        jobs.job_status = 'completed' as is_completed,
        jobs.job_status = 'cancelled' as is_cancelled,
        jobs.scheduled_at,
        jobs.started_at,
        jobs.completed_at,
        jobs.cancelled_at,
        cast(jobs.scheduled_at as date) as scheduled_date,
        cast(jobs.completed_at as date) as completed_date,
        case
            when jobs.started_at is not null and jobs.completed_at is not null
                then {{ dbt.datediff('jobs.started_at', 'jobs.completed_at', 'minute') }}
        end as job_duration_minutes,
        case
            when jobs.started_at is not null
                then {{ dbt.datediff('jobs.scheduled_at', 'jobs.started_at', 'minute') }} <= 30
        end as is_started_on_time,
        jobs.total_amount_cents,
        jobs.total_amount,
        coalesce(line_items_summed_to_jobs.line_item_count, 0) as line_item_count,
        coalesce(line_items_summed_to_jobs.line_items_amount_cents, 0) as line_items_amount_cents,
        latest_invoice_per_job.invoice_id,
        latest_invoice_per_job.invoice_status,
        latest_invoice_per_job.total_amount as invoice_amount,
        jobs.created_at,
        jobs.updated_at,
        jobs._fivetran_synced,
        -- the row's version: the newest sync of anything it is built from
        greatest(
            jobs._fivetran_synced,
            coalesce(line_items_summed_to_jobs.line_items_synced_at, jobs._fivetran_synced),
            coalesce(latest_invoice_per_job._fivetran_synced, jobs._fivetran_synced)
        ) as _source_synced_at,
        -- the day columns of the version this row replaced, when they moved (else carried
        -- over): a job moved to another day leaves its old day to rebuild
        case
            when existing_jobs.scheduled_at is distinct from jobs.scheduled_at
                then existing_jobs.scheduled_at
            else existing_jobs._replaced_scheduled_at
        end as _replaced_scheduled_at,
        case
            when existing_jobs.completed_at is distinct from jobs.completed_at
                then existing_jobs.completed_at
            else existing_jobs._replaced_completed_at
        end as _replaced_completed_at,
        -- the version of each input this row is built from (what an incremental run
        -- compares a re-read input row with)
        line_items_summed_to_jobs.line_items_synced_at as _line_items_synced_at,
        invoices_synced_to_jobs.invoices_synced_at as _invoices_synced_at,
        customers._fivetran_synced as _customer_synced_at,
        technicians._fivetran_synced as _technician_synced_at,
        service_types._fivetran_synced as _service_type_synced_at,
        -- when this row was written: readers take the rows written since they last read
        {{ utc_now() }} as _dbt_updated_at

    from jobs_to_build as jobs
    left join service_types
        on jobs.service_type_id = service_types.service_type_id
    left join service_categories
        on service_types.service_category = service_categories.category
    left join regions
        on jobs.region_id = regions.region_id
    left join customers
        on jobs.customer_id = customers.customer_id
    left join technicians
        on jobs.technician_id = technicians.technician_id
    left join line_items_summed_to_jobs
        on jobs.job_id = line_items_summed_to_jobs.job_id
    left join latest_invoice_per_job
        on jobs.job_id = latest_invoice_per_job.job_id
    left join invoices_synced_to_jobs
        on jobs.job_id = invoices_synced_to_jobs.job_id
    left join existing_jobs
        on jobs.job_id = existing_jobs.job_id

)

-- version order: incremental readers filter on _source_synced_at, and sorted storage lets
-- the warehouse skip everything older than their cutoff
select * from final
order by _source_synced_at

-- One row per job (hard-deleted jobs excluded), with its service, region, customer,
-- technician, line-item totals and QuickBooks invoice.
with

jobs as (

    select * from {{ ref('stg_jobs__jobs') }}

),

service_types as (

    select * from {{ ref('stg_jobs__service_types') }}

),

service_categories as (

    select * from {{ ref('seed_service_categories') }}

),

regions as (

    select * from {{ ref('seed_regions') }}

),

customers as (

    select * from {{ ref('stg_jobs__customers') }}

),

technicians as (

    select * from {{ ref('stg_jobs__technicians') }}

),

line_items as (

    select * from {{ ref('stg_jobs__job_line_items') }}

),

invoices as (

    select * from {{ ref('stg_quickbooks__invoices') }}

),

line_items_summed_to_jobs as (

    select
        job_id,
        count(*) as line_item_count,
        sum(amount_cents) as line_items_amount_cents,
        max(_fivetran_synced) as line_items_synced_at

    from line_items
    group by job_id

),

latest_invoice_per_job as (

    {{ deduplicate('invoices', 'job_id', 'updated_at desc, invoice_id desc') }}

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
        ) as _source_synced_at

    from jobs
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

)

-- version order: incremental readers filter on _source_synced_at, and sorted storage lets
-- the warehouse skip everything older than their cutoff
select * from final
order by _source_synced_at

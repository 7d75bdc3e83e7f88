{{
    config(
        materialized='incremental',
        unique_key='job_id',
        incremental_strategy=fact_incremental_strategy(),
        meta={'rebuild': {'date_column': 'scheduled_date', 'hard_deletes': 'stg_jobs__job_deletions'}},
        on_schema_change='sync_all_columns',
        post_hook="{{ delete_hard_deleted() }}",
    )
}}

-- One row per job (latest state; hard-deleted jobs removed). Incremental: upsert on job_id
-- (merge; delete+insert of the same keys on DuckDB, see upsert_strategy) of the jobs
-- int_jobs_enriched rewrote since this model last read it (it rewrites only changed jobs);
-- window vars rebuild the jobs scheduled in [min_date, max_date] (see macros/incremental.sql).
-- depends_on: {{ ref('stg_jobs__job_deletions') }}

with

jobs as (

    select * from {{ ref('int_jobs_enriched') }}

),

jobs_to_build as (

    select *
    from jobs
    where {{ rebuild_predicate('scheduled_date') }}

),

final as (

    select
        {{ generate_surrogate_key(['job_id']) }} as job_key,
        job_id,
        tenant_id,
        customer_id,
        technician_id,
        service_type_id,
        region_id,
        job_status,
        job_priority,
        is_completed,
        is_cancelled,
        scheduled_at,
        started_at,
        completed_at,
        cancelled_at,
        scheduled_date,
        completed_date,
        job_duration_minutes,
        is_started_on_time,
        total_amount_cents,
        total_amount,
        line_item_count,
        line_items_amount_cents,
        invoice_id,
        invoice_amount,
        created_at,
        updated_at,
        _fivetran_synced,
        _source_synced_at,
        {{ utc_now() }} as _dbt_updated_at,
        {{ changes_read_at() }} as _changes_read_at

    from jobs_to_build

)

select * from final

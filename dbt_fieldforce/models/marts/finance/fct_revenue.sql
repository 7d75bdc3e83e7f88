{%- set rebuild = {'date_column': 'revenue_date', 'source_date_column': 'completed_at'} -%}

{{
    config(
        materialized='incremental',
        incremental_strategy='replace_where',
        unique_key=['revenue_date', 'region_id', 'service_type_id'],
        meta={'rebuild': rebuild},
        on_schema_change='sync_all_columns',
    )
}}

-- Recognised revenue: one row per UTC completion day, region and service type, summing
-- total_amount_cents of completed, not hard-deleted jobs. Incremental runs delete and
-- rebuild whole days: the days of jobs int_jobs_enriched rewrote since this model last read
-- it (or hard-deleted since the lookback cutoff), or the [min_date, max_date] window (see
-- macros/incremental.sql).
-- depends_on: {{ ref('stg_jobs__job_deletions') }}

with

jobs as (

    select * from {{ ref('int_jobs_enriched') }}

),

completed_jobs as (

    select *
    from jobs
    where
        is_completed
        and completed_date is not null
        and {{ changed_days_predicate('completed_date', rebuild) }}

),

final as (

    select
        {{ generate_surrogate_key(['completed_date', 'region_id', 'service_type_id']) }} as revenue_key,
        completed_date as revenue_date,
        region_id,
        service_type_id,
        count(*) as jobs_completed,
        count(distinct technician_id) as technicians,
        sum(total_amount_cents) as revenue_cents,
        {{ cents_to_dollars('sum(total_amount_cents)') }} as revenue,
        sum(coalesce(invoice_amount, 0)) as invoiced_amount,
        max(_source_synced_at) as _source_synced_at,
        {{ utc_now() }} as _dbt_updated_at,
        {{ changes_read_at() }} as _changes_read_at

    from completed_jobs
    group by 2, 3, 4

)

select * from final

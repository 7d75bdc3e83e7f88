{%- set rebuild = {'date_column': 'revenue_date', 'source_date_column': 'completed_at'} -%}

{{
    config(
        materialized='incremental',
        incremental_strategy='replace_where',
        unique_key='revenue_region_day_key',
        meta={'rebuild': rebuild},
        on_schema_change='sync_all_columns',
    )
}}

-- Recognised revenue per UTC completion day and region (completed, not deleted jobs).
-- Incremental like fct_revenue: the days of jobs changed or moved since this model last
-- read int_jobs_enriched, or hard-deleted since the lookback cutoff, are deleted and rebuilt
-- whole (or the min_date / max_date window).
-- depends_on: {{ ref('stg_jobs__job_deletions') }}

with

jobs as (

    select * from {{ ref('int_jobs_enriched') }}

),

final as (

    select
        {{ generate_surrogate_key(['completed_date', 'region_id']) }} as revenue_region_day_key,
        completed_date as revenue_date,
        region_id,
        region_name,
        count(*) as jobs_completed,
        count(distinct technician_id) as active_technicians,
        sum(total_amount_cents) as revenue_cents,
        {{ cents_to_dollars('sum(total_amount_cents)') }} as revenue,
        max(_source_synced_at) as _source_synced_at,
        {{ changes_read_at() }} as _changes_read_at

    from jobs
    where is_completed
        and completed_date is not null
        and {{ changed_days_predicate('completed_date', rebuild) }}
    group by 2, 3, 4

)

select * from final

{#- the days int_technician_daily_metrics rebuilds (its own rule, read from this model's
    watermark), and every day of a technician whose row landed in the lookback -#}
{%- set rebuild = technician_day_rebuild() -%}
{%- do rebuild.update({'changed_keys': [['technician_id', 'stg_jobs__technicians']]}) -%}

{{
    config(
        materialized='incremental',
        incremental_strategy='replace_where',
        unique_key='technician_day_key',
        meta={'rebuild': rebuild},
        on_schema_change='sync_all_columns',
    )
}}

-- Technician performance by day: the daily metrics with the technician's region, skill and
-- on-time and utilisation rates. Incremental like int_technician_daily_metrics, whose days it
-- follows: the days that model rebuilds (jobs changed since this model last read
-- int_jobs_enriched or hard-deleted in the lookback, timesheets synced in it, GPS days
-- recounted since) are deleted and rebuilt whole, and so are all the days of a technician
-- whose row landed in the lookback (a new region, skill or shift changes every day of
-- theirs); or the min_date / max_date window.
-- depends_on: {{ ref('int_jobs_enriched') }}
-- depends_on: {{ ref('stg_jobs__job_deletions') }}
-- depends_on: {{ ref('stg_servicetitan__timesheets') }}
-- depends_on: {{ ref('int_technician_gps_daily') }}
-- depends_on: {{ ref('stg_jobs__technicians') }}
with

daily_metrics as (

    select * from {{ ref('int_technician_daily_metrics') }}
    where {{ changed_days_predicate('work_date', rebuild) }}

),

technicians as (

    select * from {{ ref('dim_technicians') }}

),

final as (

    select
        daily_metrics.technician_day_key,
        daily_metrics.technician_id,
        daily_metrics.work_date,
        technicians.region_id,
        technicians.skill_level,
        daily_metrics.jobs_completed,
        daily_metrics.revenue_cents,
        daily_metrics.revenue,
        daily_metrics.on_job_minutes,
        daily_metrics.clocked_minutes,
        daily_metrics.gps_pings,
        daily_metrics.jobs_started_on_time,
        case
            when daily_metrics.jobs_completed > 0
                then cast(daily_metrics.jobs_started_on_time as {{ dbt.type_numeric() }}) / daily_metrics.jobs_completed
        end as on_time_rate,
        case
            when technicians.shift_minutes > 0
                then cast(daily_metrics.on_job_minutes as {{ dbt.type_numeric() }}) / technicians.shift_minutes
        end as utilization_rate,
        daily_metrics._source_synced_at,
        {{ changes_read_at() }} as _changes_read_at

    from daily_metrics
    left join technicians
        on daily_metrics.technician_id = technicians.technician_id

)

select * from final

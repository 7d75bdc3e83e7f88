{%- set rebuild = technician_day_rebuild() -%}

{{
    config(
        materialized='incremental',
        incremental_strategy='replace_where',
        unique_key='technician_day_key',
        meta={'rebuild': rebuild},
        on_schema_change='sync_all_columns',
    )
}}

-- The daily technician metrics: one row per technician and UTC day on which they completed
-- at least one job. Incremental like fct_revenue: whole days are deleted and rebuilt (the
-- days of jobs changed since this model last read int_jobs_enriched or hard-deleted in the
-- lookback, the days of timesheets synced in it, the days int_technician_gps_daily recounted
-- since, or the min_date / max_date window). Timesheets and GPS pings of a day are re-read
-- whenever the day is rebuilt; the pings come counted per day, not from every ping.
-- depends_on: {{ ref('stg_jobs__job_deletions') }}

with

jobs as (

    select * from {{ ref('int_jobs_enriched') }}

),

timesheets as (

    select * from {{ ref('stg_servicetitan__timesheets') }}

),

gps_days as (

    select * from {{ ref('int_technician_gps_daily') }}

),

completed_jobs_by_day as (

    select
        technician_id,
        completed_date as work_date,
        count(*) as jobs_completed,
        sum(total_amount_cents) as revenue_cents,
        sum(coalesce(job_duration_minutes, 0)) as on_job_minutes,
        sum(case when is_started_on_time then 1 else 0 end) as jobs_started_on_time,
        max(_source_synced_at) as _source_synced_at

    from jobs
    where is_completed
        and technician_id is not null
        and completed_date is not null
        and {{ changed_days_predicate('completed_date', rebuild) }}
    group by 1, 2

),

clocked_minutes_by_day as (

    select
        technician_id,
        cast(clock_in_at as date) as work_date,
        sum(coalesce(clocked_minutes, 0)) as clocked_minutes

    from timesheets
    where {{ changed_days_predicate('cast(clock_in_at as date)', rebuild) }}
    group by 1, 2

),

gps_pings_by_day as (

    select
        technician_id,
        event_date as work_date,
        gps_pings

    from gps_days
    where {{ changed_days_predicate('event_date', rebuild) }}

),

final as (

    select
        {{ generate_surrogate_key([
            'completed_jobs_by_day.technician_id', 'completed_jobs_by_day.work_date',
        ]) }} as technician_day_key,
        completed_jobs_by_day.technician_id,
        completed_jobs_by_day.work_date,
        completed_jobs_by_day.jobs_completed,
        completed_jobs_by_day.revenue_cents,
        {{ cents_to_dollars('completed_jobs_by_day.revenue_cents') }} as revenue,
        completed_jobs_by_day.on_job_minutes,
        completed_jobs_by_day.jobs_started_on_time,
        coalesce(clocked_minutes_by_day.clocked_minutes, 0) as clocked_minutes,
        coalesce(gps_pings_by_day.gps_pings, 0) as gps_pings,
        completed_jobs_by_day._source_synced_at,
        {{ utc_now() }} as _dbt_updated_at,
        {{ changes_read_at() }} as _changes_read_at

    from completed_jobs_by_day
    left join clocked_minutes_by_day
        on completed_jobs_by_day.technician_id = clocked_minutes_by_day.technician_id
        and completed_jobs_by_day.work_date = clocked_minutes_by_day.work_date
    left join gps_pings_by_day
        on completed_jobs_by_day.technician_id = gps_pings_by_day.technician_id
        and completed_jobs_by_day.work_date = gps_pings_by_day.work_date

)

select * from final

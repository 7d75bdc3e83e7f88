{%- set rebuild = {'date_column': 'report_date', 'source_date_column': ['scheduled_at', 'completed_at']} -%}

{{
    config(
        materialized='incremental',
        incremental_strategy='replace_where',
        unique_key='report_date',
        meta={'rebuild': rebuild},
        on_schema_change='sync_all_columns',
    )
}}

-- One row per UTC day with any job activity: jobs by scheduled day and status, completions,
-- revenue and active technicians (distinct technicians with a completed job that day).
-- Incremental: the scheduled and completion days of jobs changed or moved since this model
-- last read int_jobs_enriched, or hard-deleted since the lookback cutoff, are deleted and
-- rebuilt whole (or the min_date / max_date window).
-- depends_on: {{ ref('int_jobs_enriched') }}
-- depends_on: {{ ref('stg_jobs__job_deletions') }}
with

jobs as (

    select * from {{ ref('fct_jobs') }}

),

technician_days as (

    select * from {{ ref('fct_technician_performance') }}

),

dates as (

    select * from {{ ref('dim_date') }}

),

scheduled_by_day as (

    select
        scheduled_date as report_date,
        count(*) as jobs_scheduled,
        sum(case when job_status = 'completed' then 1 else 0 end) as scheduled_jobs_completed,
        sum(case when job_status = 'cancelled' then 1 else 0 end) as scheduled_jobs_cancelled,
        sum(case when job_status = 'rescheduled' then 1 else 0 end) as scheduled_jobs_rescheduled,
        sum(
            case when job_status in ('scheduled', 'dispatched', 'in_progress') then 1 else 0 end
        ) as scheduled_jobs_open,
        max(_source_synced_at) as _source_synced_at

    from jobs
    where scheduled_date is not null
        and {{ changed_days_predicate('scheduled_date', rebuild) }}
    group by 1

),

completed_by_day as (

    select
        completed_date as report_date,
        count(*) as jobs_completed,
        sum(total_amount_cents) as revenue_cents,
        avg(job_duration_minutes) as avg_job_duration_minutes,
        max(_source_synced_at) as _source_synced_at

    from jobs
    where
        is_completed
        and completed_date is not null
        and {{ changed_days_predicate('completed_date', rebuild) }}
    group by 1

),

technicians_by_day as (

    select
        work_date as report_date,
        count(distinct technician_id) as active_technicians,
        sum(on_job_minutes) as on_job_minutes

    from technician_days
    where {{ changed_days_predicate('work_date', rebuild) }}
    group by 1

),

all_report_dates as (

    select report_date from scheduled_by_day
    union all
    select report_date from completed_by_day

),

report_dates as (

    select distinct report_date from all_report_dates

),

final as (

    select
        report_dates.report_date,
        dates.iso_day_of_week,
        dates.is_weekend,
        dates.is_holiday,
        coalesce(scheduled_by_day.jobs_scheduled, 0) as jobs_scheduled,
        coalesce(scheduled_by_day.scheduled_jobs_completed, 0) as scheduled_jobs_completed,
        coalesce(scheduled_by_day.scheduled_jobs_cancelled, 0) as scheduled_jobs_cancelled,
        coalesce(scheduled_by_day.scheduled_jobs_rescheduled, 0) as scheduled_jobs_rescheduled,
        coalesce(scheduled_by_day.scheduled_jobs_open, 0) as scheduled_jobs_open,
        coalesce(completed_by_day.jobs_completed, 0) as jobs_completed,
        coalesce(completed_by_day.revenue_cents, 0) as revenue_cents,
        {{ cents_to_dollars('coalesce(completed_by_day.revenue_cents, 0)') }} as revenue,
        completed_by_day.avg_job_duration_minutes,
        coalesce(technicians_by_day.active_technicians, 0) as active_technicians,
        coalesce(technicians_by_day.on_job_minutes, 0) as on_job_minutes,
        -- the day's version: the newest job version counted in it
        case
            when scheduled_by_day._source_synced_at is null then completed_by_day._source_synced_at
            when completed_by_day._source_synced_at is null then scheduled_by_day._source_synced_at
            when completed_by_day._source_synced_at > scheduled_by_day._source_synced_at
                then completed_by_day._source_synced_at
            else scheduled_by_day._source_synced_at
        end as _source_synced_at,
        {{ changes_read_at() }} as _changes_read_at

    from report_dates
    left join dates
        on report_dates.report_date = dates.date_day
    left join scheduled_by_day
        on report_dates.report_date = scheduled_by_day.report_date
    left join completed_by_day
        on report_dates.report_date = completed_by_day.report_date
    left join technicians_by_day
        on report_dates.report_date = technicians_by_day.report_date

)

select * from final

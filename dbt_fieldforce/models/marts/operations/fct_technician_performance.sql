-- Technician performance by day: the daily metrics with the technician's region, skill and
-- on-time and utilisation rates. A table over int_technician_daily_metrics (the incremental).
with

daily_metrics as (

    select * from {{ ref('int_technician_daily_metrics') }}

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
        daily_metrics._source_synced_at

    from daily_metrics
    left join technicians
        on daily_metrics.technician_id = technicians.technician_id

)

select * from final

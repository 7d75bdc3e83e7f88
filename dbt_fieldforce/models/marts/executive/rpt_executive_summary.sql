-- The executive dashboard's daily metrics: one row per UTC day with activity, with
-- month-to-date revenue against the month's regional targets (Google Sheets).
with

operations as (

    select * from {{ ref('rpt_operations_daily') }}

),

revenue as (

    select * from {{ ref('fct_revenue') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

targets as (

    select * from {{ ref('stg_sheets__regional_targets') }}

),

new_customers_by_day as (

    select
        cast(first_completed_job_at as date) as report_date,
        count(*) as new_customers

    from customers
    where first_completed_job_at is not null
    group by 1

),

revenue_by_day as (

    select
        revenue_date as report_date,
        sum(revenue_cents) as revenue_cents,
        count(distinct region_id) as regions_with_revenue

    from revenue
    group by 1

),

targets_by_month as (

    select
        target_month,
        sum(revenue_target) as revenue_target,
        sum(jobs_target) as jobs_target

    from targets
    group by 1

),

daily_without_running_totals as (

    select
        operations.report_date,
        cast({{ dbt.date_trunc('month', 'operations.report_date') }} as date) as report_month,
        operations.jobs_scheduled,
        operations.jobs_completed,
        operations.active_technicians,
        coalesce(revenue_by_day.revenue_cents, 0) as revenue_cents,
        coalesce(revenue_by_day.regions_with_revenue, 0) as regions_with_revenue,
        coalesce(new_customers_by_day.new_customers, 0) as new_customers

    from operations
    left join revenue_by_day
        on operations.report_date = revenue_by_day.report_date
    left join new_customers_by_day
        on operations.report_date = new_customers_by_day.report_date

),

daily as (

    select
        *,
        sum(revenue_cents) over (
            partition by report_month
            order by report_date
            rows between unbounded preceding and current row
        ) as revenue_cents_month_to_date

    from daily_without_running_totals

),

final as (

    select
        daily.report_date,
        daily.report_month,
        daily.jobs_scheduled,
        daily.jobs_completed,
        daily.active_technicians,
        daily.new_customers,
        daily.regions_with_revenue,
        daily.revenue_cents,
        {{ cents_to_dollars('daily.revenue_cents') }} as revenue,
        {{ cents_to_dollars('daily.revenue_cents_month_to_date') }} as revenue_month_to_date,
        targets_by_month.revenue_target as revenue_target_month,
        targets_by_month.jobs_target as jobs_target_month,
        case
            when targets_by_month.revenue_target > 0
                then cast(daily.revenue_cents_month_to_date / 100.0 / targets_by_month.revenue_target as decimal(12, 4))
        end as revenue_target_attainment_mtd

    from daily
    left join targets_by_month
        on daily.report_month = targets_by_month.target_month

)

select * from final

-- fct_revenue must equal QuickBooks' non-voided invoices of completed jobs, per UTC day, to the
-- cent (var revenue_reconciliation_tolerance, dollars; the design's 1 % is the outer bound).
-- Scope: jobs completed up to the newest invoice QuickBooks has landed, so the 6-hour
-- QuickBooks cadence does not flag jobs whose invoices simply have not synced yet.
-- Returns one row per day that does not reconcile.
{{ config(severity='error') }}

with

revenue as (

    select * from {{ ref('fct_revenue') }}

),

jobs as (

    select * from {{ ref('fct_jobs') }}

),

invoices as (

    select * from {{ ref('stg_quickbooks__invoices') }}

),

invoice_horizon as (

    select max(created_at) as newest_invoice_at from invoices

),

jobs_in_scope as (

    select
        jobs.job_id,
        jobs.completed_date

    from jobs
    cross join invoice_horizon
    where jobs.is_completed
        and jobs.completed_at <= invoice_horizon.newest_invoice_at

),

revenue_by_day as (

    select
        revenue.revenue_date,
        sum(revenue.revenue) as dbt_revenue

    from revenue
    where revenue.revenue_date in (select completed_date from jobs_in_scope)
    group by 1

),

invoices_in_scope as (

    select
        coalesce(jobs.completed_date, invoices.invoice_date) as revenue_date,
        invoices.total_amount

    from invoices
    cross join invoice_horizon
    left join jobs
        on invoices.job_id = jobs.job_id
        and jobs.is_completed
    where not invoices.is_voided
        and invoices.created_at <= invoice_horizon.newest_invoice_at

),

invoiced_by_day as (

    select
        revenue_date,
        sum(total_amount) as source_revenue

    from invoices_in_scope
    where revenue_date in (select completed_date from jobs_in_scope)
    group by 1

),

compared as (

    select
        coalesce(revenue_by_day.revenue_date, invoiced_by_day.revenue_date) as revenue_date,
        coalesce(revenue_by_day.dbt_revenue, 0) as dbt_revenue,
        coalesce(invoiced_by_day.source_revenue, 0) as source_revenue

    from revenue_by_day
    full outer join invoiced_by_day
        on revenue_by_day.revenue_date = invoiced_by_day.revenue_date

)

select
    revenue_date,
    dbt_revenue,
    source_revenue,
    abs(dbt_revenue - source_revenue) as variance

from compared
where abs(dbt_revenue - source_revenue) > {{ var('revenue_reconciliation_tolerance') }}

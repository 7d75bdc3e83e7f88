-- Recognised revenue per UTC completion day and region (completed, not deleted jobs).
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
        {{ cents_to_dollars('sum(total_amount_cents)') }} as revenue

    from jobs
    where is_completed
        and completed_date is not null
    group by 2, 3, 4

)

select * from final

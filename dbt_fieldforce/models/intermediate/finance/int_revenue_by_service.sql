-- Recognised revenue per UTC completion day and service type (completed, not deleted jobs).
with

jobs as (

    select * from {{ ref('int_jobs_enriched') }}

),

final as (

    select
        {{ generate_surrogate_key(['completed_date', 'service_type_id']) }} as revenue_service_day_key,
        completed_date as revenue_date,
        service_type_id,
        service_name,
        service_category,
        count(*) as jobs_completed,
        sum(total_amount_cents) as revenue_cents,
        {{ cents_to_dollars('sum(total_amount_cents)') }} as revenue

    from jobs
    where is_completed
        and completed_date is not null
    group by 2, 3, 4, 5

)

select * from final

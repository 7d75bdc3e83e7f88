with

customers as (

    select * from {{ ref('stg_jobs__customers') }}

),

accounts as (

    select * from {{ ref('stg_salesforce__accounts') }}

),

regions as (

    select * from {{ ref('seed_regions') }}

),

jobs as (

    select * from {{ ref('int_jobs_enriched') }}

),

completed_jobs_summed_to_customers as (

    select
        customer_id,
        min(completed_at) as first_completed_job_at,
        max(completed_at) as last_completed_job_at,
        count(*) as completed_jobs,
        sum(total_amount_cents) as lifetime_revenue_cents

    from jobs
    where is_completed
    group by 1

),

final as (

    select
        {{ generate_surrogate_key(['customers.customer_id']) }} as customer_key,
        customers.customer_id,
        customers.tenant_id,
        customers.first_name,
        customers.last_name,
        customers.email_hash,
        customers.phone_hash,
        customers.city,
        customers.state_code,
        customers.postal_code,
        customers.region_id,
        regions.region_name,
        customers.time_zone,
        customers.customer_type,
        customers.sf_account_id,
        accounts.account_name as sf_account_name,
        accounts.account_type as sf_account_type,
        accounts.industry as sf_industry,
        customers.is_deleted,
        customers.deleted_at,
        completed_jobs_summed_to_customers.first_completed_job_at,
        completed_jobs_summed_to_customers.last_completed_job_at,
        coalesce(completed_jobs_summed_to_customers.completed_jobs, 0) as completed_jobs,
        coalesce(completed_jobs_summed_to_customers.lifetime_revenue_cents, 0) as lifetime_revenue_cents,
        {{ cents_to_dollars(
            'coalesce(completed_jobs_summed_to_customers.lifetime_revenue_cents, 0)'
        ) }} as lifetime_revenue,
        customers.created_at,
        customers.updated_at

    from customers
    left join accounts
        on customers.sf_account_id = accounts.account_id
        and not accounts.is_deleted
    left join regions
        on customers.region_id = regions.region_id
    left join completed_jobs_summed_to_customers
        on customers.customer_id = completed_jobs_summed_to_customers.customer_id

)

select * from final

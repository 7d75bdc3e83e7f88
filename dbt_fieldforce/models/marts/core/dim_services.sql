with

service_types as (

    select * from {{ ref('stg_jobs__service_types') }}

),

service_categories as (

    select * from {{ ref('seed_service_categories') }}

),

final as (

    select
        {{ generate_surrogate_key(['service_types.service_type_id']) }} as service_key,
        service_types.service_type_id,
        service_types.service_name,
        service_types.service_category,
        service_categories.category_group,
        coalesce(service_categories.is_recurring_revenue, false) as is_recurring_revenue,
        service_types.base_price_cents,
        service_types.base_price,
        service_types.estimated_duration_minutes,
        service_types.is_active,
        service_types.created_at,
        service_types.updated_at

    from service_types
    left join service_categories
        on service_types.service_category = service_categories.category

)

select * from final

with

technicians as (

    select * from {{ ref('stg_jobs__technicians') }}

),

regions as (

    select * from {{ ref('seed_regions') }}

),

final as (

    select
        {{ generate_surrogate_key(['technicians.technician_id']) }} as technician_key,
        technicians.technician_id,
        technicians.tenant_id,
        technicians.first_name,
        technicians.last_name,
        technicians.email_hash,
        technicians.phone_hash,
        technicians.region_id,
        regions.region_name,
        technicians.home_time_zone,
        technicians.skill_level,
        technicians.hire_date,
        technicians.shift_start,
        technicians.shift_end,
        technicians.shift_minutes,
        technicians.is_active,
        technicians.created_at,
        technicians.updated_at

    from technicians
    left join regions
        on technicians.region_id = regions.region_id

)

select * from final

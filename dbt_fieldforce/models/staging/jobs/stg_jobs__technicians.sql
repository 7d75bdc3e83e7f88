with

source as (

    {{ union_tenant_relations('technicians') }}

),

latest as (

    {{ deduplicate('source', 'technician_id', '_fivetran_synced desc, updated_at desc') }}

),

renamed as (

    select
        cast(technician_id as {{ dbt.type_bigint() }}) as technician_id,
        tenant_id,
        first_name,
        last_name,
        email as email_hash,
        phone as phone_hash,
        cast(region_id as {{ dbt.type_int() }}) as region_id,
        home_time_zone,
        lower(skill_level) as skill_level,
        cast(hire_date as date) as hire_date,
        shift_start,
        shift_end,
        mod(
            (extract(hour from shift_end) * 60 + extract(minute from shift_end))
            - (extract(hour from shift_start) * 60 + extract(minute from shift_start))
            + 1440,
            1440
        ) as shift_minutes,
        coalesce(is_active, false) as is_active,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(updated_at as {{ dbt.type_timestamp() }}) as updated_at,
        cast(_fivetran_synced as {{ dbt.type_timestamp() }}) as _fivetran_synced

    from latest
    where not coalesce(_fivetran_deleted, false)

),

final as (

    select * from renamed

)

select * from final

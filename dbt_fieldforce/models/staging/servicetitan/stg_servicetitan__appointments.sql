with

source as (

    select * from {{ source('fivetran_servicetitan', 'appointments') }}

),

latest as (

    {{ deduplicate('source', 'id', '_fivetran_synced desc, modified_on desc') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_bigint() }}) as appointment_id,
        cast(job_id as {{ dbt.type_bigint() }}) as servicetitan_job_id,
        cast(technician_id as {{ dbt.type_bigint() }}) as technician_id,
        appointment_number,
        cast(start_at as {{ dbt.type_timestamp() }}) as start_at,
        cast(end_at as {{ dbt.type_timestamp() }}) as end_at,
        cast(arrival_window_start as {{ dbt.type_timestamp() }}) as arrival_window_start_at,
        cast(arrival_window_end as {{ dbt.type_timestamp() }}) as arrival_window_end_at,
        lower(status) as appointment_status,
        cast(modified_on as {{ dbt.type_timestamp() }}) as updated_at,
        cast(_fivetran_synced as {{ dbt.type_timestamp() }}) as _fivetran_synced

    from latest
    where not coalesce(_fivetran_deleted, false)

),

final as (

    select * from renamed

)

select * from final

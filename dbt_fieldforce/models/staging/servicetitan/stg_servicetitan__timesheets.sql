with

source as (

    select * from {{ source('fivetran_servicetitan', 'timesheets') }}

),

latest as (

    {{ deduplicate('source', 'id', '_fivetran_synced desc, modified_on desc') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_bigint() }}) as timesheet_id,
        cast(technician_id as {{ dbt.type_bigint() }}) as technician_id,
        cast(job_id as {{ dbt.type_bigint() }}) as servicetitan_job_id,
        cast(appointment_id as {{ dbt.type_bigint() }}) as appointment_id,
        lower(activity) as activity,
        cast(clock_in as {{ dbt.type_timestamp() }}) as clock_in_at,
        cast(clock_out as {{ dbt.type_timestamp() }}) as clock_out_at,
        {{ dbt.datediff('clock_in', 'clock_out', 'minute') }} as clocked_minutes,
        cast(modified_on as {{ dbt.type_timestamp() }}) as updated_at,
        cast(_fivetran_synced as {{ dbt.type_timestamp() }}) as _fivetran_synced

    from latest
    where not coalesce(_fivetran_deleted, false)

),

final as (

    select * from renamed

)

select * from final

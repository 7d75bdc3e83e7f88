with

source as (

    select * from {{ source('fivetran_telematics', 'gps_events') }}

),

latest as (

    {{ deduplicate('source', 'event_id', '_fivetran_synced, _fivetran_id') }}

),

renamed as (

    select
        event_id as gps_event_id,
        device_id,
        cast(technician_id as {{ dbt.type_bigint() }}) as technician_id,
        cast(latitude as {{ dbt.type_float() }}) as latitude,
        cast(longitude as {{ dbt.type_float() }}) as longitude,
        cast(speed_kph as {{ dbt.type_float() }}) as speed_kph,
        cast(heading_degrees as {{ dbt.type_float() }}) as heading_degrees,
        cast(event_at as {{ dbt.type_timestamp() }}) as event_at,
        cast(received_at as {{ dbt.type_timestamp() }}) as received_at,
        cast(event_at as date) as event_date,
        _fivetran_id,
        cast(_fivetran_synced as {{ dbt.type_timestamp() }}) as _fivetran_synced

    from latest
    where not coalesce(_fivetran_deleted, false)

),

final as (

    select * from renamed

)

select * from final

with

source as (

    select * from {{ source('fivetran_metadata', 'connection') }}

),

final as (

    select
        connection_id,
        connection_name,
        lower(connector_type) as connector_type,
        lower(destination_schema) as destination_schema,
        cast(sync_frequency as {{ dbt.type_int() }}) as sync_frequency_minutes,
        schedule_type,
        coalesce(paused, false) as is_paused,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at

    from source

)

select * from final

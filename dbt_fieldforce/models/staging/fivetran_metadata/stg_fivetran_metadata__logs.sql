with

source as (

    select * from {{ source('fivetran_metadata', 'log') }}

),

final as (

    select
        id as log_id,
        connection_id,
        cast(time_stamp as {{ dbt.type_timestamp() }}) as logged_at,
        event as event_level,
        lower(message_event) as message_event,
        message_data,
        case
            when lower(message_event) = 'sync_end'
                then upper({{ json_extract_string('message_data', 'status') }})
        end as sync_status

    from source

)

select * from final

-- One row per Fivetran connection: its last sync end (from fivetran_metadata.log), the last
-- transform end (this model is built at the end of every dbt run that refreshes the marts:
-- it depends on all of them) and the minutes between the two (the load-to-transform lag).
-- depends_on: {{ ref('fct_jobs') }}
-- depends_on: {{ ref('fct_revenue') }}
-- depends_on: {{ ref('fct_technician_performance') }}
-- depends_on: {{ ref('dim_customers') }}

with

connections as (

    select * from {{ ref('stg_fivetran_metadata__connections') }}

),

logs as (

    select * from {{ ref('stg_fivetran_metadata__logs') }}

),

sync_ends as (

    select
        connection_id,
        max(logged_at) as last_sync_end_at,
        max(case when sync_status = 'SUCCESSFUL' then logged_at end) as last_successful_sync_end_at,
        max(case when sync_status = 'FAILURE' then logged_at end) as last_failed_sync_end_at,
        count(*) as sync_ends

    from logs
    where message_event = 'sync_end'
    group by 1

),

sync_starts as (

    select
        connection_id,
        max(logged_at) as last_sync_start_at

    from logs
    where message_event = 'sync_start'
    group by 1

),

final as (

    select
        connections.connection_id,
        connections.connection_name,
        connections.connector_type,
        connections.destination_schema,
        connections.sync_frequency_minutes,
        connections.is_paused,
        sync_starts.last_sync_start_at,
        sync_ends.last_sync_end_at,
        sync_ends.last_successful_sync_end_at,
        sync_ends.last_failed_sync_end_at,
        case
            when sync_ends.last_failed_sync_end_at is null then false
            when sync_ends.last_successful_sync_end_at is null then true
            else sync_ends.last_failed_sync_end_at > sync_ends.last_successful_sync_end_at
        end as is_last_sync_failed,
        {{ utc_now() }} as last_transform_end_at,
        {{ dbt.datediff('sync_ends.last_successful_sync_end_at', utc_now(), 'minute') }} as load_to_transform_minutes

    from connections
    left join sync_ends
        on connections.connection_id = sync_ends.connection_id
    left join sync_starts
        on connections.connection_id = sync_starts.connection_id

)

select * from final

{%- set rebuild = {
    'date_column': 'event_date',
    'source_events': [
        ['source:fivetran_telematics.gps_events', 'cast(event_at as date)', 'synced_after'],
    ],
} -%}

{{
    config(
        materialized='incremental',
        incremental_strategy='replace_where',
        unique_key='technician_day_key',
        meta={'rebuild': rebuild},
        on_schema_change='sync_all_columns',
    )
}}

-- GPS pings per technician and UTC event day: distinct events, the first delivery of each
-- (as stg_telematics__gps_events keeps), deleted ones left out. Incremental by event window:
-- the event days of the pings synced after the newest sync counted here are recounted whole,
-- so an hourly batch reopens today (and the days of its late pings), not the table. The
-- telematics files arrive through one connector, whose later syncs carry later stamps, so
-- that watermark misses no ping. Reads the landed table, not the staging view: the view
-- deduplicates every ping ever delivered before any filter applies. A day is recounted from
-- its own pings, which assumes a redelivered event keeps its event day.

with

source as (

    select * from {{ source('fivetran_telematics', 'gps_events') }}

),

pings_of_changed_days as (

    select *
    from source
    where {{ changed_days_predicate('cast(event_at as date)', rebuild) }}

),

first_delivery as (

    {{ deduplicate('pings_of_changed_days', 'event_id', '_fivetran_synced, _fivetran_id') }}

),

pings_by_day as (

    select
        cast(technician_id as {{ dbt.type_bigint() }}) as technician_id,
        cast(event_at as date) as event_date,
        count(*) as gps_pings,
        max(_fivetran_synced) as _source_synced_at

    from first_delivery
    where not coalesce(_fivetran_deleted, false)
    group by 1, 2

),

final as (

    select
        {{ generate_surrogate_key(['technician_id', 'event_date']) }} as technician_day_key,
        technician_id,
        event_date,
        gps_pings,
        _source_synced_at,
        {{ utc_now() }} as _dbt_updated_at

    from pings_by_day

)

select * from final

with

source as (

    select * from {{ source('fivetran_sheets', 'regional_targets') }}

),

latest as (

    {{ deduplicate('source', '_row', '_fivetran_synced desc') }}

),

renamed as (

    select
        cast(_row as {{ dbt.type_int() }}) as sheet_row_number,
        cast(region_id as {{ dbt.type_int() }}) as region_id,
        cast({{ dbt.date_trunc('month', 'month') }} as date) as target_month,
        cast(revenue_target as decimal(14, 2)) as revenue_target,
        cast(jobs_target as {{ dbt.type_int() }}) as jobs_target,
        owner as target_owner,
        cast(_fivetran_synced as {{ dbt.type_timestamp() }}) as _fivetran_synced

    from latest
    where not coalesce(_fivetran_deleted, false)

),

final as (

    select * from renamed

)

select * from final

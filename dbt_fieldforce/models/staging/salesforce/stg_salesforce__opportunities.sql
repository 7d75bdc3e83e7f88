with

source as (

    select * from {{ source('fivetran_salesforce', 'opportunity') }}

),

latest as (

    {{ deduplicate('source', 'id', '_fivetran_synced desc, system_modstamp desc') }}

),

renamed as (

    select
        id as opportunity_id,
        account_id,
        name as opportunity_name,
        stage_name,
        cast(amount as decimal(14, 2)) as amount,
        cast(close_date as date) as close_date,
        coalesce(is_closed, false) as is_closed,
        coalesce(is_won, false) as is_won,
        coalesce(is_deleted, false) as is_deleted,
        cast(created_date as {{ dbt.type_timestamp() }}) as created_at,
        cast(system_modstamp as {{ dbt.type_timestamp() }}) as updated_at,
        cast(_fivetran_synced as {{ dbt.type_timestamp() }}) as _fivetran_synced

    from latest
    where not coalesce(_fivetran_deleted, false)

),

final as (

    select * from renamed

)

select * from final

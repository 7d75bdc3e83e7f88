with

source as (

    select * from {{ source('fivetran_salesforce', 'contact') }}

),

latest as (

    {{ deduplicate('source', 'id', '_fivetran_synced desc, system_modstamp desc') }}

),

renamed as (

    select
        id as contact_id,
        account_id,
        first_name,
        last_name,
        email as email_hash,
        phone as phone_hash,
        title,
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

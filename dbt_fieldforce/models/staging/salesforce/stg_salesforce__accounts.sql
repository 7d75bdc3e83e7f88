with

source as (

    select * from {{ source('fivetran_salesforce', 'account') }}

),

latest as (

    {{ deduplicate('source', 'id', '_fivetran_synced desc, system_modstamp desc') }}

),

renamed as (

    select
        id as account_id,
        name as account_name,
        type as account_type,
        industry,
        billing_city,
        upper(billing_state) as billing_state_code,
        cast(region_c as {{ dbt.type_int() }}) as region_id,
        cast(customer_id_c as {{ dbt.type_bigint() }}) as customer_id,
        lower(tenant_c) as tenant_id,
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

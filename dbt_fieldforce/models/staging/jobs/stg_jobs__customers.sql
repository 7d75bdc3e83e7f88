with

source as (

    {{ union_tenant_relations('customers') }}

),

latest as (

    {{ deduplicate('source', 'customer_id', '_fivetran_synced desc, updated_at desc') }}

),

renamed as (

    select
        cast(customer_id as {{ dbt.type_bigint() }}) as customer_id,
        tenant_id,
        first_name,
        last_name,
        email as email_hash,
        phone as phone_hash,
        address_line1 as address_line1_hash,
        city,
        upper(state) as state_code,
        postal_code,
        cast(region_id as {{ dbt.type_int() }}) as region_id,
        time_zone,
        lower(customer_type) as customer_type,
        sf_account_id,
        cast(deleted_at as {{ dbt.type_timestamp() }}) as deleted_at,
        -- soft delete at the source: kept, flagged
        deleted_at is not null as is_deleted,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(updated_at as {{ dbt.type_timestamp() }}) as updated_at,
        cast(_fivetran_synced as {{ dbt.type_timestamp() }}) as _fivetran_synced

    from latest
    where not coalesce(_fivetran_deleted, false)

),

final as (

    select * from renamed

)

select * from final

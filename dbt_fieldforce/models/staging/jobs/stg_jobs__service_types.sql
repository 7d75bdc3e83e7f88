with

source as (

    {{ union_tenant_relations('service_types') }}

),

-- ids may repeat across tenants if they share a catalog: keep the latest row per id
latest as (

    {{ deduplicate('source', 'service_type_id', '_fivetran_synced desc, updated_at desc, tenant_id') }}

),

renamed as (

    select
        cast(service_type_id as {{ dbt.type_bigint() }}) as service_type_id,
        tenant_id,
        service_name,
        category as service_category,
        cast(base_price_cents as {{ dbt.type_bigint() }}) as base_price_cents,
        {{ cents_to_dollars('base_price_cents') }} as base_price,
        cast(estimated_duration_minutes as {{ dbt.type_int() }}) as estimated_duration_minutes,
        coalesce(is_active, false) as is_active,
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

with

source as (

    {{ union_tenant_relations('job_line_items') }}

),

latest as (

    {{ deduplicate('source', 'line_item_id', '_fivetran_synced desc, updated_at desc') }}

),

renamed as (

    select
        cast(line_item_id as {{ dbt.type_bigint() }}) as line_item_id,
        tenant_id,
        cast(job_id as {{ dbt.type_bigint() }}) as job_id,
        lower(item_type) as item_type,
        description as line_item_description,
        cast(quantity as decimal(10, 2)) as quantity,
        cast(unit_price_cents as {{ dbt.type_bigint() }}) as unit_price_cents,
        cast(amount_cents as {{ dbt.type_bigint() }}) as amount_cents,
        {{ cents_to_dollars('amount_cents') }} as amount,
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

-- Customers hard-deleted at the source (Fivetran keeps the last row with _fivetran_deleted =
-- true). dim_customers reads this to delete the customer.
with

source as (

    {{ union_tenant_relations('customers') }}

),

deleted as (

    select * from source
    where _fivetran_deleted

),

latest as (

    {{ deduplicate('deleted', 'customer_id', '_fivetran_synced desc, updated_at desc') }}

),

final as (

    select
        cast(customer_id as {{ dbt.type_bigint() }}) as customer_id,
        tenant_id,
        cast(_fivetran_synced as {{ dbt.type_timestamp() }}) as _fivetran_synced

    from latest

)

select * from final

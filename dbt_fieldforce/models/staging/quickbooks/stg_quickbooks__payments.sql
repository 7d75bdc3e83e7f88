with

source as (

    select * from {{ source('fivetran_quickbooks', 'payment') }}

),

latest as (

    {{ deduplicate('source', 'id', '_fivetran_synced desc, updated_at desc') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_bigint() }}) as payment_id,
        cast(invoice_id as {{ dbt.type_bigint() }}) as invoice_id,
        cast(customer_ref as {{ dbt.type_bigint() }}) as customer_id,
        cast(txn_date as date) as payment_date,
        cast(total_amt as decimal(14, 2)) as payment_amount,
        lower(payment_method) as payment_method,
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

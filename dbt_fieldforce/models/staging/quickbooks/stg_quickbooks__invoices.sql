with

source as (

    select * from {{ source('fivetran_quickbooks', 'invoice') }}

),

latest as (

    {{ deduplicate('source', 'id', '_fivetran_synced desc, updated_at desc') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_bigint() }}) as invoice_id,
        doc_number,
        cast(customer_ref as {{ dbt.type_bigint() }}) as customer_id,
        cast(job_id as {{ dbt.type_bigint() }}) as job_id,
        lower(tenant) as tenant_id,
        cast(txn_date as date) as invoice_date,
        cast(due_date as date) as due_date,
        cast(total_amt as decimal(14, 2)) as total_amount,
        cast(balance as decimal(14, 2)) as balance_amount,
        lower(status) as invoice_status,
        lower(status) = 'voided' as is_voided,
        upper(currency) as currency_code,
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

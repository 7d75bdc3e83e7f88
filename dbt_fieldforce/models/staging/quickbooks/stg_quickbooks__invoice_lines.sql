with

source as (

    select * from {{ source('fivetran_quickbooks', 'invoice_line') }}

),

latest as (

    {{ deduplicate('source', 'invoice_id, line_num', '_fivetran_synced desc, updated_at desc') }}

),

renamed as (

    select
        {{ generate_surrogate_key(['invoice_id', 'line_num']) }} as invoice_line_key,
        cast(invoice_id as {{ dbt.type_bigint() }}) as invoice_id,
        cast(line_num as {{ dbt.type_int() }}) as line_number,
        description as line_description,
        lower(item_type) as item_type,
        cast(amount as decimal(14, 2)) as amount,
        cast(updated_at as {{ dbt.type_timestamp() }}) as updated_at,
        cast(_fivetran_synced as {{ dbt.type_timestamp() }}) as _fivetran_synced

    from latest
    where not coalesce(_fivetran_deleted, false)

),

final as (

    select * from renamed

)

select * from final

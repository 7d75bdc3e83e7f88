with

source as (

    select * from {{ source('fivetran_metadata', 'incremental_mar') }}

),

final as (

    select
        {{ generate_surrogate_key([
            'connection_id', 'schema_name', 'table_name', 'measured_date', 'free_type',
        ]) }} as mar_key,
        connection_id,
        lower(schema_name) as schema_name,
        lower(table_name) as table_name,
        cast(measured_date as date) as measured_date,
        upper(free_type) as free_type,
        cast(incremental_rows as {{ dbt.type_bigint() }}) as incremental_rows,
        cast(updated_at as {{ dbt.type_timestamp() }}) as updated_at

    from source

)

select * from final

-- Fivetran monthly active rows and their estimated cost: one row per connection, month,
-- schema and table. Paid MAR priced at var fivetran_cost_per_million_mar (USD per million).
with

mar as (

    select * from {{ ref('stg_fivetran_metadata__incremental_mar') }}

),

connections as (

    select * from {{ ref('stg_fivetran_metadata__connections') }}

),

mar_by_month as (

    select
        connection_id,
        cast({{ dbt.date_trunc('month', 'measured_date') }} as date) as mar_month,
        schema_name,
        table_name,
        sum(case when free_type = 'PAID' then incremental_rows else 0 end) as paid_mar,
        sum(case when free_type = 'PAID' then 0 else incremental_rows end) as free_mar,
        max(updated_at) as mar_updated_at

    from mar
    group by 1, 2, 3, 4

),

final as (

    select
        {{ generate_surrogate_key([
            'mar_by_month.connection_id',
            'mar_by_month.mar_month',
            'mar_by_month.schema_name',
            'mar_by_month.table_name',
        ]) }} as mar_cost_key,
        mar_by_month.connection_id,
        connections.connection_name,
        connections.connector_type,
        mar_by_month.mar_month,
        mar_by_month.schema_name,
        mar_by_month.table_name,
        mar_by_month.paid_mar,
        mar_by_month.free_mar,
        cast(
            mar_by_month.paid_mar * {{ var('fivetran_cost_per_million_mar') }} / 1000000.0
            as decimal(14, 2)
        ) as estimated_cost_usd,
        mar_by_month.mar_updated_at

    from mar_by_month
    left join connections
        on mar_by_month.connection_id = connections.connection_id

)

select * from final

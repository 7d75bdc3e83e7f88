-- The latest landed row of each customer (customer_id), renamed and typed; soft deletes kept
-- and flagged, hard-deleted rows left out. The SQL is macros/staging.sql, shared with the
-- incrementals that stage only the customers they rebuild (dim_customers, snap_customers).
with

final as (

    {{ staged_customers() }}

)

select * from final

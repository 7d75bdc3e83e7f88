-- The latest landed row of each invoice (id), renamed and typed; hard-deleted rows left
-- out. The SQL is macros/staging.sql, shared with int_jobs_enriched, which stages only the
-- jobs an incremental run rebuilds.
with

final as (

    {{ staged_invoices() }}

)

select * from final

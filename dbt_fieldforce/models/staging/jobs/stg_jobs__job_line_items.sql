-- The latest landed row of each line item (line_item_id), renamed and typed; hard deletes left
-- out. The SQL is macros/staging.sql, shared with int_jobs_enriched, which stages only the
-- jobs an incremental run rebuilds.
with

final as (

    {{ staged_job_line_items() }}

)

select * from final

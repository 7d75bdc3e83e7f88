-- Jobs hard-deleted at the source (Fivetran keeps the last row with _fivetran_deleted = true).
-- Incremental facts read this to delete the job and rebuild the days it counted in.
with

source as (

    {{ union_tenant_relations('jobs') }}

),

-- filter first: deleted rows are few, the jobs table is large
deleted as (

    select * from source
    where _fivetran_deleted

),

latest as (

    {{ deduplicate('deleted', 'job_id', '_fivetran_synced desc, updated_at desc') }}

),

final as (

    select
        cast(job_id as {{ dbt.type_bigint() }}) as job_id,
        tenant_id,
        cast(customer_id as {{ dbt.type_bigint() }}) as customer_id,
        cast(technician_id as {{ dbt.type_bigint() }}) as technician_id,
        cast(region_id as {{ dbt.type_int() }}) as region_id,
        lower(status) as job_status,
        cast(scheduled_at as {{ dbt.type_timestamp() }}) as scheduled_at,
        cast(completed_at as {{ dbt.type_timestamp() }}) as completed_at,
        cast(_fivetran_synced as {{ dbt.type_timestamp() }}) as _fivetran_synced

    from latest

)

select * from final

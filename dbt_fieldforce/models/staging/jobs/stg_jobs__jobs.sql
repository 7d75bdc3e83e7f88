with

source as (

    {{ union_tenant_relations('jobs') }}

),

latest as (

    {{ deduplicate('source', 'job_id', '_fivetran_synced desc, updated_at desc') }}

),

renamed as (

    select
        cast(job_id as {{ dbt.type_bigint() }}) as job_id,
        tenant_id,
        cast(customer_id as {{ dbt.type_bigint() }}) as customer_id,
        cast(technician_id as {{ dbt.type_bigint() }}) as technician_id,
        cast(service_type_id as {{ dbt.type_bigint() }}) as service_type_id,
        cast(region_id as {{ dbt.type_int() }}) as region_id,
        lower(status) as job_status,
        lower(priority) as job_priority,
        cast(scheduled_at as {{ dbt.type_timestamp() }}) as scheduled_at,
        cast(started_at as {{ dbt.type_timestamp() }}) as started_at,
        cast(completed_at as {{ dbt.type_timestamp() }}) as completed_at,
        cast(cancelled_at as {{ dbt.type_timestamp() }}) as cancelled_at,
        cast(total_amount_cents as {{ dbt.type_bigint() }}) as total_amount_cents,
        {{ cents_to_dollars('total_amount_cents') }} as total_amount,
        notes as job_notes,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(updated_at as {{ dbt.type_timestamp() }}) as updated_at,
        cast(_fivetran_synced as {{ dbt.type_timestamp() }}) as _fivetran_synced

    from latest
    -- hard-deleted at the source: see stg_jobs__job_deletions
    where not coalesce(_fivetran_deleted, false)

),

final as (

    select * from renamed

)

select * from final

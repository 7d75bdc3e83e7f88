with

source as (

    select * from {{ source('fivetran_servicetitan', 'jobs') }}

),

latest as (

    {{ deduplicate('source', 'id', '_fivetran_synced desc, modified_on desc') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_bigint() }}) as servicetitan_job_id,
        job_number,
        cast(fieldforce_job_id as {{ dbt.type_bigint() }}) as job_id,
        cast(customer_id as {{ dbt.type_bigint() }}) as customer_id,
        business_unit,
        job_type,
        lower(job_status) as servicetitan_job_status,
        cast(created_on as {{ dbt.type_timestamp() }}) as created_at,
        cast(completed_on as {{ dbt.type_timestamp() }}) as completed_at,
        cast(modified_on as {{ dbt.type_timestamp() }}) as updated_at,
        cast(_fivetran_synced as {{ dbt.type_timestamp() }}) as _fivetran_synced

    from latest
    where not coalesce(_fivetran_deleted, false)

),

final as (

    select * from renamed

)

select * from final

{#
    The staging of the largest landed tables the incrementals read, as macros, so an
    incremental run can stage only the keys it rebuilds. Staging keeps the latest row per key
    (a window over every landed row), and a filter on the view's output cannot reach below
    that window: reading 1 % of a 27 M-row line-item view still ranks all 27 M rows. Keeping
    whole keys before the window is the same result for those keys, so `only_job_ids` (a
    query of job ids; `only_customer_ids` for customers) narrows the landed rows first. The
    staging views are these macros with no argument.
#}

{% macro staged_jobs(only_job_ids=none) -%}
with

source as (

    {{ union_tenant_relations('jobs') }}

),

keyed as (

    select * from source
    {%- if only_job_ids is not none %}
    where job_id in ({{ only_job_ids }})
    {%- endif %}

),

latest as (

    {{ deduplicate('keyed', 'job_id', '_fivetran_synced desc, updated_at desc') }}

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
{%- endmacro %}

{#- A line item keeps its latest row; `only_job_ids` keeps the line items any row of which
    belongs to those jobs (a line item moved to another job stays whole). -#}
{% macro staged_job_line_items(only_job_ids=none) -%}
with

source as (

    {{ union_tenant_relations('job_line_items') }}

),

{#- the landed rows read twice, each scan filtered on its own: a CTE read twice is
    materialized whole first (27 M rows at the design's volume) -#}
keyed as (

    select * from source
    {%- if only_job_ids is not none %}
    where line_item_id in (
        select items_of_jobs.line_item_id
        from ({{ union_tenant_relations('job_line_items') }}) as items_of_jobs
        where items_of_jobs.job_id in ({{ only_job_ids }})
    )
    {%- endif %}

),

latest as (

    {{ deduplicate('keyed', 'line_item_id', '_fivetran_synced desc, updated_at desc') }}

),

renamed as (

    select
        cast(line_item_id as {{ dbt.type_bigint() }}) as line_item_id,
        tenant_id,
        cast(job_id as {{ dbt.type_bigint() }}) as job_id,
        lower(item_type) as item_type,
        description as line_item_description,
        cast(quantity as decimal(10, 2)) as quantity,
        cast(unit_price_cents as {{ dbt.type_bigint() }}) as unit_price_cents,
        cast(amount_cents as {{ dbt.type_bigint() }}) as amount_cents,
        {{ cents_to_dollars('amount_cents') }} as amount,
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
{%- endmacro %}

{#- An invoice keeps its latest row; `only_job_ids` as for line items. -#}
{% macro staged_invoices(only_job_ids=none) -%}
with

source as (

    select * from {{ source('fivetran_quickbooks', 'invoice') }}

),

keyed as (

    select * from source
    {%- if only_job_ids is not none %}
    where id in (
        select invoices_of_jobs.id
        from {{ source('fivetran_quickbooks', 'invoice') }} as invoices_of_jobs
        where invoices_of_jobs.job_id in ({{ only_job_ids }})
    )
    {%- endif %}

),

latest as (

    {{ deduplicate('keyed', 'id', '_fivetran_synced desc, updated_at desc') }}

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
{%- endmacro %}


{#- A customer keeps its latest row; `only_customer_ids` keeps those customers' rows. -#}
{% macro staged_customers(only_customer_ids=none) -%}
with

source as (

    {{ union_tenant_relations('customers') }}

),

keyed as (

    select * from source
    {%- if only_customer_ids is not none %}
    where customer_id in ({{ only_customer_ids }})
    {%- endif %}

),

latest as (

    {{ deduplicate('keyed', 'customer_id', '_fivetran_synced desc, updated_at desc') }}

),

renamed as (

    select
        cast(customer_id as {{ dbt.type_bigint() }}) as customer_id,
        tenant_id,
        first_name,
        last_name,
        email as email_hash,
        phone as phone_hash,
        address_line1 as address_line1_hash,
        city,
        upper(state) as state_code,
        postal_code,
        cast(region_id as {{ dbt.type_int() }}) as region_id,
        time_zone,
        lower(customer_type) as customer_type,
        sf_account_id,
        cast(deleted_at as {{ dbt.type_timestamp() }}) as deleted_at,
        -- soft delete at the source: kept, flagged
        deleted_at is not null as is_deleted,
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
{%- endmacro %}

{#-
    The customers landed since `cutoff` (a timestamp SQL expression), one row each: the latest
    of their rows synced since then (the latest of all their rows, as every later row is in
    the range), its sync time and whether it is a deletion. What an incremental run compares
    with the customer version it built from, without staging every customer.
-#}
{% macro landed_customers(cutoff) -%}
with

landed as (

    select
        cast(customer_id as {{ dbt.type_bigint() }}) as customer_id,
        cast(_fivetran_synced as {{ dbt.type_timestamp() }}) as _fivetran_synced,
        updated_at,
        coalesce(_fivetran_deleted, false) as is_deleted
    from ({{ union_tenant_relations('customers') }}) as landed_customers
    where _fivetran_synced >= {{ cutoff }}

),

latest as (

    {{ deduplicate('landed', 'customer_id', '_fivetran_synced desc, updated_at desc') }}

)

select customer_id, _fivetran_synced, is_deleted from latest
{%- endmacro %}

-- One row per calendar day between vars date_spine_start and date_spine_end. The spine is
-- a cross join of digits, so it needs no warehouse-specific generator.
with

holidays as (

    select * from {{ ref('seed_holidays') }}

),

digits as (

    select 0 as digit
    union all
    select 1 as digit
    union all
    select 2 as digit
    union all
    select 3 as digit
    union all
    select 4 as digit
    union all
    select 5 as digit
    union all
    select 6 as digit
    union all
    select 7 as digit
    union all
    select 8 as digit
    union all
    select 9 as digit

),

day_offsets as (

    select thousands.digit * 1000 + hundreds.digit * 100 + tens.digit * 10 + ones.digit as day_offset

    from digits as thousands
    cross join digits as hundreds
    cross join digits as tens
    cross join digits as ones

),

spine as (

    select
        cast(
            {{ dbt.dateadd('day', 'day_offset', "cast('" ~ var('date_spine_start') ~ "' as date)") }}
            as date
        ) as date_day

    from day_offsets

),

bounded as (

    select date_day
    from spine
    where date_day <= cast('{{ var("date_spine_end") }}' as date)

),

final as (

    select
        bounded.date_day,
        cast({{ dbt.date_trunc('week', 'bounded.date_day') }} as date) as week_start_date,
        cast({{ dbt.date_trunc('month', 'bounded.date_day') }} as date) as month_start_date,
        cast({{ dbt.date_trunc('quarter', 'bounded.date_day') }} as date) as quarter_start_date,
        cast({{ dbt.date_trunc('year', 'bounded.date_day') }} as date) as year_start_date,
        extract(year from bounded.date_day) as year_number,
        extract(quarter from bounded.date_day) as quarter_number,
        extract(month from bounded.date_day) as month_number,
        extract(day from bounded.date_day) as day_of_month,
        -- ISO day of week (Monday = 1) from a known Monday: identical on every warehouse
        mod({{ dbt.datediff("cast('2018-01-01' as date)", 'bounded.date_day', 'day') }}, 7) + 1 as iso_day_of_week,
        mod({{ dbt.datediff("cast('2018-01-01' as date)", 'bounded.date_day', 'day') }}, 7) >= 5 as is_weekend,
        holidays.holiday_name,
        holidays.holiday_date is not null as is_holiday

    from bounded
    left join holidays
        on bounded.date_day = holidays.holiday_date

)

select * from final

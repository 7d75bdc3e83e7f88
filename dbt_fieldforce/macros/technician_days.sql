{#-
    The days a technician-day model rebuilds (its `meta.rebuild`): the completion days of
    changed jobs, the days of timesheets synced in the lookback, and the days
    int_technician_gps_daily recounted since the model last read it. One rule for
    int_technician_daily_metrics and fct_technician_performance, which follows its days; a
    fresh dict each call, so a model may add to it.
-#}
{% macro technician_day_rebuild() -%}
    {{ return({
        'date_column': 'work_date',
        'source_date_column': 'completed_at',
        'source_events': [
            ['stg_servicetitan__timesheets', 'cast(clock_in_at as date)'],
            ['int_technician_gps_daily', 'event_date', 'model'],
        ],
    }) }}
{%- endmacro %}

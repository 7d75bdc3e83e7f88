{#
    Incremental helpers shared by the fact models.

    Three run shapes, chosen by vars (see dbt_fieldforce/README.md):
    * window: `min_date` and/or `max_date` (inclusive UTC dates), or `backfill_start`
      (= min_date with no upper bound): delete the window from the target, insert it again
      from the source. A daily partition passes min_date = max_date = the day; a range
      backfill passes the first and last day. Windows that cover every date give the same
      table as a full refresh.
    * incremental (no window vars): the changed rows only.
      - A model over sources (int_jobs_enriched, dim_customers) re-reads the source rows
        synced since `max(_source_synced_at)` of the target minus `lookback_days` (late rows
        from a tenant whose sync committed after a newer one, invoices landing hours after
        their job) and keeps those newer than the version the target row was built from
        (a version column per input), so a re-read row that did not change costs a probe,
        not a rebuild.
      - A model over those models reads the upstream rows written since its own last
        incremental build (`changed_since_read`: the upstream's `_dbt_updated_at` after the
        target's `_changes_read_at`), upserts them or rebuilds their days; hard deletes by
        the lookback over the deletions.
    * full refresh / first build: everything.
#}

{% macro window_bounds() -%}
    {%- set lower = var('min_date', none) or var('backfill_start', none) -%}
    {%- set upper = var('max_date', none) -%}
    {{ return({'lower': lower, 'upper': upper, 'active': (lower is not none or upper is not none)}) }}
{%- endmacro %}

{#- Boolean SQL: `date_expr` lies inside the window (window mode only). -#}
{% macro window_predicate(date_expr) -%}
    {%- set bounds = window_bounds() -%}
    {%- set clauses = [] -%}
    {%- if bounds.lower is not none -%}
        {%- do clauses.append(date_expr ~ " >= cast('" ~ bounds.lower ~ "' as date)") -%}
    {%- endif -%}
    {%- if bounds.upper is not none -%}
        {%- do clauses.append(date_expr ~ " <= cast('" ~ bounds.upper ~ "' as date)") -%}
    {%- endif -%}
    {{ return(clauses | join(' and ') if clauses else '1 = 1') }}
{%- endmacro %}

{#- Incremental strategy of a row-level fact: upsert normally, `replace_where` in a window. -#}
{% macro fact_incremental_strategy() -%}
    {{ return('replace_where' if window_bounds().active else upsert_strategy()) }}
{%- endmacro %}

{#-
    The lookback cutoff: max(`cursor_column`) of the target minus `lookback_days`. In a model
    run it is read once and inlined as a literal, so the warehouse can prune the source scan
    by it (a scalar subquery is not pushed into the scan); elsewhere (compile, unit tests,
    where `this` is a fixture) it stays a scalar subquery with the same meaning.
-#}
{% macro lookback_cutoff(cursor_column='_source_synced_at', relation=this) -%}
    {%- set cutoff_sql -%}
        select {{ dbt.dateadd('day', -1 * (var('lookback_days') | int), 'max(' ~ cursor_column ~ ')') }}
        from {{ relation }}
    {%- endset -%}
    {%- set cutoff = timestamp_scalar(cutoff_sql) -%}
    {{ return("cast(null as " ~ dbt.type_timestamp() ~ ")" if cutoff is none else cutoff) }}
{%- endmacro %}

{#- One timestamp query as SQL: in an incremental model run (or a run of a snapshot that
    exists), read once and inlined as a literal (none when null), elsewhere the scalar
    subquery on one line. -#}
{% macro timestamp_scalar(sql) -%}
    {%- if execute -%}
        {#- a snapshot that exists reads its source incrementally too (snap_customers) -#}
        {%- set reads_itself = is_incremental() if model.resource_type == 'model'
            else (model.resource_type == 'snapshot' and load_relation(this) is not none) -%}
        {%- if reads_itself -%}
            {%- set value = run_query(sql).columns[0].values()[0] -%}
            {{ return(none if value is none else "cast('" ~ value ~ "' as " ~ dbt.type_timestamp() ~ ")") }}
        {%- endif -%}
    {%- endif -%}
    {{ return("(" ~ (sql | trim | replace("\n", " ")) ~ ")") }}
{%- endmacro %}

{#-
    When an incremental build of the target last read its inputs: max(`_changes_read_at`).
    dbt builds on one warehouse run one at a time (the `fieldforce/warehouse` run tag's limit
    of 1), so an upstream row stamped (`_dbt_updated_at`) after this moment was written after
    the target last read, and one stamped before it had been read. Window runs (partition
    backfills) stamp no `_changes_read_at` (they read one window, not every change), so they
    never move it forward. A literal in a model run, as lookback_cutoff; none when the target
    has no such column or stamp yet (built before it, or only by windows): read everything.
-#}
{% macro read_watermark(relation=this) -%}
    {%- set watermark_sql -%}
        select max(_changes_read_at) from {{ relation }}
    {%- endset -%}
    {%- if execute and model.resource_type == 'model' and is_incremental() -%}
        {%- set columns = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list -%}
        {%- if '_changes_read_at' not in columns -%}
            {{ return(none) }}
        {%- endif -%}
    {%- endif -%}
    {{ return(timestamp_scalar(watermark_sql)) }}
{%- endmacro %}

{#- Boolean SQL on an upstream model's rows: written since the target last read them. -#}
{% macro changed_since_read(stamp_column='_dbt_updated_at') -%}
    {%- set watermark = read_watermark() -%}
    {%- if watermark is none -%}
        {{ return('1 = 1') }}
    {%- endif -%}
    {{ return(stamp_column ~ " > coalesce(" ~ watermark ~ ", cast('1900-01-01' as " ~ dbt.type_timestamp() ~ "))") }}
{%- endmacro %}

{#- The `_changes_read_at` column's value: the build's time, or null in a window run. -#}
{% macro changes_read_at() -%}
    {%- if window_bounds().active -%}
        {{ return("cast(null as " ~ dbt.type_timestamp() ~ ")") }}
    {%- endif -%}
    {{ return(utc_now()) }}
{%- endmacro %}

{#- The upsert strategy of a row-level fact (see README: DuckDB runs it as delete+insert). -#}
{% macro upsert_strategy() -%}
    {{ return(adapter.dispatch('upsert_strategy', 'dbt_fieldforce')()) }}
{%- endmacro %}

{% macro default__upsert_strategy() -%}
    {{ return('merge') }}
{%- endmacro %}

{#-
    DuckDB's MERGE rewrites far more than the matched rows (10 M-row fct_jobs, 100 k-row batch:
    0.8-3.5 s against 0.13 s for delete + insert of the same keys), and an upsert on a unique
    key is the same result either way. The delete takes the hard-deleted keys along
    (`upsert_with_hard_deletes`), so the target is probed once, not twice.
-#}
{% macro duckdb__upsert_strategy() -%}
    {{ return('upsert_with_hard_deletes') }}
{%- endmacro %}

{#- The relation of keys hard-deleted at the source (the model's `meta.rebuild.hard_deletes`,
    a model it depends on), or none. -#}
{% macro hard_deletes_relation() -%}
    {%- set name = ((config.get('meta') or {}).get('rebuild') or {}).get('hard_deletes') -%}
    {{ return(ref(name) if name else none) }}
{%- endmacro %}

{#-
    Custom incremental strategy (DuckDB's upsert): delete + insert on the unique key, with the
    hard-deleted keys deleted by the same statement. delete+insert followed by the
    `delete_hard_deleted` post-hook probes every key of the target twice (a 10 M-row fct_jobs:
    about half of an incremental run's warehouse time); this probes it once. Same rows: a key
    both in the batch and hard-deleted (an older row of the job was deleted) is not inserted,
    as the post-hook would have deleted it after the insert. The post-hook knows this strategy
    and does nothing under it.
-#}
{% macro get_incremental_upsert_with_hard_deletes_sql(arg_dict) -%}
    {%- set key = arg_dict['unique_key'] -%}
    {%- if key is not string -%}
        {%- do exceptions.raise_compiler_error("upsert_with_hard_deletes needs one unique_key column") -%}
    {%- endif -%}
    {%- set deletions = hard_deletes_relation() -%}
    {%- set dest_cols_csv = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    delete from {{ arg_dict['target_relation'] }}
    where {{ key }} in (
        select {{ key }} from {{ arg_dict['temp_relation'] }}
        {%- if deletions is not none %}
        union all
        select {{ key }} from {{ deletions }}
        {%- endif %}
    );

    insert into {{ arg_dict['target_relation'] }} ({{ dest_cols_csv }})
    select {{ dest_cols_csv }}
    from {{ arg_dict['temp_relation'] }} as batch
    {%- if deletions is not none %}
    where not exists (
        select 1 from {{ deletions }} as deleted where deleted.{{ key }} = batch.{{ key }}
    )
    {%- endif %}
{%- endmacro %}

{#
    Distinct UTC dates of `date_column` (a timestamp column of int_jobs_enriched and of
    stg_jobs__job_deletions; a list of them for several; none for no jobs) among the jobs
    int_jobs_enriched rewrote since the target last read it, the dates those jobs had before a
    change moved them (its `_replaced_<column>`), and among jobs hard-deleted since the
    lookback cutoff: the dates whose daily aggregates must be rebuilt. `source_events` adds the
    dates of other rows, a list of [relation, date expression, kind]; the relation is a model
    name or `source:<source>.<table>`, and the kind says which rows changed:
    * `lookback` (the default): rows synced since the lookback cutoff;
    * `model`: rows a model stamped like int_jobs_enriched wrote since the target last read;
    * `synced_after`: rows synced after the newest sync the target counted
      (`max(_source_synced_at)`): for a source delivered by one connector, whose syncs run
      one after the other and stamp rows as they write them, every row not yet counted and
      nothing more (a row the count left out, a deleted ping, is read again: harmless).
#}
{% macro changed_job_dates(date_column, source_events=none) -%}
    {%- set columns = [] if date_column is none else ([date_column] if date_column is string else date_column) -%}
    {%- set cutoff = lookback_cutoff() -%}
    {%- set selects = [] -%}
    {%- if columns -%}
        {%- set changed = changed_since_read() -%}
    {%- endif -%}
    {%- for column in columns -%}
        {%- do selects.append(
            "select cast(" ~ column ~ " as date) as rebuild_date from " ~ ref('int_jobs_enriched')
            ~ " where " ~ changed ~ " and " ~ column ~ " is not null") -%}
        {%- do selects.append(
            "select cast(_replaced_" ~ column ~ " as date) as rebuild_date from "
            ~ ref('int_jobs_enriched') ~ " where " ~ changed ~ " and _replaced_" ~ column
            ~ " is not null") -%}
        {%- do selects.append(
            "select cast(" ~ column ~ " as date) as rebuild_date from "
            ~ ref('stg_jobs__job_deletions') ~ " where _fivetran_synced >= " ~ cutoff ~ " and "
            ~ column ~ " is not null") -%}
    {%- endfor -%}
    {%- for event in (source_events or []) -%}
        {%- set name, date_expr = event[0], event[1] -%}
        {%- set kind = event[2] if event | length > 2 else 'lookback' -%}
        {%- if name.startswith('source:') -%}
            {%- set source_name, table_name = name[7:].split('.') -%}
            {%- set relation = source(source_name, table_name) -%}
        {%- else -%}
            {%- set relation = ref(name) -%}
        {%- endif -%}
        {%- if kind == 'model' -%}
            {%- set rows_changed = changed_since_read() -%}
        {%- elif kind == 'synced_after' -%}
            {%- set rows_changed = "_fivetran_synced > " ~ synced_watermark() -%}
        {%- else -%}
            {%- set rows_changed = "_fivetran_synced >= " ~ cutoff -%}
        {%- endif -%}
        {%- do selects.append(
            "select " ~ date_expr ~ " as rebuild_date from " ~ relation ~ " where "
            ~ rows_changed ~ " and " ~ date_expr ~ " is not null") -%}
    {%- endfor %}
    {{ selects | join('\n    union all\n    ') }}
{%- endmacro %}

{#- The newest source sync the target counted, max(`_source_synced_at`), as a literal in a
    model run (a scalar subquery elsewhere); the oldest timestamp when the target is empty. -#}
{% macro synced_watermark(relation=this) -%}
    {%- set watermark_sql -%}
        select max(_source_synced_at) from {{ relation }}
    {%- endset -%}
    {%- set floor = "cast('1900-01-01' as " ~ dbt.type_timestamp() ~ ")" -%}
    {%- set watermark = timestamp_scalar(watermark_sql) -%}
    {{ return(floor if watermark is none else "coalesce(" ~ watermark ~ ", " ~ floor ~ ")") }}
{%- endmacro %}

{#-
    The rows of a fact to (re)build, `date_expr` being the fact's date:
    * window run: the window;
    * first build / full refresh: all rows (`1 = 1`);
    * incremental run of a daily aggregate (`source_date_column` given): the changed days;
    * incremental run of a row-level fact: the upstream rows written since it last read.
    `changed_keys` (a list of [column, model]) adds, in an incremental run, every row whose
    `column` is a key of the model's rows synced since the lookback cutoff (a dimension
    change reaching every day of its key). The models filter with it and replace_where
    deletes with it, so the rows deleted are exactly the rows rebuilt.
-#}
{% macro rebuild_predicate(date_expr, source_date_column=none, source_events=none, changed_keys=none) -%}
    {%- if window_bounds().active -%}
        {{ return(window_predicate(date_expr)) }}
    {%- elif not is_incremental() -%}
        {{ return('1 = 1') }}
    {%- endif -%}
    {%- if source_date_column is not none or source_events -%}
        {%- set predicate = date_expr ~ " in (" ~ changed_dates_list(changed_job_dates(source_date_column, source_events)) ~ ")" -%}
    {%- else -%}
        {%- set predicate = changed_since_read() -%}
    {%- endif -%}
    {%- if changed_keys -%}
        {%- set cutoff = lookback_cutoff() -%}
        {%- set clauses = ["(" ~ predicate ~ ")"] -%}
        {%- for column, model_name in changed_keys -%}
            {%- do clauses.append(
                column ~ " in (select " ~ column ~ " from " ~ ref(model_name)
                ~ " where _fivetran_synced >= " ~ cutoff ~ ")") -%}
        {%- endfor -%}
        {%- set predicate = clauses | join(' or ') -%}
    {%- endif -%}
    {{ return(predicate) }}
{%- endmacro %}

{#-
    The changed days of `dates_sql` (a query of `rebuild_date`s): in a model run, read once
    and inlined as a list of date literals (`null` for none), so the warehouse filters a
    10 M-row fact by constants and skips the row groups outside them, where an `in
    (subquery)` is a join over every row (at the design's volume about a second per use in
    rpt_operations_daily); elsewhere (compile, unit tests) the query itself, the same days.
-#}
{% macro changed_dates_list(dates_sql) -%}
    {%- if execute and model.resource_type == 'model' and is_incremental() -%}
        {%- set listed -%}
            select distinct rebuild_date from ({{ dates_sql }}) as changed_dates
            where rebuild_date is not null
            order by 1
        {%- endset -%}
        {%- set literals = [] -%}
        {%- for day in run_query(listed).columns[0].values() -%}
            {#- a date, a timestamp or its text, by adapter: the date is the first ten characters -#}
            {%- do literals.append("cast('" ~ (day ~ '')[:10] ~ "' as date)") -%}
        {%- endfor -%}
        {{ return(literals | join(', ') if literals else 'cast(null as date)') }}
    {%- endif -%}
    {{ return(dates_sql) }}
{%- endmacro %}

{#- rebuild_predicate of a daily aggregate, from its `meta.rebuild` (`source_date_column`,
    `source_events`, `changed_keys`): the model passes the dict it configures (a unit test
    has no model config), replace_where's delete reads the config, so both name the same
    rows. -#}
{% macro changed_days_predicate(date_expr, rebuild=none) -%}
    {%- set rebuild = rebuild or (config.get('meta') or {}).get('rebuild') or {} -%}
    {{ return(rebuild_predicate(
        date_expr, rebuild.get('source_date_column'), rebuild.get('source_events'),
        rebuild.get('changed_keys'))) }}
{%- endmacro %}

{#
    Custom incremental strategy: delete the target rows a run rebuilds, then insert the new
    batch. The rows are named by the model's `meta.rebuild` (rendered here, at run time, where
    `this` is the model's real relation): `date_column` of the target and, for daily
    aggregates, `source_date_column` of the jobs whose changes mark a day for rebuild. Unlike
    delete+insert on a unique key, a day whose rows all disappeared at the source is emptied
    too. Plain statements, no explicit transaction (fakesnow rejects begin ... commit here).
#}
{% macro get_incremental_replace_where_sql(arg_dict) -%}
    {%- set rebuild = (config.get('meta') or {}).get('rebuild') -%}
    {%- if not rebuild -%}
        {%- do exceptions.raise_compiler_error("replace_where needs meta.rebuild.date_column") -%}
    {%- endif -%}
    {%- set predicate = changed_days_predicate(rebuild['date_column']) -%}
    {%- set dest_cols_csv = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    delete from {{ arg_dict['target_relation'] }}
    where {{ predicate }};

    insert into {{ arg_dict['target_relation'] }} ({{ dest_cols_csv }})
    select {{ dest_cols_csv }}
    from {{ arg_dict['temp_relation'] }}
{%- endmacro %}

{#- Post-hook: remove the rows whose unique key is in `meta.rebuild.hard_deletes` (keys
    hard-deleted at the source), unless the run's strategy already did. Otherwise it renders
    nothing, and dbt runs no statement for an empty hook. -#}
{% macro delete_hard_deleted() -%}
    {%- set deletions = hard_deletes_relation() -%}
    {%- set key = config.get('unique_key') -%}
    {%- if is_incremental() and deletions is not none
        and config.get('incremental_strategy') != 'upsert_with_hard_deletes' -%}
    delete from {{ this }}
    where {{ key }} in (select {{ key }} from {{ deletions }})
    {%- endif -%}
{%- endmacro %}

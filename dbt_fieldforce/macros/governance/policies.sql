{#
    The policies themselves, as SQL expressions, written once for both warehouses: Snowflake
    puts them in `create masking policy` / `create row access policy` bodies (identity from
    current_role() / current_user()); the local DuckDB warehouse puts them in its governed
    views (identity from the session variables a governed connection sets). Only functions
    both dialects share are used (contains, regexp_replace, concat, right, length, upper).
#}

{#-
    The masking rule of `policy` applied to `value`. Roles allowed clear values see them
    (for hashed-at-sync columns: the hash). Everyone else sees a clear email or phone masked
    the design's way (`***@domain`, `***-***-1234`) and anything else, such as the SHA-256 the
    sync lands, masked whole: a hash prefix or suffix would still let a reader join or
    guess-and-check.
-#}
{% macro governance_mask_sql(policy, value, role_sql) -%}
    {%- set config = governance_config() -%}
    {%- if policy not in config.masking_policies -%}
        {%- do exceptions.raise_compiler_error("governance: unknown masking policy '" ~ policy ~ "'") -%}
    {%- endif -%}
    {%- set unmasked = governance_quoted_list(config.masking_policies[policy].unmasked_roles) -%}
    case
        when {{ role_sql }} in ({{ unmasked }}) then {{ value }}
        when {{ value }} is null then null
        {%- if policy == 'email_mask' %}
        when contains({{ value }}, '@') then regexp_replace({{ value }}, '.+@', '***@')
        {%- elif policy == 'phone_mask' %}
        when length({{ value }}) <= 20 then concat('***-***-', right({{ value }}, 4))
        {%- endif %}
        else '{{ config.masked_value }}'
    end
{%- endmacro %}

{#-
    The row-level rule: unrestricted roles see every row; anyone else sees the rows whose
    region `user_sql` is mapped to in security.user_region_access, and nothing when the user
    has no mapping (or no identity at all). An uncorrelated `in` rather than a correlated
    `exists`: DuckDB evaluates it once, where `exists` under `or` buffered every column of
    every row first (8 s instead of 0.2 s over 10 M jobs).
-#}
{% macro governance_region_predicate_sql(region_sql, user_sql, role_sql, mapping_relation) -%}
    {{ role_sql }} in ({{ governance_quoted_list(governance_config().unrestricted_roles) }})
    or {{ region_sql }} in (
        select user_region_access.region_id
        from {{ mapping_relation }} as user_region_access
        where upper(user_region_access.sigma_email) = upper({{ user_sql }})
    )
{%- endmacro %}

-- Blocked: the error-severity not_null test on items.amount fails.
select sum(amount) as total from {{ ref('items') }}

select item_id as order_id, coalesce(amount, 0) as amount from {{ ref('raw_items') }}

select item_id, amount from {{ ref('raw_items') }}

-- Built: the warn-severity test on orders.order_id fails without blocking it.
select count(*) as orders, sum(amount) as total from {{ ref('orders') }}

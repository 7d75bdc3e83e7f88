{{ config(tags=['broken']) }}
-- Always fails: the relation does not exist.
select * from no_such_relation

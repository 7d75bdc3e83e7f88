"""A local Fivetran: the REST API v1 our platform calls, real syncs into the DuckDB warehouse.

Start it with `python -m standins.fivetran serve --home DIR --port P --api-key K --api-secret S`
(see `README.md` in this folder) or from Python through the test kit's local-stack builder (`testkit.builder`).
"""

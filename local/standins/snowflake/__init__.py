"""Snowflake, locally: a fakesnow server for the Snowflake SQL path and the governed DuckDB session."""

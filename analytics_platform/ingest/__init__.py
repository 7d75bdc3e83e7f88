"""Ingestion: sources -> sync -> raw (Fivetran)."""

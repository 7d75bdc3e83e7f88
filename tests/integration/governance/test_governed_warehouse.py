"""Governance on the local warehouse, through the only door a reader has
(standins.snowflake.governance.connect_governed), compared with the marts dbt built:

* a BI user mapped to regions sees exactly those regions' rows, an unmapped user none;
* masked columns show masked values to the BI role, clear (hashed-at-sync) values to the
  roles the design exempts (docs/ARCHITECTURE.md) (email: ADMIN_ROLE, ANALYST_ROLE; phone: ADMIN_ROLE);
* the BI role reads every mart and nothing else: raw, staging, intermediate and the
  security mapping do not exist for it, no file can be attached, nothing escalates;
* PII hashed at sync stays hashed end to end: marts hold the sync's SHA-256 of the source
  values, and no clear email, phone or address is anywhere in the built layers."""

from __future__ import annotations

import re
from collections.abc import Iterable

import duckdb
import psycopg
import pytest
from standins.snowflake.governance import (
    BI_ROLE,
    GovernanceError,
    connect_governed,
)
from testkit.stack import hashed

from tests.integration.dbt.conftest import query

from .conftest import GovernedWarehouse, user_regions

MART_SCHEMAS = ("core", "finance", "operations", "executive", "ops")
# the token governance_config() (dbt_fieldforce/macros/governance/config.sql) masks with
MASKED = "***MASKED***"
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
PII_COLUMNS = {"core.dim_customers": "customer_id", "core.dim_technicians": "technician_id"}


def in_list(values: Iterable[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def relations(warehouse: GovernedWarehouse, schemas: Iterable[str]) -> set[str]:
    return {
        f"{schema}.{name}"
        for schema, name in query(
            warehouse.warehouse,
            "select table_schema, table_name from information_schema.tables "
            f"where table_schema in ({in_list(schemas)})",
        )
    }


def region_marts(warehouse: GovernedWarehouse) -> list[str]:
    """Every mart with a region_id column: all of them must be row-filtered."""
    return sorted(
        f"{schema}.{name}"
        for schema, name in query(
            warehouse.warehouse,
            "select table_schema, table_name from information_schema.columns "
            f"where column_name = 'region_id' and table_schema in ({in_list(MART_SCHEMAS)})",
        )
    )


def by_region(rows: Iterable[tuple]) -> dict[int | None, int]:
    return {region: count for region, count in rows}


def test_a_user_sees_exactly_the_rows_of_their_regions(
    governed_warehouse: GovernedWarehouse,
) -> None:
    warehouse = governed_warehouse.warehouse
    marts = region_marts(governed_warehouse)
    assert {"core.fct_jobs", "core.dim_customers", "finance.fct_revenue"} <= set(marts)
    base = {
        mart: by_region(query(warehouse, f"select region_id, count(*) from {mart} group by 1"))
        for mart in marts
    }
    # the data spans several regions, so a filter that lets everything through would show
    assert len([r for r in base["core.fct_jobs"] if r is not None]) >= 2

    users = user_regions()
    filtered_out = seen = 0
    for user, regions in users.items():
        with connect_governed(warehouse, user, BI_ROLE) as session:
            for mart in marts:
                got = by_region(
                    session.execute(f"select region_id, count(*) from {mart} group by 1").fetchall()
                )
                assert got == {r: n for r, n in base[mart].items() if r in regions}, (user, mart)
                seen += sum(got.values())
                filtered_out += sum(base[mart].values()) - sum(got.values())
            jobs = {
                job_id
                for (job_id,) in session.execute("select job_id from core.fct_jobs").fetchall()
            }
        assert jobs == {
            job_id
            for (job_id,) in query(
                warehouse,
                f"select job_id from core.fct_jobs where region_id in ({in_list(map(str, regions))})",
            )
        }
    assert seen > 0 and filtered_out > 0

    # a user with no mapping sees no region-scoped row, and the region-free marts in full
    with connect_governed(warehouse, "unmapped@fieldforce.com", BI_ROLE) as session:
        for mart in marts:
            assert session.execute(f"select count(*) from {mart}").fetchone() == (0,), mart
        assert (
            session.execute("select count(*) from core.dim_date").fetchone()
            == query(warehouse, "select count(*) from core.dim_date")[0]
        )


def test_masked_columns_by_role(governed_warehouse: GovernedWarehouse) -> None:
    warehouse = governed_warehouse.warehouse
    # the BI user with the most customers, so the check covers many rows
    customers_by_region = by_region(
        query(warehouse, "select region_id, count(*) from core.dim_customers group by 1")
    )
    bi_user = max(
        user_regions().items(),
        key=lambda item: sum(customers_by_region.get(r, 0) for r in item[1]),
    )[0]
    clear_for = {
        BI_ROLE: set(),
        "ANALYST_ROLE": {"email_hash"},
        "ADMIN_ROLE": {"email_hash", "phone_hash"},
    }
    for relation, key in PII_COLUMNS.items():
        sql = f"select {key}, email_hash, phone_hash from {relation}"
        base = {row[0]: row[1:] for row in query(warehouse, sql)}
        assert base and all(
            SHA256_HEX.match(v) for row in base.values() for v in row if v is not None
        )
        for role, clear in clear_for.items():
            with connect_governed(warehouse, bi_user, role) as session:
                got = {row[0]: row[1:] for row in session.execute(sql).fetchall()}
            assert got, (relation, role)
            if role != BI_ROLE:
                assert got.keys() == base.keys()  # unrestricted roles see every row
            for row_key, (email, phone) in got.items():
                base_email, base_phone = base[row_key]
                for column, value, clear_value in (
                    ("email_hash", email, base_email),
                    ("phone_hash", phone, base_phone),
                ):
                    if clear_value is None:
                        assert value is None
                    elif column in clear:
                        assert value == clear_value, (relation, role, column)
                    else:
                        assert value == MASKED, (relation, role, column, value)


def test_bi_role_reads_the_marts_and_nothing_else(governed_warehouse: GovernedWarehouse) -> None:
    warehouse = governed_warehouse.warehouse
    marts = relations(governed_warehouse, MART_SCHEMAS)
    schemas = {schema for (schema,) in query(warehouse, "select schema_name from duckdb_schemas()")}
    raw = relations(governed_warehouse, sorted(s for s in schemas if s.startswith("fivetran_")))
    staging = relations(governed_warehouse, sorted(s for s in schemas if s.startswith("stg_")))
    intermediate = relations(governed_warehouse, sorted(s for s in schemas if s.startswith("int_")))
    others = relations(governed_warehouse, ["security", "governed", "seeds", "snapshots"])
    assert len(marts) >= 10 and len(raw) >= 15 and staging and intermediate
    assert "security.user_region_access" in others

    user = next(iter(user_regions()))
    with connect_governed(warehouse, user, BI_ROLE) as session:
        held = {
            f"{schema}.{name}"
            for schema, name in session.execute(
                "select table_schema, table_name from information_schema.tables"
            ).fetchall()
        }
        assert held == marts
        for relation in sorted(marts):
            session.execute(f"select * from {relation} limit 1").fetchall()
        for relation in sorted(raw | staging | intermediate | others):
            with pytest.raises(duckdb.CatalogException, match="does not exist"):
                session.execute(f"select * from {relation}")
            with pytest.raises(duckdb.CatalogException, match="does not exist"):
                session.execute(f"select * from warehouse.{relation}")
        with pytest.raises(duckdb.PermissionException, match="disabled by configuration"):
            session.execute(f"attach '{warehouse}' as raw_again (read_only)")
        with pytest.raises(duckdb.PermissionException, match="disabled by configuration"):
            session.execute(f"select * from read_parquet('{warehouse.parent}/**/*.parquet')")
        with pytest.raises(duckdb.InvalidInputException, match="locked"):
            session.execute("set enable_external_access = true")
        # the identity cannot be raised from inside: what the session holds is already masked
        session.execute("set variable fieldforce_role = 'ADMIN_ROLE'")
        emails = session.execute(
            "select distinct email_hash from core.dim_customers where email_hash is not null"
        ).fetchall()
        assert emails == [(MASKED,)]

    for role in ("DBT_PROD_ROLE", "DBT_DEV_ROLE", "FIVETRAN_INGEST_ROLE", "NO_SUCH_ROLE"):
        with pytest.raises(GovernanceError):
            connect_governed(warehouse, user, role)
    with pytest.raises(GovernanceError, match="may not read"):
        connect_governed(warehouse, user, BI_ROLE, relations=["int_operations.int_jobs_enriched"])


def source_pii(governed_warehouse: GovernedWarehouse, table: str, key: str) -> dict:
    """key -> (sha256 of email, sha256 of phone) as the sync lands them, from every tenant."""
    expected = {}
    for dsn in governed_warehouse.sources.jobs_dsns.values():
        with psycopg.connect(dsn) as conn:
            for row_key, email, phone in conn.execute(
                f"select {key}, email, phone from public.{table}"
            ).fetchall():
                expected[row_key] = (hashed(email), hashed(phone))
    return expected


def test_pii_hashed_at_sync_stays_hashed_end_to_end(
    governed_warehouse: GovernedWarehouse,
) -> None:
    warehouse = governed_warehouse.warehouse
    clear = governed_warehouse.clear_pii
    assert len(clear) > 100 and any("@" in v for v in clear)

    # the marts hold exactly the sync's hashes of the source values (live rows)
    for relation, key in PII_COLUMNS.items():
        table = relation.split(".dim_")[1]
        expected = source_pii(governed_warehouse, table, key)
        got = {
            row[0]: row[1:]
            for row in query(warehouse, f"select {key}, email_hash, phone_hash from {relation}")
        }
        assert got and got.keys() <= expected.keys()
        assert got == {k: expected[k] for k in got}

    # no clear value anywhere in the built layers, nor in what a privileged reader gets
    schemas = {schema for (schema,) in query(warehouse, "select schema_name from duckdb_schemas()")}
    built = [
        s
        for s in schemas
        if s.startswith(("stg_", "int_")) or s in (*MART_SCHEMAS, "snapshots", "governed")
    ]
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        admin_values = varchar_values(conn, built)
    with connect_governed(warehouse, "admin@fieldforce.com", "ADMIN_ROLE") as session:
        admin_values |= varchar_values(session, MART_SCHEMAS)
    assert len(admin_values) > 1000
    assert not admin_values & clear
    assert not [v for v in admin_values if "@" in v]


def varchar_values(conn: duckdb.DuckDBPyConnection, schemas: Iterable[str]) -> set[str]:
    """Every distinct VARCHAR value of every relation in ``schemas``."""
    found: set[str] = set()
    columns = conn.execute(
        "select table_schema, table_name, column_name from information_schema.columns "
        f"where data_type = 'VARCHAR' and table_schema in ({in_list(schemas)})"
    ).fetchall()
    for schema, table, column in columns:
        found.update(
            value
            for (value,) in conn.execute(
                f'select distinct "{column}" from "{schema}"."{table}" where "{column}" is not null'
            ).fetchall()
        )
    return found


def test_a_partial_run_refreshes_the_whole_governed_layer(
    governed_warehouse: GovernedWarehouse,
) -> None:
    """Dagster builds a few models at a time: each run must leave every built relation
    governed and drop views of relations that are gone."""
    warehouse = governed_warehouse.warehouse
    listed = "select source_schema || '.' || source_name from governed.governed_relations"
    before = set(query(warehouse, listed))
    assert {("core.fct_jobs",), ("core.dim_customers",)} <= before
    with duckdb.connect(str(warehouse)) as conn:
        conn.execute("create view governed.core__retired_mart as select 1 as region_id")
    governed_warehouse.project.run("run", select=["dim_services"])
    assert set(query(warehouse, listed)) == before
    views = {
        name
        for (name,) in query(
            warehouse,
            "select table_name from information_schema.tables "
            "where table_schema = 'governed' and table_type = 'VIEW'",
        )
    }
    assert "core__retired_mart" not in views
    assert views == {
        name for (name,) in query(warehouse, "select view_name from governed.governed_relations")
    }


def test_a_run_remakes_only_the_governed_views_whose_relation_changed(
    governed_warehouse: GovernedWarehouse,
) -> None:
    """The on-run-end hook leaves a view alone while its relation's columns and its definition
    are unchanged (a rebuild under the same name keeps it valid) and remakes it when they
    change, also for a relation the run did not build."""
    warehouse = governed_warehouse.warehouse
    columns = (
        "select column_name from information_schema.columns"
        " where table_schema = 'governed' and table_name = 'core__fct_jobs'"
    )

    def remade_by_a_run(change: str) -> set[str]:
        """Views a run of dim_services remade after ``change``: a remade view loses its comment."""
        with duckdb.connect(str(warehouse)) as conn:
            views = conn.execute(
                "select view_name from duckdb_views() where schema_name = 'governed'"
            ).fetchall()
            for (name,) in views:
                conn.execute(f"comment on view governed.{name} is 'kept'")
            conn.execute(change)
        governed_warehouse.project.run("run", select=["dim_services"])
        return {
            name
            for name, comment in query(
                warehouse,
                "select view_name, comment from duckdb_views() where schema_name = 'governed'",
            )
            if comment != "kept"
        }

    governed_warehouse.project.run("run", select=["dim_services"])
    assert remade_by_a_run("select 1") == set()  # dim_services rebuilt, its view still valid
    assert remade_by_a_run("alter table core.fct_jobs add column out_of_band varchar") == {
        "core__fct_jobs"
    }
    assert ("out_of_band",) in query(warehouse, columns)
    assert remade_by_a_run("alter table core.fct_jobs drop column out_of_band") == {
        "core__fct_jobs"
    }
    assert ("out_of_band",) not in query(warehouse, columns)

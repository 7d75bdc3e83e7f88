"""Per-table checksums of the stored estate, for "same seed, same bytes" checks.

PostgreSQL tables are streamed with ``COPY (select ... order by <key>) to stdout`` in a UTC
session, so the digest covers the stored values in a stable order without holding a table in
memory; files are hashed as stored, in name order.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from standins.sources import catalog
from standins.sources.bulkload import connect


def _digest_query(dsn: str, query: str) -> str:
    digest = hashlib.sha256()
    with connect(dsn) as conn, conn.cursor() as cur, cur.copy(f"copy ({query}) to stdout") as copy:
        for block in copy:
            digest.update(block)
    return digest.hexdigest()


def table_query(system: catalog.System, table: catalog.Table) -> str:
    """All columns of a table ordered by its primary key."""
    cols = ", ".join(f'"{c.name}"' for c in table.columns)
    keys = ", ".join(f'"{c}"' for c in table.primary_key)
    return f'select {cols} from {system.schema}."{table.name}" order by {keys}'


DELETED_ROWS_QUERY = "select table_name, pk::text, deleted_at from cdc.deleted_rows order by deleted_at, table_name, pk::text"
"""The capture log without ``txid`` (transaction ids depend on the cluster, not the data)."""


def checksums(
    jobs_dsns: dict[str, str], saas_dsn: str, telematics_dir: Path, sheets_dir: Path
) -> dict[str, str]:
    """SHA-256 per table: ``jobs_db.<tenant>.<table>``, ``salesforce.Account``, ...

    Returns:
        A dict sorted by key; GPS batches are hashed together as ``telematics.gps_events``.
    """
    out: dict[str, str] = {}
    for tenant, dsn in sorted(jobs_dsns.items()):
        for table in catalog.JOBS_DB.tables:
            out[f"jobs_db.{tenant}.{table.name}"] = _digest_query(
                dsn, table_query(catalog.JOBS_DB, table)
            )
        out[f"jobs_db.{tenant}.cdc.deleted_rows"] = _digest_query(dsn, DELETED_ROWS_QUERY)
    for system in (catalog.SALESFORCE, catalog.QUICKBOOKS, catalog.SERVICETITAN):
        for table in system.tables:
            out[f"{system.name}.{table.name}"] = _digest_query(saas_dsn, table_query(system, table))
    gps = hashlib.sha256()
    for path in sorted(telematics_dir.glob("batch_*.parquet")):
        gps.update(path.name.encode())
        gps.update(path.read_bytes())
    out["telematics.gps_events"] = gps.hexdigest()
    sheet = sheets_dir / "regional_targets.csv"
    out["sheets.regional_targets"] = hashlib.sha256(
        sheet.read_bytes() if sheet.exists() else b""
    ).hexdigest()
    return dict(sorted(out.items()))

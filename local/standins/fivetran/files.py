"""Reading the file-based connectors: immutable GPS Parquet batches and the Sheets CSV.

GPS batches are appended by batch sequence number (the load hands the files to DuckDB, the
rows never pass through Python); a sheet has no cursor, so each sync replaces its table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from standins.fivetran import typemap
from standins.fivetran.batch import Column, Extract, TableBatch
from standins.fivetran.config import ConnectorConfig
from standins.sources import catalog

_ARROW_TO_SOURCE = {
    pa.int64(): "bigint",
    pa.int32(): "integer",
    pa.int16(): "integer",
    pa.float64(): "double precision",
    pa.float32(): "double precision",
    pa.string(): "text",
    pa.large_string(): "text",
    pa.bool_(): "boolean",
    pa.date32(): "date",
}


def _arrow_source_type(dtype: pa.DataType) -> str:
    """A PostgreSQL-style type name for an Arrow type (files have no catalog of their own)."""
    if pa.types.is_timestamp(dtype):
        return "timestamptz" if dtype.tz else "timestamp"
    if pa.types.is_decimal(dtype):
        return f"numeric({dtype.precision},{dtype.scale})"
    if pa.types.is_time(dtype):
        return "time"
    return _ARROW_TO_SOURCE.get(dtype, "text")


def _batch_seq(path: Path) -> int:
    return int(path.stem.split("_")[-1])


def extract_telematics(
    folder: Path,
    connector: ConnectorConfig,
    states: dict[str, dict[str, Any]],
    full_tables: set[str] | None,
) -> Extract:
    """New immutable Parquet batches since the last delivered batch sequence number.

    The rows themselves are not read here: the load phase hands the file list to DuckDB.
    """
    import pyarrow.parquet as pq

    out = Extract(tables=[])
    for name, cfg in connector.tables.items():
        if not cfg.enabled:
            continue
        dest_name = catalog.destination_name(name)
        state = states.get(dest_name, {})
        full = (full_tables is not None and dest_name in full_tables) or not state
        last = -1 if full else int(state.get("seq", -1))
        files = sorted(
            (p for p in folder.glob("batch_*.parquet") if _batch_seq(p) > last), key=_batch_seq
        )
        known = connector.catalog_system.table(name)
        known_types = {c.name: c.type for c in known.columns}
        seen: dict[str, str] = {}
        readable: list[Path] = []
        schemas: set[str] = set()
        for path in files:
            try:
                schema = pq.read_schema(path)
            except (OSError, pa.ArrowInvalid):
                # A batch still being written has no footer yet: deliver it next sync, and
                # nothing after it, so the sequence cursor never skips a batch.
                break
            readable.append(path)
            schemas.add(schema.to_string(show_schema_metadata=False))
            for fld in schema:
                seen.setdefault(fld.name, known_types.get(fld.name) or _arrow_source_type(fld.type))
        files = readable
        if not files:
            seen = dict(known_types)
        columns = [
            Column(
                source=c,
                dest=catalog.destination_name(c),
                source_type=t,
                dest_type=typemap.destination_type(t),
                hashed=c in cfg.hashed,
            )
            for c, t in seen.items()
        ]
        new_state: dict[str, Any] = {"initialized": True, "seq": last}
        if files:
            new_state["seq"] = _batch_seq(files[-1])
            new_state["files"] = len(files)
        out.tables.append(
            TableBatch(
                source_name=name,
                dest_name=dest_name,
                mode="append",
                columns=columns,
                files=files,
                union_by_name=len(schemas) > 1,
                full=full,
                new_state=new_state,
            )
        )
    return out


def extract_sheets(folder: Path, connector: ConnectorConfig) -> Extract:
    """Every enabled sheet, whole: a sheet has no cursor, so each sync replaces the table."""
    out = Extract(tables=[])
    for name, cfg in connector.tables.items():
        if not cfg.enabled:
            continue
        path = folder / f"{name}.csv"
        if not path.exists():
            out.notes.append(
                (
                    "WARNING",
                    "table_removed",
                    {"table": catalog.destination_name(name), "message": f"{path.name} missing"},
                )
            )
            continue
        known = {c.name: c.type for c in connector.catalog_system.table(name).columns}
        rows = pacsv.read_csv(
            path,
            convert_options=pacsv.ConvertOptions(
                column_types={
                    h: typemap.arrow_type(typemap.destination_type(t)) for h, t in known.items()
                },
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
            ),
        )
        columns = []
        for fld in rows.schema:
            source_type = known.get(fld.name) or _arrow_source_type(fld.type)
            columns.append(
                Column(
                    source=fld.name,
                    dest=catalog.destination_name(fld.name),
                    source_type=source_type,
                    dest_type=typemap.destination_type(source_type),
                    hashed=fld.name in cfg.hashed,
                )
            )
        out.tables.append(
            TableBatch(
                source_name=name,
                dest_name=catalog.destination_name(name),
                mode="replace",
                columns=columns,
                rows=rows,
                full=True,
                new_state={"initialized": True, "rows": rows.num_rows},
            )
        )
    return out

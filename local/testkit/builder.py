"""The one local-stack builder: sources, the local Fivetran, a warehouse and the first syncs.

Every test fixture, benchmark and ``fieldforce up`` (the launcher) starts its landing side here,
so the order and the layout are decided once: the sources first (the sync reads them), then the
service over them, then the desired connector configuration (``fivetran.yaml``, through the
production ``apply``: the service creates its connections paused with nothing hashed or
excluded), then the historical syncs into the warehouse. Options choose each part:

* the sources: the generated FieldForce estate (:class:`EstateSources`) or small hand-written
  tables in databases of a shared PostgreSQL cluster (:class:`MiniSources`);
* the Fivetran (:class:`FivetranOptions`): ``python -m standins.fivetran serve`` as a process
  (started by the builder or by a caller's supervisor), in this process (no HTTP, no scheduler:
  syncs run when asked), or none;
* the first syncs: the service's own schedule, forced now, or none.

Dagster is not the builder's business: the launcher adds it on top. Production never imports this.
"""

from __future__ import annotations

import itertools
import json
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from standins.net import free_port
from standins.sources.postgres import PostgresCluster

from testkit.landing import (
    API_KEY,
    API_SECRET,
    FivetranMode,
    FivetranOptions,
    Spawn,
    Stack,
    StackError,
)

__all__ = [
    "API_KEY",
    "API_SECRET",
    "EstateSources",
    "FirstSync",
    "FivetranMode",
    "FivetranOptions",
    "MiniSources",
    "Spawn",
    "Stack",
    "StackError",
    "build_stack",
    "private_root",
    "synced_estate",
]

WAREHOUSE_FILE = "warehouse.duckdb"

Progress = Callable[[str, int, int], None]
FirstSync = Literal["scheduled", "forced", "none"]

_databases = itertools.count()


@dataclass(frozen=True)
class EstateSources:
    """The generated FieldForce estate (``standins.sources.estate.Estate``).

    Attributes:
        home: the estate's home; None means ``<root>/home``.
        seed: the generator's seed.
        scale: its volume factor.
        tenants: tenant names or a count.
        reuse: keep a fully generated estate with these parameters; otherwise generate, and
            drop the warehouse and the service's cursors, which describe other sources.
        progress: the generator's progress callback.
    """

    home: Path | None = None
    seed: int = 42
    scale: float = 0.0002
    tenants: int | Sequence[str] = 2
    reuse: bool = False
    progress: Progress | None = None


@dataclass(frozen=True)
class MiniSources:
    """Small hand-written sources (``standins.fivetran.minisource``) in a shared cluster.

    Each stack gets databases of its own, so stacks over one cluster never see each other.
    """

    cluster: PostgresCluster
    rows: int = 200
    tenants: tuple[str, ...] = ("bu_north", "bu_south")


# ------------------------------------------------------------------------------- the builder


def build_stack(
    root: Path,
    sources: EstateSources | MiniSources,
    *,
    fivetran: FivetranOptions | None = None,
    warehouse: Path | None = None,
    first_sync: FirstSync = "scheduled",
    manual_schedules: bool = False,
    start: bool = True,
) -> Stack:
    """Start the sources and the local Fivetran under ``root``, configure it; run the first syncs.

    The service's start applies the desired connector configuration (see
    :attr:`FivetranOptions.apply_config`) before any sync can run, so the first syncs already
    hash and exclude what ``fivetran.yaml`` says.

    Args:
        root: the stack's folder (estate, service state and warehouse go below it by default).
        sources: which sources, see :class:`EstateSources` and :class:`MiniSources`.
        fivetran: how the local Fivetran runs (default: a process with the test credentials).
        warehouse: the DuckDB file the syncs land in; None means ``<root>/warehouse.duckdb``.
        first_sync: ``scheduled`` waits until the service's own schedule has run the historical
            syncs (a process only), ``forced`` syncs every connector now and requires each to
            succeed, ``none`` returns as soon as the service answers.
        manual_schedules: switch every connector to manual before the first syncs, so that
            nothing syncs on its own afterwards.
        start: False builds the sources only: the caller starts the service
            (:meth:`Stack.start`) and syncs when it chooses; ``first_sync`` is then ignored.

    Returns:
        The running stack; :meth:`Stack.close` (or ``with``) stops what was started.

    Raises:
        StackError: a part did not start or a forced sync failed; nothing is left running.
        ValueError: ``scheduled`` first syncs without a scheduler (in process or no Fivetran).
    """
    options = fivetran or FivetranOptions()
    if start and first_sync == "scheduled" and options.mode != "process":
        raise ValueError("scheduled first syncs need the service's scheduler (mode 'process')")
    warehouse = warehouse or root / WAREHOUSE_FILE
    fivetran_home = options.home or root / "fivetran"
    if isinstance(sources, EstateSources):
        stack = _estate_stack(root, sources, fivetran_home, warehouse, options)
    else:
        stack = _mini_stack(root, sources, fivetran_home, warehouse, options)
    stack.root = root
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    if not start:
        return stack
    try:
        stack.start()
        if manual_schedules:
            stack.manual_schedules()
        if first_sync == "scheduled":
            stack.wait_idle()
        elif first_sync == "forced":
            failed = [e for e in stack.sync() if e["status"] != "SUCCESSFUL"]
            if failed:
                raise StackError(f"first syncs failed: {failed}")
    except BaseException:
        stack.close()
        raise
    return stack


def _estate_stack(
    root: Path, spec: EstateSources, fivetran_home: Path, warehouse: Path, options: FivetranOptions
) -> Stack:
    """Start (and unless reused, generate) the estate; the stack over it, not started."""
    from standins.sources.estate import Estate

    estate = Estate(
        spec.home or root / "home", seed=spec.seed, scale=spec.scale, tenants=spec.tenants
    )
    reuse = spec.reuse and _estate_generated(estate)
    estate.start()
    try:
        if not reuse:
            warehouse.unlink(missing_ok=True)
            shutil.rmtree(fivetran_home, ignore_errors=True)
            estate.generate(progress=spec.progress)
        else:
            # A reused estate resumes at the calendar's now, not where it was stopped.
            estate.catch_up(progress=spec.progress)
        info = estate.connection_info()
    except BaseException:
        estate.stop()
        raise
    return Stack(
        home=fivetran_home,
        port=options.port or free_port(),
        warehouse=warehouse,
        jobs_dsns=info["jobs_db_dsns"],
        saas_dsn=info["saas_dsn"],
        telematics_dir=Path(info["telematics_dir"]),
        sheets_dir=Path(info["sheets_dir"]),
        options=options,
        source_info=info,
        estate=estate,
    )


def _estate_generated(estate: Any) -> bool:
    """Whether the estate's home holds a fully generated estate with its parameters."""
    try:
        state = json.loads(estate.paths.state.read_text())
    except (OSError, ValueError):
        return False
    return (
        bool(state.get("generated"))
        and state.get("seed") == estate.seed
        and state.get("scale") == estate.scale
        and len(state.get("tenants", [])) == len(estate.tenants)
    )


def _mini_stack(
    root: Path, spec: MiniSources, fivetran_home: Path, warehouse: Path, options: FivetranOptions
) -> Stack:
    """Fresh minisource databases in the shared cluster; the stack over them, not started."""
    from standins.fivetran import minisource

    n = next(_databases)
    jobs = {}
    for tenant in spec.tenants:
        name = f"t{n}_jobs_{tenant}"
        spec.cluster.create_database(name)
        jobs[tenant] = spec.cluster.dsn(name)
    saas = f"t{n}_saas"
    spec.cluster.create_database(saas)
    minisource.build_postgres(jobs, spec.cluster.dsn(saas), spec.rows)
    minisource.write_gps_batch(root / "telematics", 1, 2_000)
    minisource.write_sheet(root / "sheets")
    stack = Stack(
        home=fivetran_home,
        port=options.port or free_port(),
        warehouse=warehouse,
        jobs_dsns=jobs,
        saas_dsn=spec.cluster.dsn(saas),
        telematics_dir=root / "telematics",
        sheets_dir=root / "sheets",
        options=options,
    )
    stack.source_info = stack.sources()
    return stack


@contextmanager
def synced_estate(prefix: str, sources: EstateSources | None = None) -> Iterator[Stack]:
    """The generated estate synced once by an in-process Fivetran, in a private root.

    What a test of the layers after the landing needs: the warehouse holds every connector's
    historical sync, nothing syncs again until :meth:`Stack.sync` is called, and the whole root
    goes away afterwards.
    """
    with (
        private_root(prefix) as root,
        build_stack(
            root,
            sources or EstateSources(),
            fivetran=FivetranOptions(mode="in_process"),
            first_sync="forced",
        ) as stack,
    ):
        yield stack


@contextmanager
def private_root(prefix: str) -> Iterator[Path]:
    """A fresh temporary folder PostgreSQL's server account can traverse; removed afterwards.

    PostgreSQL runs as an unprivileged account when we are root, and pytest's temporary folders
    are private (0700), so a cluster's data lives below one of these instead.
    """
    root = Path(tempfile.mkdtemp(prefix=prefix))
    root.chmod(0o711)
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)

"""dbt in the run worker's own interpreter: dagster-dbt's events without a ``dbt`` subprocess.

dagster-dbt always starts ``dbt`` as a subprocess and reads its ``--log-format json`` stdout.
That start-up (imports, adapter, partial parse, manifest write) costs seconds on the path from a
sync to its marts, for seconds of work. Here the same command runs through dbt's programmatic
entry point (``dbtRunner``) in a worker thread, with the prepared manifest loaded once per
process, and dbt's structured events are turned into *the very JSON lines* the subprocess would
print: each passes the filter of dbt's stdout logger (level, cache events) and is rendered as
that logger renders it (``msg_to_json``, secrets scrubbed). :class:`InProcessDbt` offers those
lines the way a ``subprocess.Popen`` offers its stdout, so dagster-dbt's own
``DbtCliInvocation`` parses them: materializations, asset-check results, skips, the run log,
``run_results.json`` in the invocation's target path are the subprocess path's, by construction.

dbt's flags, adapters and event manager are process-global, so one in-process invocation runs at
a time (:data:`DBT_LOCK`, held from dagster-dbt's adapter set-up until dbt returns). dbt's
working directory is the project's, as the subprocess's is (relative warehouse paths in the
profile resolve the same way). A run whose step is interrupted cannot stop dbt's thread (dbt has
no cancel call); the subprocess path stays selectable (``FIELDFORCE_DBT_RUNNER=subprocess``) for
a deployment that wants that isolation.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dagster import get_dagster_logger
from dagster_dbt import DbtCliInvocation, DbtCliResource
from dagster_dbt.asset_utils import (
    extract_runtime_selection_from_args,
    get_updated_cli_invocation_params_for_context,
)
from dagster_dbt.dagster_dbt_translator import DagsterDbtTranslator, validate_opt_translator
from dagster_dbt.dbt_manifest import DbtManifestParam, validate_manifest

if TYPE_CHECKING:
    import dagster as dg
    from dbt.contracts.graph.manifest import Manifest
    from dbt_common.events.base_types import EventMsg

logger = get_dagster_logger()

DBT_LOCK = threading.Lock()
"""One in-process dbt invocation at a time: dbt's flags and adapters are process-global."""

EXIT_SUCCESS, EXIT_FAILURE, EXIT_ERROR = 0, 1, 2
"""dbt's exit codes: success, a node failed (result), dbt itself failed (exception)."""

PARTIAL_PARSE_FILE = "partial_parse.msgpack"

_LEVELS = {"debug": 10, "test": 10, "info": 20, "warn": 30, "error": 40}
"""dbt event levels as the stdout logger ranks them (dbt_common's ``_log_level_map``)."""


def release_embedded_warehouse() -> None:
    """Close the DuckDB file that dbt-duckdb keeps open in this process once dbt is done.

    dbt-duckdb caches one DuckDB handle per process for good, both for dbt run in process and
    for the row counts and column metadata fetched through dbt's adapter. DuckDB allows one
    writing process per file, so the handle must go before anything else (the next dbt step, a
    ``dbt`` subprocess, a sync) can write the warehouse. Snowflake has no such lock.
    """
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # dbt-duckdb not installed (a Snowflake-only deployment)
        return
    manager: Any = DuckDBConnectionManager
    with manager._LOCK:  # noqa: SLF001 - dbt-duckdb has no public way to drop its cached handle
        env = manager._ENV  # noqa: SLF001
        manager._ENV = None  # noqa: SLF001
        if env is not None:
            env.close()


@dataclass(frozen=True)
class _CachedManifest:
    key: tuple[str, int, int]
    manifest: Manifest


_manifest_cache: dict[str, _CachedManifest] = {}
_manifest_lock = threading.Lock()


def load_manifest(target_dir: Path, invocation_id: str | None) -> Manifest | None:
    """The runtime ``Manifest`` of the prepared parse, loaded once per parse; None if stale.

    ``dbt parse`` writes two forms of one parse into ``target/``: ``manifest.json`` (the
    artifact Dagster reads; loaded back, its generic tests lose their test kwargs and cannot
    compile) and ``partial_parse.msgpack``, dbt's own serialization of the runtime manifest,
    which is what a warm ``dbt`` reuses. Like the manifest Dagster reads, it must come from a
    parse for the runs' target (:func:`.project.prepare_manifest` parses with the runs'
    environment): relation names are fixed at parse time. This loads the latter, but only when it comes from the
    same parse as the manifest the assets were defined with (same ``invocation_id``): a new
    ``dbt parse`` (a changed view or model) is picked up, and a stale one never runs.

    The load is cached on the file's modification time and size. ``build_flat_graph`` gives
    hooks and macros their ``graph`` variable, which a parse builds and a load does not.
    """
    from dbt.contracts.graph.manifest import Manifest
    from dbt.parser.manifest import extended_mashumuro_decoder

    path = target_dir / PARTIAL_PARSE_FILE
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    with _manifest_lock:
        cached = _manifest_cache.get(key[0])
        if cached is None or cached.key != key:
            manifest = Manifest.from_msgpack(path.read_bytes(), decoder=extended_mashumuro_decoder)
            manifest.build_flat_graph()
            cached = _manifest_cache[key[0]] = _CachedManifest(key, manifest)
    if invocation_id is not None and cached.manifest.metadata.invocation_id != invocation_id:
        return None
    return cached.manifest


class _Lines:
    """The stdout of :class:`InProcessDbt`: dbt's JSON log lines, as bytes, until dbt returns."""

    def __init__(self) -> None:
        self._queue: queue.Queue[bytes | None] = queue.Queue()
        self.closed = False

    def put(self, line: str | None) -> None:
        self._queue.put(None if line is None else line.encode())

    def __iter__(self) -> Iterator[bytes]:
        while not self.closed:
            line = self._queue.get()
            if line is None:
                return
            yield line + b"\n"

    def close(self) -> None:
        self.closed = True

    def __enter__(self) -> _Lines:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class InProcessDbt:
    """A dbt command running in this process, shaped like the ``subprocess.Popen`` of dagster-dbt.

    ``args`` is the command line the subprocess would run (executable first, for the logs);
    dbt receives the rest plus the flags that the subprocess gets through its environment.
    The caller holds :data:`DBT_LOCK`; the worker thread releases it when dbt returns.
    """

    def __init__(
        self,
        args: Sequence[str],
        dbt_args: Sequence[str],
        manifest: Manifest | None,
        project_dir: Path,
    ) -> None:
        """Prepare dbt's worker thread (the caller holds :data:`DBT_LOCK`; :meth:`start` runs it)."""
        self.args = list(args)
        self.returncode: int | None = None
        self.stdout = _Lines()
        self._dbt_args = list(dbt_args)
        self._manifest = manifest
        self._project_dir = project_dir
        self._threshold: int | None = None
        self._errors_seen = False
        self._after: Callable[[], None] = lambda: None
        self._thread = threading.Thread(target=self._run, name="dbt-inprocess", daemon=True)

    def start(self, after: Callable[[], None]) -> None:
        """Run dbt; then ``after`` (still under :data:`DBT_LOCK`), then end the lines."""
        self._after = after
        self._thread.start()

    def _run(self) -> None:
        from dbt.cli.main import dbtRunner

        code = EXIT_ERROR
        try:
            with contextlib.chdir(self._project_dir):
                result = dbtRunner(manifest=self._manifest, callbacks=[self._on_event]).invoke(
                    self._dbt_args
                )
            code = (
                EXIT_SUCCESS
                if result.success
                else EXIT_ERROR
                if result.exception is not None
                else EXIT_FAILURE
            )
            if result.exception is not None and not self._errors_seen:
                self.stdout.put(_error_line(result.exception))
        except BaseException as exc:  # dbt's failure becomes the step's, as dbt's line
            self.stdout.put(_error_line(exc))
        finally:
            release_embedded_warehouse()
            self.returncode = code
            try:
                self._after()
            finally:
                DBT_LOCK.release()
                self.stdout.put(None)

    def _on_event(self, msg: EventMsg) -> None:
        """Pass on what dbt's stdout logger would print, as it would print it."""
        from dbt_common.events.functions import env_scrubber, msg_to_json, stdout_filter
        from dbt_common.events.logger import PRINT_EVENT_NAMES, LineFormat

        if self._threshold is None:
            from dbt.flags import get_flags

            flags = get_flags()
            quiet, debug = getattr(flags, "QUIET", False), getattr(flags, "DEBUG", False)
            self._threshold = _LEVELS["error"] if quiet else _LEVELS["debug" if debug else "info"]
        level = "error" if msg.info.name in PRINT_EVENT_NAMES else msg.info.level
        if _LEVELS.get(level, 20) < self._threshold:
            return
        if not stdout_filter(False, LineFormat.Json, msg):
            return
        self._errors_seen |= level == "error"
        self.stdout.put(env_scrubber(msg_to_json(msg)))

    def poll(self) -> int | None:
        """The exit code once dbt has returned, else None."""
        return self.returncode if not self._thread.is_alive() else None

    def wait(self, timeout: float | None = None) -> int:
        """Wait for dbt to return; ``subprocess.TimeoutExpired`` after ``timeout`` seconds."""
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, sig: int) -> None:
        """Stop reading dbt's lines; dbt itself has no cancel call and finishes its thread."""
        self.stdout.close()

    def terminate(self) -> None:
        """As :meth:`send_signal`."""
        self.stdout.close()

    def kill(self) -> None:
        """As :meth:`send_signal`."""
        self.stdout.close()


def _error_line(exc: BaseException) -> str:
    """The ``MainEncounteredError`` line dbt prints, for a failure that dbt did not log itself."""
    message = f"Encountered an error:\n{exc}"
    return json.dumps(
        {
            "info": {
                "name": "MainEncounteredError",
                "code": "Z002",
                "level": "error",
                "msg": message,
                "invocation_id": "",
                "ts": datetime.now(UTC).isoformat(),
                "pid": os.getpid(),
                "thread": threading.current_thread().name,
                "category": "",
                "extra": {},
            },
            "data": {"exc": str(exc)},
        },
        sort_keys=True,
    )


def in_process_cli(
    resource: DbtCliResource,
    args: Sequence[str],
    *,
    raise_on_error: bool = True,
    manifest: DbtManifestParam | None = None,
    dagster_dbt_translator: DagsterDbtTranslator | None = None,
    context: dg.OpExecutionContext | dg.AssetExecutionContext | None = None,
    target_path: Path | None = None,
) -> DbtCliInvocation:
    """``DbtCliResource.cli`` with dbt run in process instead of in a subprocess.

    The arguments, selection, target path and adapter are dagster-dbt's own (the first half of
    ``DbtCliResource.cli``, 0.29.27); what the subprocess gets through its environment (log
    format, target and log paths, profiles and project directories, indirect selection) dbt
    gets here as flags.
    """
    translator = validate_opt_translator(dagster_dbt_translator) or DagsterDbtTranslator()
    manifest_blob = validate_manifest(manifest) if manifest else {}
    cleaned_args, selects, excludes = extract_runtime_selection_from_args(args)
    params = get_updated_cli_invocation_params_for_context(
        context=context,
        manifest=manifest_blob,
        dagster_dbt_translator=translator,
        runtime_selects=selects,
        runtime_excludes=excludes,
    )
    project_dir = Path(
        params.dbt_project.project_dir if params.dbt_project else resource.project_dir
    ).resolve()
    target_path = target_path or resource._get_unique_target_path(context=context)  # noqa: SLF001
    if not target_path.is_absolute():
        target_path = project_dir / target_path
    manifest_path = (
        Path(params.dbt_project.manifest_path)
        if params.dbt_project
        else project_dir / "target" / "manifest.json"
    )
    invocation_id = params.manifest.get("metadata", {}).get("invocation_id")
    profile_args = [*(["--profile", resource.profile] if resource.profile else [])]
    profile_args += ["--target", resource.target] if resource.target else []
    command = [
        *resource.global_config_flags,
        *cleaned_args,
        *profile_args,
        *params.selection_args,
    ]
    env_flags = [
        "--log-format",
        "json",
        "--log-level",
        "none",  # dbt's own stdout logger stays silent: InProcessDbt renders its lines
        "--target-path",
        str(target_path),
        "--log-path",
        str(target_path),
        "--project-dir",
        str(project_dir),
        "--profiles-dir",
        str(Path(resource.profiles_dir or project_dir).resolve()),
        "--no-send-anonymous-usage-stats",
    ]
    if params.indirect_selection:  # the subprocess's DBT_INDIRECT_SELECTION
        env_flags += ["--indirect-selection", params.indirect_selection]
    # Configs can depend on vars at parse time (a fact's incremental strategy follows the
    # backfill window's vars): a run with vars lets dbt parse with them, as the subprocess does.
    dbt_manifest = (
        None if "--vars" in command else load_manifest(manifest_path.parent, invocation_id)
    )
    if dbt_manifest is None and "--vars" not in command:
        logger.warning("no dbt manifest of the parse of %s: dbt parses the project", manifest_path)
    DBT_LOCK.acquire()
    try:
        process = InProcessDbt(
            [resource.dbt_executable, *command], [*command, *env_flags], dbt_manifest, project_dir
        )
        invocation = DbtCliInvocation(
            process=process,  # type: ignore[arg-type] - Popen's shape, what DbtCliInvocation reads
            manifest=params.manifest,
            project=params.dbt_project,
            dagster_dbt_translator=params.dagster_dbt_translator,
            project_dir=project_dir,
            target_path=target_path,
            raise_on_error=raise_on_error,
            context=context,
            adapter=None,
            cli_version=resource._cli_version,  # noqa: SLF001
        )

        def attach_adapter() -> None:
            """dagster-dbt's metadata adapter, set up once dbt is done, as the subprocess's is.

            Macros run through the adapter that dbt's factory holds: set up after dbt's own,
            it is this one, as in the process that starts a ``dbt`` subprocess.
            """
            with contextlib.chdir(project_dir):
                try:
                    invocation.adapter = resource._initialize_dbt_core_adapter(args)  # noqa: SLF001
                except Exception:  # dagster-dbt warns and goes on without metadata; so do we
                    logger.warning("no dbt adapter for metadata in this process", exc_info=True)

        process.start(after=attach_adapter)
    except BaseException:
        DBT_LOCK.release()
        raise
    logger.info("Running dbt command in process: `%s`.", invocation.dbt_command)
    return invocation

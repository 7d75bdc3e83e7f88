"""``fieldforce``: bring the local FieldForce platform up, and measure it.

The CLI is the launcher of the *local* world (sources, sync service, stand-ins, Dagster); it is
not imported by the production code location ``analytics_platform``.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import secrets
import signal
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Annotated, Any

import click
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from standins.sources.config import DEFAULT_SPEED
from testkit.provenance import RESULTS_DIR, machine

from devstack.bench_options import benchmark_options, split_bench_args
from devstack.fivetran_cli import fivetran_app
from devstack.launcher import LaunchError, LocalPlatform
from devstack.ports import PortInUseError
from devstack.stack import fieldforce_home

app = typer.Typer(
    help="FieldForce Analytics Platform: the local platform launcher and benchmarks.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(fivetran_app, name="fivetran")
console = Console()

BENCHMARKS = (
    "generate",
    "landing",
    "incremental",
    "load",
    "latency",
    "backfill",
    "day",
    "scale",
    "up",
)
DEFAULT_SCALE = 0.001


def _fail(message: str) -> typer.Exit:
    console.print(f"[bold red]fieldforce: {message}[/]")
    return typer.Exit(code=1)


def _check_scale(scale: float) -> float:
    if not 0 < scale <= 1:
        raise typer.BadParameter(
            f"--scale must be in (0, 1] (1.0 = the design's volumes), got {scale}"
        )
    return scale


class PhaseProgress:
    """Progress of a multi-step operation: a bar on a terminal, one line per phase in a log.

    Steps arrive as ``(step, done, total)``, ``done`` counting over the whole operation; a
    phase is a run of calls with the same step name. On a terminal one bar follows the whole
    operation (its label is the current step); elsewhere (a log file, a pipe) every phase
    prints one line when it ends, e.g. ``telematics: 46 steps in 5.1 s (52/54)``, instead of a
    row per step that only the last one completes.
    """

    def __init__(self, console: Console) -> None:
        """Nothing is drawn until the first step arrives.

        Args:
            console: where the output goes; its ``is_terminal`` picks bars or lines.
        """
        self.console = console
        self.bars: Progress | None = None
        self.task: Any = None
        self.task_total = 0
        self.phase: str | None = None
        self.phase_steps = 0
        self.phase_started = time.monotonic()
        self.position = (0, 0)

    def __enter__(self) -> PhaseProgress:
        """Start the bars on a terminal."""
        self.phase_started = time.monotonic()
        if self.console.is_terminal:
            self.bars = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.completed}/{task.total}"),
                TimeElapsedColumn(),
                console=self.console,
            )
            self.bars.start()
        return self

    def __exit__(self, *_: object) -> None:
        """Stop the bars, or print the phase still open (an operation that stopped early)."""
        if self.bars is not None:
            self.bars.stop()
        else:
            self._end_phase()

    def __call__(self, step: str, done: int, total: int) -> None:
        """One step of the operation finished.

        Args:
            step: the phase the step belongs to.
            done: steps finished so far in the whole operation.
            total: steps of the whole operation.
        """
        if self.bars is not None:
            if self.task is None or total != self.task_total:
                self.task = self.bars.add_task(step, total=max(total, 1))
                self.task_total = total
            self.bars.update(self.task, description=step, completed=done, total=max(total, 1))
            return
        if step != self.phase:
            self._end_phase()
            self.phase = step
        self.phase_steps += 1
        self.position = (done, total)
        if done >= total:
            self._end_phase()

    def _end_phase(self) -> None:
        if self.phase is None:
            return
        now = time.monotonic()
        steps = f"{self.phase_steps} step{'s' if self.phase_steps != 1 else ''}"
        done, total = self.position
        self.console.print(
            f"{self.phase}: {steps} in {now - self.phase_started:.1f} s ({done}/{total})",
            highlight=False,
        )
        self.phase, self.phase_steps, self.phase_started = None, 0, now


@app.command()
def up(
    scale: Annotated[
        float, typer.Option(help="Size of the source estate; 1.0 = the design's volumes.")
    ] = DEFAULT_SCALE,
    speed: Annotated[
        float,
        typer.Option(
            help="Simulated seconds per real second for the demo clock (1 = the real calendar)."
        ),
    ] = DEFAULT_SPEED,
    seed: Annotated[int, typer.Option(help="Seed of the deterministic generator.")] = 42,
    tenants: Annotated[int, typer.Option(help="Jobs DB business units (tenants).")] = 2,
    home: Annotated[
        Path | None, typer.Option(help="Data directory (default $FIELDFORCE_HOME or .fieldforce).")
    ] = None,
    dagster_port: Annotated[int, typer.Option(help="Port of the Dagster UI.")] = 3000,
    no_dagster: Annotated[
        bool, typer.Option("--no-dagster", help="Start everything but Dagster.")
    ] = False,
    exit_after: Annotated[
        float | None,
        typer.Option(help="Stop by itself after this many seconds (smoke tests).", hidden=True),
    ] = None,
) -> None:
    """Bring the whole local platform up on embedded defaults; Ctrl-C stops all of it."""
    _check_scale(scale)
    if seed < 0:
        raise typer.BadParameter(f"--seed must be >= 0, got {seed}")
    if speed <= 0:
        raise typer.BadParameter(f"--speed must be > 0, got {speed}")
    home = (home or fieldforce_home()).resolve()
    platform_ = LocalPlatform(
        home=home,
        seed=seed,
        scale=scale,
        tenants=tenants,
        speed=speed,
        dagster_port=dagster_port,
        with_dagster=not no_dagster,
    )
    stopping = threading.Event()

    def _on_signal(signum: int, _frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    try:
        with PhaseProgress(console) as progress:
            info = platform_.start(progress=progress)
    except (LaunchError, PortInUseError, OSError, RuntimeError) as exc:
        platform_.stop()
        raise _fail(str(exc).splitlines()[0] if str(exc) else repr(exc)) from None
    _print_urls(info, home)
    started = time.monotonic()
    try:
        while not stopping.is_set():
            dead = platform_.supervisor.dead()
            if dead:
                names = ", ".join(f"{c.name} (see {c.log_path})" for c in dead)
                console.print(f"[bold red]fieldforce: stopped unexpectedly: {names}[/]")
                break
            if exit_after is not None and time.monotonic() - started > exit_after:
                break
            stopping.wait(1.0)
    finally:
        console.print("Stopping every process fieldforce started ...")
        platform_.stop()
        console.print("Stopped.")


def _print_urls(info: dict[str, Any], home: Path) -> None:
    table = Table(title="FieldForce local platform is up", show_header=False)
    for key in (
        "dagster_url",
        "fivetran_api_url",
        "webhook_url",
        "slack_api_url",
        "slack_ui_url",
        "pagerduty_ui_url",
    ):
        if info.get(key):
            table.add_row(key, str(info[key]))
    table.add_row("pagerduty_events_url", str(info.get("pagerduty_events_url", "")))
    for tenant, dsn in info.get("sources", {}).get("jobs_db_dsns", {}).items():
        table.add_row(f"jobs db {tenant}", dsn)
    table.add_row("warehouse", json.dumps(info.get("warehouse", {})))
    table.add_row("stack file", str(home / "stack.json"))
    console.print(table)
    console.print("Press Ctrl-C to stop everything.")


def _has_benchmark(name: str) -> bool:
    try:
        return importlib.util.find_spec(f"benchmarks.{name}") is not None
    except ModuleNotFoundError:  # no ``benchmarks`` on the path: not a checkout
        return False


def _load_benchmark(name: str) -> ModuleType:
    if not _has_benchmark(name):
        raise _fail(f"benchmark {name!r} is not implemented yet (no benchmarks/{name})")
    return importlib.import_module(f"benchmarks.{name}")


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def bench(
    ctx: typer.Context,
    names: Annotated[
        list[str],
        typer.Argument(
            help=f"Benchmarks: {', '.join(BENCHMARKS)}, all (or report, to redraw the"
            " report from OUT); then options of the benchmark."
        ),
    ],
    scale: Annotated[
        float | None, typer.Option(help="Scale factor (each benchmark has its own default).")
    ] = None,
    out: Annotated[Path, typer.Option(help="Where NAME.json goes.")] = RESULTS_DIR,
) -> None:
    """Run benchmarks, print a table, and write ``OUT/NAME.json`` for each.

    Options after one benchmark's name go to that benchmark's ``run(...)``, by parameter name
    and converted by its annotations: ``fieldforce bench day --hours 2``, ``fieldforce bench
    latency --syncs 5 --modes webhook``. An unknown option fails and lists the benchmark's options.

    ``all`` runs every benchmark the project has, one after the other under a progress bar, keeps
    going when one fails (and exits non-zero at the end), then draws the plots and the report
    (``OUT/plots/NAME.png``, ``OUT/report.md``; see ``benchmarks/report.py``). ``report`` alone
    redraws them from the JSON already in ``OUT``.
    """
    if scale is not None:
        _check_scale(scale)
    names, extra = split_bench_args([*names, *ctx.args])
    if not names:
        raise _fail("name a benchmark before its options")
    if names == ["report"] and not extra:
        _draw_report(out)
        return
    run_all = "all" in names
    selected = list(BENCHMARKS) if run_all else names
    unknown = [n for n in selected if n not in BENCHMARKS]
    if unknown:
        raise _fail(f"unknown benchmark(s): {', '.join(unknown)}; choose from {BENCHMARKS}")
    if run_all:
        selected = [n for n in BENCHMARKS if _has_benchmark(n)]
    options: dict[str, Any] = {}
    if extra:
        if len(selected) != 1:
            raise _fail(f"options {' '.join(extra)} go to one benchmark; name only that one")
        try:
            options = benchmark_options(selected[0], _load_benchmark(selected[0]).run, extra)
        except click.UsageError as exc:
            raise _fail(exc.format_message()) from None
    out.mkdir(parents=True, exist_ok=True)
    summary = Table(title="FieldForce benchmarks")
    summary.add_column("benchmark")
    summary.add_column("figures")
    failed: list[str] = []
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        # A log gets the "==> bench NAME" lines; a bar there would only repeat them.
        disable=len(selected) < 2 or not console.is_terminal,
    ) as progress:
        overall = progress.add_task("benchmarks", total=len(selected))
        for name in selected:
            progress.update(overall, description=f"bench {name}")
            console.print(f"[bold]==> bench {name}[/]")
            try:
                result = _run_benchmark(name, out, scale, options)
            except Exception as exc:
                if not run_all:
                    raise
                # One broken benchmark must not cost the figures of all the others.
                console.print(f"[bold red]bench {name} failed: {exc!r}[/]")
                failed.append(name)
                summary.add_row(name, f"FAILED: {exc!r}"[:500])
            else:
                figures = {k: v for k, v in result.items() if k not in ("machine", "finished_at")}
                summary.add_row(name, json.dumps(figures, default=str))
            progress.advance(overall)
    console.print(summary)
    if run_all:
        _draw_report(out)
    if failed:
        raise _fail(f"benchmark(s) failed: {', '.join(failed)}")


def _draw_report(out: Path) -> None:
    plots = _load_benchmark("report").build(out)
    console.print(f"Plots: {', '.join(str(p) for p in plots.values())}")
    console.print(f"Report: {out / 'report.md'}")


def _run_benchmark(
    name: str, out: Path, scale: float | None, options: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Run one benchmark and write ``out/NAME.json`` with scale, machine and finish time.

    ``options`` are further keyword arguments of the benchmark's ``run`` (``benchmark_options``).
    """
    module = _load_benchmark(name)
    kwargs: dict[str, Any] = {"out_dir": out, **(options or {})}
    if scale is not None:
        kwargs["scale"] = scale
    result: dict[str, Any] = module.run(**kwargs)
    result.setdefault("scale", scale)
    result.setdefault("machine", machine())
    result.setdefault("finished_at", datetime.now(UTC).isoformat(timespec="seconds"))
    (out / f"{name}.json").write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    return result


@app.command()
def generate(
    scale: Annotated[float, typer.Option(help="Size; 1.0 = the design's volumes.")] = DEFAULT_SCALE,
    seed: Annotated[int, typer.Option(help="Seed.")] = 42,
    tenants: Annotated[int, typer.Option(help="Jobs DB tenants.")] = 2,
    home: Annotated[Path | None, typer.Option(help="Data directory.")] = None,
) -> None:
    """Generate the source estate (PostgreSQL + files) and print its checksums."""
    _check_scale(scale)
    from standins.sources.estate import Estate, EstateError

    estate = Estate((home or fieldforce_home()).resolve(), seed=seed, scale=scale, tenants=tenants)
    try:
        estate.start()
        with PhaseProgress(console) as progress:
            estate.generate(progress=progress)
        console.print_json(json.dumps(estate.checksums()))
    except EstateError as exc:
        raise _fail(str(exc)) from None
    finally:
        estate.stop()


@app.command()
def secret() -> None:
    """Print a fresh random secret (for FIVETRAN_WEBHOOK_SECRET and friends)."""
    console.print(secrets.token_hex(32))


if __name__ == "__main__":
    app()

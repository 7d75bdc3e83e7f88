"""``fieldforce bench``: every benchmark's defaults, and how extra options reach its ``run``."""

from __future__ import annotations

import inspect
from pathlib import Path

import click
import pytest
from devstack.bench_options import benchmark_options, split_bench_args
from devstack.cli import BENCHMARKS, _load_benchmark


@pytest.mark.parametrize("name", BENCHMARKS)
def test_every_benchmark_runs_with_only_an_output_directory(name: str) -> None:
    """``bench all`` passes ``out_dir`` (and ``scale`` only when given); nothing else is required."""
    parameters = inspect.signature(_load_benchmark(name).run).parameters
    assert "out_dir" in parameters and "scale" in parameters
    required = [
        p.name
        for p in parameters.values()
        if p.default is inspect.Parameter.empty and p.name != "out_dir"
    ]
    assert required == [], f"bench {name}: run() requires {required} that `bench all` does not pass"


@pytest.mark.parametrize("name", BENCHMARKS)
def test_every_benchmarks_parameters_have_command_line_options(name: str) -> None:
    """Every parameter of every ``run`` has an option; giving none passes nothing."""
    assert benchmark_options(name, _load_benchmark(name).run, []) == {}


def _run(
    out_dir: Path,
    scale: float = 0.1,
    hours: float = 24.0,
    syncs: int = 20,
    modes: tuple[str, ...] = ("webhook", "polling"),
    keep: bool = False,
    gps_events: int | None = None,
    work_dir: Path | None = None,
) -> dict[str, object]:
    return {}


def test_options_are_converted_by_the_annotations_of_run() -> None:
    given = benchmark_options(
        "x",
        _run,
        [
            "--hours",
            "2",
            "--syncs=5",
            "--modes",
            "webhook",
            "--keep",
            "--gps-events",
            "10",
            "--work-dir",
            "/tmp/w",
        ],
    )
    assert given == {
        "hours": 2.0,
        "syncs": 5,
        "modes": ("webhook",),
        "keep": True,
        "gps_events": 10,
        "work_dir": Path("/tmp/w"),
    }
    assert isinstance(given["hours"], float) and isinstance(given["syncs"], int)
    assert benchmark_options("x", _run, ["--modes", "a", "--modes", "b"]) == {"modes": ("a", "b")}
    assert benchmark_options("x", _run, ["--no-keep"]) == {"keep": False}
    # Only what is given: run's own defaults stay the defaults.
    assert benchmark_options("x", _run, []) == {}


def test_an_unknown_option_fails_and_lists_the_benchmarks_options() -> None:
    with pytest.raises(click.UsageError) as raised:
        benchmark_options("x", _run, ["--hourz", "2"])
    message = raised.value.format_message()
    assert "--hourz" in message
    for option in ("--hours FLOAT", "--syncs INTEGER", "--modes TEXT", "--keep/--no-keep"):
        assert option in message
    # --out and --scale belong to `bench` itself, not to the benchmark's options.
    assert "--out-dir" not in message and "--scale FLOAT" not in message


def test_a_value_of_the_wrong_type_fails() -> None:
    with pytest.raises(click.UsageError, match="--syncs"):
        benchmark_options("x", _run, ["--syncs", "many"])
    with pytest.raises(click.UsageError):
        benchmark_options("x", _run, ["--hours"])


def test_names_come_first_then_the_options() -> None:
    assert split_bench_args(["day", "--hours", "2"]) == (["day"], ["--hours", "2"])
    assert split_bench_args(["day", "load"]) == (["day", "load"], [])
    assert split_bench_args(["--hours", "2", "day"]) == ([], ["--hours", "2", "day"])

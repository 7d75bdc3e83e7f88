"""``fieldforce bench all`` calls every benchmark with no ``--scale``: each needs its defaults."""

import inspect

import pytest
from devstack.cli import BENCHMARKS, _load_benchmark

pytestmark = pytest.mark.unit


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

"""``fieldforce`` progress: bars on a terminal, one line per phase in a log."""

from __future__ import annotations

import io
import re

import pytest
from devstack import cli
from devstack.cli import PhaseProgress
from rich.console import Console

# The generator's steps: two tenants, three SaaS systems, many GPS batches, the sheet.
STEPS = (
    ["jobs_db/bu_north", "jobs_db/bu_south", "salesforce", "quickbooks", "servicetitan"]
    + ["telematics"] * 48
    + ["sheets"]
)


def _run(console: Console) -> None:
    with PhaseProgress(console) as progress:
        for done, step in enumerate(STEPS, start=1):
            progress(step, done, len(STEPS))


def test_a_log_gets_one_line_per_phase() -> None:
    out = io.StringIO()
    console = Console(file=out, width=200)
    assert not console.is_terminal
    _run(console)
    lines = out.getvalue().splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "jobs_db/bu_north",
        "jobs_db/bu_south",
        "salesforce",
        "quickbooks",
        "servicetitan",
        "telematics",
        "sheets",
    ]
    pattern = re.compile(r"^[\w/]+: \d+ steps? in \d+\.\d s \(\d+/54\)$")
    assert all(pattern.match(line) for line in lines), lines
    assert lines[0].startswith("jobs_db/bu_north: 1 step in") and lines[0].endswith("(1/54)")
    assert "telematics: 48 steps in" in lines[5] and lines[5].endswith("(53/54)")
    assert lines[-1].endswith("(54/54)")
    assert len(lines) == 7  # not a row per step


def test_a_phase_left_open_is_still_reported() -> None:
    out = io.StringIO()
    with pytest.raises(RuntimeError), PhaseProgress(Console(file=out, width=200)) as progress:
        progress("jobs_db/bu_north", 1, 10)
        progress("salesforce", 2, 10)
        raise RuntimeError("the estate failed")
    lines = out.getvalue().splitlines()
    assert [line.split(":")[0] for line in lines] == ["jobs_db/bu_north", "salesforce"]
    assert lines[-1].endswith("(2/10)")


def test_a_terminal_gets_one_bar_that_reaches_the_total() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120)
    with PhaseProgress(console) as progress:
        for done, step in enumerate(STEPS, start=1):
            progress(step, done, len(STEPS))
        assert progress.bars is not None
        (task,) = progress.bars.tasks
        assert (task.completed, task.total, task.description) == (54, 54, "sheets")


def test_help_texts_name_no_outside_document() -> None:
    source = cli.__file__
    with open(source, encoding="utf-8") as handle:
        assert "SDD" not in handle.read()

"""The committed sqlfluff config (pyproject.toml) passes on every model."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlfluff.core import FluffConfig, Linter

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[3]


def test_models_lint_clean() -> None:
    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        config = FluffConfig.from_path(str(REPO))
        result = Linter(config=config).lint_paths(("dbt_fieldforce/models",))
    finally:
        os.chdir(cwd)
    violations = {
        path: [f"L{v['start_line_no']} {v['code']} {v['description']}" for v in records]
        for path, records in ((r["filepath"], r["violations"]) for r in result.as_records())
        if records
    }
    assert violations == {}

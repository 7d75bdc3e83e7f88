"""The committed sqlfluff config (pyproject.toml) passes on every model."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from sqlfluff.core import FluffConfig, Linter

REPO = Path(__file__).resolve().parents[3]


def test_models_lint_clean() -> None:
    cwd = os.getcwd()
    # sqlfluff loads the jinja library (`.sqlfluff_lib/dbt.py`) as the module `dbt`, which
    # would shadow dbt-core for every later import in this process: put sys.modules back.
    modules = dict(sys.modules)
    os.chdir(REPO)
    try:
        config = FluffConfig.from_path(str(REPO))
        result = Linter(config=config).lint_paths(("dbt_fieldforce/models",))
    finally:
        os.chdir(cwd)
        for name in set(sys.modules) - set(modules):
            del sys.modules[name]
        sys.modules.update(modules)
    violations = {
        path: [f"L{v['start_line_no']} {v['code']} {v['description']}" for v in records]
        for path, records in ((r["filepath"], r["violations"]) for r in result.as_records())
        if records
    }
    assert violations == {}

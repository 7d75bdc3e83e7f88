"""Slim CI for the dbt project: lint, compile, build what changed, generate docs.

    uv run python dbt_fieldforce/scripts/slim_ci.py --state path/to/prod-manifest-dir

Runs, stopping at the first failure (the design's CI/CD workflow, docs/ARCHITECTURE.md):

1. ``sqlfluff lint`` of the model files that are new or differ from production's
   ``manifest.json`` (dbt's own body checksum: sha256 of the stripped file; config:
   ``[tool.sqlfluff]`` in the repo's pyproject.toml; ``--lint-all`` lints every model)
2. ``dbt compile --target ci --select state:modified+``
3. ``dbt build --target ci --select state:modified+ --defer --state <dir>``: only the
   changed models and their children are built and tested, in the CI schemas
   (``ci_<DBT_CI_SCHEMA>_<layer>``); unchanged parents are read from production through
   ``--defer``.
4. ``dbt docs generate --target ci --no-compile`` (docs of the manifest compiled above)

The ``ci`` target needs ``FIELDFORCE_WAREHOUSE_PATH`` (the warehouse holding production's
relations) and ``DBT_CI_SCHEMA`` (a run id, e.g. the pull request number).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from analytics_platform.transform.invocation import dbt_args

PROJECT_DIR = Path(__file__).resolve().parents[1]
REPO = PROJECT_DIR.parent


def tool(name: str) -> str:
    """The console script ``name`` of this interpreter's environment (falls back to PATH)."""
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else (shutil.which(name) or name)


def modified_model_files(project_dir: Path, manifest_path: Path) -> list[Path]:
    """Model SQL files that are new or whose body differs from production's manifest."""
    manifest = json.loads(manifest_path.read_text())
    production = {
        node["original_file_path"]: node["checksum"]["checksum"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
    }
    return [
        path
        for path in sorted((project_dir / "models").rglob("*.sql"))
        if production.get(path.relative_to(project_dir).as_posix())
        != hashlib.sha256(path.read_text().strip().encode()).hexdigest()
    ]


def lint_command(paths: list[Path]) -> list[str]:
    """``sqlfluff lint`` of ``paths`` with the repo's config."""
    return [tool("sqlfluff"), "lint", *map(str, paths), "--config", str(REPO / "pyproject.toml")]


def build_commands(
    project_dir: Path, state_dir: Path, target: str, target_path: Path | None
) -> list[list[str]]:
    """Compile, build and docs steps, in order."""
    where = {"project_dir": project_dir, "target": target, "target_path": target_path}
    state = ("--state", str(state_dir))
    dbt = tool("dbt")
    return [
        [dbt, *dbt_args("compile", select=["state:modified+"], extra=state, **where)],
        [dbt, *dbt_args("build", select=["state:modified+"], extra=(*state, "--defer"), **where)],
        [dbt, *dbt_args("docs generate", extra=["--no-compile"], **where)],
    ]


def run(command: list[str]) -> subprocess.CompletedProcess[str]:
    """Run and echo one step, capturing its output."""
    sys.stdout.write("$ " + " ".join(command) + "\n")
    sys.stdout.flush()
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    return result


app = typer.Typer(add_completion=False, help="Slim CI for dbt_fieldforce.")


@app.command()
def main(
    state: Annotated[
        Path, typer.Option(help="directory with production's manifest.json", show_default=False)
    ],
    project_dir: Annotated[Path, typer.Option(help="the dbt project")] = PROJECT_DIR,
    target: Annotated[str, typer.Option(help="the dbt target")] = "ci",
    target_path: Annotated[Path | None, typer.Option(help="dbt's target folder")] = None,
    lint_all: Annotated[
        bool, typer.Option("--lint-all", help="lint every model, not only the changed ones")
    ] = False,
) -> None:
    """Run every step; the exit code is the first failing step's, else 0."""
    if not (state / "manifest.json").is_file():
        raise typer.BadParameter(f"no manifest.json in {state}", param_hint="--state")
    project_dir = project_dir.resolve()

    if lint_all:
        lint_paths = [project_dir / "models"]
    else:
        lint_paths = modified_model_files(project_dir, state / "manifest.json")
    steps = ([lint_command(lint_paths)] if lint_paths else []) + build_commands(
        project_dir, state, target, target_path
    )
    for command in steps:
        result = run(command)
        if result.returncode != 0:
            sys.stderr.write(f"slim CI failed at: {' '.join(command[:3])}\n")
            raise typer.Exit(result.returncode)


if __name__ == "__main__":
    app()

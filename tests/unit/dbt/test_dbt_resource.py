"""The dbt resource learns this environment's dbt-core version without starting dbt."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest
from dagster_dbt.core import resource as dagster_dbt_resource
from packaging import version

from analytics_platform.transform.assets import FieldForceDbtCliResource, dbt_resource
from analytics_platform.transform.project import dbt_project


def _no_subprocess(*args: object, **kwargs: object) -> bytes:
    raise AssertionError(f"dbt was started: {args}")


def test_the_environments_dbt_is_not_asked_for_its_version(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(dagster_dbt_resource, "check_output", _no_subprocess)
    resource = dbt_resource()
    assert isinstance(resource, FieldForceDbtCliResource)
    installed = version.parse(importlib.metadata.version("dbt-core"))
    assert resource._cli_version == installed


def test_another_dbt_is_asked_as_dagster_dbt_asks_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A dbt elsewhere (another venv, the Fusion engine) may be any version: ask it."""
    other = tmp_path / "dbt"
    other.write_text("#!/bin/sh\necho 'dbt-fusion 2.0.0-preview'\n")
    other.chmod(0o755)
    asked: list[object] = []

    def fake_check_output(args: list[str], **kwargs: object) -> bytes:
        asked.append(args)
        return b"dbt-fusion 2.0.0-preview"

    monkeypatch.setattr(dagster_dbt_resource, "check_output", fake_check_output)
    resource = FieldForceDbtCliResource(project_dir=dbt_project, dbt_executable=str(other))
    assert resource._cli_version == version.parse("2.0.0")
    assert asked == [[str(other), "--version"]]

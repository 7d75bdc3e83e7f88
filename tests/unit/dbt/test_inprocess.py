"""The in-process dbt path: its manifest cache, its settings switch and its stdout lines."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from analytics_platform.settings import MissingSettingError, load_settings
from analytics_platform.transform import inprocess
from analytics_platform.transform.assets import dbt_resource
from analytics_platform.transform.project import dbt_project

TARGET = Path(dbt_project.project_dir) / "target"


def _invocation_id(target: Path) -> str:
    return json.loads((target / "manifest.json").read_text())["metadata"]["invocation_id"]


@pytest.fixture
def target(tmp_path: Path) -> Path:
    """A copy of the prepared parse (manifest.json and dbt's partial_parse.msgpack).

    Other tests run dbt in the project, and a later dbt command rewrites ``target/``'s
    msgpack without its manifest.json: the copy names the parse the msgpack holds, as
    ``prepare_manifest`` leaves the two (one ``dbt parse`` writes both).
    """
    from dbt.contracts.graph.manifest import Manifest
    from dbt.parser.manifest import extended_mashumuro_decoder

    shutil.copy2(TARGET / inprocess.PARTIAL_PARSE_FILE, tmp_path / inprocess.PARTIAL_PARSE_FILE)
    parsed = Manifest.from_msgpack(
        (tmp_path / inprocess.PARTIAL_PARSE_FILE).read_bytes(), decoder=extended_mashumuro_decoder
    )
    manifest = json.loads((TARGET / "manifest.json").read_text())
    manifest["metadata"]["invocation_id"] = parsed.metadata.invocation_id
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    return tmp_path


def test_the_prepared_parse_is_loaded_once_and_again_when_it_changes(target: Path) -> None:
    invocation_id = _invocation_id(target)
    first = inprocess.load_manifest(target, invocation_id)
    assert first is not None
    assert first.metadata.invocation_id == invocation_id
    # Generic tests keep their kwargs (a manifest.json loaded back turns them singular).
    assert any(type(node).__name__ == "GenericTestNode" for node in first.nodes.values())
    assert inprocess.load_manifest(target, invocation_id) is first
    # A new parse (here: the same bytes, written again) is a new file version: loaded anew.
    stat = (target / inprocess.PARTIAL_PARSE_FILE).stat()
    os.utime(target / inprocess.PARTIAL_PARSE_FILE, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert inprocess.load_manifest(target, invocation_id) is not first


def test_a_parse_other_than_the_assets_manifest_is_not_used(target: Path) -> None:
    assert inprocess.load_manifest(target, "another-parse") is None
    (target / inprocess.PARTIAL_PARSE_FILE).unlink()
    assert inprocess.load_manifest(target, _invocation_id(target)) is None


def test_the_runner_is_in_process_unless_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FIELDFORCE_DBT_RUNNER", raising=False)
    assert load_settings().dbt_runner == "inprocess"
    assert dbt_resource().runner == "inprocess"
    monkeypatch.setenv("FIELDFORCE_DBT_RUNNER", "subprocess")
    assert dbt_resource().runner == "subprocess"
    monkeypatch.setenv("FIELDFORCE_DBT_RUNNER", "thread")
    with pytest.raises(MissingSettingError, match="FIELDFORCE_DBT_RUNNER"):
        load_settings()


def test_an_error_dbt_did_not_log_becomes_dbts_error_line() -> None:
    line = json.loads(inprocess._error_line(RuntimeError("no profile named tiny")))
    assert line["info"]["level"] == "error"
    assert line["info"]["name"] == "MainEncounteredError"
    assert line["info"]["msg"].endswith("no profile named tiny")

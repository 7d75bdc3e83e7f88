"""The test command's Chromium step: found, installed with apt-get, or a clear refusal."""

import subprocess
from collections.abc import Callable

import pytest
from devstack import testing


def _which(installed: set[str]) -> Callable[[str], str | None]:
    return lambda name: f"/usr/bin/{name}" if name in installed else None


def test_present_chromium_is_used_without_installing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(testing.shutil, "which", _which({"chromium-browser"}))
    monkeypatch.setattr(testing.subprocess, "run", pytest.fail)
    assert testing.chromium_path() == "/usr/bin/chromium-browser"
    assert testing.ensure_chromium() is None


def test_missing_chromium_is_installed_quietly_as_root(monkeypatch: pytest.MonkeyPatch) -> None:
    installed = {"apt-get"}
    calls: list[list[str]] = []

    def run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        calls.append(cmd)
        assert kwargs["env"]["DEBIAN_FRONTEND"] == "noninteractive"  # type: ignore[index]
        if cmd[1] == "install":
            installed.add("chromium")
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(testing.shutil, "which", _which(installed))
    monkeypatch.setattr(testing.os, "geteuid", lambda: 0)
    monkeypatch.setattr(testing.subprocess, "run", run)
    assert testing.ensure_chromium() is None
    assert calls == [
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "chromium"],
    ]
    assert testing.chromium_path() == "/usr/bin/chromium"


def test_missing_chromium_without_root_or_apt_fails_clearly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(testing.subprocess, "run", pytest.fail)
    monkeypatch.setattr(testing.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(testing.shutil, "which", _which({"apt-get"}))
    assert "no chromium binary on PATH" in (testing.ensure_chromium() or "")
    monkeypatch.setattr(testing.os, "geteuid", lambda: 0)
    monkeypatch.setattr(testing.shutil, "which", _which(set()))
    assert "no chromium binary on PATH" in (testing.ensure_chromium() or "")


def test_failed_install_names_the_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(testing.shutil, "which", _which({"apt-get"}))
    monkeypatch.setattr(testing.os, "geteuid", lambda: 0)
    monkeypatch.setattr(
        testing.subprocess,
        "run",
        lambda cmd, **_: subprocess.CompletedProcess(cmd, 100, "", "E: Unable to locate package"),
    )
    problem = testing.ensure_chromium() or ""
    assert "`apt-get update -qq` failed (exit 100)" in problem
    assert "Unable to locate package" in problem

"""The load benchmark's floor modules: what a bare code location of the same size is."""

import ast

import pytest

from benchmarks.load import INTEGRATIONS, floor_module


def _tree(source: str) -> ast.Module:
    return ast.parse(source)


def test_the_floor_has_one_decorated_function_per_asset_and_check() -> None:
    tree = _tree(floor_module(3, 2))
    functions = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
    assert [f.name for f in functions] == [
        "asset_00000",
        "asset_00001",
        "asset_00002",
        "check_00000",
        "check_00001",
    ]
    assert all(f.decorator_list for f in functions)


def test_the_integrations_floor_imports_the_libraries_and_nothing_else_changes() -> None:
    plain, integrations = floor_module(3, 2), floor_module(3, 2, imports=INTEGRATIONS)
    imported = [
        alias.name
        for node in _tree(integrations).body
        if isinstance(node, ast.Import)
        for alias in node.names
    ]
    assert imported == ["dagster", *INTEGRATIONS]
    assert "dagster_dbt" in INTEGRATIONS
    # Same assets and checks: the two floors differ only by the imports.
    body = [line for line in integrations.splitlines() if not line.startswith("import dagster_")]
    assert body == plain.splitlines()


def test_the_floor_modules_load_as_definitions() -> None:
    namespace: dict[str, object] = {}
    exec(compile(floor_module(2, 1, imports=("json",)), "floor", "exec"), namespace)
    defs = namespace["defs"]
    assert len(list(defs.resolve_all_asset_specs())) == 2  # type: ignore[attr-defined]


def test_checks_need_assets() -> None:
    with pytest.raises(ValueError, match="asset checks need assets"):
        floor_module(0, 1)

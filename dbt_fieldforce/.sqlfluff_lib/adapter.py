"""Stand-in for dbt's ``adapter`` when sqlfluff renders macros: dispatch to the default."""
# ruff: noqa: D103 - stand-ins named and shaped after dbt's macros, documented there

from collections.abc import Callable


def dispatch(macro_name: str, macro_namespace: str | None = None) -> Callable[..., str]:
    return lambda *args, **kwargs: macro_name


def quote(identifier: str) -> str:
    return f'"{identifier}"'


def get_columns_in_relation(relation: object) -> list[object]:
    return []

"""Stand-ins for dbt's cross-database macros when sqlfluff renders models (jinja templater)."""
# ruff: noqa: D103 - stand-ins named and shaped after dbt's macros, documented there


def type_bigint() -> str:
    return "bigint"


def type_int() -> str:
    return "integer"


def type_string() -> str:
    return "varchar"


def type_timestamp() -> str:
    return "timestamp"


def type_numeric() -> str:
    return "numeric(28, 6)"


def type_float() -> str:
    return "float"


def type_boolean() -> str:
    return "boolean"


def dateadd(datepart: str, interval: object, from_date_or_timestamp: str) -> str:
    return f"dateadd({datepart}, {interval}, {from_date_or_timestamp})"


def datediff(first_date: str, second_date: str, datepart: str) -> str:
    return f"datediff({datepart}, {first_date}, {second_date})"


def date_trunc(datepart: str, date: str) -> str:
    return f"date_trunc('{datepart}', {date})"


def hash(field: str) -> str:
    return f"md5({field})"


def concat(fields: list[str]) -> str:
    return f"concat({', '.join(fields)})"


def safe_cast(field: str, type_: str) -> str:
    return f"try_cast({field} as {type_})"

"""The GraphQL documents that launch and follow backfills match the installed Dagster schema."""

from __future__ import annotations

import pytest
from dagster_graphql.schema import create_schema
from graphql import parse, validate
from testkit import backfills


@pytest.mark.parametrize("name", ["ASSET_NODES", "LAUNCH", "STATUS"])
def test_document_is_valid_for_this_dagster(name: str) -> None:
    errors = validate(create_schema().graphql_schema, parse(getattr(backfills, name)))
    assert [error.message for error in errors] == []


def test_a_misspelled_field_would_be_caught() -> None:
    broken = backfills.STATUS.replace("numPartitions", "partitionCount")
    errors = validate(create_schema().graphql_schema, parse(broken))
    assert any("partitionCount" in error.message for error in errors)


def test_finished_statuses_are_the_schemas_terminal_ones() -> None:
    statuses = create_schema().graphql_schema.get_type("BulkActionStatus")
    assert backfills.FINISHED <= set(statuses.values)  # type: ignore[union-attr]
    assert "REQUESTED" not in backfills.FINISHED

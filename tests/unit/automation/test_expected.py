"""Expected syncs from Fivetran's schedule: what the planner may wait for."""

from datetime import UTC, datetime

import dagster as dg
from dagster_fivetran.translator import FivetranMetadataSet

from analytics_platform.automation.expected import (
    connector_tables,
    expected_syncs,
    fetch_connectors,
    next_sync_at,
)

NOW = datetime(2026, 3, 2, 12, 40, tzinfo=UTC).timestamp()
JOBS = dg.AssetKey(["fivetran", "jobs_db", "jobs"])
TECHS = dg.AssetKey(["fivetran", "jobs_db", "technicians"])
ACCOUNTS = dg.AssetKey(["fivetran", "salesforce", "account"])
LOG = dg.AssetKey(["fivetran", "fivetran_metadata", "log"])


def _connector(cid: str, succeeded: str | None, every_min: int = 15, **extra: object) -> dict:
    return {
        "id": cid,
        "succeeded_at": succeeded,
        "sync_frequency": every_min,
        "schedule_type": "auto",
        "paused": False,
        **extra,
    }


def _at(hh: int, mm: int) -> float:
    return datetime(2026, 3, 2, hh, mm, tzinfo=UTC).timestamp()


def test_the_next_sync_lands_one_period_after_the_last() -> None:
    assert next_sync_at(_connector("jobs", "2026-03-02T12:30:00Z"), NOW) == _at(12, 45)


def test_a_connector_behind_its_schedule_is_expected_at_the_next_slot_not_in_the_past() -> None:
    assert next_sync_at(_connector("jobs", "2026-03-02T12:00:00Z"), NOW) == _at(12, 45)
    assert next_sync_at(_connector("jobs", "2026-03-02T12:25:00Z"), NOW) == _at(12, 55)


def test_manual_paused_or_never_synced_connectors_are_not_expected() -> None:
    assert next_sync_at(_connector("jobs", "2026-03-02T12:30:00Z", paused=True), NOW) is None
    manual = _connector("jobs", "2026-03-02T12:30:00Z", schedule_type="manual")
    assert next_sync_at(manual, NOW) is None
    assert next_sync_at(_connector("jobs", None), NOW) is None
    assert next_sync_at(_connector("jobs", "not a time"), NOW) is None


def test_each_table_gets_its_connectors_next_sync_and_shared_tables_the_soonest() -> None:
    tables = {"jobs_db": frozenset({JOBS, TECHS}), "salesforce": frozenset({ACCOUNTS})}
    connectors = [
        _connector("jobs_db", "2026-03-02T12:30:00Z"),
        _connector("salesforce", "2026-03-02T12:00:00Z", every_min=60),
        _connector("unknown", "2026-03-02T12:39:00Z", every_min=5),
    ]
    expected = expected_syncs(connectors, tables, frozenset({LOG}), NOW)
    assert expected == {
        JOBS: _at(12, 45),
        TECHS: _at(12, 45),
        ACCOUNTS: _at(13, 0),
        LOG: _at(12, 44),  # every connector's sync writes Fivetran's log
    }
    assert expected_syncs([], tables, frozenset({LOG}), NOW) == {}


def test_tables_are_mapped_to_connectors_from_the_fivetran_specs() -> None:
    def spec(key: dg.AssetKey, cid: str | None) -> dg.AssetSpec:
        metadata = {**FivetranMetadataSet(connector_id=cid)} if cid else {}
        return dg.AssetSpec(key, metadata=metadata)

    specs = [spec(JOBS, "jobs_db"), spec(TECHS, "jobs_db"), spec(LOG, None)]
    assert connector_tables(specs) == {"jobs_db": frozenset({JOBS, TECHS})}


def test_connectors_are_listed_once_per_group() -> None:
    calls: list[str] = []

    class Client:
        def get_groups(self) -> dict:
            calls.append("groups")
            return {"items": [{"id": "g1"}, {"id": "g2"}]}

        def list_connectors_for_group(self, group_id: str) -> list[dict]:
            calls.append(group_id)
            return [{"id": f"{group_id}-c"}]

    assert [c["id"] for c in fetch_connectors(Client())] == ["g1-c", "g2-c"]
    assert calls == ["groups", "g1", "g2"]

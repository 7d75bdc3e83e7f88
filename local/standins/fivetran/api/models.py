"""Request bodies of the API as pydantic models.

Validators check each field the way Fivetran does and raise `ValueError` with Fivetran's
message, which `deps.validated` answers as a 400; fields are checked in declaration order, so
the first message names the first bad field. `missing_messages` is what a required field
that is absent answers.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, RootModel, field_validator

from standins.fivetran.config import ALLOWED_SYNC_FREQUENCIES
from standins.fivetran.schema_config import SCHEMA_CHANGE_HANDLING
from standins.fivetran.webhooks import EVENTS


class ConnectorUpdate(BaseModel):
    """`PATCH /v1/connectors/{id}`: the schedule settings a client may change."""

    schedule_type: str | None = Field(None, description="`auto` or `manual`")
    paused: bool | None = None
    sync_frequency: int | None = Field(
        None, description=f"minutes, one of {list(ALLOWED_SYNC_FREQUENCIES)}"
    )
    daily_sync_time: str | None = Field(None, description="`HH:00`")

    @field_validator("schedule_type", mode="before")
    @classmethod
    def _schedule_type(cls, value: Any) -> Any:
        if value not in ("auto", "manual"):
            raise ValueError("schedule_type must be 'auto' or 'manual'")
        return value

    @field_validator("paused", mode="before")
    @classmethod
    def _paused(cls, value: Any) -> Any:
        if not isinstance(value, bool):
            raise ValueError("paused must be a boolean")
        return value

    @field_validator("sync_frequency", mode="before")
    @classmethod
    def _sync_frequency(cls, value: Any) -> Any:
        if value not in ALLOWED_SYNC_FREQUENCIES:
            raise ValueError(f"sync_frequency must be one of {list(ALLOWED_SYNC_FREQUENCIES)}")
        return value

    @field_validator("daily_sync_time", mode="before")
    @classmethod
    def _daily_sync_time(cls, value: Any) -> Any:
        message = "daily_sync_time must look like 'HH:00'"
        if not (isinstance(value, str) and len(value) == 5 and value.endswith(":00")):
            raise ValueError(message)
        try:
            hour = int(value[:2])
        except ValueError:
            raise ValueError(message) from None
        if not 0 <= hour <= 23:
            raise ValueError(message)
        return value


def _optional_bool(name: str) -> Any:
    def check(value: Any) -> Any:
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be a boolean")
        return value

    return BeforeValidator(check)


class ColumnConfigUpdate(BaseModel):
    """`PATCH .../schemas/{schema}/tables/{table}/columns/{column}`."""

    model_config = ConfigDict(extra="forbid")

    enabled: Annotated[bool | None, _optional_bool("enabled")] = Field(
        None, description="false blocks the column (never synced)"
    )
    hashed: Annotated[bool | None, _optional_bool("hashed")] = Field(
        None, description="land the column as the destination's salted SHA-256"
    )
    is_primary_key: Annotated[bool | None, _optional_bool("is_primary_key")] = Field(
        None, description="accepted for file connectors; must match the source here"
    )

    def changes(self) -> dict[str, bool]:
        """The settings this body changes (``is_primary_key`` is not one here)."""
        return self.model_dump(exclude_unset=True, exclude={"is_primary_key"})


class TableConfigUpdate(BaseModel):
    """`PATCH .../schemas/{schema}/tables/{table}`: the table and any of its columns."""

    model_config = ConfigDict(extra="forbid")

    enabled: Annotated[bool | None, _optional_bool("enabled")] = Field(
        None, description="false excludes the table"
    )
    sync_mode: str | None = Field(None, description="`SOFT_DELETE` (the only mode here)")
    columns: dict[str, ColumnConfigUpdate] = Field(default_factory=dict)

    @field_validator("sync_mode", mode="before")
    @classmethod
    def _sync_mode(cls, value: Any) -> Any:
        if value != "SOFT_DELETE":
            raise ValueError("sync_mode must be 'SOFT_DELETE' for this connection")
        return value

    def touches_table(self) -> bool:
        """Whether table-level settings change (refused for a system table)."""
        return bool({"enabled", "sync_mode"} & self.model_fields_set)


class SchemaUpdate(BaseModel):
    """One source schema of `PATCH /v1/connections/{id}/schemas`."""

    model_config = ConfigDict(extra="forbid")

    enabled: Annotated[bool | None, _optional_bool("enabled")] = None
    tables: dict[str, TableConfigUpdate] = Field(default_factory=dict)


class SchemaConfigUpdate(BaseModel):
    """`PATCH /v1/connections/{id}/schemas`: schema-change handling and any schema below."""

    model_config = ConfigDict(extra="forbid")

    schema_change_handling: str | None = Field(
        None, description="`ALLOW_ALL`, `ALLOW_COLUMNS` or `BLOCK_ALL`"
    )
    schemas: dict[str, SchemaUpdate] = Field(default_factory=dict)

    @field_validator("schema_change_handling", mode="before")
    @classmethod
    def _handling(cls, value: Any) -> Any:
        if value not in SCHEMA_CHANGE_HANDLING:
            raise ValueError(
                f"schema_change_handling must be one of {list(SCHEMA_CHANGE_HANDLING)}"
            )
        return value


class ResyncRequest(BaseModel):
    """`POST /v1/connectors/{id}/resync`: optionally only some tables.

    The scope is checked after the connector is known to be syncable, so it stays untyped
    here and the route validates it.
    """

    scope: Any = Field(
        None, description='`{"<source schema>": ["Table", ...]}`; absent: every table'
    )


class TableScope(RootModel[dict[str, list[str]]]):
    """`POST /v1/connectors/{id}/schemas/tables/resync`: source schema -> tables to re-read."""


def _check_url(value: Any) -> Any:
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        raise ValueError("url must be an http(s) URL")
    return value


def _check_events(value: Any) -> Any:
    if not isinstance(value, list) or not value or not all(e in EVENTS for e in value):
        raise ValueError(f"events must be a non-empty list of {list(EVENTS)}")
    return value


def _check_active(value: Any) -> Any:
    if not isinstance(value, bool):
        raise ValueError("active must be a boolean")
    return value


def _check_secret(value: Any) -> Any:
    if value is not None and not isinstance(value, str):
        raise ValueError("secret must be a string")
    return value


Url = Annotated[str, BeforeValidator(_check_url)]
Events = Annotated[list[str], BeforeValidator(_check_events)]
Active = Annotated[bool, BeforeValidator(_check_active)]
Secret = Annotated[str | None, BeforeValidator(_check_secret)]
# In a PATCH an explicit null is a bad value too, so the check wraps the whole optional type.
OptionalUrl = Annotated[str | None, BeforeValidator(_check_url)]
OptionalEvents = Annotated[list[str] | None, BeforeValidator(_check_events)]
OptionalActive = Annotated[bool | None, BeforeValidator(_check_active)]


class WebhookCreate(BaseModel):
    """`POST /v1/webhooks/account` and `/v1/webhooks/group/{group_id}`."""

    missing_messages: ClassVar[dict[str, str]] = {
        "url": "url must be an http(s) URL",
        "events": f"events must be a non-empty list of {list(EVENTS)}",
    }

    url: Url = Field(description="where deliveries are POSTed (http or https)")
    events: Events = Field(description=f"a non-empty subset of {list(EVENTS)}")
    active: Active = True
    secret: Secret = Field(None, description="signs deliveries (X-Fivetran-Signature-256)")


class WebhookUpdate(BaseModel):
    """`PATCH /v1/webhooks/{id}`: any of the fields of a webhook."""

    url: OptionalUrl = None
    events: OptionalEvents = None
    active: OptionalActive = None
    secret: Secret = None


class WebhookTest(BaseModel):
    """`POST /v1/webhooks/{id}/test`: which event the test payload names."""

    event: str = "sync_start"


def _as_bool(value: Any) -> bool:
    return bool(value)


def _as_float(value: Any) -> float:
    return float(value)


def _as_int(value: Any) -> int:
    return int(value)


def _as_optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


class AdminSyncRequest(BaseModel):
    """`POST /admin/syncs`: queue syncs, optionally waiting for them."""

    connector_ids: list[str] | None = Field(None, description="absent or empty: every connector")
    resync: Annotated[bool, BeforeValidator(_as_bool)] = False
    wait: Annotated[bool, BeforeValidator(_as_bool)] = False
    timeout: Annotated[float, BeforeValidator(_as_float)] = Field(
        600.0, description="seconds to wait for idle when `wait`"
    )


class WaitIdleRequest(BaseModel):
    """`POST /admin/wait-idle`."""

    timeout: Annotated[float, BeforeValidator(_as_float)] = 120.0


class RateLimitRequest(BaseModel):
    """`POST /admin/rate-limit`: the request rate above which `/v1` answers 429."""

    max_per_second: Annotated[float | None, BeforeValidator(_as_optional_float)] = Field(
        None, description="null: no limit"
    )
    retry_after: Annotated[int, BeforeValidator(_as_int)] = Field(
        1, description="seconds the 429 tells clients to wait"
    )


class FaultSpec(BaseModel):
    """`POST /admin/faults/{id}`: a fault for the connector's next sync(s).

    The service interprets the body; the model documents it.
    """

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="`fail`, `slow`, `reschedule` or `crash`")
    count: int = Field(1, description="how many syncs it affects (`fail`, `slow`)")
    message: str | None = Field(None, description="the failure message (`fail`)")
    seconds: float = Field(5.0, description="delay (`slow`, `reschedule`)")


class DriftSpec(BaseModel):
    """`POST /admin/drift/{id}`: a change to a PostgreSQL source table.

    The service interprets the body; the model documents it.
    """

    model_config = ConfigDict(extra="allow")

    action: str = Field(
        description="`add_column`, `drop_column`, `change_type`, `add_table` or `drop_table`"
    )
    table: str
    column: str | None = None
    type: str | None = Field(None, description="the column's (new) SQL type")
    default: Any = None
    using: str | None = Field(None, description="cast expression for `change_type`")
    columns: str | None = Field(None, description="SQL column list for `add_table`")
    touch: bool = Field(True, description="bump the rows' cursor so the change is synced")

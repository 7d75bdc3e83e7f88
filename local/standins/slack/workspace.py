"""The state of the local Slack workspace: its channels and every message posted to it.

Kept apart from the HTTP layer so that the rules Slack applies (how a channel is named or
addressed, what a message looks like once posted) read as plain Python. Messages are kept in
memory and appended to ``messages.jsonl`` in the service's home, so a developer can read what
the platform said after the service is gone, and a restarted service shows earlier messages.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TEAM_ID = "T0FFLOCAL1"
TEAM_NAME = "FieldForce (local)"
BOT_USER_ID = "U0FFALERTS"
BOT_ID = "B0FFALERTS"
APP_ID = "A0FFALERTS"
BOT_NAME = "fieldforce-alerts"
DEFAULT_CHANNELS = ("data-alerts", "data-incidents", "general")


def channel_id(name: str) -> str:
    """A stable Slack-looking channel id (``C`` + 10 upper-case alphanumerics) for ``name``.

    Stable across restarts so that ids a client cached, or a test wrote down, stay valid.
    """
    digest = hashlib.sha1(name.encode()).hexdigest().upper()
    return "C" + digest[:10]


@dataclass(frozen=True)
class Channel:
    """One public channel the bot is a member of."""

    name: str
    created: int

    @property
    def id(self) -> str:
        """The channel id Slack would return for this channel."""
        return channel_id(self.name)

    def as_api(self) -> dict[str, Any]:
        """The channel object as ``conversations.list`` returns it."""
        return {
            "id": self.id,
            "name": self.name,
            "name_normalized": self.name,
            "is_channel": True,
            "is_group": False,
            "is_im": False,
            "is_mpim": False,
            "is_private": False,
            "is_archived": False,
            "is_general": self.name == "general",
            "is_shared": False,
            "is_ext_shared": False,
            "is_org_shared": False,
            "is_member": True,
            "created": self.created,
            "creator": BOT_USER_ID,
            "unlinked": 0,
            "context_team_id": TEAM_ID,
            "updated": self.created * 1000,
            "parent_conversation": None,
            "pending_shared": [],
            "shared_team_ids": [TEAM_ID],
            "num_members": 1,
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
            "previous_names": [],
        }


@dataclass
class Workspace:
    """Channels and received messages of the local workspace; safe to use from many threads."""

    home: Path
    channel_names: Sequence[str] = DEFAULT_CHANNELS
    channels: list[Channel] = field(init=False)
    messages: list[dict[str, Any]] = field(init=False, default_factory=list)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)
    _last_ts: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        """Create the home and reload earlier messages so the page survives a restart."""
        self.home.mkdir(parents=True, exist_ok=True)
        created = int(time.time())
        self.channels = [Channel(name.lstrip("#"), created) for name in self.channel_names]
        if self.log_path.exists():
            with self.log_path.open() as log:
                self.messages = [json.loads(line) for line in log if line.strip()]

    @property
    def log_path(self) -> Path:
        """The JSON-lines file every received message is appended to."""
        return self.home / "messages.jsonl"

    def find_channel(self, ref: str) -> Channel | None:
        """The channel addressed by ``ref``: an id (``C…``) or a name with or without ``#``."""
        name = ref.lstrip("#")
        for channel in self.channels:
            if ref in (channel.id, channel.name) or name == channel.name:
                return channel
        return None

    def post(
        self,
        channel: Channel,
        text: str | None,
        blocks: list[dict[str, Any]] | None,
        extra: dict[str, Any],
    ) -> dict[str, Any]:
        """Record a message in ``channel`` and return it as ``chat.postMessage`` echoes it."""
        with self._lock:
            ts = self._next_ts()
            message: dict[str, Any] = {
                "user": BOT_USER_ID,
                "type": "message",
                "ts": ts,
                "bot_id": BOT_ID,
                "app_id": APP_ID,
                "text": text or "",
                "team": TEAM_ID,
                "bot_profile": {
                    "id": BOT_ID,
                    "app_id": APP_ID,
                    "name": BOT_NAME,
                    "deleted": False,
                    "team_id": TEAM_ID,
                },
            }
            if blocks is not None:
                message["blocks"] = blocks
            record = {
                "channel": channel.id,
                "channel_name": channel.name,
                "received_at": time.time(),
                "message": message,
                "args": extra,
            }
            self.messages.append(record)
            with self.log_path.open("a") as log:
                log.write(json.dumps(record) + "\n")
            return message

    def recorded(self) -> list[dict[str, Any]]:
        """A snapshot of every received message, oldest first."""
        with self._lock:
            return list(self.messages)

    def reset(self) -> None:
        """Forget every message (memory and file): lets one service serve many tests."""
        with self._lock:
            self.messages.clear()
            self.log_path.unlink(missing_ok=True)

    def page_of_channels(self, offset: int, limit: int) -> tuple[list[Channel], int | None]:
        """Channels ``[offset, offset + limit)`` and the offset of the next page, if any."""
        page = self.channels[offset : offset + limit]
        following = offset + limit
        return page, following if following < len(self.channels) else None

    def _next_ts(self) -> str:
        # Slack message timestamps identify messages, so they must be unique and increasing
        # even when two posts land in the same microsecond.
        now = max(time.time(), self._last_ts + 1e-6)
        self._last_ts = now
        return f"{now:.6f}"


def parse_channel_names(value: str | Iterable[str]) -> list[str]:
    """Channel names from a comma-separated string (the CLI) or an iterable (tests)."""
    items = value.split(",") if isinstance(value, str) else list(value)
    return [item.strip().lstrip("#") for item in items if item.strip()]

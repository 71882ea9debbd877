"""A screen's retained status on the bus, and how it reads the hub's clock.

Each screen publishes ``chalkwall/<site>/screen/<id>/status`` (retained; its will says "offline"):
online since when, chalkwall's version, its teams, the scene on screen and its frame p95 (from the
wall's own status file, which ``display/health.py`` writes — read here as a file, so the feed side
never imports the display), the last board it applied (the hub's ``rev``, and the lag from the
hub's ``observed_at`` to applied) and its hub connection. :class:`ScreenReport` builds that payload
and says when it is due: when something in it changed, but at most every ``every`` seconds, and at
least every ``heartbeat`` seconds (so ``chalkwall hub status`` can tell a live screen from a
retained message left by one that died without its will).

:class:`HubClock` is the screen's estimate of the hub's clock. A Raspberry Pi boots with a wrong clock
until NTP syncs, so a screen hours off from the hub must not compare the hub's ``expires_at`` or
``observed_at`` with its own clock: it compares them with its clock plus the offset measured from
the hub's live status messages (each says when the hub sent it, ``at``).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from feeds.bus.topics import pack

if TYPE_CHECKING:  # `chalkwall status` reads the path from here and need not load paho
    from feeds.bus.link import LinkStatus

STATUS_NAME = "status.json"  # the wall's status file (display/health.py writes it)
VERSION = "0.1.0"
READ_EVERY = 5.0  # seconds between reads of the wall's status file (it is written every 5 s)


def wall_status_path(state_dir: Path) -> Path:
    """Where the wall writes its status file: systemd's $RUNTIME_DIRECTORY when given, else the state dir."""
    runtime = os.environ.get("RUNTIME_DIRECTORY", "").split(":")[0]
    return (Path(runtime) if runtime else state_dir) / STATUS_NAME


def offline_payload(at: float | None = None) -> bytes:
    """The screen's "offline": its will (no time: the broker sends it later) or its last word (with one)."""
    return pack("screen_status", {"state": "offline"} if at is None else {"state": "offline", "since": at})


class HubClock:
    """The hub's clock as this screen estimates it: its own clock plus the offset last measured."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.offset: float | None = None  # hub minus screen, seconds
        self._live = False  # measured from a live message (a retained one may be a poll interval old)

    def heard(self, hub_at: Any, retained: bool) -> None:
        """A hub status message that says it was sent at ``hub_at`` (the hub's clock) arrived now."""
        if not isinstance(hub_at, (int, float)) or isinstance(hub_at, bool):
            return
        if retained and self._live:
            return
        self.offset, self._live = float(hub_at) - self.clock(), not retained

    def now(self) -> float:
        return self.clock() + (self.offset or 0.0)


@dataclass(frozen=True)
class Applied:
    """The last board this screen applied."""

    rev: int | None
    observed_at: float | None  # the hub's clock: when the hub had that data
    applied_at: float  # this screen's clock

    def lag(self, hub_clock: HubClock) -> float | None:
        """Seconds from the hub having the data to this screen applying it, on the hub's clock."""
        if self.observed_at is None:
            return None
        return round(self.applied_at + (hub_clock.offset or 0.0) - self.observed_at, 3)


class ScreenReport:
    """Builds a screen's status payload and says when it is due (see the module docstring)."""

    def __init__(self, screen: str, teams: tuple[str, ...], wall_status: Path | None,
                 clock: Callable[[], float] = time.time, every: float = 3.0, heartbeat: float = 30.0) -> None:
        self.screen, self.teams, self.wall_status, self.clock = screen, teams, wall_status, clock
        self.every, self.heartbeat = every, heartbeat
        self._wall: dict[str, Any] = {}
        self._read_at = -1e18
        self._sent: dict[str, Any] | None = None
        self._sent_at = -1e18
        self._soon = True

    def soon(self) -> None:
        """Publish at the next chance (the link came up: the retained status may be the will)."""
        self._soon = True

    def wall(self) -> dict[str, Any]:
        """The display's figures from its status file, read at most every few seconds."""
        now = time.monotonic()
        if self.wall_status is not None and now - self._read_at >= READ_EVERY:
            self._read_at = now
            try:
                found = json.loads(self.wall_status.read_text())
            except (OSError, ValueError):
                found = None
            self._wall = found if isinstance(found, dict) else {}
        return self._wall

    def body(self, link: LinkStatus, hub_online: bool | None, applied: Applied | None,
             hub_clock: HubClock) -> dict[str, Any]:
        wall = self.wall()
        fresh = bool(wall) and abs(self.clock() - float(wall.get("updated") or 0)) < 30
        body: dict[str, Any] = {
            "state": "online", "since": link.since, "version": VERSION, "teams": list(self.teams),
            "screen": wall.get("screen") if fresh else None, "scene": wall.get("scene") if fresh else None,
            "frame_p95_ms": wall.get("frame_p95_ms") if fresh else None,
            "hub": {"online": hub_online, "broker": "connected" if link.connected else link.error},
            "board": None if applied is None else {"rev": applied.rev, "observed_at": applied.observed_at,
                                                   "applied_at": applied.applied_at,
                                                   "lag_s": applied.lag(hub_clock)},
        }
        if hub_clock.offset is not None and abs(hub_clock.offset) >= 5:
            body["clock_offset_s"] = round(hub_clock.offset)  # hours off: NTP has not synced yet
        return body

    def due(self, body: dict[str, Any]) -> bytes | None:
        """The payload to publish now, or None (unchanged, or changed too recently)."""
        now = time.monotonic()
        if not self._soon:
            if now - self._sent_at < self.every:
                return None
            if body == self._sent and now - self._sent_at < self.heartbeat:
                return None
        self._soon, self._sent, self._sent_at = False, body, now
        return pack("screen_status", {**body, "at": self.clock()})

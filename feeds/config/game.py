"""The motivation engine's configuration: periods and shifts, points, challenges, levels and the
screen's office hours. Part of config.toml; ``feeds.config.schema`` puts it together and re-exports it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from feeds.config.fair import GateConfig
from feeds.config.validate import Reader, did_you_mean, empty_mapping


def _zone(name: str) -> str | None:
    if not name:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return f'unknown time zone "{name}" (use a name like "Europe/Stockholm")'
    return None


def _clock(value: str) -> str | None:
    from feeds.periods import parse_clock

    return None if parse_clock(value) else f'must be a time like "07:00", not "{value}"'


def local_zone_name() -> str:
    """The machine's own time zone name ($TZ, else /etc/localtime), or UTC."""
    name = os.environ.get("TZ", "").lstrip(":")
    if not name:
        try:
            name = str(Path("/etc/localtime").resolve()).split("zoneinfo/", 1)[1]
        except (OSError, IndexError):
            name = ""
    return name if name and _zone(name) is None else "UTC"


@dataclass(frozen=True)
class ShiftConfig:
    name: str
    start: str = field(metadata={"check": _clock})
    end: str = field(metadata={"check": _clock})


@dataclass(frozen=True)
class PeriodsConfig:
    """How the floor counts time. ``timezone`` defaults to the machine's own."""

    timezone: str = field(default="", metadata={"check": _zone})
    shifts: tuple[ShiftConfig, ...] = ()

    @property
    def zone(self) -> str:
        return self.timezone or local_zone_name()

    def check(self, reader: Reader, key: str) -> None:
        names = [s.name for s in self.shifts]
        for name in {n for n in names if names.count(n) > 1}:
            reader.problem(f"{key}.shifts", f'the shift name "{name}" is used twice')


@dataclass(frozen=True)
class PointsConfig:
    """Points for thanks between colleagues (challenge points are set per challenge)."""

    kudos: float = field(default=5.0, metadata={"min": 0})
    kudos_per_sender_per_day: int = field(default=3, metadata={"min": 0})  # 0: no limit


PERIOD_KINDS = ("day", "week", "month", "shift")
CHALLENGE_KINDS = ("target", "race", "record", "personal_best", "streak", "head_to_head")


@dataclass(frozen=True)
class ChallengeConfig:
    """One of chalkwall's own challenges. ``title`` may use {target}, {value} and {best}."""

    id: str
    title: str
    kind: str
    metric: str = ""  # not for a streak, which counts another challenge
    scope: Literal["agent", "team"] = "agent"
    period: str = "day"
    points: float = field(default=0.0, metadata={"min": 0})
    target: float | Mapping[str, float] = 0.0
    lookback: int = field(default=5, metadata={"min": 1, "max": 90})  # personal_best: periods of history
    stretch: float = field(default=1.1, metadata={"min": 1, "max": 3})  # personal_best: × the median
    floor: float = field(default=0.0, metadata={"min": 0})  # personal_best: the least a target can be
    of: str = ""  # streak: the challenge to meet period after period
    length: int = field(default=3, metadata={"min": 2, "max": 365})  # streak: how many in a row
    sides: tuple[str, ...] = ()  # head_to_head: the two agent or team ids that face each other
    gate: GateConfig | None = None  # quality first: an agent's progress counts only while quality holds

    def target_for(self, level: str | None) -> float | None:
        """The target for an agent of ``level`` (a table's "default" when the level is not in it)."""
        if isinstance(self.target, Mapping):
            value = self.target.get(level or "", self.target.get("default"))
            return value if value else None
        return self.target or None

    def check(self, reader: Reader, key: str) -> None:
        if self.kind not in CHALLENGE_KINDS:
            reader.problem(f"{key}.kind", f'must be one of {", ".join(CHALLENGE_KINDS)}, not "{self.kind}"'
                                          + did_you_mean(self.kind, CHALLENGE_KINDS))
        if self.period not in PERIOD_KINDS:
            reader.problem(f"{key}.period", f'must be one of {", ".join(PERIOD_KINDS)}, not "{self.period}"'
                                            + did_you_mean(self.period, PERIOD_KINDS))
        if self.kind in ("target", "race") and not self.target:
            reader.problem(f"{key}.target", f'missing (required for a "{self.kind}" challenge)')
        if self.kind != "streak" and not self.metric:
            reader.problem(f"{key}.metric", f'missing (required for a "{self.kind}" challenge)')
        if self.kind == "streak" and not self.of:
            reader.problem(f"{key}.of", 'missing (required for a "streak": the id of the challenge to repeat)')
        if self.kind == "head_to_head" and (len(self.sides) != 2 or self.sides[0] == self.sides[1]):
            reader.problem(f"{key}.sides", 'a "head_to_head" needs two different sides, e.g. ["night", "day"]')
        if self.kind == "personal_best" and self.scope != "agent":
            reader.problem(f"{key}.scope", 'a "personal_best" is an agent\'s own: scope must be "agent"')
        try:
            self.title.format(target=1, value=1, best=1)
        except (ValueError, IndexError, KeyError) as exc:
            reader.problem(f"{key}.title", f"is not a valid template ({exc}); use {{target}}, {{value}} or {{best}}")
        if self.gate is not None and (self.scope != "agent" or self.kind not in ("target", "race", "personal_best")):
            reader.problem(f"{key}.gate", 'a quality gate is for an agent\'s "target", "race" or "personal_best"')
        if isinstance(self.target, Mapping) and self.scope == "team":
            reader.problem(f"{key}.target", "a table of targets by level is for agents; a team has one number")


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _hours(value: str) -> str | None:
    """ "07:00-18:00", or "" for a day the screen stays dark."""
    from feeds.periods import parse_clock

    if value == "":
        return None
    start, _, end = value.partition("-")
    if not (parse_clock(start.strip()) and parse_clock(end.strip())):
        return f'must look like "07:00-18:00" (or "" for a dark day), not "{value}"'
    return None


def _weekday(day: str) -> str | None:
    return None if day in WEEKDAYS else f"unknown day (use {', '.join(WEEKDAYS)})" + did_you_mean(day, WEEKDAYS)


def _date(value: str) -> str | None:
    from datetime import date

    try:
        date.fromisoformat(value)
    except ValueError:
        return f'must be a date like "2026-12-24", not "{value}"'
    return None


@dataclass(frozen=True)
class ScheduleConfig:
    """Office hours: outside them the screen is dark. No hours at all: always on."""

    hours: Mapping[str, str] = field(default_factory=empty_mapping, metadata={"each": _hours, "keys": _weekday})
    holidays: tuple[str, ...] = field(default=(), metadata={"each": _date})
    on_command: tuple[str, ...] = ()  # e.g. ["cec-ctl", "--to", "0", "--image-view-on"]
    off_command: tuple[str, ...] = ()  # e.g. ["cec-ctl", "--to", "0", "--standby"]
    # Banners that come while the screen is dark wait this long for the "while you were away"
    # summary when it comes back on (72: a weekend); 0 lets them go unseen.
    hold_banners_hours: float = field(default=72.0, metadata={"min": 0, "max": 24 * 31})



@dataclass(frozen=True)
class LevelsConfig:
    """Level names (so a target table can be checked) and levels set here rather than by the feed."""

    names: tuple[str, ...] = ("rookie", "pro", "expert")
    agents: Mapping[str, str] = field(default_factory=empty_mapping)  # agent id -> level; overrides the feed

    def check(self, reader: Reader, key: str) -> None:
        for agent_id, level in self.agents.items():
            if level not in self.names:
                reader.problem(f"{key}.agents.{agent_id}", f'"{level}" is not one of the level names '
                                                           f'({", ".join(self.names)}){did_you_mean(level, self.names)}')

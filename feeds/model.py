"""The immutable data that flows from feeds to the display: teams, agents, feed events, snapshots.

Everything here is frozen and made of plain values, and ``to_dict`` gives canonical-feed JSON, so a
snapshot can cross a thread, a process or (later) an MQTT broker unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import compress
from operator import is_not
from types import MappingProxyType
from typing import Any, NamedTuple

FEED_VERSION = 1
KUDOS = "kudos"
CHALLENGE_COMPLETED = "challenge_completed"


class FeedError(Exception):
    """A poll that produced no usable document. ``kind`` names the failure for structured logs;
    ``retry_after`` is the server's own wish (seconds), when it stated one."""

    def __init__(self, message: str, kind: str = "error", retry_after: float | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.retry_after = retry_after


def plain_number(value: float) -> float | int:
    """27.0 → 27 for output: counts read as counts in JSON and on screen."""
    value = float(value)  # an int too (int.is_integer only arrived in Python 3.12)
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def _frozen(mapping: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True, slots=True)
class Team:
    id: str
    name: str
    color: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "name": self.name}
        if self.color:
            out["color"] = self.color
        return out


class Agent(NamedTuple):
    """One agent (a NamedTuple: immutable, and about 3× cheaper to build than a frozen
    dataclass, which counts when a 5,000-agent floor is parsed every poll)."""

    id: str
    name: str
    team: str | None = None
    level: str | None = None
    avatar: str | None = None
    metrics: Mapping[str, float] = MappingProxyType({})
    # For fair ranking (docs/fair-ranking.md): the hours the agent was available this period (a
    # rate per hour is fair to part-timers), the role ("role_model": thanked, never ranked) and
    # the queue and channel a board can be grouped by.
    hours_available: float | None = None
    role: str | None = None
    queue: str | None = None
    channel: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "name": self.name}
        for key in ("team", "level", "avatar", "role", "queue", "channel"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.hours_available is not None:
            out["hours_available"] = plain_number(self.hours_available)
        out["metrics"] = {k: plain_number(v) for k, v in self.metrics.items()}
        return out


@dataclass(frozen=True, slots=True)
class FeedEvent:
    """Something that happened, reported by the feed: a kudos, a completed challenge, or a type
    chalkwall does not know yet (kept, so newer feeds do not lose data). ``data`` holds the
    type-specific fields (from/to/text, agent/team/challenge/points)."""

    id: str
    type: str
    at: str | None = None
    data: Mapping[str, Any] = field(default_factory=_frozen)

    def when(self, fallback: datetime) -> datetime:
        """When it happened (a time without a zone is taken as UTC), or ``fallback`` if it does not say."""
        if self.at:
            try:
                at = datetime.fromisoformat(self.at)
                return at if at.tzinfo else at.replace(tzinfo=timezone.utc)
            except ValueError:
                pass
        return fallback

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.at is not None:
            out["at"] = self.at
        out.update(self.data)
        return out


@dataclass(frozen=True, slots=True, eq=False)
class Changed:
    """Which places of a list may hold another object than the list before it (a hint that saves a
    consumer its own identity pass over the whole list).

    ``places`` (ascending) is a superset of the places whose object is not the same; ``before`` and
    ``after`` are the two lists themselves, held by reference. A consumer trusts the hint only while
    :meth:`applies` to the very list it has now and the very one it saw last: a snapshot whose
    agents were replaced (``dataclasses.replace``) carries a hint whose ``after`` is another list."""

    before: tuple[Any, ...]
    after: tuple[Any, ...]
    places: tuple[int, ...]

    def applies(self, now: object, last: object) -> bool:
        return self.after is now and self.before is last and len(self.before) == len(self.after)

    def differ(self) -> list[int]:
        """The places whose object is not the same (a few steps per hinted place)."""
        places = self.places
        return list(compress(places, map(is_not, map(self.after.__getitem__, places),
                                         map(self.before.__getitem__, places))))


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One good reading of a feed, already normalised. ``warnings`` name the records dropped."""

    agents: tuple[Agent, ...]
    teams: tuple[Team, ...] = ()
    events: tuple[FeedEvent, ...] = ()
    generated_at: str | None = None
    warnings: tuple[str, ...] = ()
    empty_metrics: frozenset[str] = frozenset()  # named by some agent, with no value yet
    # Short lines about the source itself, for a notice on the wall ("Catching up with Zendesk"):
    # set by native connectors, not part of the canonical document.
    notes: tuple[str, ...] = ()
    # Which agents may differ from the parser's last snapshot (see Changed); not part of the reading.
    changed: Changed | None = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The snapshot as a canonical version-1 feed document."""
        out: dict[str, Any] = {"version": FEED_VERSION}
        if self.generated_at:
            out["generated_at"] = self.generated_at
        out["teams"] = [t.to_dict() for t in self.teams]
        out["agents"] = [a.to_dict() for a in self.agents]
        out["events"] = [e.to_dict() for e in self.events]
        return out

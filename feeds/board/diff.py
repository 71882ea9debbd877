"""What changed between two boards: the events the display animates.

Every event is a frozen dataclass with a ``kind`` and ``to_dict`` (plain JSON), so the same events
can later be published over MQTT. Feed events are de-duplicated by id with :class:`SeenEvents`:
the same kudos seen in a hundred polls is announced once.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from feeds.board.build import Board
from feeds.model import FeedEvent


class BoardEvent:
    kind: ClassVar[str]

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **asdict(self)}  # type: ignore[call-overload]


@dataclass(frozen=True, slots=True)
class RankChanged(BoardEvent):
    kind: ClassVar[str] = "rank_changed"
    agent: str
    old: int | None
    new: int | None


@dataclass(frozen=True, slots=True)
class ValueChanged(BoardEvent):
    kind: ClassVar[str] = "score_changed"
    agent: str
    old: float | None
    new: float | None


@dataclass(frozen=True, slots=True)
class NewLeader(BoardEvent):
    kind: ClassVar[str] = "new_leader"
    agent: str
    previous: str | None


@dataclass(frozen=True, slots=True)
class AgentJoined(BoardEvent):
    kind: ClassVar[str] = "agent_joined"
    agent: str
    rank: int | None


@dataclass(frozen=True, slots=True)
class AgentLeft(BoardEvent):
    kind: ClassVar[str] = "agent_left"
    agent: str


@dataclass(frozen=True, slots=True)
class TeamRankChanged(BoardEvent):
    kind: ClassVar[str] = "team_rank_changed"
    team: str
    old: int | None
    new: int | None


@dataclass(frozen=True, slots=True)
class FeedEventReceived(BoardEvent):
    kind: ClassVar[str] = "feed_event"
    event: FeedEvent

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "event": self.event.to_dict()}


@dataclass(frozen=True, slots=True)
class ThanksWithdrawn(BoardEvent):
    """A thank-you taken back (the team page's undo): its toast goes, or never comes."""

    kind: ClassVar[str] = "thanks_withdrawn"
    event_id: str


def diff_boards(old: Board | None, new: Board) -> list[BoardEvent]:
    """Rank, value and leader changes from ``old`` to ``new`` (nothing for the very first board)."""
    if old is None:
        return []
    events: list[BoardEvent] = []
    leader_before = old.agents[0].agent.id if old.agents and old.agents[0].rank == 1 else None
    old_agents, old_index = old.agents, old.index
    for ranked in new.agents:
        agent_id = ranked.agent.id
        i = old_index.get(agent_id)
        if i is None:
            events.append(AgentJoined(agent_id, ranked.rank))
            continue
        before = old_agents[i]
        if before.rank != ranked.rank:
            events.append(RankChanged(agent_id, before.rank, ranked.rank))
        if before.value != ranked.value:
            events.append(ValueChanged(agent_id, before.value, ranked.value))
        if ranked.rank == 1 and before.rank != 1:
            events.append(NewLeader(agent_id, leader_before))
    events.extend(AgentLeft(a.agent.id) for a in old_agents if a.agent.id not in new.index)
    old_teams = {t.id: t.rank for t in old.teams}
    events.extend(TeamRankChanged(t.id, old_teams[t.id], t.rank)
                  for t in new.teams if t.id in old_teams and old_teams[t.id] != t.rank)
    return events


class SeenEvents:
    """The ids of feed events already announced, the newest ``capacity`` of them."""

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._ids)

    def new(self, events: Iterable[FeedEvent]) -> list[FeedEvent]:
        """The events not seen before, now marked as seen."""
        fresh = []
        for event in events:
            if event.id in self._ids:
                self._ids.move_to_end(event.id)
                continue
            self._ids[event.id] = None
            fresh.append(event)
        while len(self._ids) > self.capacity:
            self._ids.popitem(last=False)
        return fresh

"""The ranked board: agents and teams in order, built from a Snapshot and the board config.

Ranking is standard competition ranking (1, 1, 3): equal values share a rank, the next rank skips.
Ties are listed in a stable order (name, then id) so rows do not swap places between polls.
Agents without a value are listed last with no rank. Teams are ranked by the sum or the average
of their members' values (``scoring.team_averages`` decides which), and each knows its gap to the
team ahead.
"""

from __future__ import annotations

from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass, field
from math import inf
from types import MappingProxyType
from typing import Any, NamedTuple

from feeds.config.schema import BoardConfig
from feeds.model import KUDOS, Agent, FeedEvent, Snapshot, Team
from feeds.board.scoring import lower_is_better, rank_values, team_averages

_PRECISION = 6  # values equal to this many decimals are a tie (floating noise is not a lead)


class RankedAgent(NamedTuple):
    """One row of the board (a NamedTuple: immutable, and cheap to build 5,000 times a poll)."""

    rank: int | None
    agent: Agent
    value: float | None

    @property
    def id(self) -> str:
        return self.agent.id

    def to_dict(self) -> dict[str, Any]:
        return {"rank": self.rank, "value": self.value, **self.agent.to_dict()}


class TeamStanding(NamedTuple):
    rank: int | None
    team: Team
    value: float | None
    members: int
    gap: float | None  # how far behind the team ranked just above; None for the leader

    @property
    def id(self) -> str:
        return self.team.id

    def to_dict(self) -> dict[str, Any]:
        return {"rank": self.rank, "value": self.value, "members": self.members, "gap": self.gap,
                **self.team.to_dict()}


@dataclass(frozen=True, slots=True)
class Board:
    rank_by: str
    lower_is_better: bool
    agents: tuple[RankedAgent, ...]
    teams: tuple[TeamStanding, ...]
    events: tuple[FeedEvent, ...] = ()
    generated_at: str | None = None
    warnings: tuple[str, ...] = ()
    index: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}), repr=False, compare=False)

    def find(self, agent_id: str) -> RankedAgent | None:
        i = self.index.get(agent_id)
        return None if i is None else self.agents[i]

    def who(self, ident: str | None) -> tuple[str, str | None, str | None]:
        """Name, team colour and avatar for an agent or team id (the id itself when unknown)."""
        ranked = self.find(ident) if ident else None
        if ranked is not None:
            team = next((t.team for t in self.teams if t.team.id == ranked.agent.team), None)
            return ranked.agent.name, team.color if team else None, ranked.agent.avatar
        team = next((t.team for t in self.teams if t.team.id == ident), None)
        if team is not None:
            return team.name, team.color, None
        return ident or "Someone", None, None

    def to_dict(self) -> dict[str, Any]:
        return {"rank_by": self.rank_by, "lower_is_better": self.lower_is_better,
                "generated_at": self.generated_at,
                "agents": [a.to_dict() for a in self.agents], "teams": [t.to_dict() for t in self.teams],
                "events": [e.to_dict() for e in self.events], "warnings": list(self.warnings)}


def sort_keys(values: Sequence[float | None], lower: bool) -> list[float]:
    """A float per value that sorts best first; valueless last (inf). Rounded so noise is a tie."""
    if lower:
        return [inf if v is None else round(v, _PRECISION) for v in values]
    return [inf if v is None else -round(v, _PRECISION) for v in values]


def rank_order(keys: Sequence[float], names: Sequence[str], ids: Sequence[str]) -> list[int]:
    """Indexes best first; ties in a stable order by name (case-insensitive), then id."""
    # Two stable sorts with C-level keys: by name and id first, then by value. Names carry no
    # control characters after cleaning, so "\0" joins name and id into one comparable string.
    tie_keys = [f"{name.casefold()}\0{agent_id}" for name, agent_id in zip(names, ids)]
    order = sorted(range(len(keys)), key=tie_keys.__getitem__)
    order.sort(key=keys.__getitem__)
    return order


def competition_ranks(sorted_keys: Sequence[float]) -> list[int | None]:
    """Ranks for keys in order: 1, 1, 3 for ties; None for the valueless (inf)."""
    ranks: list[int | None] = []
    previous = None
    for i, key in enumerate(sorted_keys):
        if key == inf:
            ranks.append(None)
        elif i and key == previous:
            ranks.append(ranks[-1])
        else:
            ranks.append(i + 1)
        previous = key
    return ranks


def build_board(snapshot: Snapshot, config: BoardConfig) -> Board:
    lower = lower_is_better(config)
    people = snapshot.agents
    values = rank_values(people, config)
    keys = sort_keys(values, lower)
    order = rank_order(keys, [a.name for a in people], [a.id for a in people])
    ranks = competition_ranks([keys[i] for i in order])
    agents = tuple(RankedAgent(r, people[i], values[i]) for r, i in zip(ranks, order))
    return Board(config.rank_by, lower, agents, _teams(snapshot, values, config, lower), snapshot.events,
                 snapshot.generated_at, snapshot.warnings,
                 MappingProxyType({a.agent.id: n for n, a in enumerate(agents)}))


def _teams(snapshot: Snapshot, values: Sequence[float | None], config: BoardConfig,
           lower: bool) -> tuple[TeamStanding, ...]:
    members: dict[str, list[float]] = {t.id: [] for t in snapshot.teams}
    counts: dict[str, int] = {t.id: 0 for t in snapshot.teams}
    for agent, value in zip(snapshot.agents, values):
        if agent.team in members:
            counts[agent.team] += 1
            if value is not None:
                members[agent.team].append(value)
    totals: list[float | None] = []
    average = team_averages(config, config.rank_by)
    for team in snapshot.teams:
        got = members[team.id]
        if not got:
            totals.append(None)
        else:
            total = sum(got) / len(got) if average else sum(got)
            totals.append(round(total, 2))
    keys = sort_keys(totals, lower)
    order = rank_order(keys, [t.name for t in snapshot.teams], [t.id for t in snapshot.teams])
    ranks = competition_ranks([keys[i] for i in order])
    out: list[TeamStanding] = []
    for n, (rank, i) in enumerate(zip(ranks, order)):
        ahead = totals[order[n - 1]] if n else None
        gap = None if ahead is None or totals[i] is None else round(abs(ahead - totals[i]), 2)
        out.append(TeamStanding(rank, snapshot.teams[i], totals[i], counts[snapshot.teams[i].id], gap))
    return tuple(out)


def limit_to_teams(board: Board, team_ids: Sequence[str]) -> Board:
    """The board as one team's wall sees it: only those teams' agents, ranked among themselves."""
    if not team_ids:
        return board
    wanted = set(team_ids)
    people = [a for a in board.agents if a.agent.team in wanted]
    keys = sort_keys([a.value for a in people], board.lower_is_better)
    ranks = competition_ranks(keys)  # already in order: the full board's order is kept
    agents = tuple(RankedAgent(r, a.agent, a.value) for r, a in zip(ranks, people))
    members = {a.agent.id for a in agents}
    events = tuple(e for e in board.events if concerns(e, wanted, members))
    teams = tuple(t for t in board.teams if t.team.id in wanted)
    return Board(board.rank_by, board.lower_is_better, agents, teams, events, board.generated_at, board.warnings,
                 MappingProxyType({a.agent.id: n for n, a in enumerate(agents)}))


def who_is(board: Board | None, ident: str | None) -> tuple[str, str | None, str | None]:
    """``board.who``, or the id itself (or "Someone") while there is no board yet."""
    return board.who(ident) if board is not None else (ident or "Someone", None, None)


COLLEAGUE = "a colleague"  # who thanked, when the feed does not say or names nobody on the floor


def sender_name(board: Board | None, ident: object) -> str | None:
    """The name of a kudos' sender when they are an agent on ``board``; None for no one, or someone
    the board does not know (their raw id must never reach the screen)."""
    found = board.find(ident) if board is not None and isinstance(ident, str) and ident else None
    return found.agent.name if found is not None else None


def self_thank(event: FeedEvent) -> bool:
    """A kudos from its own taker: neither shown nor paid."""
    return event.type == KUDOS and event.data.get("from") is not None and event.data.get("from") == event.data.get("to")


def concerns(event: FeedEvent, team_ids: Container[str], agent_ids: Container[str]) -> bool:
    """Whether a feed event is about one of these teams or one of their agents."""
    data = event.data
    return data.get("team") in team_ids or data.get("agent") in agent_ids or data.get("to") in agent_ids

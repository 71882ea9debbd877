"""The ranked board: agents and teams in order, built from a Snapshot and the board config.

Ranking is standard competition ranking (1, 1, 3): equal values share a rank, the next rank skips.
Ties are listed in a stable order (name, then id) so rows do not swap places between polls.
Agents without a value are listed last with no rank. Teams are ranked by the sum or the average
of their members' values (``scoring.team_averages`` decides which), and each knows its gap to the
team ahead.

Fair ranking (docs/fair-ranking.md): an agent who is not ranked says why in ``note`` ("needs 5
ratings", "quality first"); with ``group_by`` each group (queue, channel) is ranked on its own and
the board lists group after group; role models are kept apart in ``role_models``, never ranked and
never in a team's total. Watchers (role ``watcher``: they see the wall, they are not on it) are left
out as role models are, and shown nowhere.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import compress
from math import inf
from operator import attrgetter
from types import MappingProxyType
from typing import Any, NamedTuple

from feeds.config.schema import ROLE_MODEL, SCORE, TARGET_PERCENT, UNRANKED_ROLES, WATCHER, BoardConfig
from feeds.model import KUDOS, Agent, FeedEvent, Snapshot, Team
from feeds.board.scoring import gate_open, lower_is_better, rank_values, team_averages

QUALITY_FIRST = "quality first"  # the mark of an agent whose volume waits for their quality
OTHER_GROUP = "other"  # the group of agents the feed gives no queue or channel for

_ROLE = attrgetter("role")
_ID = attrgetter("id")
_PRECISION = 6  # values equal to this many decimals are a tie (floating noise is not a lead)


class RankedAgent(NamedTuple):
    """One row of the board (a NamedTuple: immutable, and cheap to build 5,000 times a poll)."""

    rank: int | None
    agent: Agent
    value: float | None
    note: str | None = None  # why an agent is not ranked: "needs 5 ratings", "quality first"

    @property
    def id(self) -> str:
        return self.agent.id

    def to_dict(self) -> dict[str, Any]:
        out = {"rank": self.rank, "value": self.value, **self.agent.to_dict()}
        if self.note:
            out["note"] = self.note
        return out


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
    group_by: str = ""  # the agent field each group is ranked by on its own ("queue", "channel")
    role_models: tuple[RankedAgent, ...] = ()  # thanked and celebrated, never ranked
    watchers: frozenset[str] = frozenset()  # ids of those who see the wall and are named nowhere on it

    def find(self, agent_id: str) -> RankedAgent | None:
        i = self.index.get(agent_id)
        if i is None:
            return next((r for r in self.role_models if r.agent.id == agent_id), None)
        return self.agents[i]

    def groups(self) -> tuple[str, ...]:
        """The groups in board order (none without ``group_by``)."""
        if not self.group_by:
            return ()
        return tuple(dict.fromkeys(group_of(a.agent, self.group_by) for a in self.agents))

    def who(self, ident: str | None) -> tuple[str, str | None, str | None]:
        """Name, team colour and avatar for an agent or team id (the id itself when unknown)."""
        ranked = self.find(ident) if ident else None
        if ranked is not None:
            team = next((t.team for t in self.teams if t.team.id == ranked.agent.team), None)
            return ranked.agent.name, team.color if team else None, ranked.agent.avatar
        team = next((t.team for t in self.teams if t.team.id == ident), None)
        if team is not None:
            return team.name, team.color, None
        return self.unknown(ident), None, None

    def hailed(self, ident: str | None) -> tuple[str, str | None, str | None]:
        """Whom a celebration of ``ident``'s completed challenge names: :meth:`who` (a privacy
        profile's board may name the team only)."""
        return self.who(ident)

    def unknown(self, ident: str | None) -> str:
        """What to call an id the board does not know (a privacy profile's board says less); a
        watcher is never named, not even by their id."""
        return "Someone" if not ident or ident in self.watchers else ident

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rank_by": self.rank_by, "lower_is_better": self.lower_is_better,
                               "generated_at": self.generated_at,
                               "agents": [a.to_dict() for a in self.agents], "teams": [t.to_dict() for t in self.teams],
                               "events": [e.to_dict() for e in self.events], "warnings": list(self.warnings)}
        if self.group_by:
            out["group_by"] = self.group_by
        if self.role_models:
            out["role_models"] = [r.to_dict() for r in self.role_models]
        return out


def group_of(agent: Agent, field_name: str) -> str:
    """The group an agent is ranked in: its queue, channel, team or level (``OTHER_GROUP`` if none)."""
    value = getattr(agent, field_name, None)
    return value if isinstance(value, str) and value else OTHER_GROUP


def is_role_model(agent: Agent) -> bool:
    return agent.role == ROLE_MODEL


def is_unranked(agent: Agent) -> bool:
    """A role model or a watcher: in no ranking, race, challenge or team total."""
    return agent.role in UNRANKED_ROLES


def has_unranked(agents: Sequence[Agent]) -> bool:
    """Whether any agent is a role model or a watcher (two C-level passes: every poll, 5,000 agents)."""
    roles = set(map(_ROLE, agents))
    return ROLE_MODEL in roles or WATCHER in roles


def without_role_models(snapshot: Snapshot) -> Snapshot:
    """The snapshot as the agents' game sees it: no role models nor watchers in races, challenges
    or team totals."""
    if not has_unranked(snapshot.agents):
        return snapshot
    return dataclasses.replace(snapshot, agents=tuple(a for a in snapshot.agents if not is_unranked(a)))


def with_role_models(snapshot: Snapshot, ids: Container[str], role: str = ROLE_MODEL) -> Snapshot:
    """The snapshot with the agents of ``ids`` marked as role models (from [roles] and the team
    page), or with ``role`` (``WATCHER``), whatever role the feed gave them. Every poll on a hub's
    5,000 agents: the agents named are found by C-level passes, and an agent already marked stays
    the same object."""
    agents = snapshot.agents
    if isinstance(ids, (set, frozenset)) and not ids:
        return snapshot  # no role models configured: the usual floor
    named = list(compress(range(len(agents)), map(ids.__contains__, map(_ID, agents))))
    unmarked = [i for i in named if agents[i].role != role]
    if not unmarked:
        return snapshot
    out = list(agents)
    for i in unmarked:
        out[i] = out[i]._replace(role=role)
    return dataclasses.replace(snapshot, agents=tuple(out))


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
    models: tuple[Agent, ...] = ()
    watchers: frozenset[str] = frozenset()
    if has_unranked(people):  # a pass over the roles only when the feed has them at all
        models = tuple(a for a in people if is_role_model(a))
        watchers = frozenset(a.id for a in people if a.role == WATCHER)
        people = tuple(a for a in people if not is_unranked(a))  # watchers: neither ranked nor in the lane
    values = rank_values(people, config)
    notes: list[str | None] = [None] * len(people)
    if config.gate is not None:  # a shut gate keeps the value on show, but out of the ranking
        gate = config.gate
        shut = [v is not None and not gate_open(a, gate, config) for a, v in zip(people, values)]
        notes = [QUALITY_FIRST if s else None for s in shut]
        counted = [None if s else v for v, s in zip(values, shut)]
    else:
        counted = values
    notes = [n or (_why_unranked(a, config) if v is None else None) for a, v, n in zip(people, counted, notes)]
    if config.group_by:
        agents = _grouped(people, values, counted, notes, config, lower)
    else:
        agents = _ranked(range(len(people)), people, values, counted, notes, lower)
    return Board(config.rank_by, lower, agents, _teams(snapshot, people, counted, config, lower), snapshot.events,
                 snapshot.generated_at, snapshot.warnings,
                 MappingProxyType({a.agent.id: n for n, a in enumerate(agents)}), config.group_by,
                 tuple(RankedAgent(None, a, None) for a in sorted(models, key=lambda a: (a.name.casefold(), a.id))),
                 watchers)


def _ranked(indexes: Sequence[int], people: Sequence[Agent], values: Sequence[float | None],
            counted: Sequence[float | None], notes: Sequence[str | None], lower: bool) -> tuple[RankedAgent, ...]:
    """The agents at ``indexes`` in rank order: ranked by ``counted``, showing ``values``."""
    keys = sort_keys([counted[i] for i in indexes], lower)
    order = rank_order(keys, [people[i].name for i in indexes], [people[i].id for i in indexes])
    ranks = competition_ranks([keys[i] for i in order])
    if all(n is None for n in notes):  # the common case, as fast as before fair ranking
        return tuple(RankedAgent(r, people[indexes[i]], values[indexes[i]]) for r, i in zip(ranks, order))
    return tuple(RankedAgent(r, people[indexes[i]], values[indexes[i]], notes[indexes[i]]) for r, i in zip(ranks, order))


def _grouped(people: Sequence[Agent], values: Sequence[float | None], counted: Sequence[float | None],
             notes: Sequence[str | None], config: BoardConfig, lower: bool) -> tuple[RankedAgent, ...]:
    """Each group ranked on its own, groups in name order ("other" last)."""
    members: dict[str, list[int]] = {}
    for i, agent in enumerate(people):
        members.setdefault(group_of(agent, config.group_by), []).append(i)
    out: list[RankedAgent] = []
    for group in sorted(members, key=lambda g: (g == OTHER_GROUP, g)):
        out += _ranked(members[group], people, values, counted, notes, lower)
    return tuple(out)


def _why_unranked(agent: Agent, config: BoardConfig) -> str | None:
    """Why an agent has no ranking value, when the wall can say it in a few words."""
    names = config.ranked_metrics if config.rank_by != SCORE else ()
    for name in names:
        spec = config.metric(name)
        if spec.min_samples and agent.metrics.get(name) is not None \
                and agent.metrics.get(spec.samples, 0.0) < spec.min_samples:
            return f"needs {spec.min_samples} {spec.samples_label}"
        if spec.per_hour and agent.metrics.get(name) is not None and not agent.hours_available:
            return "no hours given"
    stick = config.yardstick
    if config.rank_by == TARGET_PERCENT and stick is not None and stick.target(agent.id, agent.level) is None \
            and agent.metrics.get(stick.metric) is not None:
        return "no target for level"
    return None


def _teams(snapshot: Snapshot, people: Sequence[Agent], values: Sequence[float | None], config: BoardConfig,
           lower: bool) -> tuple[TeamStanding, ...]:
    members: dict[str, list[float]] = {t.id: [] for t in snapshot.teams}
    counts: dict[str, int] = {t.id: 0 for t in snapshot.teams}
    for agent, value in zip(people, values):
        if agent.team in members:
            counts[agent.team] += 1
            if value is not None:
                members[agent.team].append(value)
    totals: list[float | None] = []
    # A sum of rates per hour means nothing and favours big teams: the members' average instead.
    average = team_averages(config, config.rank_by) or config.metric(config.rank_by).per_hour
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
    agents = tuple(_reranked(people, board))
    members = {a.agent.id for a in agents}
    events = tuple(e for e in board.events if concerns(e, wanted, members))
    teams = tuple(t for t in board.teams if t.team.id in wanted)
    return Board(board.rank_by, board.lower_is_better, agents, teams, events, board.generated_at, board.warnings,
                 MappingProxyType({a.agent.id: n for n, a in enumerate(agents)}), board.group_by,
                 tuple(r for r in board.role_models if r.agent.team in wanted))


def _reranked(people: Sequence[RankedAgent], board: Board) -> list[RankedAgent]:
    """Ranks again among ``people`` (kept in the board's order), group by group with ``group_by``;
    the unranked stay unranked (a gated agent's value shows, but does not count)."""
    out: list[RankedAgent] = []
    runs: dict[str, list[RankedAgent]] = {}
    for ranked in people:
        runs.setdefault(group_of(ranked.agent, board.group_by) if board.group_by else "", []).append(ranked)
    for run in runs.values():
        keys = sort_keys([a.value if a.rank is not None else None for a in run], board.lower_is_better)
        ranks = competition_ranks(keys)  # already in order: the full board's order is kept
        out += [a._replace(rank=r) for r, a in zip(ranks, run)]
    return out


def limit_to_group(board: Board, group: str) -> Board:
    """One group's board (its agents, ranked among themselves as they already are); the teams,
    events and role models as they are."""
    agents = tuple(a for a in board.agents if group_of(a.agent, board.group_by) == group)
    return dataclasses.replace(board, agents=agents, index=MappingProxyType({a.agent.id: n for n, a in enumerate(agents)}))


def who_is(board: Board | None, ident: str | None) -> tuple[str, str | None, str | None]:
    """``board.who``, or the id itself (or "Someone") while there is no board yet."""
    return board.who(ident) if board is not None else (ident or "Someone", None, None)


def hailed_is(board: Board | None, ident: str | None) -> tuple[str, str | None, str | None]:
    """``board.hailed``: whom a completion's banner or card names; like :func:`who_is` without a board."""
    return board.hailed(ident) if board is not None else who_is(None, ident)


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

"""The engine's measurements kept from poll to poll, so a poll costs what changed on the floor.

:func:`feeds.game.compare.measure` works out every metric of every agent, team and the floor from
scratch. On a 5,000-agent floor where a twentieth of the agents change per poll that is mostly
repeated work. The parse layer keeps an unchanged agent's record as the *same* ``Agent`` object
(:class:`feeds.connectors.parse.Normaliser`), so :class:`Measurer` finds the changed agents with
C-level identity passes (or the parser's hint of where they are, ``Snapshot.changed``, when it is
about the very two tuples compared) and updates only their values, their teams' aggregates and the floor,
giving the history rows of what changed.

Whenever it cannot prove that only values changed in place — the first poll, an agent joining,
leaving or moving (the order of the values would change), a value appearing or vanishing, a team
change, duplicate ids, other metrics — it measures that metric (or everything) from scratch, with
exactly the arithmetic of ``measure`` (the same sums over the same values in the same order).
A team's or the floor's sum is kept by adding what changed only while that gives ``sum``'s very
float: every value a whole number whose magnitudes sum under 2**52 (see ``_Metric``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import compress
from operator import attrgetter, is_not

from feeds.board.scoring import team_averages
from feeds.config.schema import UNRANKED_ROLES, BoardConfig
from feeds.game.compare import Values
from feeds.game.compare import measure as measure_all
from feeds.game.history import Row
from feeds.model import Agent, Changed, Snapshot

_ID, _ROLE = attrgetter("id"), attrgetter("role")


@dataclass(frozen=True, slots=True)
class Changes:
    """What changed since the previous poll that :class:`Measurer` measured."""

    agents: dict[str, Agent]  # id -> the new record of each agent whose record changed, in floor order
    stable: frozenset[str]  # metrics whose agents with a value (and their order) are as at the last poll


_WHOLE = 2.0 ** 52  # whole-number floats whose magnitudes sum under this add exactly, in any order


class _Metric:
    """One metric's values per agent (in floor order), per team (members in floor order) and the floor.

    While every value is a whole-number float and their magnitudes sum under ``_WHOLE`` (counts:
    tickets, calls), each sum is exact in any order, so the teams' and the floor's sums are kept up
    to date by adding what changed, with the result ``sum`` gives; otherwise they are summed afresh."""

    __slots__ = ("name", "need", "samples", "average", "lower", "agents", "members", "teams", "floor",
                 "whole", "sums", "total", "magnitude")

    def __init__(self, name: str, board: BoardConfig) -> None:
        spec = board.metric(name)
        self.name, self.need, self.samples = name, spec.min_samples, spec.samples
        self.average, self.lower = team_averages(board, name), spec.lower_is_better
        self.agents: dict[str, float] = {}
        self.members: dict[str, dict[str, float]] = {}
        self.teams: dict[str, float] = {}
        self.floor: float | None = None
        self.whole = False  # the sums below hold (see the class's docstring)
        self.sums: dict[str, float] = {}  # team -> the sum of its members' values
        self.total = 0.0  # the sum of every agent's value
        self.magnitude = 0.0  # the sum of their magnitudes

    def build(self, agents: Sequence[Agent]) -> None:
        """From scratch, as ``compare._agent_and_team_values`` does."""
        need, samples, name = self.need, self.samples, self.name
        values: dict[str, float] = {}
        members: dict[str, dict[str, float]] = {}
        for agent in agents:
            found = agent.metrics
            value = found.get(name)
            if value is None or (need and found.get(samples, 0.0) < need):
                continue
            values[agent.id] = value
            if agent.team is not None:
                members.setdefault(agent.team, {})[agent.id] = value
        self.agents, self.members = values, members
        self.teams = {team: self._team(v) for team, v in members.items()}
        self._floor()
        found = values.values()
        self.whole = bool(values) and set(map(type, found)) == {float} and all(map(float.is_integer, found))
        if self.whole:
            self.magnitude = sum(map(abs, found))
            self.whole = self.magnitude < _WHOLE
        if self.whole:
            self.sums = {team: sum(v.values()) for team, v in members.items()}
            self.total = sum(found)

    def _team(self, members: dict[str, float]) -> float:
        return sum(members.values()) / len(members) if self.average else sum(members.values())

    def _floor(self) -> None:
        agents = self.agents
        self.floor = (sum(agents.values()) / (len(agents) if self.lower else 1)) if agents else None

    def update(self, changed: Sequence[tuple[Agent, Agent]]) -> list[Row] | None:
        """The changed agents' (new, old) records applied in place; the rows that may have changed,
        or None (and nothing applied) when the change is more than values changing in place."""
        moves: list[tuple[Agent, float]] = []
        name, need, samples, agents = self.name, self.need, self.samples, self.agents
        for new, old in changed:
            found = new.metrics
            value, before = found.get(name), agents.get(new.id)
            if value is not None and need and found.get(samples, 0.0) < need:
                value = None
            if (value is None) != (before is None) or (before is not None and new.team != old.team):
                return None  # the set of agents with a value, or a team's members, changed
            if value is not None:
                moves.append((new, value))
        if not moves:
            return []
        members, sums, whole = self.members, self.sums, self.whole
        touched: dict[str, None] = {}
        rows: list[Row] = []
        for agent, value in moves:
            was = agents[agent.id]
            agents[agent.id] = value
            rows.append(("agent", agent.id, name, value))
            if whole:
                if type(value) is float and value.is_integer() and abs(value) < _WHOLE:
                    self.magnitude += abs(value) - abs(was)
                    self.total += value - was
                    if agent.team is not None:
                        sums[agent.team] += value - was
                else:
                    whole = False
            if agent.team is not None:
                members[agent.team][agent.id] = value
                touched[agent.team] = None
        self.whole = whole = whole and self.magnitude < _WHOLE
        for team in touched:
            if whole:
                total = sums[team]
                value = self.teams[team] = total / len(members[team]) if self.average else total
            else:
                value = self.teams[team] = self._team(members[team])
            rows.append(("team", team, name, value))
        if whole:
            self.floor = self.total / (len(agents) if self.lower else 1)
        else:
            self._floor()
        if self.floor is not None:
            rows.append(("floor", "all", name, self.floor))
        return rows

    def values(self, out: Values) -> None:
        out[("agent", self.name)], out[("team", self.name)] = dict(self.agents), dict(self.teams)
        if self.floor is not None:
            out[("floor", self.name)] = {"all": self.floor}

    def rows(self) -> list[Row]:
        name = self.name
        rows: list[Row] = [("agent", s, name, v) for s, v in self.agents.items()]
        rows += [("team", s, name, v) for s, v in self.teams.items()]
        if self.floor is not None:
            rows.append(("floor", "all", name, self.floor))
        return rows


class Roster:
    """The ids on the floor and the agents in its game (role models and watchers are not), worked out again
    only when an agent joins, leaves, moves or changes role: else they are as at the last poll."""

    def __init__(self) -> None:
        self._agents: Sequence[Agent] | None = None
        self._known: frozenset[str] = frozenset()
        self._keep: list[bool] | None = None  # which agents are in the game (no role model, no watcher); None: all

    def update(self, agents: tuple[Agent, ...],
               hint: Changed | None = None) -> tuple[frozenset[str], tuple[Agent, ...]]:
        """The ids of ``agents``, and ``agents`` without the role models (``agents`` itself when
        there are none, as ``without_role_models`` gives them). ``hint``: the snapshot's."""
        changed = _changed(agents, self._agents, hint) if self._agents is not None else None
        if changed is None or _role_models([n for n, _ in changed]) != _role_models([o for _, o in changed]):
            self._known = frozenset(map(_ID, agents))
            keep = [role not in UNRANKED_ROLES for role in map(_ROLE, agents)]
            self._keep = None if all(keep) else keep
        self._agents = agents
        return self._known, agents if self._keep is None else tuple(compress(agents, self._keep))


class Measurer:
    """``compare.measure`` kept up to date from poll to poll (see the module's docstring)."""

    def __init__(self, board: BoardConfig) -> None:
        self.board = board
        self._metrics: dict[str, _Metric] = {}
        self._agents: Sequence[Agent] | None = None

    def forget(self) -> None:
        """Measure from scratch next time (after a failed poll, a new period...)."""
        self._agents = None

    def measure(self, agents: Sequence[Agent], metrics: set[str], full: bool = False,
                hint: Changed | None = None) -> tuple[Values, list[Row], Changes | None]:
        """Each metric per agent, per team and for the floor, as ``compare.measure`` gives them; the
        history rows (all of them after a full measurement, else a superset of those that changed);
        and what changed since the last call (None: measured from scratch, anything may have).
        ``hint``: the snapshot's, used only where it provably describes ``agents`` (Changed)."""
        before = self._agents
        self._agents = None  # until this call has finished: an exception leaves a full measurement due
        changed = None if full or before is None or list(self._metrics) != sorted(metrics) else _changed(agents, before, hint)
        if changed is not None and 2 * len(changed) > len(agents):
            changed = None  # most records are new objects (a source without the parser's cache): start afresh
        if changed is None:
            if len(set(map(_ID, agents))) != len(agents):
                # Duplicate ids (never from the parser): a team counts each record, which the
                # per-id bookkeeping here cannot, so only the plain computation measures them.
                self._metrics = {}
                values, rows = measure_all(Snapshot(tuple(agents)), metrics, self.board)
                return values, rows, None
            self._metrics = {m: _Metric(m, self.board) for m in sorted(metrics)}
            rows: list[Row] = []
            for metric in self._metrics.values():
                metric.build(agents)
                rows += metric.rows()
            changes = None
        else:
            rows, stable = [], []
            for metric in self._metrics.values():
                found = metric.update(changed)
                if found is None:
                    metric.build(agents)
                    rows += metric.rows()
                else:
                    rows += found
                    stable.append(metric.name)
            changes = Changes({new.id: new for new, _ in changed}, frozenset(stable))
        values: Values = {}
        for metric in self._metrics.values():
            metric.values(values)
        self._agents = agents
        return values, rows, changes

    def rows(self) -> list[Row]:
        """Every row, in ``compare.measure``'s order (for the history's periodic sample)."""
        return [row for metric in self._metrics.values() for row in metric.rows()]


def _role_models(agents: Sequence[Agent]) -> list[bool]:
    """Which agents are out of the game (role models and watchers)."""
    return list(map(UNRANKED_ROLES.__contains__, map(_ROLE, agents)))


_last: tuple[Sequence[Agent], Sequence[Agent], list[tuple[Agent, Agent]] | None] | None = None


def _changed(agents: Sequence[Agent], before: Sequence[Agent],
             hint: Changed | None = None) -> list[tuple[Agent, Agent]] | None:
    """(new, old) of each agent whose record is not the same object as at the same place last time,
    in floor order; None when the floor itself changed (an agent joined, left or moved). The last
    answer is kept: with no role models the roster and the measurer ask the same question. The
    parser's hint, when it is about these two very lists, spares the pass over all of them."""
    global _last
    last = _last  # one read: another thread's answer is a whole tuple or none
    if last is not None and last[0] is agents and last[1] is before:
        return last[2]
    found = _compare(agents, before, hint)
    _last = (agents, before, found)
    return found


def _compare(agents: Sequence[Agent], before: Sequence[Agent],
             hint: Changed | None = None) -> list[tuple[Agent, Agent]] | None:
    if agents is before:
        return []
    if len(agents) != len(before):
        return None
    if hint is not None and hint.applies(agents, before):
        places = hint.differ()
    else:
        places = list(compress(range(len(agents)), map(is_not, agents, before)))
    new, old = list(map(agents.__getitem__, places)), list(map(before.__getitem__, places))
    if list(map(_ID, new)) != list(map(_ID, old)):
        return None
    return list(zip(new, old))

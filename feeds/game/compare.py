"""Comparisons: today against yesterday *at the same time of day*, this week against last week,
personal bests, and the most improved — so not only the top of the ranking is celebrated.

Yesterday's final is no fair yardstick at ten in the morning; what the floor had done by ten
yesterday is. Those time-of-day figures come from the history's samples, the finals of earlier
days from its totals.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from feeds.config.schema import BoardConfig
from feeds.game.history import History, Row
from feeds.model import Snapshot
from feeds.periods import Calendar, Period
from feeds.board.scoring import metric_value, team_averages

Values = dict[tuple[str, str], dict[str, float]]  # (subject kind, metric) -> subject -> value
SPARK_DAYS = 7
BEST_DAYS = 30
IMPROVED = 3
_T = TypeVar("_T")


def team_values(snapshot: Snapshot, metric: str, board: BoardConfig) -> dict[str, float]:
    members: dict[str, list[float]] = {}
    for agent in snapshot.agents:
        value = metric_value(agent, metric, board)
        if agent.team is not None and value is not None:
            members.setdefault(agent.team, []).append(value)
    average = team_averages(board, metric)
    return {team: (sum(v) / len(v) if average else sum(v)) for team, v in members.items()}


def _agent_and_team_values(snapshot: Snapshot, metric: str, board: BoardConfig) -> tuple[dict[str, float],
                                                                                       dict[str, float]]:
    """``metric_value`` of every agent and ``team_values``, in one pass with the metric's config looked
    up once (5,000 agents every poll on the hub)."""
    spec = board.metric(metric)
    need, samples = spec.min_samples, spec.samples
    agents: dict[str, float] = {}
    members: dict[str, list[float]] = {}
    for agent in snapshot.agents:
        found = agent.metrics
        value = found.get(metric)
        if value is None or (need and found.get(samples, 0.0) < need):
            continue
        agents[agent.id] = value
        if agent.team is not None:
            members.setdefault(agent.team, []).append(value)
    average = team_averages(board, metric)
    return agents, {team: (sum(v) / len(v) if average else sum(v)) for team, v in members.items()}


def measure(snapshot: Snapshot, metrics: set[str], board: BoardConfig) -> tuple[Values, list[Row]]:
    """Each metric per agent, per team and for the whole floor; and the same as history rows."""
    values: Values = {}
    rows: list[Row] = []
    for metric in sorted(metrics):
        agents, teams = _agent_and_team_values(snapshot, metric, board)
        values[("agent", metric)], values[("team", metric)] = agents, teams
        rows += [("agent", s, metric, v) for s, v in agents.items()]
        rows += [("team", s, metric, v) for s, v in teams.items()]
        if agents:
            floor = sum(agents.values()) / (len(agents) if board.metric(metric).lower_is_better else 1)
            values[("floor", metric)] = {"all": floor}
            rows.append(("floor", "all", metric, floor))
    return values, rows


@dataclass(frozen=True, slots=True)
class Change:
    subject: str
    now: float | None
    before: float | None

    @property
    def percent(self) -> float | None:
        if self.now is None or not self.before:
            return None
        return 100.0 * (self.now - self.before) / abs(self.before)


@dataclass(frozen=True, slots=True)
class Comparison:
    metric: str
    lower_is_better: bool
    today: Change  # the floor, against yesterday at this time
    week: Change  # the week so far, against last week at this point
    teams: tuple[Change, ...]  # each team, against itself yesterday at this time
    improved: tuple[Change, ...]  # the agents most improved on themselves yesterday at this time
    personal_bests: tuple[str, ...]  # agents already past their best day of the last 30
    daily: tuple[tuple[str, float], ...]  # the floor's last days (finals; today so far), oldest first
    hourly: tuple[tuple[int, float], ...] = ()  # the floor today by hour: (minute since midnight, value), then now
    hourly_before: tuple[tuple[int, float], ...] = ()  # the floor yesterday by hour, ending on its final

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def by_hour(samples: list[tuple[int, float]], end: tuple[int, float] | None = None) -> tuple[tuple[int, float], ...]:
    """A day's samples thinned to its curve by hour: the first sample, the value at each whole hour
    after it up to the last sample (the last sample at or before that hour), and ``end`` (now, or
    the day's final) or else the last sample."""
    if not samples:
        return (end,) if end is not None else ()
    last = end if end is not None else samples[-1]
    points = [samples[0]]
    i = 0
    for minute in range((samples[0][0] // 60 + 1) * 60, min(last[0], samples[-1][0] + 60), 60):
        while i + 1 < len(samples) and samples[i + 1][0] <= minute:
            i += 1
        points.append((minute, samples[i][1]))
    if last[0] <= points[-1][0]:
        points.pop()
    return tuple(points + [last])


class Yardsticks:
    """What :func:`compare` reads of days that are over, kept for the rest of the day: yesterday's
    (and last week's) values at this time of day, finished days' finals, each agent's best of the
    last days. Nothing writes to a day that is over (samples and totals go under the day they are
    taken in), so only the retention trim can change them: :meth:`forget` (after a trim, and after
    anything else the engine cannot vouch for) drops all, and so does a change of day, whichever
    way the clock went. A read that a :meth:`forget` overtook is not kept."""

    def __init__(self) -> None:
        self._day = ""
        self._generations = itertools.count(1)  # next() is one C call: a trim's thread and the poll's never both get 5
        self._generation = 0
        self._kept: dict[tuple[Any, ...], tuple[int, Any]] = {}

    def forget(self) -> None:
        self._generation = next(self._generations)

    def get(self, today: str, key: tuple[Any, ...], read: Callable[[], _T]) -> _T:
        if today != self._day:
            self._day, self._kept = today, {}
        generation = self._generation  # before the read: a trim meanwhile makes the entry stale
        found = self._kept.get(key)
        if found is not None and found[0] == generation:
            return found[1]  # type: ignore[no-any-return]
        value = read()
        if len(self._kept) > 256:  # the values at each minute of the day: only the latest are asked
            self._kept = {}
        self._kept[key] = (generation, value)
        return value


def _bests(history: History, calendar: Calendar, today: Period, metric: str,
           lower: bool) -> tuple[dict[str, float], tuple[tuple[str, float], ...]]:
    """Each agent's best of the last BEST_DAYS days, and the floor's finals of the last days
    (latest first)."""
    past: dict[str, float] = {}
    day = today
    daily: list[tuple[str, float]] = []
    for n in range(max(BEST_DAYS, SPARK_DAYS)):
        day = calendar.previous(day)
        for subject, value in history.values(day.key, "agent", metric).items():
            past[subject] = min(past.get(subject, value), value) if lower else max(past.get(subject, value), value)
        if n < SPARK_DAYS - 1:
            total = history.values(day.key, "floor", metric).get("all")
            if total is not None:
                daily.append((day.key, total))
    return past, tuple(daily)


def _improved(agents_now: Mapping[str, float], agents_then: Mapping[str, float], lower: bool) -> list[Change]:
    """The IMPROVED agents most improved on themselves (by ``Change.percent``), best first, ties
    in the order of ``agents_now``: what sorting every agent's Change would give, without making
    them all (``nlargest`` is ``sorted(reverse=True)[:n]``; "improved" is a key above 0)."""
    if not agents_then:
        return []  # nothing yesterday (a new floor): spare the walk over everyone
    scored = [(s, v, b, 100.0 * (v - b) / abs(b)) for s, v in agents_now.items() if (b := agents_then.get(s))]
    keys = [-p for _, _, _, p in scored] if lower else [p for _, _, _, p in scored]
    top = heapq.nlargest(IMPROVED, range(len(scored)), key=keys.__getitem__)
    return [Change(*scored[i][:3]) for i in top if keys[i] > 0]


def compare(history: History, calendar: Calendar, now: datetime, metric: str, values: Values,
            lower: bool, kept: Yardsticks | None = None) -> Comparison:
    """The floor, the teams and the agents against themselves (see the module); ``kept``: what
    the last polls read of finished days, to read it only once."""
    today = calendar.period("day", now)
    local = calendar.local(now)
    minute = local.hour * 60 + local.minute
    yesterday = calendar.previous(today)

    def at(day: str, kind: str) -> dict[str, float]:
        if kept is None:
            return history.at(day, minute, kind, metric)
        return kept.get(today.key, ("at", day, minute, kind, metric), lambda: history.at(day, minute, kind, metric))

    def final(day: str) -> dict[str, float]:
        if kept is None:
            return history.values(day, "floor", metric)
        return kept.get(today.key, ("final", day, metric), lambda: history.values(day, "floor", metric))

    floor_now = values.get(("floor", metric), {}).get("all")
    floor_then = at(yesterday.key, "floor").get("all")
    teams_then = at(yesterday.key, "team")
    agents_then = at(yesterday.key, "agent")
    agents_now = values.get(("agent", metric), {})
    # The week so far: finished days' finals, plus today so far; last week the same days, plus
    # the same weekday as it stood at this time.
    week_now = floor_now
    week_then = at(calendar.period("day", now - timedelta(days=7)).key, "floor").get("all")
    day = today
    week_start = calendar.period("week", now).start
    while week_now is not None and day.start > week_start and not lower:
        day = calendar.previous(day)
        week_now += final(day.key).get("all", 0.0)
        if week_then is not None:  # last week only where it was running at this time of day
            theirs = final(calendar.period("day", day.start - timedelta(days=7)).key)
            week_then += theirs.get("all", 0.0)
    improved = _improved(agents_now, agents_then, lower)
    if kept is None:
        past, daily_before = _bests(history, calendar, today, metric, lower)
    else:
        past, daily_before = kept.get(today.key, ("bests", metric, lower),
                                      lambda: _bests(history, calendar, today, metric, lower))
    bests = tuple(s for s, v in agents_now.items() if s in past and ((v < past[s]) if lower else (v > past[s]))) \
        if past else ()
    daily = list(daily_before[::-1]) + ([(today.key, floor_now)] if floor_now is not None else [])
    hourly = by_hour(history.curve(today.key, "floor", "all", metric),
                     (minute, floor_now) if floor_now is not None else None)
    yesterday_final = final(yesterday.key).get("all")
    samples_before = history.curve(yesterday.key, "floor", "all", metric)
    hourly_before = by_hour(samples_before, (max(24 * 60, samples_before[-1][0]), yesterday_final)
                            if samples_before and yesterday_final is not None else None)
    return Comparison(metric, lower, Change("floor", floor_now, floor_then), Change("week", week_now, week_then),
                      tuple(Change(t, v, teams_then.get(t)) for t, v in sorted(values.get(("team", metric), {}).items())),
                      tuple(improved), bests, tuple(daily), hourly, hourly_before)

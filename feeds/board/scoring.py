"""The value each agent is ranked by: one metric, or a weighted score of several.

The score balances quantity and quality. For every weighted metric an agent gets a percentage of
the floor's best value, then the percentages are averaged with the weights::

    higher is better:  pct = 100 × value / best          (best = highest value on the board)
    lower is better:   pct = 100 × best / value          (best = lowest positive value)
    score = Σ weight × pct / Σ weight                     (0 … 100, one decimal)

A metric the agent has no value for, a value of 0 or less, or one below its ``min_samples``
(CSAT from 2 ratings is luck, not quality) earns 0 for that part. An agent with none of the
weighted metrics has no score and is listed, unranked, at the bottom.

Fair ranking (docs/fair-ranking.md) adds ``rank_by = "target_percent"`` (the value as a % of the
agent's own level's target), ``per_hour`` metrics (÷ the agent's ``hours_available``, so that a
part-timer is not last by design) and the quality ``gate``, judged by ``gate_open``.
"""

from __future__ import annotations

from collections.abc import Sequence

from feeds.config.schema import SCORE, TARGET_PERCENT, BoardConfig, GateConfig
from feeds.model import Agent


def metric_value(agent: Agent, name: str, board: BoardConfig) -> float | None:
    """The agent's value of a metric, or None when absent or based on too few samples."""
    value = agent.metrics.get(name)
    if value is None:
        return None
    spec = board.metric(name)
    if spec.min_samples and agent.metrics.get(spec.samples, 0.0) < spec.min_samples:
        return None
    return value


def _column(agents: Sequence[Agent], name: str, board: BoardConfig) -> list[float | None]:
    """``metric_value`` for every agent, with the metric's config looked up once."""
    spec = board.metric(name)
    if not spec.min_samples:
        return [a.metrics.get(name) for a in agents]
    return [None if a.metrics.get(spec.samples, 0.0) < spec.min_samples else a.metrics.get(name) for a in agents]


def lower_is_better(board: BoardConfig) -> bool:
    """Whether the ranking value is better when lower (never for the score)."""
    return board.rank_by != SCORE and board.metric(board.rank_by).lower_is_better


def team_averages(board: BoardConfig, metric: str) -> bool:
    """Whether a team's value of ``metric`` is its members' average rather than their sum: with
    ``team_aggregate = "average"``, and always for the score (a 0-100 index: a sum of them means
    nothing and favours big teams) and for a lower-is-better metric (a sum of handle times would
    rank the smallest team first). The board, the history and the challenges all use this one rule."""
    return board.team_aggregate == "average" or metric in (SCORE, TARGET_PERCENT) or board.metric(metric).lower_is_better


def _ranked_column(agents: Sequence[Agent], name: str, board: BoardConfig) -> list[float | None]:
    """A metric as it is ranked: ``_column``, per hour available when the metric says ``per_hour``
    (None for an agent whose hours the feed does not give: no rate is better than a wrong one)."""
    values = _column(agents, name, board)
    if not board.metric(name).per_hour:
        return values
    return [None if v is None or not a.hours_available else v / a.hours_available for a, v in zip(agents, values)]


def _target_percents(agents: Sequence[Agent], board: BoardConfig) -> list[float | None]:
    """Each agent's value as a percentage of their own level's target (one decimal); None for an
    agent without a value or without a target for their level."""
    stick = board.yardstick
    if stick is None:
        return [None] * len(agents)
    lower = board.metric(stick.metric).lower_is_better
    out: list[float | None] = []
    for agent, value in zip(agents, _column(agents, stick.metric, board)):
        target = stick.target(agent.id, agent.level)
        if value is None or target is None or (lower and value <= 0):
            out.append(None)
        else:
            out.append(round(100.0 * (target / value if lower else value / target), 1))
    return out


def gate_open(agent: Agent, gate: GateConfig, board: BoardConfig) -> bool:
    """Whether ``agent``'s quality lets their volume count: no value yet, or fewer than
    ``gate.sample`` samples, leaves the gate open (one bad rating must not shut anyone out);
    at the threshold it is open."""
    value = agent.metrics.get(gate.metric)
    if value is None:
        return True
    spec = board.metric(gate.metric)
    if gate.sample and agent.metrics.get(spec.samples, 0.0) < gate.sample:
        return True
    # Judged on the value as the wall shows it: a CSAT of 4.47 reads "4.5", and "4.5, quality
    # first" beside a gate of 4.5 would make no sense to anyone reading it.
    shown = round(value, spec.decimals)
    return shown <= gate.min if spec.lower_is_better else shown >= gate.min


def rank_values(agents: Sequence[Agent], board: BoardConfig) -> list[float | None]:
    """The ranking value of each agent, in the same order."""
    if board.rank_by == TARGET_PERCENT:
        return _target_percents(agents, board)
    if board.rank_by != SCORE:
        return _ranked_column(agents, board.rank_by, board)
    total_weight = sum(board.score.values())
    columns: list[tuple[float, list[float]]] = []
    present = [False] * len(agents)
    for name, weight in board.score.items():
        values = _ranked_column(agents, name, board)
        present = [p or v is not None for p, v in zip(present, values)]
        lower = board.metric(name).lower_is_better
        positive = [v for v in values if v is not None and v > 0]
        best = (min(positive) if lower else max(positive)) if positive else 0.0
        pcts = [0.0 if v is None or v <= 0 or best <= 0 else 100.0 * (best / v if lower else v / best)
                for v in values]
        columns.append((weight, pcts))
    totals = [0.0] * len(agents)
    for weight, pcts in columns:  # column by column: list comprehensions, not a generator per agent
        totals = [t + weight * p for t, p in zip(totals, pcts)]
    return [round(t / total_weight, 1) if ok else None for t, ok in zip(totals, present)]

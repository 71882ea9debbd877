"""Every metric name a config uses, checked twice: against what the config itself defines (when it
is loaded, so ``chalkwall check`` and a hot reload refuse a typo) and against what the feed really
sends (every new snapshot, so a name that passes the first check but matches no data is named on
the wall instead of filling it with blanks).

What the config defines depends on the feed. The demo feed and a ``[feed.mapping]`` name every
metric there will be, so a name outside them is always wrong. A canonical JSON or CSV feed may send
metrics the config never mentions, so there only a near miss of a metric declared in
``[board.metrics]`` is wrong ("cstat" beside "csat"); the rest waits for the data check.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from feeds.model import Snapshot
from feeds.config.validate import Reader, closest, did_you_mean

if TYPE_CHECKING:  # feeds.config.schema calls in here while it checks itself
    from feeds.config.schema import BoardConfig, Config

SCORE = "score"  # = feeds.config.schema.SCORE
BUILT_IN = (SCORE, "target_percent")  # rank_by values that are not a feed's metric (= schema's SCORE, TARGET_PERCENT)
OPEN_CUTOFF = 0.85  # how alike two names must be to call one a typo of the other when others may exist


@dataclass(frozen=True, slots=True)
class MetricRef:
    """One place in the config that names a metric: its dotted key and the name."""

    key: str
    name: str


def metric_refs(config: Config) -> tuple[MetricRef, ...]:
    """Every metric named in the config, in file order: ranking, score, samples, display, challenges."""
    board = config.board
    refs = [MetricRef("board.rank_by", board.rank_by)] if board.rank_by and board.rank_by not in BUILT_IN else []
    refs += [MetricRef(f"board.score.{name}", name) for name in board.score]
    if board.gate is not None:
        refs.append(MetricRef("board.gate.metric", board.gate.metric))
    refs += [MetricRef(f"challenges[{i}].gate.metric", c.gate.metric) for i, c in enumerate(config.challenges)
             if c.gate is not None]
    refs += [MetricRef(f"board.metrics.{name}.samples", spec.samples) for name, spec in board.metrics.items()
             if spec.samples]
    if config.display.secondary:
        refs.append(MetricRef("display.secondary", config.display.secondary))
    refs += [MetricRef(f"challenges[{i}].metric", c.metric) for i, c in enumerate(config.challenges) if c.metric]
    return tuple(refs)


def _sent(config: Config) -> tuple[tuple[str, ...], str] | None:
    """The metrics the feed can send and what says so, when the config knows them all."""
    feed = config.feed
    from feeds.config.feed import connector_types  # the registry, read at parse time

    spec = connector_types().get(feed.type)
    if spec is not None and spec.metrics is not None:
        return spec.metrics, f"the {feed.type} feed sends"
    if feed.type in ("http", "file") and feed.mapping is not None:
        return tuple(feed.mapping.metrics), "feed.mapping.metrics defines"
    return None


def check_metric_names(config: Config, reader: Reader, skip: frozenset[str] = frozenset()) -> None:
    """Record a problem for every metric name the config uses but does not define. ``skip``: the
    keys that did not load (nothing under them is checked, nor trusted as a definition)."""
    def skipped(key: str) -> bool:
        return any(key == s or key.startswith((f"{s}.", f"{s}[")) for s in skip)

    sent = None if skipped("feed.type") or skipped("feed.mapping") else _sent(config)
    said = {p.key for p in reader.problems}  # one problem per key: "scroe" is already a misspelt "score"
    refs = [r for r in metric_refs(config) if not skipped(r.key) and r.key not in said]
    if sent is not None:
        names, source = sent
        listed = ", ".join(names)
        for ref in refs:
            if ref.name not in names:
                hint = did_you_mean(ref.name, names) or f" (those are: {listed})"
                reader.problem(ref.key, f'"{ref.name}" is not a metric {source}{hint}')
        if not skipped("board.metrics"):
            for name in config.board.metrics:
                hint = did_you_mean(name, names) if name not in names else ""
                if hint:
                    reader.problem(f"board.metrics.{name}", f'"{name}" is not a metric {source}{hint}')
        return
    declared = [] if skipped("board.metrics") else list(config.board.metrics)
    for ref in refs:
        if ref.name in declared:
            continue
        hint = did_you_mean(ref.name, declared, cutoff=OPEN_CUTOFF)
        if hint:
            reader.problem(ref.key, f'"{ref.name}" is not a metric [board.metrics] declares{hint}; '
                                    f"if the feed does send it, declare [board.metrics.{ref.name}]")


@dataclass(frozen=True, slots=True)
class MissingMetric:
    """A metric the config names that no agent in the feed's data has."""

    keys: tuple[str, ...]  # where the config names it
    name: str
    suggestion: str | None  # the metric the agents do have that it most looks like
    held: bool = False  # the board cannot be ranked without it: the last good board stays

    def __str__(self) -> str:
        where = self.keys[0] + (f" (and {len(self.keys) - 1} more)" if len(self.keys) > 1 else "")
        hint = f" — did you mean '{self.suggestion}'?" if self.suggestion else ""
        return f"{where}: no agent has metric '{self.name}'{hint}" + (" (last good board kept)" if self.held else "")

    def lines(self) -> tuple[str, ...]:
        """The same in short lines, for a notice on a narrow (portrait) screen."""
        hint = (f"Did you mean '{self.suggestion}'?",) if self.suggestion else ()
        held = ("Showing the last good board",) if self.held else ()
        return (f"No agent has metric '{self.name}'", *hint, f"Config key: {self.keys[0]}", *held)


def missing_metrics(snapshot: Snapshot, refs: Sequence[MetricRef], board: BoardConfig) -> tuple[MissingMetric, ...]:
    """The metrics ``refs`` name that no agent of ``snapshot`` has (none for a floor with no agents,
    nor a metric the feed names with no value yet).

    Cheap on a large floor: a metric is found at the first agent that has it, and only a missing
    one makes the whole floor's metric names be gathered (for the "did you mean").
    """
    agents = snapshot.agents
    if not agents or not refs:
        return ()
    keys: dict[str, list[str]] = {}
    for ref in refs:
        keys.setdefault(ref.name, []).append(ref.key)
    absent = [name for name in keys if name not in snapshot.empty_metrics and not any(name in a.metrics for a in agents)]
    if not absent:
        return ()
    have = sorted({name for a in agents for name in a.metrics})
    ranking = set(board.ranked_metrics)
    held = bool(ranking) and ranking <= set(absent)  # nothing left to rank by
    out = []
    for name in absent:
        out.append(MissingMetric(tuple(keys[name]), name, closest(name, have), held and name in ranking))
    return tuple(out)

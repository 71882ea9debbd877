"""The Measurer's kept sums (feeds/game/incremental.py: whole-number floats added up as they change)
against ``compare.measure`` summing afresh, to the bit: the same floats (repr), the same types."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from feeds.config.schema import load_config
from feeds.game.compare import measure
from feeds.game.incremental import Measurer
from feeds.model import Agent, Snapshot
from helpers import write_config

CONFIG = """
[board]
rank_by = "tickets_solved"

[board.metrics.aht_seconds]
lower_is_better = true

"""
METRICS = {"tickets_solved", "aht_seconds", "csat"}
BIG = 2.0 ** 52

_whole = st.sampled_from([0.0, -0.0, 1.0, 2.0, 7.0, 40.0, -3.0, 1e6, BIG / 8, BIG / 4 - 1, BIG / 2, BIG, 2.0 ** 60])
_any = _whole | st.floats(allow_nan=False, allow_infinity=False, min_value=-1e9, max_value=1e9) | \
    st.integers(-5, 5) | st.sampled_from([0.5, 0.1, float("inf"), -float("inf")])


def _bits(values: dict[tuple[str, str], dict[str, float]]) -> dict[tuple[str, str], list[tuple[str, str, str]]]:
    return {k: [(s, type(v).__name__, repr(v)) for s, v in d.items()] for k, d in values.items()}


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_kept_sums_are_the_sums(tmp_path_factory: object, data: st.DataObject) -> None:
    directory = tmp_path_factory.mktemp("m")  # type: ignore[attr-defined]
    board = load_config(str(write_config(Path(directory), CONFIG))).config.board
    n = data.draw(st.integers(1, 12))
    values = st.one_of(_whole, _any) if data.draw(st.booleans()) else _whole
    teams = [data.draw(st.sampled_from(["a", "b", None])) for _ in range(n)]
    metrics = [{m: data.draw(values) for m in METRICS} for _ in range(n)]
    agents = tuple(Agent(f"x{i}", f"X {i}", teams[i], metrics=metrics[i]) for i in range(n))
    measurer = Measurer(board)
    for poll in range(data.draw(st.integers(1, 8))):
        if poll:
            changed = data.draw(st.lists(st.integers(0, n - 1), max_size=n))
            new = list(agents)
            for i in changed:
                found = dict(new[i].metrics)
                found[data.draw(st.sampled_from(sorted(METRICS)))] = data.draw(values)
                new[i] = new[i]._replace(metrics=found)
            agents = tuple(new)
        got, rows, _ = measurer.measure(agents, METRICS)
        want, want_rows = measure(Snapshot(agents), METRICS, board)
        assert _bits(got) == _bits(want), poll
        assert [(k, s, m, repr(v)) for k, s, m, v in measurer.rows()] == \
            [(k, s, m, repr(v)) for k, s, m, v in want_rows], poll

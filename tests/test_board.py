"""Ranking, the score formula, team standings and board diffs."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from feeds.board.build import build_board
from feeds.config.schema import BoardConfig, MetricConfig
from feeds.board.diff import (AgentJoined, AgentLeft, NewLeader, RankChanged, SeenEvents, TeamRankChanged,
                        ValueChanged, diff_boards)
from feeds.connectors.parse import normalise
from helpers import agent, doc


def board_of(*agents: dict, config: BoardConfig | None = None, **kw):  # type: ignore[no-untyped-def]
    return build_board(normalise(doc(*agents, **kw)), config or BoardConfig())


def ranks(board) -> list[tuple[int | None, str]]:  # type: ignore[no-untyped-def]
    return [(a.rank, a.id) for a in board.agents]


def cfg(**kw) -> BoardConfig:  # type: ignore[no-untyped-def]
    metrics = kw.pop("metrics", {})
    return BoardConfig(metrics=MappingProxyType(metrics), **kw)


def test_competition_ranking_with_a_stable_order_for_ties() -> None:
    board = board_of(agent("dan", 5), agent("ann", 9), agent("cat", 9), agent("bob", 7), agent("eve", 5),
                     agent("fay"))
    assert ranks(board) == [(1, "ann"), (1, "cat"), (3, "bob"), (4, "dan"), (4, "eve"), (None, "fay")]
    # Feed order does not matter: the same board from a shuffled document.
    again = board_of(agent("fay"), agent("eve", 5), agent("cat", 9), agent("bob", 7), agent("ann", 9), agent("dan", 5))
    assert ranks(again) == ranks(board)


def test_float_noise_is_a_tie_not_a_lead() -> None:
    board = board_of(agent("a", 0.1 + 0.2), agent("b", 0.3))
    assert [a.rank for a in board.agents] == [1, 1]


def test_lower_is_better_ranks_ascending_and_negatives_and_huge_values_work() -> None:
    config = cfg(rank_by="aht_seconds", metrics={"aht_seconds": MetricConfig(lower_is_better=True)})
    board = board_of(agent("a", aht_seconds=300), agent("b", aht_seconds=200), agent("c", aht_seconds=250),
                     config=config)
    assert ranks(board) == [(1, "b"), (2, "c"), (3, "a")] and board.lower_is_better
    board = board_of(agent("neg", -5), agent("big", 1e15), agent("zero", 0))
    assert ranks(board) == [(1, "big"), (2, "zero"), (3, "neg")]


def test_score_formula_balances_quantity_and_quality() -> None:
    config = cfg(rank_by="score", score=MappingProxyType({"tickets_solved": 3.0, "csat": 1.0, "aht_seconds": 1.0}),
                 metrics={"csat": MetricConfig(min_samples=5, samples="csat_count"),
                          "aht_seconds": MetricConfig(lower_is_better=True)})
    board = board_of(
        agent("fast", 20, csat=3.0, csat_count=10, aht_seconds=200),
        agent("kind", 10, csat=5.0, csat_count=10, aht_seconds=400),
        agent("lucky", 10, csat=5.0, csat_count=2, aht_seconds=400),  # 2 ratings: CSAT does not count yet
        agent("idle"),
        config=config)
    values = {a.id: a.value for a in board.agents}
    # fast: (3×100 + 1×60 + 1×100) / 5 = 92; kind: (3×50 + 100 + 50) / 5 = 60; lucky: (150 + 0 + 50) / 5 = 40
    assert values == {"fast": 92.0, "kind": 60.0, "lucky": 40.0, "idle": None}
    assert ranks(board) == [(1, "fast"), (2, "kind"), (3, "lucky"), (None, "idle")]


def test_team_standings_sum_or_average_with_gaps() -> None:
    agents = (agent("a", 10, team="day"), agent("b", 2, team="day"), agent("c", 9, team="night"),
              agent("d", team="night"))
    teams = [{"id": "day", "name": "Day"}, {"id": "night", "name": "Night"}, {"id": "empty", "name": "Empty"}]
    board = board_of(*agents, teams=teams)
    assert [(t.rank, t.id, t.value, t.members, t.gap) for t in board.teams] == [
        (1, "day", 12, 2, None), (2, "night", 9, 2, 3), (None, "empty", None, 0, None)]
    board = board_of(*agents, teams=teams, config=cfg(team_aggregate="average"))
    assert [(t.rank, t.id, t.value, t.gap) for t in board.teams] == [
        (1, "night", 9, None), (2, "day", 6, 3), (None, "empty", None, None)]


def test_diff_reports_rank_value_and_leader_changes() -> None:
    before = board_of(agent("ann", 9), agent("bob", 7), agent("cat", 5), agent("gone", 1))
    after = board_of(agent("ann", 9), agent("bob", 7), agent("cat", 12), agent("new", 3))
    assert diff_boards(None, before) == []
    assert diff_boards(before, after) == [  # in the new board's order
        RankChanged("cat", 3, 1), ValueChanged("cat", 5, 12), NewLeader("cat", "ann"),
        RankChanged("ann", 1, 2), RankChanged("bob", 2, 3),
        AgentJoined("new", 4), AgentLeft("gone")]
    assert diff_boards(after, after) == []
    assert NewLeader("cat", "ann").to_dict() == {"kind": "new_leader", "agent": "cat", "previous": "ann"}


def test_a_tie_for_first_is_a_new_leader_too() -> None:
    before = board_of(agent("ann", 9), agent("bob", 7))
    after = board_of(agent("ann", 9), agent("bob", 9))
    events = diff_boards(before, after)
    assert RankChanged("bob", 2, 1) in events and NewLeader("bob", "ann") in events


def test_team_rank_changes() -> None:
    before = board_of(agent("a", 5, team="day"), agent("b", 3, team="night"))
    after = board_of(agent("a", 5, team="day"), agent("b", 8, team="night"))
    assert [e for e in diff_boards(before, after) if isinstance(e, TeamRankChanged)] == [
        TeamRankChanged("night", 2, 1), TeamRankChanged("day", 1, 2)]


def test_seen_events_announce_each_id_once_and_stay_bounded() -> None:
    snap = normalise(doc(events=[{"id": f"e{i}", "type": "kudos", "to": "a"} for i in range(5)]))
    seen = SeenEvents(capacity=3)
    assert [e.id for e in seen.new(snap.events)] == ["e0", "e1", "e2", "e3", "e4"]
    assert seen.new(snap.events[2:]) == []  # the newest three are remembered
    assert len(seen) == 3


@pytest.mark.parametrize("n", [0, 1])
def test_tiny_boards(n: int) -> None:
    board = board_of(*[agent("solo", 1)][:n])
    assert ranks(board) == [(1, "solo")][:n]
    assert diff_boards(board, board) == []


def test_a_team_is_ranked_by_its_average_score_and_average_handle_time_whatever_team_aggregate_says() -> None:
    # A big team of middling agents must not outrank a small strong team by headcount.
    agents = (agent("a", 10, team="big", aht_seconds=300), agent("b", 5, team="big", aht_seconds=500),
              agent("c", 5, team="big", aht_seconds=400), agent("d", 10, team="small", aht_seconds=200))
    teams = [{"id": "big", "name": "Big"}, {"id": "small", "name": "Small"}]
    score = board_of(*agents, teams=teams, config=cfg(rank_by="score", score=MappingProxyType({"tickets_solved": 1.0})))
    assert [(t.id, t.value) for t in score.teams] == [("small", 100.0), ("big", round((100 + 50 + 50) / 3, 2))]
    aht = board_of(*agents, teams=teams, config=cfg(rank_by="aht_seconds",
                                                    metrics={"aht_seconds": MetricConfig(lower_is_better=True)}))
    assert [(t.id, t.value) for t in aht.teams] == [("small", 200.0), ("big", 400.0)]
    tickets = board_of(*agents, teams=teams)  # a count still sums: the team's tickets are its members' tickets
    assert [(t.id, t.value) for t in tickets.teams] == [("big", 20.0), ("small", 10.0)]

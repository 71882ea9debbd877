"""The redaction step on its own: ranks among the listed, the cap, small teams, who may be named."""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType

from feeds.board.build import Board, build_board
from feeds.config.privacy import PrivacyConfig
from feeds.config.schema import BoardConfig
from feeds.model import Agent, Team, Snapshot
from feeds.privacy.choices import Choice
from feeds.privacy.view import PrivateBoard, redact, team_only, unlisted


def floor(*people: tuple[str, str, float], group_by: str = "") -> Board:
    teams = tuple(Team(t, t.title()) for t in sorted({team for _, team, _ in people}))
    # With group_by the channel is the id's first letter: "c…" chat, "e…" email.
    agents = tuple(Agent(i, i.title() + " Person", team, metrics=MappingProxyType({"tickets_solved": v}),
                         channel={"c": "Chat", "e": "Email"}.get(i[0]) if group_by else None)
                   for i, team, v in people)
    return build_board(Snapshot(agents, teams), BoardConfig(group_by=group_by))


BIG = floor(*[(f"a{n}", "north", 20 - n) for n in range(8)], *[(f"b{n}", "south", 15 - n) for n in range(7)],
            ("c0", "tiny", 99), ("c1", "tiny", 1))


def test_a_hidden_place_leaves_no_gap_and_ties_still_share_a_rank() -> None:
    board = floor(("ann", "x", 9), ("bo", "x", 9), ("cy", "x", 9), ("di", "x", 7), ("ed", "x", 5), ("zed", "x", 1))
    assert [r.rank for r in board.agents] == [1, 1, 1, 4, 5, 6]
    view = redact(board, None, PrivacyConfig(), {"ann": Choice("hidden"), "zed": Choice("hidden")}).board
    assert [(r.agent.id, r.rank) for r in view.agents] == [("bo", 1), ("cy", 1), ("di", 3), ("ed", 4)]
    assert view.find("ann") is None and view.who("ann")[0] == "Someone" and unlisted(view) == 2


def test_top_lists_at_most_a_third_and_never_a_small_team() -> None:
    view = redact(BIG, None, PrivacyConfig(mode="top", top_n=10), {}).board
    assert [r.agent.id for r in view.agents] == ["a0", "a1", "a2", "a3", "a4"]  # 17 people: a third is 5
    assert BIG.agents[0].agent.id == "c0"  # the tiny team's best is first on the floor, yet not listed
    assert unlisted(view) == 12
    assert view.find("c0") is not None  # ... but may still be celebrated by name
    assert {t.team.id for t in view.teams} == {"north", "south", "tiny"}  # every total stays


def test_anonymous_names_small_teams_nowhere_and_teams_drops_them() -> None:
    anon = redact(BIG, None, PrivacyConfig(mode="anonymous"), {"a1": Choice("ranked", "Owl")}).board
    assert "Owl" in [r.agent.name for r in anon.agents] and "A. P." in [r.agent.name for r in anon.agents]
    assert anon.find("c0") is None
    teams = redact(BIG, None, PrivacyConfig(mode="teams"), {}).board
    assert isinstance(teams, PrivateBoard) and teams.agents == ()
    assert [(t.team.id, t.rank, t.gap) for t in teams.teams] == [("north", 1, None), ("south", 2, 48)]
    assert teams.who("a3")[0] == "Someone on North" and teams.who("c0")[0] == "Someone"


def test_named_without_choices_is_the_board_itself() -> None:
    assert redact(BIG, None, PrivacyConfig(), {}).board is BIG


# Two channels of 9 on 3 teams of 6 (3 of each channel on each), each channel ranked on its own.
GROUPED = floor(*[(f"c{n}", "abc"[n % 3], 30 - n) for n in range(9)],
                *[(f"e{n}", "abc"[n % 3], 20 - n) for n in range(9)], group_by="channel")


def by_group(board: Board) -> dict[str, list[tuple[str, int | None]]]:
    out: dict[str, list[tuple[str, int | None]]] = {}
    for r in board.agents:
        out.setdefault(r.agent.channel or "", []).append((r.agent.id, r.rank))
    return out


def test_top_names_the_best_of_every_group_each_capped_at_a_third_of_its_group() -> None:
    assert GROUPED.groups() == ("Chat", "Email")
    view = redact(GROUPED, None, PrivacyConfig(mode="top", top_n=5, min_group=3), {}).board
    # 9 in each channel: a third is 3, in each; Email's board is shown too, ranked from 1.
    assert by_group(view) == {"Chat": [("c0", 1), ("c1", 2), ("c2", 3)], "Email": [("e0", 1), ("e1", 2), ("e2", 3)]}
    assert unlisted(view) == 12 and view.groups() == ("Chat", "Email")


def test_top_goes_on_to_the_next_group_past_an_unranked_row() -> None:
    board = floor(("c0", "a", 9), ("c1", "a", 8), ("c2", "a", 7), ("cx", "a", 0), *[(f"e{n}", "a", 9 - n) for n in range(6)],
                  group_by="channel")
    gated = replace(board, agents=tuple(r._replace(rank=None) if r.agent.id == "cx" else r for r in board.agents))
    view = redact(gated, None, PrivacyConfig(mode="top", top_n=5, min_group=3), {}).board
    assert by_group(view) == {"Chat": [("c0", 1)], "Email": [("e0", 1), ("e1", 2)]}


def test_anonymous_and_named_with_a_choice_rank_each_group_from_one() -> None:
    anon = redact(GROUPED, None, PrivacyConfig(mode="anonymous", min_group=3),
                  {"c4": Choice("hidden"), "c7": Choice("hidden")}).board  # two of team b's six: no give-away
    ranks = by_group(anon)
    assert [r for _, r in ranks["Chat"]] == [1, 2, 3, 4, 5, 6, 7] and [r for _, r in ranks["Email"]] == list(range(1, 10))
    # An alias for someone not on the floor at all still makes the board a private one.
    named = redact(GROUPED, None, PrivacyConfig(), {"nobody": Choice("ranked", "Owl")}).board
    assert isinstance(named, PrivateBoard) and by_group(named) == by_group(GROUPED)


def test_no_team_shows_its_members_when_its_total_gives_away_an_unlisted_one() -> None:
    # named: a team of three showing 10 and 7 with a total of 20 says the hidden one has 3.
    board = floor(("p1", "trio", 10), ("p2", "trio", 7), ("p3", "trio", 3),
                  *[(f"s{n}", "six", 20 - n) for n in range(6)], *[(f"o{n}", "other", 9 - n) for n in range(6)])
    hide = {"p3": Choice("hidden"), "s5": Choice("celebrate_only"), "o4": Choice("hidden"), "o5": Choice("hidden")}
    view = redact(board, None, PrivacyConfig(), hide).board
    assert {r.agent.team for r in view.agents} == {"other"}  # six has one unlisted; other has two
    assert [r.agent.id for r in view.agents] == ["o0", "o1", "o2", "o3"] and unlisted(view) == 11
    assert {t.team.id: t.value for t in view.teams}["trio"] == 20  # the totals stay, the hidden counted
    found = view.find("p1")  # still named in a celebration, never with a rank or a value
    assert found is not None and found.rank is None and found.value is None
    # A gated member's value is not in the total: nothing to give away, the team is listed.
    gated = replace(board, agents=tuple(r._replace(rank=None) if r.agent.id == "s5" else r for r in board.agents))
    assert "s0" in redact(gated, None, PrivacyConfig(), hide).board.index
    # Nobody unlisted: a small team's members are all on show anyway.
    assert "p1" in redact(board, None, PrivacyConfig(), {"o4": Choice("hidden"), "o5": Choice("hidden")}).board.index


def test_top_skips_a_team_whose_one_member_below_the_cut_would_be_given_away() -> None:
    board = floor(("t0", "t", 50), ("t1", "t", 49), ("t2", "t", 1), *[(f"u{n}", "u", 20 - n) for n in range(12)])
    view = redact(board, None, PrivacyConfig(mode="top", top_n=5, min_group=3), {}).board
    # t0 and t1 would be first and second, and t's total minus theirs is t2's value.
    assert [r.agent.id for r in view.agents] == ["u0", "u1", "u2", "u3", "u4"]
    assert [r.rank for r in view.agents] == [1, 2, 3, 4, 5] and view.find("t0") is not None


def test_a_wall_smaller_than_min_group_shows_team_totals_only() -> None:
    small = floor(("ann", "x", 9), ("bo", "x", 7), ("cy", "y", 5), ("di", "y", 3))
    for mode in ("top", "anonymous"):
        view = redact(small, None, PrivacyConfig(mode=mode, top_n=1), {}).board
        assert team_only(view) and view.agents == () and unlisted(view) == 4, mode
        assert [t.value for t in view.teams] == [t.value for t in small.teams]
    assert not team_only(redact(small, None, PrivacyConfig(mode="anonymous", min_group=2), {}).board)
    assert not team_only(small) and not team_only(redact(small, None, PrivacyConfig(), {}).board)


def test_a_non_default_min_group_decides_which_teams_are_broken_down() -> None:
    def listed(least: int) -> set[str]:
        view = redact(BIG, None, PrivacyConfig(mode="anonymous", min_group=least), {}).board
        return {r.agent.team or "" for r in view.agents}

    assert listed(5) == {"north", "south"}
    assert listed(2) == {"north", "south", "tiny"}  # the team of two is listed under initials
    assert listed(8) == {"north"}  # south has 7
    assert listed(18) == set()  # the whole wall (17) is smaller: team totals only
    teams = redact(BIG, None, PrivacyConfig(mode="teams", min_group=8), {}).board
    assert [t.team.id for t in teams.teams] == ["north"]


def test_a_hidden_persons_value_stays_in_the_team_total() -> None:
    hide = {"a0": Choice("hidden"), "a1": Choice("celebrate_only"), "b3": Choice("hidden"), "b4": Choice("hidden")}
    totals = {t.team.id: t.value for t in BIG.teams}
    for cfg in (PrivacyConfig(), PrivacyConfig(mode="top"), PrivacyConfig(mode="anonymous"), PrivacyConfig(mode="teams")):
        view = redact(BIG, None, cfg, hide).board
        assert not {"a0", "a1", "b3", "b4"} & set(view.index), cfg.mode
        shown = {t.team.id: t.value for t in view.teams}
        assert all(shown[t] == totals[t] for t in shown) and shown["north"] == sum(20 - n for n in range(8)), cfg.mode


def test_a_team_of_one_whose_member_is_unlisted_is_not_shown_on_its_own() -> None:
    board = floor(*[(f"a{n}", "north", 20 - n) for n in range(8)], ("s0", "solo", 42), ("d0", "duo", 7),
                  ("d1", "duo", 5))
    for cfg in (PrivacyConfig(), PrivacyConfig(mode="top"), PrivacyConfig(mode="anonymous")):
        view = redact(board, None, cfg, {"s0": Choice("hidden"), "d1": Choice("hidden"), "a0": Choice("hidden")}).board
        values = {t.team.id: t.value for t in view.teams}
        assert "solo" not in values and values.get("duo") == 12, (cfg.mode, values)  # 42 would be s0's
        assert values.get("north") == sum(20 - n for n in range(8)) and view.teams[0].rank == 1, cfg.mode
    mine = redact(board, None, PrivacyConfig(), {"a0": Choice("hidden")}).board  # solo and duo list everyone
    assert {t.team.id for t in mine.teams} == {"north", "solo", "duo"}


def test_each_groups_board_counts_its_own_unlisted() -> None:
    view = redact(GROUPED, None, PrivacyConfig(mode="top", top_n=2, min_group=3), {"e0": Choice("hidden")}).board
    assert unlisted(view) == 14 and unlisted(view, "Chat") == 7 and unlisted(view, "Email") == 7
    assert unlisted(GROUPED, "Chat") == 0 and unlisted(redact(BIG, None, PrivacyConfig(mode="top"), {}).board, "x") == 0

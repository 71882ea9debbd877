"""The teams and record scenes say what they mean: what a team is ranked by, the gap to the team
ahead, bars to one scale, the members behind the number; the record on its first day and later.
Every text they write stays inside its card (or the chalk board) and no two overlap, at every size.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

import pygame
import pytest

from display.clock import FakeClock
from display.scenes.record import RecordScene
from display.scenes.teams import TeamsScene
from display.shot import build_wall, render
from feeds.config.schema import load_config
from feeds.game.history import History
from feeds.periods import Calendar
from helpers import ROOT, agent, doc, write_config

SIZES = [(1920, 1080), (1280, 720), (1080, 1920)]


@pytest.fixture(autouse=True, scope="module")
def utc() -> None:
    os.environ["TZ"] = "UTC"


def demo(size: tuple[int, int], state: Path, *, config: Path | None = None):  # type: ignore[no-untyped-def]
    return build_wall(load_config(str(config or ROOT / "config.toml")), size, clock=FakeClock(), state=state)


def file_floor(tmp_path: Path, teams: list[tuple[str, str, list[float]]], board: str = "") -> Path:
    """A file feed with these teams (id, name, members' tickets) and a config reading it."""
    agents = [agent(f"{tid}{n}", solved, team=tid) for tid, _, values in teams for n, solved in enumerate(values)]
    (tmp_path / "feed.json").write_text(json.dumps(doc(*agents, teams=[{"id": t, "name": name} for t, name, _ in teams])),
                                        encoding="utf-8")
    return write_config(tmp_path, f'[feed]\ntype = "file"\npath = "feed.json"\n\n[board]\n{board}\n')


def teams_scene(preview) -> TeamsScene:  # type: ignore[no-untyped-def]
    scene = preview.wall.scenes["teams"]
    assert isinstance(scene, TeamsScene)
    return scene


def assert_inside_and_apart(boxes: list[tuple[str, pygame.Rect]], frame: pygame.Rect, where: str) -> None:
    assert boxes, f"nothing written on {where}"
    for label, rect in boxes:
        assert frame.contains(rect), f"{label} {rect} leaves {where} {frame}"
    for i, (label, rect) in enumerate(boxes):
        for other, second in boxes[i + 1:]:
            assert not rect.colliderect(second), f"{label} {rect} overlaps {other} {second} on {where}"


def test_teams_are_ranked_by_their_average_score_and_each_card_says_so(tmp_path: Path) -> None:
    preview = demo((1920, 1080), tmp_path)
    scene = teams_scene(preview)
    render(preview, "teams")
    assert scene.ranked_by() == "Score · team average"
    assert scene.ranked_by(out_of=scene.scale(scene.standings()).out_of) == "Score (0–100) · team average"
    values = [t.value for t in scene.standings()]
    assert all(v is not None and 0 < v <= 100 for v in values)  # an average of 0-100 scores, not a sum


def test_a_count_is_ranked_by_the_team_total_under_its_full_name(tmp_path: Path) -> None:
    config = file_floor(tmp_path, [("a", "Alpha", [30, 20]), ("b", "Beta", [25])],
                        'rank_by = "tickets_solved"\n[board.metrics.tickets_solved]\nlabel = "Solved"')
    scene = teams_scene(demo((1920, 1080), tmp_path / "state", config=config))
    assert scene.ranked_by() == "Tickets solved · team total"


def test_the_gap_is_labelled_as_the_gap_to_the_team_ahead_and_the_leader_shows_its_lead(tmp_path: Path) -> None:
    config = file_floor(tmp_path, [("a", "Alpha", [30, 20]), ("b", "Beta", [40]), ("c", "Gamma", [40])],
                        'rank_by = "tickets_solved"')
    scene = teams_scene(demo((1920, 1080), tmp_path / "state", config=config))
    teams = scene.standings()
    assert [t.team.name for t in teams] == ["Alpha", "Beta", "Gamma"]
    assert scene._gap_text(teams, teams[0]) == ("Lead over the next team", "10 ahead of Beta")
    assert scene._gap_text(teams, teams[1]) == ("Gap to the team ahead", "10 behind Alpha")
    assert scene._gap_text(teams, teams[2]) == ("Gap to the team ahead", "level with Beta")


def test_team_bars_share_one_scale_so_their_lengths_compare_as_the_values_do(tmp_path: Path) -> None:
    preview = demo((1920, 1080), tmp_path / "score")
    scene = teams_scene(preview)
    scale = scene.scale(scene.standings())
    assert scale.top == 100  # the score's own scale: the leading team's bar is not full unless it scores 100
    for team in scene.standings():
        assert scale.fraction(team.value) == pytest.approx(team.value / 100)
    config = file_floor(tmp_path, [("a", "Alpha", [30, 30]), ("b", "Beta", [15])], 'rank_by = "tickets_solved"')
    scene = teams_scene(demo((1920, 1080), tmp_path / "state", config=config))
    teams = scene.standings()
    scale = scene.scale(teams)
    assert [scale.fraction(t.value) for t in teams] == [1.0, 0.25]  # 60 and 15 tickets: a quarter, as it is


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_every_text_on_a_team_card_stays_inside_its_card_and_none_overlap(size: tuple[int, int],
                                                                          tmp_path: Path) -> None:
    preview = demo(size, tmp_path)
    scene = teams_scene(preview)
    render(preview, "teams")
    assert len(scene.boxes) >= 3
    for card, boxes in scene.boxes:
        assert_inside_and_apart(boxes, card, "a team card")
    labels = {label for _, boxes in scene.boxes for label, _ in boxes}
    assert {"name", "value", "gap", "member"} <= labels  # the card's middle holds its members


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_eight_teams_stay_inside_their_cards_too(size: tuple[int, int], tmp_path: Path) -> None:
    names = ["Åsa's crew", "Ночная смена", "Escalations", "Billing", "Onboarding", "VIP desk", "Returns", "Chat"]
    config = file_floor(tmp_path, [(f"t{n}", name, [10 + n, 5 * n]) for n, name in enumerate(names)],
                        'rank_by = "tickets_solved"')
    preview = demo(size, tmp_path / "state", config=config)
    scene = teams_scene(preview)
    render(preview, "teams")
    cards = [(card, boxes) for card, boxes in scene.boxes if any(label == "name" for label, _ in boxes)]
    assert len(cards) == 8
    for card, boxes in cards:
        assert_inside_and_apart(boxes, card, "a team card")


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_a_long_team_name_is_written_whole_when_its_card_has_room(size: tuple[int, int], tmp_path: Path) -> None:
    name = "Customer Success Escalations"
    config = file_floor(tmp_path, [("a", name, [30, 20]), ("b", "Beta", [25]), ("c", "Gamma", [5])],
                        'rank_by = "tickets_solved"')
    preview = demo(size, tmp_path / "state", config=config)
    scene = teams_scene(preview)
    render(preview, "teams")
    stage = preview.wall.stage
    shown = next(rect for card, boxes in scene.boxes for label, rect in boxes if label == "name")
    whole_at_the_smallest = stage.fonts.width(name, "text", stage.px(0), True)
    assert shown.w >= whole_at_the_smallest  # never cut to "Customer Succ…" while a smaller size fits it whole


def seed_yesterday(state: Path, clock: FakeClock) -> None:
    cal = Calendar("UTC")
    yesterday = cal.previous(cal.period("day", datetime.fromtimestamp(clock.wall(), timezone.utc)))
    History(state).record(yesterday.key, [("team", "night", "tickets_solved", 203.0),
                                          ("team", "day", "tickets_solved", 171.0)])


def record_scene(size: tuple[int, int], state: Path, *, history: bool):  # type: ignore[no-untyped-def]
    clock = FakeClock()
    if history:
        seed_yesterday(state, clock)
    preview = build_wall(load_config(str(ROOT / "config.toml")), size, clock=clock, state=state)
    scene = preview.wall.scenes["record"]
    assert isinstance(scene, RecordScene)
    return preview, scene


def test_on_the_first_day_the_record_says_there_is_none_yet_and_who_is_chasing_the_best_so_far(tmp_path: Path) -> None:
    _, scene = record_scene((1920, 1080), tmp_path, history=False)
    record = scene.record()
    above, number, below, heading, rows = scene.lines(record)
    assert above == "No record yet: today's best becomes the first"
    assert number == f"{record.leader_value:.0f}"
    assert below == "tickets solved so far by Night shift"
    assert heading == "Today's race for the first record"
    assert rows[0].name == "Night shift" and rows[0].status.endswith("best so far") and rows[0].done
    leader = record.leader_value
    for row, (subject, value) in zip(rows[1:], [s for s in record.today if s[0] != record.leader]):
        assert row.status == f"{value:.0f} · {leader - value:.0f} to go"
        assert row.fraction == pytest.approx(value / leader)
    assert len(rows) == 3  # every team is in the race


def test_later_the_record_names_yesterdays_best_its_holder_and_what_each_team_has_left(tmp_path: Path) -> None:
    _, scene = record_scene((1920, 1080), tmp_path, history=True)
    record = scene.record()
    above, number, below, heading, rows = scene.lines(record)
    assert (above, number, below) == ("The record to beat: yesterday's best", "203", "tickets solved, set by Night shift")
    assert heading == "Today so far · tickets solved"
    assert [(r.name, r.status) for r in rows] == [
        (scene._who(s), f"{v:.0f} · {203 - v:.0f} to go") for s, v in record.today]
    assert not any(r.done for r in rows)


@pytest.mark.parametrize("history", [False, True], ids=["first-day", "later"])
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_every_text_on_the_record_board_stays_on_it_and_none_overlap(size: tuple[int, int], history: bool,
                                                                     tmp_path: Path) -> None:
    preview, scene = record_scene(size, tmp_path, history=history)
    render(preview, "record")
    area = preview.wall.stage.content()
    slate = area.inflate(-area.w // 24, -area.h // 24)
    assert_inside_and_apart(scene.boxes, slate, "the chalk board")
    assert sum(1 for label, _ in scene.boxes if label == "row") == 3
    used = pygame.Rect.unionall(scene.boxes[0][1], [r for _, r in scene.boxes[1:]])
    assert used.w * used.h >= 0.6 * slate.w * slate.h  # the board is filled, not a number in the middle


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_a_team_target_in_the_config_shows_each_teams_progress_on_its_card(size: tuple[int, int],
                                                                          tmp_path: Path) -> None:
    config = file_floor(tmp_path, [("a", "Alpha", [30, 20]), ("b", "Beta", [25]), ("c", "Gamma", [5])],
                        'rank_by = "tickets_solved"\n\n[[challenges]]\nid = "team-80"\ntitle = "{target} as a team"\n'
                        'kind = "target"\nscope = "team"\nmetric = "tickets_solved"\npoints = 10\ntarget = 80\n')
    preview = demo(size, tmp_path / "state", config=config)
    scene = teams_scene(preview)
    assert [scene.target(t).value for t in scene.standings()] == [50, 25, 5]  # type: ignore[union-attr]
    render(preview, "teams")
    cards = [(card, boxes) for card, boxes in scene.boxes if any(label == "name" for label, _ in boxes)]
    for card, boxes in cards:
        assert {"target", "target value"} <= {label for label, _ in boxes}
        assert_inside_and_apart(boxes, card, "a team card")

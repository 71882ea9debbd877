"""Scenes fit their screen: on the demo floor, at 1920x1080, 1280x720 and portrait 1080x1920, on its
first day and mid-day with a week behind it, every text a scene draws lies inside the content area,
no two texts overlap, and none is cut short with "…". And what the scenes say.

Texts are caught as they are blitted, on a real pygame surface that notes where each one lands.
"""

from __future__ import annotations

import dataclasses
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pygame
import pytest

from display.clock import FakeClock
from display.fonts import ELLIPSIS
from display.shot import Preview, build_wall, init_offscreen, make_stage
from display.themes import builtin_names, load_theme
from display.wall import Wall
from feeds.board.build import build_board
from feeds.game.compare import Change, Comparison
from feeds.config.schema import load_config
from feeds.live.coordinator import FeedState
from feeds.connectors.parse import normalise
from helpers import ROOT, agent, doc, seed_history, write_config

SIZES = ((1920, 1080), (1280, 720), (1080, 1920))
SCENES = ("history", "challenges", "near", "wins")


class Recording(pygame.Surface):
    """A surface that remembers the rectangle of everything blitted onto it."""

    def __init__(self, size: tuple[int, int]) -> None:
        super().__init__(size)
        self.placed: list[pygame.Rect] = []

    def blit(self, source: pygame.Surface, dest, area=None, special_flags: int = 0) -> pygame.Rect:  # type: ignore[override]
        rect = source.get_rect(topleft=dest.topleft if isinstance(dest, pygame.Rect) else dest)
        self.placed.append(rect)
        return super().blit(source, dest, area, special_flags)


@pytest.fixture(autouse=True, scope="module")
def utc() -> Iterator[None]:
    old = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if old is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = old
    time.tzset()


def preview(size: tuple[int, int], state: Path, theme: str = "dark") -> Preview:
    return build_wall(load_config(str(ROOT / "config.toml")), size, clock=FakeClock(), state=state,
                      theme=load_theme(theme, ROOT))


def drawn(preview: Preview, scene: str) -> tuple[Recording, list[str]]:
    """The scene drawn on its own, and every text it rendered (ending in "…" where it was cut short)."""
    wall = preview.wall
    texts: list[str] = []
    fonts = wall.stage.fonts
    render = fonts.render

    def noting(text: str, role: str, px: int, colour: tuple[int, int, int], *, bold: bool = False,
               max_width: int | None = None) -> pygame.Surface:
        cut = max_width is not None and fonts.width(text, role, px, bold) > max_width
        texts.append(text + ELLIPSIS if cut else text)
        return render(text, role, px, colour, bold=bold, max_width=max_width)

    fonts.render = noting  # type: ignore[method-assign]
    try:
        surface = Recording(wall.stage.size)
        wall.scenes[scene].draw(surface)
    finally:
        del fonts.render
    return surface, texts


def assert_fits(surface: Recording, area: pygame.Rect, where: str) -> None:
    for rect in surface.placed:
        assert area.contains(rect), f"{where}: {rect} leaves the content area {area}"
    for i, a in enumerate(surface.placed):
        for b in surface.placed[i + 1:]:
            assert not a.clip(b).w * a.clip(b).h > 0, f"{where}: {a} overlaps {b}"


@pytest.mark.parametrize("moment", ("first-day", "mid-day"))
@pytest.mark.parametrize("theme", builtin_names())
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("scene", SCENES)
def test_every_text_of_a_scene_is_inside_the_screen_whole_and_apart(scene: str, size: tuple[int, int], theme: str,
                                                                     moment: str, tmp_path: Path) -> None:
    if moment == "mid-day":  # a week of history behind the floor, and this morning hour by hour
        seed_history(tmp_path, FakeClock().wall())
    shown = preview(size, tmp_path, theme)
    surface, texts = drawn(shown, scene)
    assert surface.placed, f"{scene} drew no text"
    assert_fits(surface, shown.wall.stage.content(), f"{scene} at {size} in {theme}")
    cut = [t for t in texts if ELLIPSIS in t]
    assert not cut, f"{scene} at {size} in {theme} cut texts short: {cut}"


def test_a_long_text_is_wrapped_at_spaces_and_only_what_does_not_fit_ends_in_an_ellipsis(tmp_path: Path) -> None:
    from display.widgets import wrap_text

    stage = preview((1080, 1920), tmp_path).wall.stage
    size = stage.theme.sizes.small
    width = stage.fonts.width("Tusen tack för tipset", "text", stage.px(size))
    quote = "Tusen tack för tipset om returer, Åsa — du räddade min eftermiddag"
    lines = wrap_text(stage, quote, size, width, 5)
    assert " ".join(lines) == quote and len(lines) > 2
    assert all(stage.fonts.width(line, "text", stage.px(size)) <= width for line in lines)
    two = wrap_text(stage, quote, size, width, 2)
    assert len(two) == 2 and two[0] == lines[0] and two[1].endswith(ELLIPSIS)
    word = wrap_text(stage, "Överhuvudtaget" * 4, size, width, 9)
    assert "".join(word) == "Överhuvudtaget" * 4 and len(word) > 1


def small_wall(tmp_path: Path, size: tuple[int, int], extra: str = "") -> Wall:
    init_offscreen()
    loaded = load_config(str(write_config(tmp_path, extra)))
    return Wall(make_stage(loaded, size, FakeClock()))


def texts_of(wall: Wall, scene: str) -> list[str]:
    return drawn(Preview(wall, None, FakeClock()), scene)[1]  # type: ignore[arg-type]


def test_near_you_says_what_every_gap_counts(tmp_path: Path) -> None:
    texts = drawn(preview((1920, 1080), tmp_path), "near")[1]
    assert any(t.endswith("score points to catch") for t in texts)
    assert not [t for t in texts if re.match(r"[\d.]+ (to catch|ahead of)", t)]  # a bare number: a gap of what?
    people = [agent("ann", 30, team="night"), agent("bob", 27, team="night"), agent("cy", 26, team="day")]
    wall = small_wall(tmp_path, (1920, 1080), '[board]\nrank_by = "tickets_solved"\n')
    wall.update(FeedState(build_board(normalise(doc(*people)), wall.stage.board), 1.0, None, 0, False, 1))
    texts = texts_of(wall, "near")
    assert "3 tickets solved to catch Ann" in texts and "1 tickets solved to catch Bob" in texts
    assert "top, 3 tickets solved clear of Bob" in texts


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_near_you_shows_each_teams_top_member_and_its_bottom_when_space_runs_out(size: tuple[int, int],
                                                                                tmp_path: Path) -> None:
    wall = small_wall(tmp_path, size, '[board]\nrank_by = "tickets_solved"\n')
    people = [agent(f"a{i}", 90 - i, team="night") for i in range(60)] + [agent("solo", 1, team="day")]
    wall.update(FeedState(build_board(normalise(doc(*people)), wall.stage.board), 1.0, None, 0, False, 1))
    texts = texts_of(wall, "near")
    assert "A0" in texts and "A59" in texts and "Solo" in texts
    assert "A30" not in texts  # the middle gives way
    assert any(re.fullmatch(r"\d+ of 60 shown", t) for t in texts)  # and says so


def history_wall(tmp_path: Path, size: tuple[int, int], comparison: object) -> Wall:
    from feeds.game.challenges import GameState

    wall = small_wall(tmp_path, size)
    board = build_board(normalise(doc(agent("ann", 9, team="day"), agent("bob", 7, team="night"))),
                        wall.stage.board)
    wall.update(dataclasses.replace(FeedState(board, 1.0, None, 0, False, 1),
                                    game=GameState("day:2026-11-25", comparison=comparison)))  # type: ignore[arg-type]
    return wall


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_history_on_the_first_day_says_so_and_shows_nothing_twice(size: tuple[int, int], tmp_path: Path) -> None:
    first = Comparison("tickets_solved", False, Change("floor", 16, None), Change("week", 16, None),
                       (Change("day", 9, None), Change("night", 7, None)), (), (), (("day:2026-11-25", 16.0),),
                       ((480, 2.0), (540, 9.0), (600, 16.0)), ())
    texts = texts_of(history_wall(tmp_path, size, first), "history")
    assert "no figure for then yet" not in texts and "The first day on record:" in texts
    assert not [t for t in texts if t.startswith("This week")]  # the week so far is today: said once
    assert "today" in texts and "yesterday" not in texts and "12" in texts  # the curve's legend and hours
    assert "56 % of the floor" in texts  # a team's share, while there is no yesterday to compare with


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_history_draws_todays_curve_against_yesterdays_and_the_week_once_it_adds_up(size: tuple[int, int],
                                                                                     tmp_path: Path) -> None:
    c = Comparison("tickets_solved", False, Change("floor", 16, 10), Change("week", 40, 30),
                   (Change("day", 9, 6), Change("night", 7, 4)), (Change("ann", 9, 6),), ("bob",),
                   (("day:2026-11-24", 24.0), ("day:2026-11-25", 16.0)),
                   ((480, 2.0), (540, 9.0), (600, 16.0)), ((420, 1.0), (480, 4.0), (540, 10.0), (1440, 24.0)))
    wall = history_wall(tmp_path, size, c)
    texts = texts_of(wall, "history")
    assert "+60 %" in texts and "on yesterday at this time (10)" in " ".join(texts)
    assert "Yesterday ended on 24" in texts
    assert "This week so far: 40" in " ".join(texts) and "last week by now 30 (+33 %)" in " ".join(texts)
    assert {"today", "yesterday", "07", "09"} <= set(texts)
    surface = pygame.Surface(wall.stage.size)
    wall.scenes["history"].draw(surface)
    accent = wall.stage.colour("accent")
    area = wall.stage.content()
    lower = pygame.Rect(area.x, area.centery, area.w, area.h // 2)
    # the curve: a thick line of the accent colour in the chart, not only the legend's short stroke
    line = sum(1 for x in range(lower.x, lower.right, 2) for y in range(lower.y, lower.bottom, 2)
               if surface.get_at((x, y))[:3] == accent)
    assert line > 150


def test_a_decided_race_shows_its_winner_and_who_came_closest(tmp_path: Path) -> None:
    texts = drawn(preview((1920, 1080), tmp_path), "challenges")[1]
    assert "First to 40 tickets today — won by Kwame Mensah" in texts
    assert "47 / 40  won" in texts and "43 / 40  2nd" in texts and "38 / 40  3rd" in texts
    assert "Björn Källström" not in texts  # fourth in the race: not listed (and done in the other challenge)


def test_those_who_are_done_share_one_line_and_everyone_done_says_so(tmp_path: Path) -> None:
    texts = drawn(preview((1920, 1080), tmp_path), "challenges")[1]
    assert "10 of 15 done" in texts and any(t.startswith("Kwame Mensah, ") for t in texts)  # the best by name
    assert not [t for t in texts if t.endswith("done") and "/" in t]  # not a row each
    assert "29 / 30" in texts  # then those still going, closest first
    people = [agent(n, 31 + i) for i, n in enumerate(("ann", "bob", "cy"))]
    config = '[[challenges]]\nid = "solve"\ntitle = "Solve 30 today"\nkind = "target"\nmetric = "tickets_solved"\n' \
        'target = 30\npoints = 10\n'
    from feeds.game.engine import Engine
    from feeds.game.history import History
    from feeds.game.ledger import Ledger

    wall = small_wall(tmp_path, (1280, 720), config)
    engine = Engine(Ledger(tmp_path / "s"), load_config(str(tmp_path / "config.toml")).config, History(tmp_path / "s"))
    snapshot = normalise(doc(*people))
    engine.process(snapshot)  # type: ignore[arg-type]
    wall.update(dataclasses.replace(FeedState(build_board(snapshot, wall.stage.board), 1.0, None, 0, False, 1),
                                    game=engine.game))
    texts = texts_of(wall, "challenges")
    assert "Everyone is done: all 3" in texts and "Cy, Bob, Ann" in texts
    assert not [t for t in texts if "/ 30" in t]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_every_challenge_bar_ends_on_one_grid(size: tuple[int, int], tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    shown = preview(size, tmp_path)
    track = shown.wall.stage.colour("background")
    ends: list[int] = []
    real = pygame.draw.rect

    def noting(surface: pygame.Surface, colour: object, rect: object, *args: object, **kwargs: object) -> pygame.Rect:
        if tuple(colour)[:3] == track:  # type: ignore[arg-type]  # a bar's track: its full length
            ends.append(pygame.Rect(rect).right)  # type: ignore[arg-type]
        return real(surface, colour, rect, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pygame.draw, "rect", noting)
    shown.wall.scenes["challenges"].draw(pygame.Surface(size))
    assert len(ends) >= 5 and len(set(ends)) == 1, ends


def test_the_wins_scene_waits_in_the_rotation_until_the_days_first_win(tmp_path: Path) -> None:
    wall = small_wall(tmp_path, (1280, 720))
    board = build_board(normalise(doc(agent("ann", 9))), wall.stage.board)
    wall.update(FeedState(board, 1.0, None, 0, False, 1))
    assert not wall.scenes["wins"].has_content()
    assert "No wins or thanks yet today" in texts_of(wall, "wins")  # what a preview of it says
    thanks = {"id": "k1", "type": "kudos", "at": "2026-11-18T09:00:00Z", "to": "ann", "text": "Tack!"}
    board = build_board(normalise(doc(agent("ann", 9), events=[thanks])), wall.stage.board)
    wall.update(FeedState(board, 1.0, None, 0, False, 2))
    assert wall.scenes["wins"].has_content()


def test_a_thank_you_card_follows_a_renamed_agent(tmp_path: Path) -> None:
    wall = small_wall(tmp_path, (1080, 1920))
    thanks = {"id": "k1", "type": "kudos", "at": "2026-11-18T09:00:00Z", "to": "ann", "from": "bob", "text": "Tack!"}
    people = [agent("ann", 9), agent("bob", 3)]
    wall.update(FeedState(build_board(normalise(doc(*people, events=[thanks])), wall.stage.board), 1.0, None, 0,
                          False, 1))
    assert "Ann" in texts_of(wall, "wins")
    people[0]["name"] = "Ann-Sofie Öberg"
    wall.update(FeedState(build_board(normalise(doc(*people, events=[thanks])), wall.stage.board), 1.0, None, 0,
                          False, 2))
    assert "Ann-Sofie Öberg" in texts_of(wall, "wins")


def test_on_the_first_day_history_joins_the_rotation_once_the_curve_spans_two_hours(tmp_path: Path) -> None:
    early = Comparison("tickets_solved", False, Change("floor", 9, None), Change("week", 9, None), (), (), (),
                       (("day:2026-11-25", 9.0),), ((480, 2.0), (520, 9.0)), ())
    assert not history_wall(tmp_path, (1280, 720), early).scenes["history"].has_content()
    later = dataclasses.replace(early, hourly=((480, 2.0), (540, 5.0), (600, 8.0), (610, 9.0)))
    assert history_wall(tmp_path, (1280, 720), later).scenes["history"].has_content()

"""The display's behaviour on real pygame surfaces with a fake clock: motion, frames, celebrations."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pygame
import pytest

from display.anim import Motion, Tween, ease_in_out_cubic
from display.clock import FakeClock
from display.fonts import ELLIPSIS, FontBook, find_family, fit
from display.shot import init_offscreen, make_stage
from display.stage import Stage
from display.themes import MIN_TEXT, Sizes, builtin_names, contrast, load_theme
from display.wall import Wall
from display.widgets import format_value, initials
from feeds.board.build import build_board, limit_to_teams
from feeds.config.schema import BoardConfig, DisplayConfig, LoadedConfig, load_config
from feeds.live.coordinator import FeedState
from feeds.board.diff import FeedEventReceived
from feeds.model import FeedEvent
from feeds.connectors.parse import normalise
from helpers import ROOT, agent, doc, write_config

init_offscreen()


def stage_for(tmp_path: Path, size: tuple[int, int] = (1280, 720), extra: str = "") -> Stage:
    loaded = load_config(str(write_config(tmp_path, f'[display]\nsecondary = "csat"\n{extra}')))
    return make_stage(loaded, size, FakeClock())


def state(*agents: dict, generation: int, events: list | None = None, stale: bool = False,
          teams: list | None = None) -> FeedState:
    board = build_board(normalise(doc(*agents, events=events, teams=teams)), BoardConfig())
    return FeedState(board, 1.0, None, 0, stale, generation)


def test_a_tween_at_start_mid_and_end() -> None:
    clock = FakeClock()
    tween = Tween(clock, 3.0)
    tween.to(0.0, 0.8)
    assert tween.value() == 3.0 and tween.moving()
    clock.advance(0.4)
    assert tween.value() == pytest.approx(3.0 - 3.0 * ease_in_out_cubic(0.5)) == pytest.approx(1.5)
    tween.to(0.0, 0.8)  # the same target again mid-flight: no restart, no jump
    assert tween.value() == pytest.approx(1.5)
    clock.advance(0.4001)
    assert tween.value() == 0.0 and not tween.moving()


def test_a_change_mid_flight_continues_from_where_it_is() -> None:
    clock = FakeClock()
    tween = Tween(clock, 0.0)
    tween.to(10.0, 1.0)
    clock.advance(0.5)
    here = tween.value()
    tween.to(0.0, 1.0)
    assert tween.value() == pytest.approx(here)  # several changes at once animate without jumps


def test_motion_modes() -> None:
    assert Motion("full").duration(0.8) == 0.8
    assert Motion("reduced").duration(0.8) == 0.0 and Motion("reduced").duration(0.8, essential=True) == 0.4
    assert Motion("none").duration(0.8, essential=True) == 0.0


def test_a_rank_change_slides_rows_and_counts_up(tmp_path: Path) -> None:
    stage = stage_for(tmp_path)
    wall = Wall(stage)
    wall.update(state(agent("ann", 9), agent("bob", 7), agent("cat", 5), generation=1))
    scene = wall.scenes["leaderboard"]
    screen = pygame.Surface(stage.size)
    wall.frame(screen)
    wall.update(state(agent("ann", 9), agent("bob", 7), agent("cat", 8), generation=2))
    assert wall.celebrations.current is None  # a move, not a new leader: no banner
    rows = scene.rows  # type: ignore[attr-defined]
    assert (rows["cat"].slot.value(), rows["bob"].slot.value()) == (2.0, 1.0)  # t = 0: where they were
    assert rows["cat"].value.value() == 5.0
    assert rows["cat"].move == 1
    stage.clock.advance(0.4)  # type: ignore[attr-defined]
    assert rows["cat"].slot.value() == pytest.approx(1.5) and rows["bob"].slot.value() == pytest.approx(1.5)
    assert 5.0 < rows["cat"].value.value() < 8.0
    first = wall.frame(screen)
    assert first and all(r.w > 0 for r in first)
    band = first[0]
    assert band.h < stage.h // 2  # only the rows that move are redrawn, not the whole screen
    stage.clock.advance(0.4001)  # type: ignore[attr-defined]
    assert (rows["ann"].slot.value(), rows["cat"].slot.value(), rows["bob"].slot.value()) == (0.0, 1.0, 2.0)
    assert rows["cat"].value.value() == 8.0
    wall.frame(screen)
    stage.clock.advance(1.0)  # type: ignore[attr-defined]
    assert wall.frame(screen) == []  # settled: nothing more to draw


def test_no_motion_jumps_to_the_end(tmp_path: Path) -> None:
    stage = stage_for(tmp_path, extra='animation = "none"')
    wall = Wall(stage)
    wall.update(state(agent("ann", 9), agent("cat", 5), generation=1))
    wall.update(state(agent("ann", 9), agent("cat", 12), generation=2))
    rows = wall.scenes["leaderboard"].rows  # type: ignore[attr-defined]
    assert rows["cat"].slot.value() == 0.0 and rows["cat"].value.value() == 12.0
    assert not wall.animating()


def test_a_still_board_draws_nothing_until_the_minute_changes(tmp_path: Path) -> None:
    stage = stage_for(tmp_path)
    wall = Wall(stage)
    screen = pygame.Surface(stage.size)
    st = state(agent("ann", 9), agent("bob", 7), generation=1)
    wall.update(st)
    assert wall.frame(screen) == [screen.get_rect()]
    clock: FakeClock = stage.clock  # type: ignore[assignment]
    clock.advance(1 - clock.wall() % 60 % 1)
    for _ in range(20):
        clock.advance(0.5)
        wall.update(st)
        if clock.wall() % 60 < 0.5:
            assert wall.frame(screen) == [screen.get_rect()]  # the header clock's minute
        else:
            assert wall.frame(screen) == []
    assert wall.next_wake() <= clock.now() + 60


def test_stale_shows_a_notice_and_keeps_the_board(tmp_path: Path) -> None:
    stage = stage_for(tmp_path)
    wall = Wall(stage)
    screen = pygame.Surface(stage.size)
    wall.update(state(agent("ann", 9), generation=1))
    wall.frame(screen)
    corner = (stage.w - stage.margin, stage.h - stage.margin // 2)
    before = screen.get_at(corner)
    wall.update(state(agent("ann", 9), generation=1, stale=True))
    assert wall.frame(screen) == [screen.get_rect()]
    assert wall.view is not None and wall.view.agents[0].agent.id == "ann"
    pixels = {tuple(screen.get_at((x, corner[1] - y))[:3]) for x in range(stage.w - 400, stage.w - 20, 7)
              for y in range(0, 40, 4)}
    assert stage.colour("stale") in pixels and screen.get_at(corner) != before


def test_what_a_connector_says_about_its_source_is_a_notice_that_leaves_with_it(tmp_path: Path) -> None:
    stage = stage_for(tmp_path)
    wall = Wall(stage)
    screen = pygame.Surface(stage.size)
    wall.update(state(agent("ann", 9), generation=1))
    wall.frame(screen)
    note = "Catching up with Zendesk: today's numbers are partial"
    wall.update(dataclasses.replace(state(agent("ann", 9), generation=2), notes=(note,)))
    assert wall.frame(screen) == [screen.get_rect()]
    assert wall.notices() == [note]
    wall.update(state(agent("ann", 9), generation=3))
    assert wall.frame(screen) == [screen.get_rect()] and wall.notices() == []


def test_waiting_screen_before_the_first_data(tmp_path: Path) -> None:
    stage = stage_for(tmp_path)
    wall = Wall(stage)
    screen = pygame.Surface(stage.size)
    wall.update(FeedState(None, None, "cannot connect: refused", 3, False, 0))
    assert wall.frame(screen) == [screen.get_rect()]
    background = stage.background().get_at(stage.content().center)
    assert any(screen.get_at((x, stage.content().centery)) != background for x in range(0, stage.w, 5))


def challenge(n: int, who: str = "ann", at: str | None = None) -> FeedEventReceived:
    data = {"agent": who, "challenge": f"Solve {n} tickets", "points": 10.0}
    return FeedEventReceived(FeedEvent(f"c{n}", "challenge_completed", at, data))


def test_celebrations_one_at_a_time_then_coalesced(tmp_path: Path) -> None:
    stage = stage_for(tmp_path, extra="celebration_seconds = 5")
    wall = Wall(stage)
    clock: FakeClock = stage.clock  # type: ignore[assignment]
    st = state(agent("ann", 9), agent("bob", 7), generation=1)
    wall.update(st, [challenge(1)])
    assert wall.celebrations.current is not None and wall.celebrations.current.detail == "Solve 1 tickets"
    wall.update(st, [challenge(2)])
    assert wall.celebrations.current.detail == "Solve 1 tickets" and len(wall.celebrations.queue) == 1
    clock.advance(5)
    wall.update(st)
    assert wall.celebrations.current.detail == "Solve 2 tickets"
    wall.update(st, [challenge(n, "bob") for n in range(3, 8)])
    clock.advance(5)
    wall.update(st)
    burst = wall.celebrations.current
    assert burst.title == "5 challenges completed!" and burst.points == 50 and burst.detail == "Bob"
    clock.advance(5)
    wall.update(st)
    assert wall.celebrations.current is burst  # a burst is a big moment: 1.5 x as long, not 5 x
    clock.advance(2.5)
    wall.update(st)
    assert wall.celebrations.current is None and not wall.celebrations.queue


def test_kudos_is_a_toast_and_old_events_are_not_celebrated(tmp_path: Path) -> None:
    stage = stage_for(tmp_path)
    wall = Wall(stage)
    st = state(agent("ann", 9), agent("bob", 7), generation=1)
    kudos = FeedEventReceived(FeedEvent("k", "kudos", None, {"from": "bob", "to": "ann", "text": "Tack!"}))
    wall.update(st, [kudos, challenge(1, at="2020-01-01T00:00:00+00:00")])
    assert wall.celebrations.current is None  # yesterday's news after a restart stays quiet
    assert [t.title for _, t in wall.celebrations.toasts] == ["Bob thanked Ann"]


def test_a_new_leader_is_celebrated(tmp_path: Path) -> None:
    stage = stage_for(tmp_path)
    wall = Wall(stage)
    wall.update(state(agent("ann", 9), agent("bob", 7), generation=1))
    wall.update(state(agent("ann", 9), agent("bob", 10), generation=2))
    assert wall.celebrations.current is not None
    assert (wall.celebrations.current.title, wall.celebrations.current.detail) == ("Bob", "takes the lead!")


def test_a_team_wall_ranks_and_celebrates_its_own_team(tmp_path: Path) -> None:
    stage = stage_for(tmp_path, extra='teams = ["night"]')
    wall = Wall(stage)
    st = state(agent("ann", 9, team="day"), agent("bob", 7, team="night"), agent("cat", 5, team="night"),
               generation=1)
    wall.update(st, [challenge(1, "ann"), challenge(2, "cat")])
    assert [(a.rank, a.agent.id) for a in wall.view.agents] == [(1, "bob"), (2, "cat")]
    assert wall.celebrations.current.title == "Cat" and not wall.celebrations.queue
    full = limit_to_teams(st.board, ())
    assert full is st.board


def test_text_never_smaller_than_a_36th_of_the_height() -> None:
    tiny = Sizes(**{f.name: MIN_TEXT for f in dataclasses.fields(Sizes)})
    for name in builtin_names():
        theme = load_theme(name, ROOT)
        for size in ((1280, 720), (1920, 1080), (3840, 2160), (1080, 1920)):
            stage = Stage(size, dataclasses.replace(theme, sizes=tiny), FontBook({}), FakeClock(), Motion(),
                          DisplayConfig(), BoardConfig())
            for field in dataclasses.fields(Sizes):
                assert stage.px(getattr(theme.sizes, field.name)) >= size[1] / 36
                assert stage.px(getattr(tiny, field.name)) >= size[1] / 36


def test_built_in_themes_have_readable_contrast() -> None:
    for name in builtin_names():
        theme = load_theme(name, ROOT)
        assert contrast(theme.colour("text"), theme.colour("background")) >= 4.5
        assert contrast(theme.colour("muted"), theme.colour("surface")) >= 4.5


def test_fonts_cover_swedish_cyrillic_and_fall_back_for_other_scripts() -> None:
    assert find_family("Noto Sans", True) and find_family("DejaVu Sans", False)
    assert find_family("No Such Font Family", False) is None
    book = FontBook({"text": ("Noto Sans", "DejaVu Sans")})
    noto = book.chain("text", 40, False)[0][0]
    assert book.font_for("Åsa Ödegård Алексей Nguyễn", "text", 40) is noto
    georgian = book.font_for("ნინო", "text", 40)  # Noto Sans has no Georgian; DejaVu Sans does
    assert georgian is not noto


def test_remembered_measures_are_the_fonts_own_and_stay_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    import display.fonts as fonts

    monkeypatch.setattr(fonts, "MEASURED_TEXTS", 50)
    book = FontBook({"text": ("Noto Sans", "DejaVu Sans")})
    noto = book.chain("text", 40, True)[0][0]
    for text in ("Åsa Ödegård", "ნინო", "Åsa Ödegård"):  # asked twice: the same answer from memory
        font = book.font_for(text, "text", 40, True)
        assert (font is noto) == (text != "ნინო")
        assert book.width(text, "text", 40, True) == font.size(text)[0]
    regular = book.chain("text", 40, False)[1][0]  # DejaVu Sans: Noto Sans has no Georgian
    assert book.width("ნინო", "text", 40, False) == regular.size("ნინო")[0] != book.width("ნინო", "text", 40, True)
    for n in range(200):
        book.width(f"agent {n}", "text", 40)
    remembered = {text for text, *_ in book._measured}
    assert len(remembered) == 50 and "agent 199" in remembered and "agent 0" not in remembered  # oldest out first


def test_long_names_are_ellipsised_to_fit() -> None:
    book = FontBook({"text": ("Noto Sans",)})
    font = book.chain("text", 40, True)[0][0]
    name = "Александра " + "Ж" * 189
    shown = fit(font, name, 500)
    assert shown.endswith(ELLIPSIS) and font.size(shown)[0] <= 500 and name.startswith(shown[:-1])
    assert fit(font, "Åsa", 500) == "Åsa"
    surface = book.render(name, "text", 40, (255, 255, 255), bold=True, max_width=500)
    assert surface.get_width() <= 500


def test_little_helpers() -> None:
    assert initials("Åsa Ödegård") == "ÅÖ" and initials("Nguyễn Thị Lan") == "NL" and initials("Madonna") == "M"
    board = BoardConfig()
    assert format_value(1234.0, "tickets_solved", board) == "1\u2009234" and format_value(None, "x", board) == "–"


def _env_without_display() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER",
                                                            "CHALKWALL_CONFIG")}
    return env


def test_run_without_a_display_says_so_in_one_line(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "display.cli", "run"], capture_output=True, text=True,
                            env=_env_without_display(), cwd=tmp_path, timeout=60)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("chalkwall: no display available")
    assert "chalkwall shot" in lines[0] and "Traceback" not in result.stderr


def test_shot_writes_a_png_of_the_asked_size(tmp_path: Path) -> None:
    out = tmp_path / "board.png"
    result = subprocess.run([sys.executable, "-m", "display.cli", "shot", "--scene", "teams", "--size", "1280x720",
                             "--theme", "light", "--out", str(out)], capture_output=True, text=True, cwd=tmp_path,
                            env=_env_without_display(), timeout=60)
    assert result.returncode == 0, result.stderr
    assert pygame.image.load(str(out)).get_size() == (1280, 720)
    bad = subprocess.run([sys.executable, "-m", "display.cli", "shot", "--scene", "teams", "--size", "huge",
                          "--out", str(out)], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert bad.returncode == 2 and "--size must look like" in bad.stderr


def test_the_loaded_config_type_is_what_shot_uses() -> None:
    loaded = load_config(str(ROOT / "config.toml"))
    assert isinstance(loaded, LoadedConfig) and loaded.config.display.secondary == "csat"


def _same(a: pygame.Surface, b: pygame.Surface) -> bool:
    return pygame.image.tobytes(a, "RGB") == pygame.image.tobytes(b, "RGB")


def test_partial_frames_leave_the_same_picture_as_a_full_redraw(tmp_path: Path) -> None:
    stage = stage_for(tmp_path)
    wall = Wall(stage)
    clock: FakeClock = stage.clock  # type: ignore[assignment]
    screen = pygame.Surface(stage.size)
    fresh = pygame.Surface(stage.size)
    wall.update(state(agent("ann", 9), agent("bob", 7), agent("cat", 5), agent("dan", 4), generation=1))
    wall.frame(screen)
    wall.update(state(agent("ann", 9), agent("bob", 7), agent("cat", 8), agent("dan", 7.5), generation=2))
    partial_frames = 0
    for _ in range(70):  # slides, count-ups, then still
        clock.advance(1 / 60)
        wall.update(wall.state)
        rects = wall.frame(screen)
        partial_frames += bool(rects) and rects[0] != screen.get_rect()
        wall.draw(fresh)
        assert _same(screen, fresh)
    assert partial_frames > 30


def test_confetti_frames_leave_the_same_picture_as_a_full_redraw(tmp_path: Path) -> None:
    stage = stage_for(tmp_path)
    wall = Wall(stage)
    clock: FakeClock = stage.clock  # type: ignore[assignment]
    screen = pygame.Surface(stage.size)
    st = state(agent("ann", 9), agent("bob", 7), generation=1)
    wall.update(st)
    wall.frame(screen)
    wall.update(st, [challenge(1)])
    reference = pygame.Surface(stage.size)
    for n in range(200):
        clock.advance(1 / 60)
        wall.update(st)
        wall.frame(screen)
        if n % 20 == 19:
            # the reference: the same moment drawn from scratch by a wall that only does full frames
            wall.invalidate()
            wall.frame(reference)
            assert _same(screen, reference), f"frame {n} differs from a full redraw"
    assert not wall.celebrations.animating() and wall.frame(screen) == []  # the banner now stands still


def test_the_theme_sound_plays_with_each_banner_and_a_bad_one_is_survived(tmp_path: Path) -> None:
    import io
    import json
    import wave

    from display.sound import Chime
    from feeds.logs import setup_logging

    path = tmp_path / "ding.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(22050)
        w.writeframes(b"\x00\x10" * 2205)
    chime = Chime(str(path))
    stage = stage_for(tmp_path)
    wall = Wall(stage, chime.play)
    st = state(agent("ann", 9), generation=1)
    wall.update(st, [challenge(1)])
    assert chime.played == 1
    pygame.mixer.quit()
    stream = io.StringIO()
    setup_logging("json", "info", stream)
    try:
        missing = Chime(str(tmp_path / "nope.wav"))
        missing.play()
        missing.play()
    finally:
        setup_logging("plain", "warning")
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [r["event"] for r in records] == ["sound_failed"] and missing.played == 0
    assert Chime("").played == 0


def test_the_rotation_skips_scenes_with_nothing_to_show(tmp_path: Path) -> None:
    stage = stage_for(tmp_path, extra='[[display.scenes]]\nname = "leaderboard"\nseconds = 5\n'
                                     '[[display.scenes]]\nname = "record"\nseconds = 5\n'
                                     '[[display.scenes]]\nname = "challenges"\nseconds = 5\n'
                                     '[[display.scenes]]\nname = "teams"\nseconds = 5\n')
    wall = Wall(stage)
    clock: FakeClock = stage.clock  # type: ignore[assignment]
    st = state(agent("ann", 9, team="day"), generation=1)  # no challenges: no game state
    wall.update(st)
    assert wall.playlist[wall.index].name == "leaderboard"
    clock.advance(5)
    wall.update(st)
    assert wall.playlist[wall.index].name == "teams"  # record and challenges had nothing to show


def test_big_moments_are_bigger(tmp_path: Path) -> None:
    stage = stage_for(tmp_path, extra="celebration_seconds = 4")
    wall = Wall(stage)
    clock: FakeClock = stage.clock  # type: ignore[assignment]
    st = state(agent("ann", 9), agent("bob", 7), teams=[{"id": "night", "name": "Night shift"}], generation=1)
    record = FeedEvent("cw:chalk:team:night:day:2026-11-23", "challenge_completed", None,
                       {"team": "night", "challenge": "Beat yesterday's 7", "points": 150.0, "kind": "record"})
    wall.update(st, [FeedEventReceived(record), challenge(1)])
    banner = wall.celebrations.current
    assert (banner.title, banner.kicker, banner.big) == ("Night shift", "Record broken!", True)
    clock.advance(5)  # past an ordinary banner's 4 s, not a big one's 6 s
    wall.update(st)
    assert wall.celebrations.current is banner
    clock.advance(1)
    wall.update(st)
    assert (wall.celebrations.current.kicker, wall.celebrations.current.big) == ("Challenge completed", False)


def test_near_you_names_whom_to_catch_and_favours_the_bottom_when_space_runs_out(tmp_path: Path) -> None:
    stage = stage_for(tmp_path, size=(1080, 1920))
    wall = Wall(stage)
    people = [agent(f"a{i}", 30 - i, team="night") for i in range(12)] + [agent("solo", 1, team="day")]
    wall.update(state(*people, generation=1))
    near = wall.scenes["near"]
    assert near.has_content()
    teams = dict((t.team.id, places) for t, places in near.teams())  # type: ignore[attr-defined]
    assert [wall.view.agents[i].agent.id for i in teams["night"]][:2] == ["a0", "a1"]
    surface = pygame.Surface(stage.size)
    near.draw(surface)
    row = near._row_height()  # type: ignore[attr-defined]
    assert row >= stage.px(stage.theme.sizes.row) + stage.px(stage.theme.sizes.small)  # two lines really fit
    wall.show("near")
    assert wall.frame(surface) == [surface.get_rect()]


def test_history_scene_needs_something_to_compare(tmp_path: Path) -> None:
    from feeds.game.challenges import GameState
    from feeds.game.compare import Change, Comparison

    stage = stage_for(tmp_path)
    wall = Wall(stage)
    nothing = Comparison("tickets_solved", False, Change("floor", 9, None), Change("week", 9, None), (), (), (),
                         (("day:2026-11-23", 9.0),))
    st = dataclasses.replace(state(agent("ann", 9), generation=1), game=GameState("day:2026-11-23", comparison=nothing))
    wall.update(st)
    assert not wall.scenes["history"].has_content()  # the first day: nothing to compare yet
    some = dataclasses.replace(nothing, today=Change("floor", 9, 6), improved=(Change("ann", 9, 6),),
                               daily=(("day:2026-11-22", 30.0), ("day:2026-11-23", 9.0)))
    wall.update(dataclasses.replace(st, generation=2, game=GameState("day:2026-11-23", comparison=some)))
    history = wall.scenes["history"]
    assert history.has_content() and history.comparison().today.percent == 50.0  # type: ignore[attr-defined]
    wall.show("history")
    surface = pygame.Surface(stage.size)
    assert wall.frame(surface) == [surface.get_rect()]

"""The frame invariant: what reaches the screen always equals a full redraw of the same state.

The wall redraws only what changed (rows that slide, confetti, the toast's slot) to stay cheap on a
Pi, and every shortcut of that kind can leave something behind: a ghost of a toast, the edge of a
banner, a row one pixel short of its place. Here a scripted run — rank changes, a banner with rows
moving under it, toasts, a notice, a config reload mid-banner, a stale flag, a burn-in drift step —
goes through the same path as ``chalkwall run`` (the wall, the drifting canvas, and exactly the
rectangles handed to ``pygame.display.update``), and runs on past the end of every banner and toast.
After every frame the picture the display was given is compared, pixel for pixel, with a full
redraw of a twin wall that was told the same things.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pygame
import pytest
from PIL import Image, ImageChops

from display import burnin
from display.clock import FakeClock
from display.present import Presenter
from display.shot import init_offscreen, make_stage
from display.stage import Notice
from display.themes import load_theme
from display.wall import Wall
from feeds.board.build import build_board
from feeds.config.schema import BoardConfig, LoadedConfig, load_config
from feeds.live.coordinator import FeedState
from feeds.board.diff import BoardEvent, FeedEventReceived
from feeds.model import FeedEvent
from feeds.connectors.parse import normalise
from helpers import agent, doc, write_config

init_offscreen()

NAMES = ["Åsa Ödegård", "Иван Петров", "Björn Källström", "Kwame Mensah", "Lena Sjöberg", "Ольга Смирнова",
         "Ada Obi", "Mikael Nyström", "Priya Raman", "Jonas Åberg", "Sara Lind", "Dmitri Volkov"]
TEAMS = [{"id": "day", "name": "Day shift", "color": "#4a90e2"}, {"id": "night", "name": "Night shift", "color": "#9b59b6"}]


def floor(generation: int, solved: list[int], events: list[dict[str, Any]] | None = None,
          stale: bool = False) -> FeedState:
    agents = [agent(f"a{i}", s, team="day" if i % 2 else "night", csat=90 + i % 7) | {"name": NAMES[i]}
              for i, s in enumerate(solved)]
    board = build_board(normalise(doc(*agents, teams=TEAMS, events=events or [])), BoardConfig())
    return FeedState(board, 1.0, None, 0, stale, generation)


def kudos(n: int, giver: str, taker: str) -> FeedEventReceived:
    return FeedEventReceived(FeedEvent(f"k{n}", "kudos", None, {"from": giver, "to": taker,
                                                               "text": "Thanks for taking my angry caller!"}))


def completion(n: int, who: str) -> FeedEventReceived:
    return FeedEventReceived(FeedEvent(f"c{n}", "challenge_completed", None,
                                       {"agent": who, "challenge": "Solve 30 tickets today", "points": 25}))


@dataclass
class Screen:
    """The real display surface, and a copy of what was handed to ``pygame.display.update``."""

    surface: pygame.Surface
    shown: pygame.Surface
    updates: list[list[pygame.Rect]]


@pytest.fixture
def screen(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[Screen]:
    size = request.param
    surface = pygame.display.set_mode(size)
    shown = pygame.Surface(size)
    seen = Screen(surface, shown, [])
    real_update = pygame.display.update

    def update(rects: list[pygame.Rect]) -> None:  # the real call, recorded: only these reach the screen
        real_update(rects)
        seen.updates.append([pygame.Rect(r) for r in rects])
        for rect in rects:
            shown.blit(surface, rect, rect)

    monkeypatch.setattr(pygame.display, "update", update)
    yield seen


def drift_step_after(seconds: float) -> float:
    """A wall-clock start from which the burn-in drift takes a step ``seconds`` later."""
    t = 1_795_000_000.0
    while burnin.drift(t) == burnin.drift(t + seconds) or burnin.drift(t) != burnin.drift(t + seconds - 1):
        t += 1
    return t


class Run:
    """A wall and its twin, fed the same states and events on one clock, and the presenter."""

    def __init__(self, tmp_path: Path, screen: Screen, clock: FakeClock, animation: str = "full") -> None:
        self.loaded: LoadedConfig = load_config(str(write_config(
            tmp_path, f'[display]\nsecondary = "csat"\ncelebration_seconds = 4\nanimation = "{animation}"\n'
                      '[[display.scenes]]\nname = "leaderboard"\nseconds = 600\n')))
        self.clock, self.screen = clock, screen
        size = (screen.surface.get_width() - 2 * burnin.MAX, screen.surface.get_height() - 2 * burnin.MAX)
        self.size = size
        self.wall = Wall(make_stage(self.loaded, size, clock))
        self.twin = Wall(make_stage(self.loaded, size, clock))
        self.backdrop = make_stage(self.loaded, screen.surface.get_size(), clock).background()
        self.presenter = Presenter(screen.surface, self.backdrop)
        self.state = floor(0, [])
        self.frames = 0
        self.partial = 0

    def feed(self, state: FeedState | None = None, events: list[BoardEvent] | None = None) -> None:
        self.state = state or self.state
        for wall in (self.wall, self.twin):
            wall.update(self.state, events or [])

    def reload(self, theme: str) -> None:
        """What the kiosk does with a valid edit of the look: a new wall adopting the old one."""
        for attr in ("wall", "twin"):
            old: Wall = getattr(self, attr)
            fresh = Wall(make_stage(self.loaded, self.size, self.clock, load_theme(theme, self.loaded.base_dir)))
            fresh.adopt(old)
            setattr(self, attr, fresh)
        self.presenter = Presenter(self.screen.surface, make_stage(
            self.loaded, self.screen.surface.get_size(), self.clock, load_theme(theme, self.loaded.base_dir)).background())
        self.backdrop = self.presenter.backdrop

    def frame(self, what: str, out: Path) -> None:
        before = len(self.screen.updates)
        self.presenter.present(self.wall, self.clock.wall())
        self.frames += 1
        if len(self.screen.updates) > before and self.screen.updates[-1] != [self.screen.surface.get_rect()]:
            self.partial += 1
        self.check(what, out)

    def check(self, what: str, out: Path) -> None:
        reference = pygame.Surface(self.screen.surface.get_size())
        reference.blit(self.backdrop, (0, 0))
        offset = burnin.drift(self.clock.wall())
        self.twin.draw(reference.subsurface(pygame.Rect((burnin.MAX + offset[0], burnin.MAX + offset[1]), self.size)))
        got, want = pygame.image.tobytes(self.screen.shown, "RGB"), pygame.image.tobytes(reference, "RGB")
        if got != want:
            size = reference.get_size()
            a, b = Image.frombytes("RGB", size, got), Image.frombytes("RGB", size, want)
            box = ImageChops.difference(a, b).getbbox()
            a.save(out / "shown.png")
            b.save(out / "full-redraw.png")
            pytest.fail(f"frame {self.frames} ({what}, t={self.clock.now():.3f}): the screen differs from a full "
                        f"redraw in {box}; see {out}/shown.png and full-redraw.png; rectangles updated: {self.screen.updates[-1:]}")

    def run_until(self, until: float, what: str, out: Path, events: Callable[[float], None] | None = None) -> None:
        """Frames as the kiosk's loop makes them: paced while something moves, else asleep until
        the wall's next wake-up (or the next scripted moment)."""
        while self.clock.now() < until:
            self.feed()
            self.frame(what, out)
            step = 1 / 30 if self.wall.animating() else self.wall.next_wake() - self.clock.now()
            self.clock.advance(max(0.001, min(step, until - self.clock.now())))


@pytest.mark.parametrize("animation", ["full", "calm"])
@pytest.mark.parametrize("screen", [(968, 548), (548, 968)], indirect=True, ids=["landscape", "portrait"])
def test_every_frame_on_screen_equals_a_full_redraw(tmp_path: Path, screen: Screen, animation: str) -> None:
    clock = FakeClock(wall=drift_step_after(20))
    run = Run(tmp_path, screen, clock, animation)
    t0 = clock.now()
    solved = [30 - 2 * i for i in range(12)]
    run.feed(floor(1, solved))
    run.run_until(t0 + 1, "first board", tmp_path)
    solved[7], solved[2] = 40, 12  # two rows jump past others
    run.feed(floor(2, solved))
    run.run_until(t0 + 2, "rank changes", tmp_path)
    run.feed(events=[kudos(1, "a3", "a1")])
    run.run_until(t0 + 2.5, "a toast slides in", tmp_path)
    run.wall.set_notice(Notice(("Config reloaded: theme",), colour="up", until=clock.now() + 5))
    run.twin.set_notice(Notice(("Config reloaded: theme",), colour="up", until=clock.now() + 5))
    run.run_until(t0 + 3, "a notice", tmp_path)
    run.feed(events=[completion(1, "a5")])
    run.run_until(t0 + 3.5, "a banner rises", tmp_path)
    solved[11] = 35
    run.feed(floor(3, solved))  # the board changes under the banner
    run.run_until(t0 + 4.5, "rows move under the banner", tmp_path)
    run.reload("light")  # a config edit while the banner is up
    run.run_until(t0 + 5, "reloaded mid-banner", tmp_path)
    run.feed(events=[kudos(2, "a4", "a6"), kudos(3, "a6", "a4")])
    run.run_until(t0 + 12, "toasts and the banner's end", tmp_path)
    solved[3] = 60
    run.feed(floor(4, solved, stale=True))
    run.run_until(t0 + 16, "stale, a new leader", tmp_path)
    run.feed(floor(4, solved, stale=False))
    run.run_until(t0 + 40, "quiet, past every banner and toast and the drift step", tmp_path)
    assert not run.wall.celebrations.current and not run.wall.celebrations.toasts
    # "calm" has no slides, confetti or pulses, so fewer frames move; its fades are partial frames still
    assert run.partial > (50 if animation == "full" else 20), "the run must exercise partial frames, not only full ones"
    assert burnin.drift(clock.wall()) != burnin.drift(t0 - clock.now() + clock.wall())


@pytest.mark.parametrize("size", [(1920, 1080), (1280, 720), (1080, 1920)])
def test_a_toast_covers_neither_the_board_nor_a_notice(tmp_path: Path, size: tuple[int, int]) -> None:
    loaded = load_config(str(write_config(tmp_path, '[display]\nsecondary = "csat"\n')))
    clock = FakeClock()
    wall = Wall(make_stage(loaded, size, clock))
    wall.update(floor(1, [30 - i for i in range(12)]), [kudos(1, "a3", "a1")])
    wall.set_notice(Notice(("Config reloaded: theme",), colour="up"))
    surface = pygame.Surface(size)
    wall.frame(surface)
    clock.advance(1)
    wall.update(wall.state)
    wall.frame(surface)
    toast = wall.celebrations.draw_toasts(surface)
    assert toast, "the toast shows"
    content = wall.stage.content()
    notices = [box for _, box in wall.stage.place_notices(wall._shown())]
    assert notices and not any(toast[0].colliderect(box) for box in notices)
    assert toast[0].bottom <= content.top  # above every row: it sits in the header
    assert toast[0].right < size[0] - wall.stage.margin  # and leaves the clock alone


def test_the_loop_asks_for_as_many_frames_as_the_motion_on_screen_needs(tmp_path: Path) -> None:
    loaded = load_config(str(write_config(tmp_path, '[display]\nsecondary = "csat"\n')))
    clock = FakeClock()
    wall = Wall(make_stage(loaded, (1280, 720), clock))
    surface = pygame.Surface((1280, 720))
    solved = [30 - i for i in range(6)]
    wall.update(floor(1, solved))
    wall.frame(surface)
    clock.advance(5)
    wall.update(floor(1, solved))
    wall.frame(surface)
    assert not wall.animating()
    solved[4] = 29.5
    wall.update(floor(2, solved))  # a row slides: every frame the cap allows
    assert wall.animating() and wall.frame_rate(60) == 60
    solved[5] = 31
    wall.update(floor(3, solved))  # a new leader: a banner rises, then its confetti falls
    assert wall.celebrations.current is not None and wall.frame_rate(60) == 60
    clock.advance(1.0)
    wall.update(wall.state)
    assert wall.celebrations.animating() and wall.frame_rate(60) == 30 and wall.frame_rate(24) == 24
    wall.frame(surface)
    clock.advance(2.5)  # the confetti has fallen: the banner stands still and costs no frames at all
    wall.update(wall.state)
    wall.frame(surface)
    wall.frame(surface)
    assert not wall.animating()


def test_a_glowing_row_is_drawn_once_more_without_its_halo_when_the_glow_ends(tmp_path: Path) -> None:
    loaded = load_config(str(write_config(tmp_path, '[display]\nsecondary = "csat"\n')))
    clock = FakeClock()
    wall, twin = (Wall(make_stage(loaded, (1280, 720), clock)) for _ in range(2))
    surface = pygame.Surface((1280, 720))
    solved = [30 - i for i in range(6)]
    for w in (wall, twin):
        w.update(floor(1, solved))
    wall.frame(surface)
    clock.advance(3)
    solved[3] = 40
    for w in (wall, twin):  # a new leader glows; its banner is taken away, so the glow is on show
        w.update(floor(2, solved))
        w.celebrations.queue.clear()
        w.celebrations.current = None
    frames = 0
    while True:  # the loop's pacing: a frame at once while anything moves or has just stopped
        for w in (wall, twin):
            w.update(w.state)
        wall.frame(surface)
        frames += 1
        if not wall.animating():
            break
        clock.advance(1 / 30)
    reference = pygame.Surface((1280, 720))
    twin.draw(reference)
    assert frames > 30  # the slide and the glow were drawn, frame by frame
    assert pygame.image.tobytes(surface, "RGB") == pygame.image.tobytes(reference, "RGB")


@pytest.mark.parametrize("scene", ["teams", "near"])
def test_a_board_of_another_shape_is_drawn_as_a_fresh_wall_draws_it(tmp_path: Path, scene: str) -> None:
    """The cards and row backgrounds are kept in the base layer: a new leader, or fewer members,
    must lay them again, not leave the last board's there."""
    init_offscreen()
    loaded = load_config(str(write_config(tmp_path, f'[[display.scenes]]\nname = "{scene}"\nseconds = 600\n')))
    clock = FakeClock()
    size = (968, 548)
    wall, shown = Wall(make_stage(loaded, size, clock)), pygame.Surface(size)
    solved = [30 - 2 * i for i in range(12)]
    wall.update(floor(1, solved))
    wall.frame(shown)
    solved[1] = 80  # the day shift takes the lead (its card is the leader's now), and four agents leave
    wall.update(floor(2, solved[:8]))
    wall.celebrations.queue.clear()  # no banner for the new leader: the board itself is compared
    wall.celebrations.current = None
    assert wall.frame(shown) == [shown.get_rect()]
    fresh, expected = Wall(make_stage(loaded, size, clock)), pygame.Surface(size)
    fresh.update(floor(2, solved[:8]))
    fresh.frame(expected)
    assert pygame.image.tobytes(shown, "RGB") == pygame.image.tobytes(expected, "RGB")

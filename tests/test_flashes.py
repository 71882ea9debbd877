"""No more than three flashes a second, in every animation setting (WCAG 2.3.1, general flash).

Frames of a busy minute — rows jumping, a new leader's glow, banners one after another, a burst,
toasts — are rendered at 60 frames a second on the injected clock, each reduced to a grid of relative
luminance. A *flash* is a pair of opposing changes of at least 10 % of the maximum relative
luminance; the stand-in for WCAG's "10° field" is a quarter of the screen: the wall fails when, in any
one-second window, a quarter or more of its cells flash more than three times.
"""

from __future__ import annotations

import bisect
from pathlib import Path

import pygame
import pytest
from PIL import Image

from display.clock import FakeClock
from display.shot import init_offscreen, make_stage
from display.themes import load_theme
from display.wall import Wall
from feeds.board.build import build_board
from feeds.board.diff import FeedEventReceived
from feeds.config.schema import BoardConfig, load_config
from feeds.connectors.parse import normalise
from feeds.live.coordinator import FeedState
from feeds.model import FeedEvent
from helpers import agent, doc, write_config

init_offscreen()

FPS = 60
SIZE = (640, 360)
GRID = (48, 27)  # cells of about 13 px: a confetti piece changes a cell, never a quarter of the screen
CHANGE = 0.10  # of the maximum relative luminance
AREA = 1 / 4
MOST_A_SECOND = 3


def _linear(c: int) -> int:
    s = c / 255
    return round(255 * (s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4))


LINEAR = [_linear(c) for c in range(256)] * 3  # a PIL lookup table for R, G and B


def luminance_grid(surface: pygame.Surface) -> list[float]:
    """Relative luminance (0-1) of each cell of the picture, averaged in linear light."""
    picture = Image.frombytes("RGB", surface.get_size(), pygame.image.tobytes(surface, "RGB")).point(LINEAR)
    grey = picture.convert("L", matrix=(0.2126, 0.7152, 0.0722, 0))
    return [v / 255 for v in grey.resize(GRID, Image.Resampling.BOX).tobytes()]


def changes(series: list[float]) -> list[int]:
    """The frames at which a cell's luminance turned: rose or fell by CHANGE or more from its last
    extreme, in the direction opposite to its last turn (so consecutive changes always oppose)."""
    out: list[int] = []
    direction, low, high, extreme = 0, series[0], series[0], series[0]
    for i, v in enumerate(series):
        if direction == 0:
            low, high = min(low, v), max(high, v)
            if v - low >= CHANGE or high - v >= CHANGE:
                direction, extreme = (1 if v - low >= CHANGE else -1), v
                out.append(i)
        elif direction * (v - extreme) > 0:
            extreme = v  # further the same way
        elif direction * (extreme - v) >= CHANGE:
            direction, extreme = -direction, v
            out.append(i)
    return out


def most_flashes_a_second(frames: list[list[float]]) -> int:
    """Over every one-second window: the most flashes that a quarter of the screen's cells share."""
    cells = [changes([frame[c] for frame in frames]) for c in range(len(frames[0]))]
    quarter = AREA * len(cells)
    starts = sorted({t for turns in cells for t in turns})
    worst = 0
    for start in starts:
        flashes = sorted(((bisect.bisect_left(turns, start + FPS) - bisect.bisect_left(turns, start)) // 2
                          for turns in cells), reverse=True)
        worst = max(worst, flashes[int(quarter) - 1] if len(flashes) >= quarter else 0)
    return worst


def floor(generation: int, solved: list[int]) -> FeedState:
    teams = [{"id": "day", "name": "Day shift", "color": "#4a90e2"}, {"id": "night", "name": "Night shift", "color": "#9b59b6"}]
    agents = [agent(f"a{i}", s, team="day" if i % 2 else "night") for i, s in enumerate(solved)]
    return FeedState(build_board(normalise(doc(*agents, teams=teams)), BoardConfig()), 1.0, None, 0, False, generation)


def completion(n: int, who: str) -> FeedEventReceived:
    return FeedEventReceived(FeedEvent(f"c{n}", "challenge_completed", None,
                                       {"agent": who, "challenge": "Solve 30 tickets today", "points": 25}))


def kudos(n: int, giver: str, taker: str) -> FeedEventReceived:
    return FeedEventReceived(FeedEvent(f"k{n}", "kudos", None, {"from": giver, "to": taker, "text": "Thanks!"}))


def busy_minute(tmp_path: Path, animation: str, theme: str) -> list[list[float]]:
    """The luminance grid of every frame at 60 a second through rank changes, a new leader, banners
    back to back, a burst and toasts, until all is still again."""
    loaded = load_config(str(write_config(tmp_path, f'[display]\nanimation = "{animation}"\ncelebration_seconds = 2\n'
                                                    '[[display.scenes]]\nname = "leaderboard"\nseconds = 600\n')))
    clock = FakeClock()
    wall = Wall(make_stage(loaded, SIZE, clock, load_theme(theme, loaded.base_dir)))
    surface = pygame.Surface(SIZE)
    solved = [30 - 2 * i for i in range(10)]
    script = {0: (floor(1, solved), []),
              60: (floor(2, [*solved[:2], 29, *solved[3:7], 40, *solved[8:]]), []),  # a row jumps to #1: a new leader
              150: (None, [completion(1, "a4"), completion(2, "a5")]),  # two banners back to back
              240: (None, [kudos(1, "a1", "a2"), kudos(2, "a2", "a1")]),
              420: (None, [completion(n, f"a{n - 2}") for n in range(3, 7)]),  # a burst, coalesced
              430: (floor(3, [*solved[:7], 20, 45, *solved[9:]]), []),  # another leader, under the banner
              900: (floor(4, [*solved[:7], 20, 45]), []),  # the last one goes off shift: a row less
              }
    state, frames = floor(0, []), []
    for i in range(FPS * 20):
        new, events = script.get(i, (None, []))
        state = new or state
        wall.update(state, events)
        changed = wall.frame(surface)
        frames.append(luminance_grid(surface) if changed or not frames else frames[-1])  # nothing drawn: the same picture
        clock.advance(1 / FPS)
    assert not wall.celebrations.current and not wall.celebrations.toasts  # the script ran its course
    return frames


SETTINGS = [("full", "dark"), ("reduced", "dark"), ("calm", "dark"), ("none", "dark"),
            ("full", "high-contrast"), ("calm", "high-contrast"),  # its banners glow and pulse
            ("full", "light"), ("calm", "light")]  # the dimming under a banner is deepest on a light ground


@pytest.mark.parametrize(("animation", "theme"), SETTINGS)
def test_no_setting_flashes_more_than_three_times_a_second(tmp_path: Path, animation: str, theme: str) -> None:
    frames = busy_minute(tmp_path, animation, theme)
    # The measure sees the banners: a quarter of the cells turn at least once (a script that
    # changed nothing would pass for nothing).
    turned = sum(1 for c in range(len(frames[0])) if changes([f[c] for f in frames]))
    assert turned >= AREA * len(frames[0])
    assert most_flashes_a_second(frames) <= MOST_A_SECOND


def synthetic(pattern: list[float], share: float) -> list[list[float]]:
    """Frames whose top ``share`` of the screen has the luminance ``pattern`` (one value a frame)
    over a mid-grey rest, through the same pixels-to-grid path as the wall's frames."""
    surface, out = pygame.Surface(SIZE), []
    for level in pattern:
        surface.fill((119, 119, 119))
        value = round(255 * level ** (1 / 2.2))
        surface.fill((value, value, value), pygame.Rect(0, 0, SIZE[0], round(SIZE[1] * share)))
        out.append(luminance_grid(surface))
    return out


def test_a_screen_blinking_six_times_a_second_counts_as_six_flashes() -> None:
    blink = [1.0 if (i // 5) % 2 else 0.0 for i in range(FPS * 2)]  # 5 frames light, 5 dark
    assert most_flashes_a_second(synthetic(blink, 1.0)) >= 5


def test_a_blink_over_an_eighth_of_the_screen_is_too_small_to_count() -> None:
    blink = [1.0 if (i // 5) % 2 else 0.0 for i in range(FPS * 2)]
    assert most_flashes_a_second(synthetic(blink, 0.125)) == 0
    assert most_flashes_a_second(synthetic(blink, 0.3)) >= 5


def test_a_single_dimming_and_a_slow_small_pulse_are_not_flashes() -> None:
    dim = [0.6] * 20 + [0.1] * 100
    assert most_flashes_a_second(synthetic(dim, 1.0)) == 0
    gentle = [0.4 + 0.04 * (1 if (i // 15) % 2 else -1) for i in range(FPS * 2)]  # 2 Hz, but only ±4 %
    assert most_flashes_a_second(synthetic(gentle, 1.0)) == 0

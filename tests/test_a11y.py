"""Accessibility: movement is never told by colour alone, in every built-in theme.

A colour-blind reader, or anyone seeing the wall in greyscale, must still tell a rise from a fall:
the arrow's shape and the number carry it. Each check works on the greyscale picture, so a theme
whose up and down colours differ only in hue still passes, and one whose arrow vanishes into its
background in greyscale fails.
"""

from __future__ import annotations

from pathlib import Path

import pygame
import pytest

from display.anim import Motion
from display.clock import FakeClock
from display.fonts import FontBook, covers
from display.shot import init_offscreen
from display.stage import Stage
from display.themes import builtin_names, load_theme
from display.widgets import draw_move
from feeds.config.schema import BoardConfig, DisplayConfig
from helpers import ROOT

init_offscreen()

CELL = (120, 60)
VISIBLE = 24  # greyscale levels (0-255) a pixel must differ from the ground by to count as drawn


def grey(colour: tuple[int, int, int]) -> float:
    r, g, b = colour
    return 0.299 * r + 0.587 * g + 0.114 * b


def silhouette(theme_name: str, delta: int) -> list[list[bool]]:
    """Which pixels of a movement marker stand out from the row's surface in greyscale."""
    theme = load_theme(theme_name, ROOT)
    stage = Stage((1920, 1080), theme, FontBook(dict(text=theme.fonts.text, numbers=theme.fonts.numbers)),
                  FakeClock(), Motion(), DisplayConfig(), BoardConfig())
    surface = pygame.Surface(CELL)
    ground = stage.colour("surface")
    surface.fill(ground)
    draw_move(surface, stage, 4, CELL[1] // 2, delta, CELL[1])
    return [[abs(grey(surface.get_at((x, y))[:3]) - grey(ground)) > VISIBLE for x in range(CELL[0])]
            for y in range(CELL[1])]


def width_at(mask: list[list[bool]], y: int, x_to: int) -> int:
    return sum(mask[y][:x_to])


@pytest.mark.parametrize("theme_name", builtin_names())
def test_a_rise_and_a_fall_differ_in_shape_not_only_in_hue(theme_name: str) -> None:
    up, down = silhouette(theme_name, 3), silhouette(theme_name, -3)
    drawn_up = sum(map(sum, up))
    assert drawn_up > 100 and sum(map(sum, down)) > 100  # both markers visible in greyscale
    differing = sum(a != b for row_a, row_b in zip(up, down) for a, b in zip(row_a, row_b))
    assert differing > drawn_up // 3  # not the same shape in another colour


@pytest.mark.parametrize("theme_name", builtin_names())
def test_the_arrow_points_up_for_a_rise_and_down_for_a_fall(theme_name: str) -> None:
    arrow_x = 4 + round(CELL[1] * 0.45)  # draw_move's triangle is 0.45 of the height wide
    for delta, mask in ((2, silhouette(theme_name, 2)), (-2, silhouette(theme_name, -2))):
        rows = [y for y in range(CELL[1]) if width_at(mask, y, arrow_x)]
        top, bottom = width_at(mask, rows[1], arrow_x), width_at(mask, rows[-2], arrow_x)
        assert (bottom > 3 * top) if delta > 0 else (top > 3 * bottom)


@pytest.mark.parametrize("theme_name", builtin_names())
def test_the_number_of_places_is_drawn_beside_the_arrow(theme_name: str) -> None:
    arrow_end = 4 + round(CELL[1] * 0.45) + 2
    one, eleven = silhouette(theme_name, -1), silhouette(theme_name, -11)
    assert sum(row[arrow_end:].count(True) for row in one) > 20
    assert sum(row[arrow_end:].count(True) for row in eleven) > sum(row[arrow_end:].count(True) for row in one)


# Machado, Oliveira & Fernandes (2009), severity 1.0: how linear RGB looks to a dichromat.
DICHROMACY = {
    "protanopia": ((0.152286, 1.052583, -0.204868), (0.114503, 0.786281, 0.099216), (-0.003882, -0.048116, 1.051998)),
    "deuteranopia": ((0.367322, 0.860646, -0.227968), (0.280085, 0.672501, 0.047413), (-0.011820, 0.042940, 0.968881)),
    "tritanopia": ((1.255528, -0.076749, -0.178779), (-0.078411, 0.930809, 0.147602), (0.004733, 0.691367, 0.303900)),
}
APART = 150  # sRGB distance between simulated up and down that reads as two colours from across a room


def seen_by(colour: tuple[int, int, int], matrix: tuple[tuple[float, ...], ...]) -> list[float]:
    def linear(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    def encode(v: float) -> float:
        v = min(1.0, max(0.0, v))
        return 255 * (12.92 * v if v <= 0.0031308 else 1.055 * v ** (1 / 2.4) - 0.055)

    lin = [linear(c) for c in colour]
    return [encode(sum(m * x for m, x in zip(row, lin))) for row in matrix]


def apart(a: tuple[int, int, int], b: tuple[int, int, int], matrix: tuple[tuple[float, ...], ...]) -> float:
    return sum((x - y) ** 2 for x, y in zip(seen_by(a, matrix), seen_by(b, matrix))) ** 0.5


@pytest.mark.parametrize("deficiency", list(DICHROMACY))
def test_the_colour_blind_theme_keeps_up_and_down_apart_for_every_dichromat(deficiency: str) -> None:
    theme = load_theme("colour-blind", ROOT)
    up, down = theme.colour("up"), theme.colour("down")
    assert up[2] > up[0] and down[0] > down[2]  # the blue/orange axis: up is blue, down is orange
    assert apart(up, down, DICHROMACY[deficiency]) >= APART
    assert apart(up, theme.colour("stale"), DICHROMACY[deficiency]) >= APART / 2  # stale is not a fall or a rise
    assert apart(down, theme.colour("stale"), DICHROMACY[deficiency]) >= APART / 2


def test_the_simulation_sees_a_red_green_pair_merge_for_a_deuteranope() -> None:
    green, red = (75, 224, 143), (255, 128, 128)
    assert apart(green, red, DICHROMACY["deuteranopia"]) < APART / 2
    assert apart(green, red, ((1, 0, 0), (0, 1, 0), (0, 0, 1))) > APART  # plain sight: far apart


def test_a_dash_marks_no_move_and_is_neither_arrow(tmp_path: Path) -> None:
    still, up = silhouette("colour-blind", 0), silhouette("colour-blind", 1)
    assert 0 < sum(map(sum, still)) < sum(map(sum, up)) // 2


def banner_frames(tmp_path: Path, animation: str, at: tuple[float, ...]) -> list[bytes]:
    """The whole picture at each of ``at`` seconds into a challenge's banner."""
    from display.shot import make_stage
    from display.wall import Wall
    from feeds.board.build import build_board
    from feeds.board.diff import FeedEventReceived
    from feeds.config.schema import load_config
    from feeds.connectors.parse import normalise
    from feeds.live.coordinator import FeedState
    from feeds.model import FeedEvent
    from helpers import agent, doc, write_config

    loaded = load_config(str(write_config(tmp_path, f'[display]\nanimation = "{animation}"\n')))
    clock = FakeClock()
    wall = Wall(make_stage(loaded, (640, 360), clock, load_theme("dark", ROOT)))
    board = build_board(normalise(doc(*(agent(f"a{i}", 20 - i) for i in range(6)))), BoardConfig())
    wall.update(FeedState(board, 1.0, None, 0, False, 1))
    done = FeedEvent("c1", "challenge_completed", None, {"agent": "a2", "challenge": "Solve 10", "points": 5})
    wall.update(FeedState(board, 1.0, None, 0, False, 1), [FeedEventReceived(done)])
    start, out = clock.now(), []
    for t in at:
        clock.advance(start + t - clock.now())
        surface = pygame.Surface((640, 360))
        wall.draw(surface)
        out.append(pygame.image.tobytes(surface, "RGB"))
    return out


def test_calm_fades_the_banner_in_and_then_nothing_moves(tmp_path: Path) -> None:
    early, settled, later = banner_frames(tmp_path, "calm", (0.05, 0.6, 1.8))
    assert early != settled  # the card is still fading in
    assert settled == later  # no confetti, no glow: a still picture until the banner ends


def test_full_motion_throws_confetti_where_calm_has_none(tmp_path: Path) -> None:
    settled, later = banner_frames(tmp_path, "full", (0.6, 1.8))
    assert settled != later


def test_calm_drops_slides_and_bursts_but_keeps_short_count_ups() -> None:
    calm = Motion("calm")
    assert calm.duration(0.8) == 0.0 and calm.duration(0.8, essential=True) == 0.4
    assert not calm.bursts and calm.fades
    assert Motion("full").bursts and not Motion("full").fades and Motion("reduced").bursts


@pytest.mark.parametrize("theme_name", builtin_names())
def test_the_number_is_signed_in_a_glyph_of_the_themes_own_numbers_font(theme_name: str) -> None:
    theme = load_theme(theme_name, ROOT)
    fonts = FontBook(dict(text=theme.fonts.text, numbers=theme.fonts.numbers))
    stage = Stage((1920, 1080), theme, fonts, FakeClock(), Motion(), DisplayConfig(), BoardConfig())
    fonts.drawn = []
    for delta in (2, -2):
        draw_move(pygame.Surface(CELL), stage, 4, CELL[1] // 2, delta, CELL[1])
    up, down = fonts.drawn
    assert up == "+2" and down[1:] == "2" and down[0] in ("\u2212", "\u2013")  # never a hyphen: "-2" reads as a dash
    first = fonts.chain("numbers", CELL[1] // 2, True)[0]
    assert covers(first[1], down) and fonts.font_for(down, "numbers", CELL[1] // 2, True) is first[0]
    assert covers(first[1], "ÅÄÖåäöДЖЩжщ")  # and Swedish and Cyrillic: one font for the whole row

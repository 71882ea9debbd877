"""Legibility from across the room: the 10-foot rule, an x-height of at least the viewing distance ÷ 500.

``[display] viewing_distance`` (metres) and ``screen_inches`` (the diagonal) turn the rule into a
smallest text size in pixels: the stage never draws a theme size below it, so text grows and fewer
rows fit. ``distance_warnings`` tells ``chalkwall check`` which theme sizes cannot meet the distance
as designed (they are drawn larger) and when the screen is too small for it altogether.
"""

from __future__ import annotations

import dataclasses
import math

import pygame

from display.fonts import FontBook
from display.themes import Sizes, Theme
from feeds.config.schema import DisplayConfig

DISTANCE_PER_X_HEIGHT = 500  # the 10-foot rule: 10 mm of x-height for every 5 m
X_RATIO = 0.53  # x-height per pixel of font size in Noto Sans and DejaVu Sans, when no font can be measured
ASSUMED = (1920, 1080)  # the screen's shape when the config sets no size
TOO_BIG = 0.09  # a smallest text this share of the height leaves the leaderboard only a handful of rows


def screen_height_m(inches: float, size: tuple[int, int]) -> float:
    """The picture's height in metres: the diagonal split by the pixels' aspect (square pixels)."""
    w, h = size
    return inches * 0.0254 * h / math.hypot(w, h)


def x_ratio(fonts: FontBook, role: str = "text") -> float:
    """The measured x-height of the ``role`` font per pixel of its size."""
    try:
        font = fonts.chain(role, 200, False)[0][0]
        (_, _, _, top, _), = font.metrics("x")
        return top / 200 if top > 0 else X_RATIO
    except (IndexError, TypeError, ValueError, pygame.error):
        return X_RATIO


def min_text_px(display: DisplayConfig, size: tuple[int, int], ratio: float) -> int:
    """The smallest font size in pixels whose x-height meets the viewing distance (0: none set)."""
    if display.viewing_distance <= 0:
        return 0
    x_height_m = display.viewing_distance / DISTANCE_PER_X_HEIGHT
    metres_per_px = screen_height_m(display.screen_inches, size) / size[1]
    return math.ceil(x_height_m / ratio / metres_per_px)


def distance_warnings(theme: Theme, display: DisplayConfig, ratio: float, label: str) -> list[str]:
    """Theme sizes too small for the viewing distance (they are drawn larger, so fewer rows fit),
    and a screen too small for the distance at all. None when no distance is set."""
    if display.viewing_distance <= 0:
        return []
    size = display.resolution or ASSUMED
    need_px = min_text_px(display, size, ratio)
    need = need_px / size[1]
    where = f'from {display.viewing_distance:g} m on a {display.screen_inches:g}-inch screen'
    mm = 1000 * display.viewing_distance / DISTANCE_PER_X_HEIGHT
    scale = 0.7 if size[1] > size[0] else 1.0  # portrait shrinks theme sizes (display/stage.py)
    small = [f.name for f in dataclasses.fields(Sizes) if getattr(theme.sizes, f.name) * scale < need]
    out = []
    if need >= TOO_BIG:
        out.append(f"{label}: {where} text needs an x-height of {mm:.0f} mm, {need:.3f} of the screen height: "
                   "only a few rows fit; use a bigger screen or a shorter viewing distance")
    if small:
        out.append(f"{label}: {where} text needs an x-height of {mm:.0f} mm ({need:.3f} of the height); "
                   f"sizes {', '.join(small)} are smaller and are drawn at that size, so fewer rows fit")
    return out

"""Small drawing pieces shared by scenes: avatars, rank-move arrows, metric values, bars.

A rank move is shown by an arrow *and* a colour, never colour alone (some colleagues cannot tell
green from red). Arrows are drawn as shapes, so they do not depend on a font having ▲ and ▼.
"""

from __future__ import annotations

import math

import pygame

from display.fonts import fit
from display.stage import RGB, Stage, hex_rgb
from feeds.config import SCORE, BoardConfig

_AVATAR_COLOURS = ((74, 144, 226), (155, 89, 182), (230, 126, 34), (26, 188, 156), (231, 76, 60), (52, 73, 94))


def initials(name: str) -> str:
    """Up to two letters: first and last word ("Åsa Ödegård" → "ÅÖ", "Nguyễn Thị Lan" → "NL")."""
    words = [w for w in name.replace("-", " ").split() if w[:1].isalpha()]
    if not words:
        return name[:1].upper() or "?"
    return (words[0][0] + (words[-1][0] if len(words) > 1 else "")).upper()


def avatar_colour(team_colour: str | None, agent_id: str) -> RGB:
    if team_colour:
        return hex_rgb(team_colour, _AVATAR_COLOURS[0])
    return _AVATAR_COLOURS[sum(map(ord, agent_id)) % len(_AVATAR_COLOURS)]


class Avatars:
    """Round avatars: an image file when the agent has one on disk, else coloured initials."""

    def __init__(self, stage: Stage) -> None:
        self.stage = stage
        self._cache: dict[tuple[str, str, int, RGB], pygame.Surface] = {}

    def get(self, agent_id: str, name: str, avatar: str | None, colour: RGB, size: int) -> pygame.Surface:
        key = (agent_id, name, size, colour)
        surface = self._cache.get(key)
        if surface is None:
            surface = self._image(avatar, size) or self._initials(name, colour, size)
            if len(self._cache) > 500:
                self._cache.clear()
            self._cache[key] = surface
        return surface

    def _initials(self, name: str, colour: RGB, size: int) -> pygame.Surface:
        surface = pygame.Surface((size, size), pygame.SRCALPHA)
        pygame.draw.circle(surface, colour, (size // 2, size // 2), size // 2)
        # White or near-black letters, whichever reads better on this colour.
        ink = (255, 255, 255) if sum(colour) / 3 < 150 else (18, 24, 38)
        label = self.stage.fonts.render(initials(name), "text", max(8, int(size * 0.42)), ink, bold=True)
        surface.blit(label, label.get_rect(center=(size // 2, size // 2)))
        return surface

    def _image(self, path: str | None, size: int) -> pygame.Surface | None:
        if not path or "://" in path:  # remote avatars are not fetched from the drawing thread
            return None
        try:
            image = pygame.image.load(path)
        except (pygame.error, OSError, FileNotFoundError):
            return None
        image = pygame.transform.smoothscale(image, (size, size)).convert_alpha() if pygame.display.get_surface() \
            else pygame.transform.smoothscale(image, (size, size))
        mask = pygame.Surface((size, size), pygame.SRCALPHA)
        pygame.draw.circle(mask, (255, 255, 255, 255), (size // 2, size // 2), size // 2)
        image = image.convert_alpha() if image.get_alpha() is None and pygame.display.get_surface() else image
        out = pygame.Surface((size, size), pygame.SRCALPHA)
        out.blit(image, (0, 0))
        out.blit(mask, (0, 0), special_flags=pygame.BLEND_RGBA_MIN)
        return out


def draw_move(surface: pygame.Surface, stage: Stage, x: int, cy: int, delta: int, height: int) -> None:
    """An arrow and the number of places moved (up: green ▲2, down: red ▼1); a dash when still."""
    if delta == 0:
        dash = pygame.Rect(0, 0, height // 2, max(2, height // 12))
        dash.center = (x + height // 3, cy)
        pygame.draw.rect(surface, stage.colour("muted"), dash, border_radius=dash.h // 2)
        return
    colour = stage.colour("up" if delta > 0 else "down")
    s = height * 0.45
    top, bottom = cy - s * 0.55, cy + s * 0.55
    points = [(x, bottom), (x + s, bottom), (x + s / 2, top)] if delta > 0 else [(x, top), (x + s, top), (x + s / 2, bottom)]
    pygame.draw.polygon(surface, colour, points)
    label = stage.fonts.render(str(abs(delta)), "numbers", max(8, int(height * 0.5)), colour, bold=True)
    surface.blit(label, label.get_rect(midleft=(x + s + height * 0.08, cy)))


def format_value(value: float | None, metric: str, board: BoardConfig) -> str:
    """A metric as people read it: "4.8", "312 s", "1 234"; an en dash when there is none."""
    if value is None:
        return "–"
    spec = board.metric(metric)
    decimals = 1 if metric == SCORE else spec.decimals
    text = f"{value:,.{decimals}f}".replace(",", "\u2009")  # thin space between thousands
    return f"{text} {spec.unit}".rstrip() if spec.unit and spec.unit != "%" else text + spec.unit


def metric_label(metric: str, board: BoardConfig) -> str:
    if metric == SCORE:
        return "Score"
    return board.metric(metric).label or metric.replace("_", " ").capitalize()


def draw_bar(surface: pygame.Surface, rect: pygame.Rect, fraction: float, colour: RGB, track: RGB) -> None:
    radius = rect.h // 2
    pygame.draw.rect(surface, track, rect, border_radius=radius)
    filled = rect.copy()
    filled.w = max(rect.h, round(rect.w * min(1.0, max(0.0, fraction))))
    pygame.draw.rect(surface, colour, filled, border_radius=radius)


def draw_star(surface: pygame.Surface, centre: tuple[int, int], r: int, colour: tuple[int, int, int]) -> None:
    points = []
    for i in range(10):
        angle = -math.pi / 2 + i * math.pi / 5
        radius = r if i % 2 == 0 else r * 0.45
        points.append((centre[0] + radius * math.cos(angle), centre[1] + radius * math.sin(angle)))
    pygame.draw.polygon(surface, colour, points)


def draw_heart(surface: pygame.Surface, centre: tuple[int, int], r: int, colour: tuple[int, int, int]) -> None:
    x, y = centre
    lobe = max(2, int(r * 0.55))
    pygame.draw.circle(surface, colour, (x - lobe + 1, y - r // 4), lobe)
    pygame.draw.circle(surface, colour, (x + lobe - 1, y - r // 4), lobe)
    pygame.draw.polygon(surface, colour, [(x - 2 * lobe + 1, y - r // 6), (x + 2 * lobe - 1, y - r // 6), (x, y + r)])


MEDALS = {"10": (205, 127, 50), "50": (200, 204, 212), "100": (255, 206, 64)}  # bronze, silver, gold


def draw_badges(surface: pygame.Surface | None, x: int, cy: int, size: int, badges: tuple[str, ...],
                stage: Stage) -> int:
    """Badges after a name, as shapes (no text small enough to be unreadable): a crown for the
    record holder, a flame for a streak, a medal for 10/50/100 completions. The width they take;
    with ``surface`` None, only measured."""
    width = 0
    for badge in badges:
        left = x + width + size // 2
        if surface is not None:
            if badge == "record":
                s = size
                points = [(left, cy + s * 0.35), (left, cy - s * 0.15), (left + s * 0.25, cy + s * 0.08),
                          (left + s * 0.5, cy - s * 0.4), (left + s * 0.75, cy + s * 0.08), (left + s, cy - s * 0.15),
                          (left + s, cy + s * 0.35)]
                pygame.draw.polygon(surface, stage.colour("accent"), points)
            elif badge == "streak":
                s = size
                flame = stage.colour("stale")
                pygame.draw.circle(surface, flame, (left + s // 2, cy + s // 6), s * 4 // 10)
                pygame.draw.polygon(surface, flame, [(left + s * 0.12, cy + s * 0.1), (left + s * 0.3, cy - s * 0.3),
                                                     (left + s * 0.45, cy - s * 0.1), (left + s * 0.62, cy - s * 0.6),
                                                     (left + s * 0.88, cy + s * 0.1)])
            elif badge.startswith("milestone:"):
                colour = MEDALS.get(badge.split(":", 1)[1], MEDALS["10"])
                r = size * 3 // 8
                pygame.draw.polygon(surface, stage.colour("down"), [(left + r // 2, cy - size // 2),
                                                                   (left + r * 3 // 2, cy - size // 2),
                                                                   (left + r, cy)])
                pygame.draw.circle(surface, colour, (left + r, cy + size // 8), r)
        width += size + size // 2
    return width


def wrap_text(stage: Stage, text: str, size: float, max_width: int, max_lines: int, *, bold: bool = False) -> list[str]:
    """``text`` broken at spaces into at most ``max_lines`` lines of ``max_width`` pixels at ``size``;
    a word too long for a line is broken inside, and only what still does not fit ends in "…"."""
    px = stage.px(size)
    width = lambda s: stage.fonts.width(s, "text", px, bold)  # noqa: E731 - a local shorthand
    lines: list[str] = []
    words = text.split()
    while words and len(lines) < max_lines:
        line = words.pop(0)
        while width(line) > max_width and len(line) > 1:  # a word wider than the line: break it
            cut = len(line) - 1
            while cut > 1 and width(line[:cut]) > max_width:
                cut -= 1
            words.insert(0, line[cut:])
            line = line[:cut]
        while words and width(f"{line} {words[0]}") <= max_width:
            line = f"{line} {words.pop(0)}"
        lines.append(line)
    if words and lines:  # more than fits: the last line says so
        lines[-1] = fit(stage.fonts.font_for(lines[-1], "text", px, bold), f"{lines[-1]} {' '.join(words)}", max_width)
    return lines


def gap_unit(metric: str, board: BoardConfig, one: bool = False) -> str:
    """What a difference in ``metric`` counts: "score points", "CSAT points", "QA points" (percentage
    points), "s handle time", "solved"; ``one``: for a gap of exactly 1 ("score point")."""
    spec = board.metric(metric)
    label = metric_label(metric, board)
    label = label if label.isupper() else label.lower()
    if spec.unit and spec.unit != "%":
        return f"{spec.unit} {label}"
    if spec.unit != "%" and metric != SCORE and spec.decimals == 0:
        return label  # a count: "3 solved"
    return f"{label} point" + ("" if one else "s")


def format_gap(gap: float, metric: str, board: BoardConfig) -> str:
    """A difference in ``metric`` with what it counts, as a gap is read: "4.7 score points",
    "0.3 CSAT points", "2 QA points", "12 s handle time", "3 solved"."""
    spec = board.metric(metric)
    number = format_value(abs(gap), metric, board).removesuffix(spec.unit).strip() if spec.unit \
        else format_value(abs(gap), metric, board)
    return f"{number} {gap_unit(metric, board, one=number == '1')}"

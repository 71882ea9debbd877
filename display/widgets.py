"""Small drawing pieces shared by scenes: avatars, rank-move arrows, metric values, bars.

A rank move is shown by an arrow *and* a colour, never colour alone (some colleagues cannot tell
green from red). Arrows are drawn as shapes, so they do not depend on a font having ▲ and ▼.
"""

from __future__ import annotations

import math

import pygame

from display.fonts import covers, fit
from display.stage import RGB, Stage, hex_rgb
from feeds.live.avatars import cached_file
from feeds.board.build import QUALITY_FIRST
from feeds.privacy.view import SOMEONE
from feeds.config.schema import SCORE, BoardConfig

_AVATAR_COLOURS = ((74, 144, 226), (155, 89, 182), (230, 126, 34), (26, 188, 156), (231, 76, 60), (52, 73, 94))


KEY = (255, 0, 254)  # the colour-keyed "transparent" of pre-rendered cards and rows: never a theme colour


def keyed_surface(size: tuple[int, int]) -> pygame.Surface:
    """An opaque surface whose KEY pixels are skipped when blitted: rounded corners without
    per-pixel alpha, which costs several times more to blit on every animated frame."""
    surface = pygame.Surface(size)
    if pygame.display.get_surface() is not None:
        surface = surface.convert()
    surface.fill(KEY)
    surface.set_colorkey(KEY, pygame.RLEACCEL)
    return surface


def initials(name: str) -> str:
    """Up to two letters: first and last word ("Åsa Ödegård" → "ÅÖ", "Nguyễn Thị Lan" → "NL");
    none for the "Someone on Night shift" of a privacy profile (a plain disc in the team's colour)."""
    if name == SOMEONE or name.startswith(f"{SOMEONE} on "):
        return ""
    words = [w for w in name.replace("-", " ").split() if w[:1].isalpha()]
    if not words:
        return name[:1].upper() or "?"
    return (words[0][0] + (words[-1][0] if len(words) > 1 else "")).upper()


def avatar_colour(team_colour: str | None, agent_id: str) -> RGB:
    if team_colour:
        return hex_rgb(team_colour, _AVATAR_COLOURS[0])
    return _AVATAR_COLOURS[sum(map(ord, agent_id)) % len(_AVATAR_COLOURS)]


class Avatars:
    """Round avatars: the agent's picture (a file on disk, or the one fetched from its URL by
    feeds/avatars.py), else coloured initials."""

    RECHECK_SECONDS = 10.0  # how soon a picture fetched (or replaced) meanwhile is noticed

    def __init__(self, stage: Stage) -> None:
        self.stage = stage
        self._cache: dict[tuple[str, str, int, RGB, tuple[str, int] | None], pygame.Surface] = {}
        self._found: dict[str, tuple[tuple[str, int] | None, float]] = {}  # url -> (file and mtime, checked at)

    def source(self, avatar: str | None) -> tuple[str, int] | None:
        """The file drawn for ``avatar`` and its version (mtime), None for initials: a path as it
        is, a URL's fetched picture once it is on disk (looked for at most every few seconds)."""
        if not avatar:
            return None
        if "://" not in avatar:
            return avatar, 0
        if self.stage.avatar_dir is None:
            return None
        now = self.stage.clock.now()
        found = self._found.get(avatar)
        if found is None or now - found[1] >= self.RECHECK_SECONDS:
            path = cached_file(self.stage.avatar_dir, avatar)
            try:
                hit: tuple[str, int] | None = (str(path), path.stat().st_mtime_ns)
            except OSError:
                hit = None
            if len(self._found) > 5000:
                self._found.clear()
            found = self._found[avatar] = (hit, now)
        return found[0]

    def get(self, agent_id: str, name: str, avatar: str | None, colour: RGB, size: int) -> pygame.Surface:
        source = self.source(avatar)
        key = (agent_id, name, size, colour, source)
        surface = self._cache.get(key)
        if surface is None:
            surface = (self._image(source[0], size) if source else None) or self._initials(name, colour, size)
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

    def _image(self, path: str, size: int) -> pygame.Surface | None:
        try:
            loaded = pygame.image.load(path)
            image = pygame.Surface(loaded.get_size(), pygame.SRCALPHA)  # 32-bit, as smoothscale needs
            image.blit(loaded, (0, 0))
            image = pygame.transform.smoothscale(image, (size, size))
        except (pygame.error, OSError, ValueError):
            return None
        mask = pygame.Surface((size, size), pygame.SRCALPHA)
        pygame.draw.circle(mask, (255, 255, 255, 255), (size // 2, size // 2), size // 2)
        out = pygame.Surface((size, size), pygame.SRCALPHA)
        out.blit(image, (0, 0))
        out.blit(mask, (0, 0), special_flags=pygame.BLEND_RGBA_MIN)
        return out


# The minus of "▼ −2": the true minus sign where the numbers font has it (DejaVu Sans), else an en
# dash (Noto Sans has no U+2212: the text would fall back to another font, a glyph out of place).
MINUS_SIGNS = ("\u2212", "\u2013")


def signed_places(stage: Stage, delta: int, px: int) -> str:
    """The places moved with their sign, as the movement marker draws them: "+2", "−2" (or "–2")."""
    if delta >= 0:
        return f"+{delta}"
    ranges = stage.fonts.chain("numbers", px, True)[0][1]
    minus = next((m for m in MINUS_SIGNS if ranges and covers(ranges, m)), "-")
    return f"{minus}{-delta}"


def move_label_px(height: int) -> int:
    return max(8, int(height * 0.5))


def move_width(stage: Stage, delta: int, height: int) -> int:
    """How wide :func:`draw_move` draws the marker of ``delta`` at ``height``: arrow, gap and number."""
    if delta == 0:
        return height // 3 + height // 4
    px = move_label_px(height)
    return round(height * 0.55) + stage.fonts.width(signed_places(stage, delta, px), "numbers", px, bold=True)


def draw_move(surface: pygame.Surface, stage: Stage, x: int, cy: int, delta: int, height: int) -> None:
    """An arrow and the signed number of places moved (up: green ▲ +2, down: red ▼ −1), so a rise
    and a fall differ in shape and in words, not in colour alone; a dash when still."""
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
    px = move_label_px(height)
    label = stage.fonts.render(signed_places(stage, delta, px), "numbers", px, colour, bold=True)
    surface.blit(label, label.get_rect(midleft=(x + s + height * 0.1, cy)))


def format_value(value: float | None, metric: str, board: BoardConfig) -> str:
    """A metric as people read it: "4.8", "312 s", "1 234"; an en dash when there is none."""
    if value is None:
        return "–"
    spec = board.metric(metric)
    decimals = 1 if metric == SCORE else spec.decimals
    if spec.per_hour and metric == board.rank_by:  # the ranking value is a rate: "4.5/h"
        return f"{value:,.{max(1, decimals)}f}".replace(",", "\u2009") + "/h"
    text = f"{value:,.{decimals}f}".replace(",", "\u2009")  # thin space between thousands
    return f"{text} {spec.unit}".rstrip() if spec.unit and spec.unit != "%" else text + spec.unit


def metric_label(metric: str, board: BoardConfig) -> str:
    if metric == SCORE:
        return "Score"
    label = board.metric(metric).label or metric.replace("_", " ").capitalize()
    return f"{label} per hour" if board.metric(metric).per_hour and metric == board.rank_by else label


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


def draw_note(surface: pygame.Surface | None, stage: Stage, note: str, x: int, cy: int, height: int) -> int:
    """Why an agent is not ranked, as a word pill at ``x`` ("quality first", "needs 5 ratings"):
    words, not a colour or an icon, so it reads from across the room without a legend. "quality
    first" is outlined in the theme's attention colour, the others in muted. Drawn straight onto
    the row (its text blends with the row's own colour); the width it takes; with ``surface``
    None, only measured."""
    colour = stage.colour("stale" if note == QUALITY_FIRST else "muted")
    label = stage.text(note, stage.theme.sizes.small, colour, bold=note == QUALITY_FIRST)
    pad = max(4, label.get_height() // 3)
    h = min(height, label.get_height() + pad)
    rect = pygame.Rect(x, cy - h // 2, label.get_width() + 2 * pad, h)
    if surface is not None:
        pygame.draw.rect(surface, colour, rect, width=max(2, h // 14), border_radius=h // 2)
        surface.blit(label, label.get_rect(center=rect.center))
    return rect.w


def draw_badges(surface: pygame.Surface | None, x: int, cy: int, size: int, badges: tuple[str, ...],
                stage: Stage) -> int:
    """Badges after a name, as shapes (no text small enough to be unreadable): a crown for the
    record holder, a flame for a streak, a medal for 10/50/100 completions. Each is ``size`` tall
    (never less than the legible minimum, :meth:`Stage.px` of 0) and at most as wide, after a gap
    of half that. The width they take; with ``surface`` None, only measured."""
    s = max(size, stage.px(0))
    top = cy - s // 2
    width = 0
    for badge in badges:
        left = x + width + s // 2
        if surface is not None:
            def at(fx: float, fy: float) -> tuple[float, float]:  # a point of the badge's s × s box
                return left + fx * (s - 1), top + fy * (s - 1)

            if badge == "record":
                pygame.draw.polygon(surface, stage.colour("accent"),
                                    [at(0, 1), at(0, 0.3), at(0.25, 0.6), at(0.5, 0), at(0.75, 0.6), at(1, 0.3),
                                     at(1, 1)])
            elif badge == "streak":
                flame = stage.colour("stale")
                r = round(s * 0.36)
                pygame.draw.circle(surface, flame, (left + s // 2, top + s - r), r)  # rows top+s-2r … top+s-1
                pygame.draw.polygon(surface, flame, [at(0.14, 0.62), at(0.3, 0.25), at(0.45, 0.42), at(0.6, 0),
                                                     at(0.86, 0.62)])
            elif badge.startswith("milestone:"):
                colour = MEDALS.get(badge.split(":", 1)[1], MEDALS["10"])
                r = round(s * 3 / 8)
                pygame.draw.polygon(surface, stage.colour("down"), [at(0.5 - r / s, 0), at(0.5 + r / s, 0),
                                                                   at(0.5, 1 - r / s)])
                pygame.draw.circle(surface, colour, (left + s // 2, top + s - r), r)
        width += s + s // 2
    return width


def metric_title(metric: str, board: BoardConfig) -> str:
    """A metric's name for a heading: its label, or the fuller name its id spells when the label is
    one word of it ("Solved" → "Tickets solved"; "CSAT" and "Handle time" stay as they are)."""
    label = metric_label(metric, board)
    spelt = metric.replace("_", " ").capitalize()
    words = spelt.lower().split()
    if metric != SCORE and len(words) > len(label.split()) and label.lower() in words:
        return spelt
    return label


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

"""The stage every scene draws on: screen geometry, theme, fonts, clock, and the shared chrome.

The chrome is what stays while scenes rotate: the background (rendered once per size), the header
(title, period, clock; re-rendered only when the minute changes) and the stale notice in a corner
("data from 10:42 — feed unreachable"). Sizes come from the theme as fractions of the screen height.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import pygame

from display.anim import Motion
from display.clock import Clock
from display.fonts import FontBook
from display.themes import MIN_TEXT, Theme
from feeds.config.schema import BoardConfig, DisplayConfig
from feeds.live.coordinator import FeedState

RGB = tuple[int, int, int]
PORTRAIT_SCALE = 0.7


@dataclass(frozen=True)
class Notice:
    """A small message to whoever looks after the wall (a config edit that was not applied)."""

    lines: tuple[str, ...]
    colour: str = "stale"  # a theme colour name, for the frame and the first line
    until: float | None = None  # clock time it goes away by itself; None: until replaced


def mix(a: RGB, b: RGB, t: float) -> RGB:
    return (round(a[0] + (b[0] - a[0]) * t), round(a[1] + (b[1] - a[1]) * t), round(a[2] + (b[2] - a[2]) * t))


def hex_rgb(value: str | None, fallback: RGB) -> RGB:
    if not value or len(value) != 7:
        return fallback
    return int(value[1:3], 16), int(value[3:5], 16), int(value[5:7], 16)


@dataclass
class Stage:
    size: tuple[int, int]
    theme: Theme
    fonts: FontBook
    clock: Clock
    motion: Motion
    display: DisplayConfig
    board: BoardConfig
    avatar_dir: Path | None = None  # the fetched pictures (feeds/avatars.py); None: not shown
    wall_qr: str = ""  # the team page's address, drawn as a QR code on the wins scene ("": none)

    def __post_init__(self) -> None:
        self._background: pygame.Surface | None = None
        self._header: tuple[str, pygame.Surface] | None = None
        self.reserved_bottom = 0  # kept clear below the content for notices (set by the wall)
        self._px: dict[tuple[float, tuple[int, int]], int] = {}  # asked hundreds of times a frame
        self._colours: dict[str, RGB] = {}
        self._x_ratio: float | None = None  # the text font's x-height per pixel, once viewing_distance asks
        self._colours_of: Theme | None = None
        # Asked many times a frame by every scene: worked out again only when what it depends on changes.
        self._content: tuple[tuple[tuple[int, int], int, Theme], pygame.Rect] | None = None

    # --- geometry ---------------------------------------------------------------------
    @property
    def w(self) -> int:
        return self.size[0]

    @property
    def h(self) -> int:
        return self.size[1]

    @property
    def portrait(self) -> bool:
        return self.h > self.w

    def px(self, fraction: float) -> int:
        """A theme size (fraction of the screen height) in pixels. A portrait screen is narrow for
        its height, so sizes shrink there, but never below 1/36 of the height (legible at 5 m) nor
        below what ``viewing_distance`` asks."""
        key = (fraction, self.size)
        px = self._px.get(key)
        if px is None:
            w, h = self.size
            scale = PORTRAIT_SCALE if h > w else 1.0
            px = self._px[key] = max(8, math.ceil(h * MIN_TEXT), self._distance_px(), round(h * fraction * scale))
            if len(self._px) > 4096:  # fractions come from the theme and a few scales of them
                self._px.clear()
        return px

    def _distance_px(self) -> int:
        """The smallest font size the viewing distance allows on this screen (display/legibility.py)."""
        if self.display.viewing_distance <= 0:
            return 0
        from display.legibility import min_text_px, x_ratio

        if self._x_ratio is None:
            self._x_ratio = x_ratio(self.fonts)
        return min_text_px(self.display, self.size, self._x_ratio)

    @property
    def margin(self) -> int:
        return round(min(self.w, self.h) * 0.035)

    @property
    def header_height(self) -> int:
        return round(self.px(self.theme.sizes.header) * 1.9)

    def content(self) -> pygame.Rect:
        """The area below the header, inside the margins (a new rectangle each time: callers move it)."""
        key = (self.size, self.reserved_bottom, self.theme)
        cached = self._content
        if cached is None or cached[0][0] != key[0] or cached[0][1] != key[1] or cached[0][2] is not key[2]:
            top = self.header_height + self.margin // 2
            bottom = max(self.margin, self.reserved_bottom)
            cached = self._content = (key, pygame.Rect(self.margin, top, self.w - 2 * self.margin, self.h - top - bottom))
        return cached[1].copy()

    def colour(self, name: str) -> RGB:
        if self._colours_of is not self.theme:  # parsed once per theme, not on every text drawn
            self._colours, self._colours_of = {}, self.theme
        rgb = self._colours.get(name)
        if rgb is None:
            rgb = self._colours[name] = self.theme.colour(name)
        return rgb

    def text(self, text: str, size: float, colour: str | RGB = "text", *, bold: bool = False,
             numbers: bool = False, max_width: int | None = None) -> pygame.Surface:
        rgb = self.colour(colour) if isinstance(colour, str) else colour
        return self.fonts.render(text, "numbers" if numbers else "text", self.px(size), rgb, bold=bold,
                                 max_width=max_width)

    def text_fitted(self, text: str, size: float, colour: str | RGB, max_width: int, *, bold: bool = False,
                    numbers: bool = False) -> pygame.Surface:
        """``text`` at ``size``, or smaller (down to the legible minimum) so it fits; only then "…"."""
        role = "numbers" if numbers else "text"
        px = self.px(size)
        floor = self.px(0)  # px() never goes below the legible minimum
        while px > floor and self.fonts.width(text, role, px, bold) > max_width:
            px = max(floor, int(px * 0.92))
        rgb = self.colour(colour) if isinstance(colour, str) else colour
        return self.fonts.render(text, role, px, rgb, bold=bold, max_width=max_width)

    # --- chrome -----------------------------------------------------------------------
    def background(self) -> pygame.Surface:
        if self._background is None:
            surface = pygame.Surface(self.size)
            top, bottom = self.colour("background"), self.colour("background_end")
            style = self.theme.background.style
            if style == "image":
                surface.blit(_load_image(self.theme.background.image, self.size, top), (0, 0))
            elif style == "gradient" and top != bottom:
                for y in range(self.h):  # once per screen size, so a plain loop is fine
                    pygame.draw.line(surface, mix(top, bottom, y / max(1, self.h - 1)), (0, y), (self.w, y))
            else:
                surface.fill(top)
            self._background = surface.convert() if pygame.display.get_surface() else surface
        return self._background

    def draw_header(self, surface: pygame.Surface, subtitle: str) -> None:
        now = self.clock.wall()
        key = f"{subtitle}|{time.strftime('%H:%M', time.localtime(now))}"
        if self._header is None or self._header[0] != key:
            self._header = (key, self._render_header(subtitle, now))
        surface.blit(self._header[1], (0, 0))

    def _render_header(self, subtitle: str, now: float) -> pygame.Surface:
        hh = self.header_height
        header = pygame.Surface((self.w, hh), pygame.SRCALPHA)
        size = self.theme.sizes.header
        m = self.margin
        local = time.localtime(now)
        clock_text = self.text(time.strftime("%H:%M", local), size, "text", bold=True, numbers=True)
        date = f"{time.strftime('%a', local)} {local.tm_mday} {time.strftime('%b', local)}"
        cy = hh // 2
        right = self.w - m - clock_text.get_width()
        header.blit(clock_text, (right, cy - clock_text.get_height() // 2))
        title_w = self.fonts.width(self.display.title, "text", self.px(size), bold=True)
        # The title matters most: the period and date, else the date alone, else neither.
        for text in (f"{self.display.period} · {date}".lstrip(" ·"), date):
            period = self.text(text, size * 0.8, "muted")
            if m + title_w + m + period.get_width() + m <= right:
                right -= period.get_width() + m
                header.blit(period, (right, cy - period.get_height() // 2))
                break
        room = right - 2 * m
        title = self.text(self.display.title, size, "text", bold=True, max_width=room)
        header.blit(title, (m, cy - title.get_height() // 2))
        if not self.portrait and subtitle:  # what this scene shows, after the title when there is room
            left = m + title.get_width() + m
            sub = self.text(f"· {subtitle}", size * 0.8, "muted", max_width=max(1, right - m - left))
            if sub.get_width() > self.px(size):
                header.blit(sub, (left, cy - sub.get_height() // 2))
        pygame.draw.rect(header, self.colour("accent"), (m, hh - 4, self.w - 2 * m, 3))
        return header

    def header_slot(self) -> pygame.Rect:
        """Where a toast sits in the header: after the title (over the scene's name and the date)
        up to the clock; on a portrait screen, where there is no room beside it, over the title."""
        m, size = self.margin, self.theme.sizes.header
        right = self.w - 2 * m - self.fonts.width("88:88", "numbers", self.px(size), bold=True)
        left = m
        if not self.portrait:
            left += min(self.fonts.width(self.display.title, "text", self.px(size), bold=True), self.w // 3) + m
        return pygame.Rect(left, 0, max(1, right - left), self.header_height - 5)  # above the accent line

    def shade(self, surface: pygame.Surface, amount: int = 200, rect: pygame.Rect | None = None) -> None:
        """Dim ``surface`` toward the background colour (``amount`` of 255), in place. Two plain fills
        instead of blending a per-pixel-alpha layer: no full-screen allocation, and SIMD-fast."""
        keep = 255 - amount
        surface.fill((keep, keep, keep), rect, special_flags=pygame.BLEND_RGB_MULT)
        surface.fill(tuple(round(c * amount / 255) for c in self.colour("background")), rect,
                     special_flags=pygame.BLEND_RGB_ADD)

    def stale_text(self, state: FeedState) -> str | None:
        """What the stale notice says, or None while the board is fresh."""
        if not state.stale or state.last_success is None:
            return None
        when = time.strftime("%H:%M", time.localtime(state.last_success))
        error = state.last_error or ""
        if error.startswith("hub "):  # a hub's screen: "hub unreachable since 10:42", its own words
            return f"data from {when} — {error.split(' (', 1)[0]}"
        return f"data from {when} — " + ("feed unreachable" if error else "updating…")

    def place_notices(self, notices: list[Notice]) -> list[tuple[Notice, pygame.Rect]]:
        """Where notices go: the first in the bottom-right corner, the next in the bottom-left
        corner if the two fit side by side, else above it (a portrait screen)."""
        left, right, bottom = self.margin // 2, self.w - self.margin // 2, self.h - self.margin // 4
        gap = self.margin // 4
        placed: list[tuple[Notice, pygame.Rect]] = []
        for notice in notices:
            labels, pad = self._notice_labels(notice)
            box = pygame.Rect(0, 0, max(label.get_width() for label in labels) + 4 * pad,
                              sum(label.get_height() for label in labels) + 2 * pad)
            if not placed:
                box.bottomright = (right, bottom)
            elif box.w <= placed[-1][1].left - gap - left:
                box.bottomleft = (left, bottom)
            else:
                box.bottomleft = (left, min(r.top for _, r in placed) - gap)
            placed.append((notice, box))
        return placed

    def notice_band(self, notices: list[Notice]) -> int:
        """The height to keep clear at the bottom so that ``notices`` cover nothing."""
        placed = self.place_notices(notices)
        return self.h - min(r.top for _, r in placed) + self.margin // 4 if placed else 0

    def draw_notice(self, surface: pygame.Surface, notice: Notice, box: pygame.Rect) -> pygame.Rect:
        """A small framed notice in ``box`` (from :meth:`place_notices`)."""
        labels, pad = self._notice_labels(notice)
        pygame.draw.rect(surface, self.colour("background"), box, border_radius=pad * 2)
        pygame.draw.rect(surface, self.colour(notice.colour), box, width=max(2, pad // 3), border_radius=pad * 2)
        y = box.y + pad
        for label in labels:
            surface.blit(label, (box.x + 2 * pad, y))
            y += label.get_height()
        return box

    def _notice_labels(self, notice: Notice) -> tuple[list[pygame.Surface], int]:
        """A notice's lines, each ellipsised to the screen's width."""
        size = self.theme.sizes.small
        pad = self.px(size) // 4
        width = self.w - self.margin - 4 * pad
        return [self.text(line, size, notice.colour if i == 0 else "text", bold=i == 0, max_width=width)
                for i, line in enumerate(notice.lines)], pad

    def draw_waiting(self, surface: pygame.Surface, state: FeedState) -> None:
        """Before the first good poll: a calm message, never a blank screen."""
        message = "Waiting for the first data…" if state.last_error is None else "Cannot reach the feed yet"
        label = self.text(message, self.theme.sizes.value, "text", bold=True)
        surface.blit(label, label.get_rect(center=self.content().center))
        if state.last_error:
            detail = self.text(state.last_error, self.theme.sizes.small, "muted", max_width=self.content().w)
            surface.blit(detail, detail.get_rect(midtop=(self.w // 2, self.content().centery + label.get_height())))


def _load_image(path: str, size: tuple[int, int], fill: RGB) -> pygame.Surface:
    """A background image scaled to cover the screen; a plain fill if it cannot be read."""
    surface = pygame.Surface(size)
    surface.fill(fill)
    try:
        image = pygame.image.load(path)
    except (pygame.error, OSError, FileNotFoundError):
        return surface
    scale = max(size[0] / image.get_width(), size[1] / image.get_height())
    scaled = pygame.transform.smoothscale(image, (round(image.get_width() * scale), round(image.get_height() * scale)))
    surface.blit(scaled, scaled.get_rect(center=(size[0] // 2, size[1] // 2)))
    return surface

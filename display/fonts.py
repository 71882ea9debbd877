"""Fonts by family name, with a fallback chain, and a cache of rendered text.

Families are resolved through fontconfig (``fc-match``), so a theme says "Noto Sans", not a file
path. SDL_ttf draws an empty box for a letter a font lacks instead of reporting it, so each font's
real coverage is read once with ``fc-query``; a text is drawn with the first font of the chain that
has every one of its letters (Åsa, Алексей and Nguyễn all come out right). Rendering text is the
costliest thing the display does, so rendered surfaces are kept in an LRU cache, and a text too wide
for its place is shortened with "…" rather than overflowing.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections import OrderedDict
from functools import lru_cache

import pygame

from feeds.logs import LOGGER

log = logging.getLogger(f"{LOGGER}.fonts")
RGB = tuple[int, int, int]
ELLIPSIS = "…"
MEASURED_TEXTS = 8192  # texts whose font and width are remembered (a few hundred per board)


@lru_cache(maxsize=64)
def find_family(family: str, bold: bool) -> str | None:
    """The file of a font family (bold or regular) as fontconfig knows it, or None."""
    if not shutil.which("fc-match"):
        return None
    pattern = f"{family}:style={'Bold' if bold else 'Regular'}"
    try:
        out = subprocess.run(["fc-match", "-f", "%{family}\t%{file}", pattern], capture_output=True,
                             text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    families, _, path = out.partition("\t")
    # fc-match always answers with *something*; only accept the family that was asked for.
    if family.casefold() not in (f.strip().casefold() for f in families.split(",")):
        return None
    return path or None


@lru_cache(maxsize=64)
def coverage(path: str) -> tuple[tuple[int, int], ...]:
    """The code point ranges a font file has glyphs for (empty when unknown)."""
    try:
        out = subprocess.run(["fc-query", "-f", "%{charset}", path], capture_output=True, text=True,
                             timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return ()
    ranges = []
    for part in out.split():
        lo, _, hi = part.partition("-")
        try:
            ranges.append((int(lo, 16), int(hi or lo, 16)))
        except ValueError:
            continue
    return tuple(ranges)


def covers(ranges: tuple[tuple[int, int], ...], text: str) -> bool:
    for ch in set(text):
        cp = ord(ch)
        if cp > 0x20 and not any(lo <= cp <= hi for lo, hi in ranges):
            return False
    return True


class FontBook:
    """Fonts for one theme and screen, and the rendered-text cache."""

    def __init__(self, families: dict[str, tuple[str, ...]], cache_bytes: int = 16 * 1024 * 1024) -> None:
        self.families = families
        self._fonts: dict[tuple[str, int, bool], list[tuple[pygame.font.Font, tuple[tuple[int, int], ...]]]] = {}
        self._cache: OrderedDict[tuple[object, ...], pygame.Surface] = OrderedDict()
        # Bounded by bytes, not entries: a banner title at 1080p weighs as much as fifty small labels.
        self._cache_bytes = cache_bytes
        self._bytes = 0
        self._warned = False
        # Which font draws a text, and how wide it is: asked many times a frame while scenes lay
        # out (every gap line of a new board is measured before it is drawn). First in, first out.
        self._measured: dict[tuple[str, str, int, bool], tuple[pygame.font.Font, int | None]] = {}
        self.drawn: list[str] | None = None  # when a list, every text rendered is added to it (previews)

    def chain(self, role: str, px: int, bold: bool) -> list[tuple[pygame.font.Font, tuple[tuple[int, int], ...]]]:
        key = (role, px, bold)
        if key not in self._fonts:
            chain = []
            for family in self.families.get(role, ()):
                path = find_family(family, bold) or (find_family(family, False) if bold else None)
                if path:
                    font = pygame.font.Font(path, px)
                    chain.append((font, coverage(path)))
            if not chain:
                if not self._warned:
                    log.warning("none of the fonts %s is installed; using pygame's built-in font "
                                "(Latin only). Install fonts-noto-core.", self.families.get(role))
                    self._warned = True
                font = pygame.font.Font(None, px)
                font.bold = bold
                chain.append((font, ()))
            self._fonts[key] = chain
        return self._fonts[key]

    def font_for(self, text: str, role: str, px: int, bold: bool = False) -> pygame.font.Font:
        key = (text, role, px, bold)
        known = self._measured.get(key)
        if known is not None:
            return known[0]
        font = self._choose(text, role, px, bold)
        self._remember(key, (font, None))
        return font

    def _choose(self, text: str, role: str, px: int, bold: bool) -> pygame.font.Font:
        chain = self.chain(role, px, bold)
        for font, ranges in chain:
            if not ranges or covers(ranges, text):
                return font
        return chain[0][0]

    def _remember(self, key: tuple[str, str, int, bool], value: tuple[pygame.font.Font, int | None]) -> None:
        if len(self._measured) >= MEASURED_TEXTS and key not in self._measured:
            del self._measured[next(iter(self._measured))]
        self._measured[key] = value

    def render(self, text: str, role: str, px: int, colour: RGB, *, bold: bool = False,
               max_width: int | None = None) -> pygame.Surface:
        """``text`` drawn (anti-aliased, transparent background), shortened with … to fit ``max_width``."""
        if self.drawn is not None:
            self.drawn.append(text)
        key = (text, role, px, colour, bold, max_width)
        surface = self._cache.get(key)
        if surface is not None:
            self._cache.move_to_end(key)
            return surface
        font = self.font_for(text, role, px, bold)
        shown = fit(font, text, max_width) if max_width else text
        surface = font.render(shown or " ", True, colour)
        self._cache[key] = surface
        self._bytes += _weight(surface)
        while self._bytes > self._cache_bytes and len(self._cache) > 1:
            self._bytes -= _weight(self._cache.popitem(last=False)[1])
        return surface

    def width(self, text: str, role: str, px: int, bold: bool = False) -> int:
        key = (text, role, px, bold)
        known = self._measured.get(key)
        if known is not None and known[1] is not None:
            return known[1]
        font = known[0] if known is not None else self._choose(text, role, px, bold)
        width = font.size(text)[0]
        self._remember(key, (font, width))
        return width

    def cache_len(self) -> int:
        return len(self._cache)

    def cache_bytes(self) -> int:
        return self._bytes


def _weight(surface: pygame.Surface) -> int:
    return surface.get_width() * surface.get_height() * surface.get_bytesize()


def fit(font: pygame.font.Font, text: str, max_width: int) -> str:
    """The longest start of ``text`` that fits in ``max_width`` with an ellipsis (the whole if it fits)."""
    if font.size(text)[0] <= max_width:
        return text
    lo, hi = 0, len(text)
    while lo < hi:  # binary search on the number of characters kept
        mid = (lo + hi + 1) // 2
        if font.size(text[:mid].rstrip() + ELLIPSIS)[0] <= max_width:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo].rstrip() + ELLIPSIS if lo else ELLIPSIS

"""The record: Schwab's chalk number — yesterday's best, huge, chalked on a board — who set it,
and how today is doing against it ("Day shift 5 — 3 to go", or "Beaten! Night shift 9").
"""

from __future__ import annotations

import random

import pygame

from display.scenes import Scene
from display.stage import RGB
from display.widgets import format_value
from feeds.board import who_is
from feeds.challenges import RecordToBeat

SLATE = (38, 52, 46)
CHALK = (240, 242, 236)  # the board is always slate, so what is written on it uses chalk colours
CHALK_DIM = (200, 210, 200)
CHALK_YELLOW = (255, 214, 102)


def chalk(text: pygame.Surface, seed: str) -> pygame.Surface:
    """``text`` rubbed on like chalk: thinned along short sideways strokes, as a stick of chalk
    skips over a board (a fixed pattern per seed, computed once per number)."""
    out = text.copy()
    mask = pygame.Surface(out.get_size(), pygame.SRCALPHA)
    mask.fill((255, 255, 255, 240))
    rng = random.Random(seed)
    w, h = out.get_size()
    grain = max(1, h // 120)
    for _ in range(w * h // (grain * grain * 40)):
        length = rng.randint(grain * 3, grain * 14)
        mask.fill((255, 255, 255, rng.randint(20, 140)),
                  (rng.randrange(w) - length // 2, rng.randrange(h), length, grain))
    out.blit(mask, (0, 0), special_flags=pygame.BLEND_RGBA_MULT)
    return out


class RecordScene(Scene):
    name = "record"

    def __init__(self, stage) -> None:  # type: ignore[no-untyped-def]
        super().__init__(stage)
        self._chalked: dict[str, pygame.Surface] = {}

    def subtitle(self) -> str:
        return "The number to beat"

    def record(self) -> RecordToBeat | None:
        return self.game.records[0] if self.game is not None and self.game.records else None

    def has_content(self) -> bool:
        return self.record() is not None

    def _who(self, ident: str | None) -> str:
        return who_is(self.board, ident)[0] if ident else "—"

    def draw(self, surface: pygame.Surface) -> None:
        record = self.record()
        if record is None:
            return
        st = self.stage
        sizes = st.theme.sizes
        area = st.content()
        board = area.inflate(-area.w // 12, -area.h // 14)
        pygame.draw.rect(surface, (96, 72, 48), board.inflate(board.h // 25, board.h // 25), border_radius=board.h // 30)
        pygame.draw.rect(surface, SLATE, board, border_radius=board.h // 40)
        width = board.w * 9 // 10
        have_best = record.best is not None
        value = record.best if have_best else record.leader_value
        holder = record.holder if have_best else record.leader
        top = [self._text("Beat yesterday's best" if have_best else "Today sets the first record",
                          sizes.small * 1.2, CHALK_DIM, width)]
        below = [self._text(f"set by {self._who(holder)}" if have_best else f"best so far today: {self._who(holder)}",
                            sizes.value * 0.8, CHALK, width)]
        if have_best and record.leader is not None and record.leader_value is not None:
            leader = self._who(record.leader)
            today = format_value(record.leader_value, record.metric, st.board)
            if record.beaten:
                below.append(self._text(f"Beaten today by {leader}: {today}", sizes.value * 0.75, CHALK_YELLOW, width,
                                        bold=True))
            else:
                gap = format_value(abs((record.best or 0) - record.leader_value), record.metric, st.board)
                below.append(self._text(f"Today: {leader} {today}", sizes.value * 0.75, CHALK, width))
                below.append(self._text(f"{gap} to go", sizes.value * 0.75, CHALK_YELLOW, width, bold=True))
        # A vertical stack with even gaps: the number gets what the words leave, up to its full size.
        words = sum(t.get_height() for t in top + below)
        room = board.h - words - board.h // 6
        big = self._number(format_value(value, record.metric, st.board) if value is not None else "–", room, width)
        blocks = [top, [big], below]  # three blocks, the same space above, between and below them
        gap = (board.h - sum(p.get_height() for block in blocks for p in block)) // (len(blocks) + 1)
        y = board.y + gap
        for block in blocks:
            for part in block:
                surface.blit(part, part.get_rect(midtop=(board.centerx, y)))
                y += part.get_height()
            y += gap

    def _number(self, digits: str, room: int, width: int) -> pygame.Surface:
        st = self.stage
        key = f"{digits}|{room}|{width}"
        if key not in self._chalked:
            px = st.px(0.34 if not st.portrait else 0.24)
            while px > st.px(0) and (st.fonts.width(digits, "numbers", px, True) > width or px * 1.1 > room):
                px = int(px * 0.92)
            raw = st.fonts.render(digits, "numbers", px, CHALK, bold=True)
            self._chalked = {key: chalk(raw, key)}
        return self._chalked[key]

    def _text(self, text: str, size: float, colour: RGB, width: int, bold: bool = False) -> pygame.Surface:
        return self.stage.text_fitted(text, size, colour, width, bold=bold)

"""The record: Schwab's chalk number — yesterday's best, huge, chalked on a board — who set it,
and today's race against it: every team (or agent) with what it has left to beat ("Day shift
166 · 37 to go", "Night shift 209 · beaten by 6!"). On the first day there is no record yet: the
board says so, and shows today's best so far and what the others need to catch it.
"""

from __future__ import annotations

import random
from typing import NamedTuple

import pygame

from display.scenes import Box, Line, Scene, Shape
from display.stage import RGB
from display.widgets import format_value, metric_title
from feeds.board.build import who_is
from feeds.game.challenges import RecordToBeat

SLATE = (38, 52, 46)
CHALK = (240, 242, 236)  # the board is always slate, so what is written on it uses chalk colours
CHALK_DIM = (200, 210, 200)
CHALK_YELLOW = (255, 214, 102)
CHALK_TRACK = (58, 74, 66)


class Row(NamedTuple):
    """One line of today's race: who, their value and what is left ("166 · 37 to go"), whether
    they have it (beaten the record, or hold the best so far), and how far along the bar."""

    name: str
    status: str
    done: bool
    fraction: float


def _share(value: float, goal: float, lower: bool) -> float:
    """How far ``value`` has come toward ``goal``, 0 to 1 (for a lower-is-better goal: goal / value)."""
    if lower:
        return 1.0 if value <= goal else (goal / value if value > 0 else 0.0)
    return max(0.0, min(1.0, value / goal)) if goal > 0 else 0.0


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
        self.boxes: list[tuple[str, pygame.Rect]] = []  # what the last draw wrote where

    def subtitle(self) -> str:
        return "The number to beat"

    def record(self) -> RecordToBeat | None:
        return self.game.records[0] if self.game is not None and self.game.records else None

    def has_content(self) -> bool:
        return self.record() is not None

    def _who(self, ident: str | None) -> str:
        return who_is(self.board, ident)[0] if ident else "—"

    def lines(self, record: RecordToBeat) -> tuple[str, str | None, str, str, list[Row]]:
        """What the board says: the line above the number, the number, the line below it, the
        heading of today's race and its rows."""
        board = self.stage.board
        what = metric_title(record.metric, board).lower()

        def shown(value: float) -> str:
            return format_value(value, record.metric, board)

        rows: list[Row] = []
        if record.best is not None:  # yesterday's best is the number to beat, by everyone today
            for subject, value in record.today:
                beaten = value < record.best if record.lower_is_better else value > record.best
                gap = shown(abs(record.best - value))
                status = f"beaten by {gap}!" if beaten else "level: one more beats it" if gap == shown(0) else f"{gap} to go"
                rows.append(Row(self._who(subject), f"{shown(value)} · {status}", beaten,
                                _share(value, record.best, record.lower_is_better)))
            heading = f"Today so far · {what}" if rows else f"Nobody has {what} yet today: the board is open"
            return ("The record to beat: yesterday's best", shown(record.best),
                    f"{what}, set by {self._who(record.holder)}", heading, rows)
        # The first day: no record yet. Today's best so far is the one to beat, and at the end of the
        # day it is chalked up as the first record.
        if record.leader is None or record.leader_value is None:
            return ("No record yet: today's best becomes the first", None, f"no {what} yet today",
                    "The first to score sets the number to beat", rows)
        leader = self._who(record.leader)
        rows.append(Row(leader, f"{shown(record.leader_value)} · best so far", True, 1.0))
        for subject, value in record.today:
            if subject != record.leader:
                gap = shown(abs(record.leader_value - value))
                rows.append(Row(self._who(subject), f"{shown(value)} · " + ("level" if gap == shown(0) else f"{gap} to go"),
                                False, _share(value, record.leader_value, record.lower_is_better)))
        heading = "Today's race for the first record" if len(rows) > 1 else "Tonight it stands as the record"
        return ("No record yet: today's best becomes the first", shown(record.leader_value),
                f"{what} so far by {leader}", heading, rows)

    def draw(self, surface: pygame.Surface) -> None:
        record = self.record()
        self.boxes = []
        if record is None:
            return
        above, value, below, heading, rows = self.lines(record)
        _, hero, race, _ = self._layout(len(rows))
        self._hero(surface, hero, above, value, below, record)
        self._race(surface, race, heading, rows)

    def shapes(self) -> list[Shape]:
        """The slate in its wooden frame, and the chalk line between the number and the race."""
        record = self.record()
        if record is None:
            return []
        board, _, _, line = self._layout(len(self.lines(record)[4]))
        frame = board.inflate(board.h // 25, board.h // 25)
        return [Box((96, 72, 48), (frame.x, frame.y, frame.w, frame.h), board.h // 30),
                Box(SLATE, (board.x, board.y, board.w, board.h), board.h // 40), line]

    def _layout(self, rows: int) -> tuple[pygame.Rect, pygame.Rect, pygame.Rect, Line]:
        """The slate, the number's part of it, the race's part and the line between them."""
        st = self.stage
        area = st.content()
        board = area.inflate(-area.w // 24, -area.h // 24)
        inner = board.inflate(-board.w // 16, -board.h // 12)
        thick = max(2, board.h // 400)
        if st.portrait:
            race_h = min(inner.h * 9 // 20, self._race_height(rows, inner.w))
            hero = pygame.Rect(inner.x, inner.y, inner.w, inner.h - race_h)
            race = pygame.Rect(inner.x, hero.bottom, inner.w, race_h)
            line = Line(CHALK_DIM, (race.x, race.y), (race.right, race.y), thick)
            race = race.inflate(0, -inner.h // 30).move(0, inner.h // 60)
        else:
            hero = pygame.Rect(inner.x, inner.y, inner.w * 11 // 20, inner.h)
            race = pygame.Rect(hero.right + inner.w // 20, inner.y, inner.right - hero.right - inner.w // 20, inner.h)
            x = hero.right + inner.w // 40
            line = Line(CHALK_DIM, (x, inner.y), (x, inner.bottom), thick)
        return board, hero, race, line

    def _race_height(self, rows: int, width: int) -> int:
        sizes = self.stage.theme.sizes
        line = self._text("Åg", sizes.value * (0.9 if rows <= 4 else 0.7), CHALK, width).get_height()
        return line * 3 + min(rows, 6) * round(line * 1.5)

    def _hero(self, surface: pygame.Surface, box: pygame.Rect, above: str, value: str | None, below: str,
              record: RecordToBeat) -> None:
        """The number, with what it is above and whose it is below; even gaps between the three."""
        st = self.stage
        sizes = st.theme.sizes
        top = self._wrapped(above, sizes.small * 1.2, CHALK_DIM, box.w)
        under = self._wrapped(below, sizes.value * 0.8, CHALK, box.w)
        if record.beaten and record.leader_value is not None:
            today = format_value(record.leader_value, record.metric, st.board)
            under.append(self._text(f"Beaten today by {self._who(record.leader)}: {today}", sizes.value * 0.75,
                                    CHALK_YELLOW, box.w, bold=True))
        words = sum(t.get_height() for t in top + under)
        room = box.h - words - box.h // 8
        big = self._number(value if value is not None else "–", room, box.w)
        blocks = [top, [big], under]  # three blocks, the same space above, between and below them
        gap = max(0, (box.h - sum(p.get_height() for block in blocks for p in block)) // (len(blocks) + 1))
        y = box.y + gap
        for block, label in zip(blocks, ("above", "number", "below")):
            for part in block:
                self._put(surface, part, label, midtop=(box.centerx, y))
                y += part.get_height()
            y += gap

    def _race(self, surface: pygame.Surface, box: pygame.Rect, heading: str, rows: list[Row]) -> None:
        """Today's race: who has what, and what each one has left to beat, each with a chalk bar
        toward the number; as many rows as fit."""
        st = self.stage
        sizes = st.theme.sizes
        head = self._wrapped(heading, sizes.small * 1.2, CHALK_DIM, box.w)
        size = sizes.value * (0.9 if len(rows) <= 4 else 0.7)  # a short race is written large
        line_h = self._text("Åg", size, CHALK, box.w).get_height()
        row_h = round(line_h * 1.5)
        head_h = sum(h.get_height() for h in head) + line_h // 2
        fit = max(0, (box.h - head_h) // row_h)
        total = head_h + min(fit, len(rows)) * row_h
        y = box.y + max(0, (box.h - total) // 2)  # the race sits in the middle of its half
        for part in head:
            y = self._put(surface, part, "heading", topleft=(box.x, y)).bottom
        y += line_h // 2
        thick = max(4, line_h // 7)
        # One size for every row, the largest at which each row's name and status fit side by side.
        fonts, px, gap = st.fonts, st.px(size), line_h // 2
        while px > st.px(0) and any(fonts.width(r.name, "text", px, r.done) + fonts.width(r.status, "text", px, True)
                                    + gap > box.w for r in rows[:fit]):
            px = max(st.px(0), int(px * 0.92))
        for row in rows[:fit]:
            right = fonts.render(row.status, "text", px, CHALK_YELLOW, bold=True, max_width=box.w * 3 // 5)
            left = fonts.render(row.name, "text", px, CHALK_YELLOW if row.done else CHALK, bold=row.done,
                                max_width=box.w - right.get_width() - gap)
            self._put(surface, left, "row", midleft=(box.x, y + line_h // 2))
            self._put(surface, right, "row status", midright=(box.right, y + line_h // 2))
            bar = pygame.Rect(box.x, y + line_h + thick // 2, box.w, thick)
            pygame.draw.rect(surface, CHALK_TRACK, bar, border_radius=thick // 2)
            bar.w = max(thick, round(bar.w * row.fraction))
            pygame.draw.rect(surface, CHALK_YELLOW if row.done else CHALK_DIM, bar, border_radius=thick // 2)
            y += row_h

    def _wrapped(self, text: str, size: float, colour: RGB, width: int) -> list[pygame.Surface]:
        """``text`` on one line at ``size`` if it fits, else on two lines as even as can be (then fitted)."""
        fonts, px = self.stage.fonts, self.stage.px(size)
        words = text.split()
        if fonts.width(text, "text", px) <= width or len(words) < 2:
            return [self._text(text, size, colour, width)]
        cut = min(range(1, len(words)), key=lambda n: max(fonts.width(" ".join(words[:n]), "text", px),
                                                          fonts.width(" ".join(words[n:]), "text", px)))
        return [self._text(" ".join(words[:cut]), size, colour, width),
                self._text(" ".join(words[cut:]), size, colour, width)]

    def _put(self, surface: pygame.Surface, text: pygame.Surface, label: str, **where: tuple[int, int]) -> pygame.Rect:
        rect = text.get_rect(**where)
        surface.blit(text, rect)
        self.boxes.append((label, rect))
        return rect

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

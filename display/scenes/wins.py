"""Wins and thanks: the latest completed challenges and kudos, newest first.

The scene remembers the events it has seen (the feed may only list its most recent few), so the
wall keeps showing the day's wins after they have scrolled out of the feed.

With ``[web] qr_on_wall`` a QR code of the team page's address stands in the content's bottom-right
corner (:mod:`display.qr`, made once); the cards that reach down beside it are narrower, so that
nothing is drawn under it.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime, timezone

import pygame

from display.qr import QrPanel, make_panel
from display.scenes import Scene
from display.stage import Stage
from display.widgets import Avatars, avatar_colour, draw_heart, draw_star, wrap_text
from feeds.board.build import COLLEAGUE, Board, hailed_is, self_thank, sender_name, who_is
from feeds.board.diff import BoardEvent
from feeds.model import CHALLENGE_COMPLETED, KUDOS, FeedEvent

REMEMBERED = 40


def event_time(event: FeedEvent, fallback: float) -> float:
    """When the event happened, in seconds since the epoch (``fallback`` if it does not say)."""
    return event.when(datetime.fromtimestamp(fallback, timezone.utc)).timestamp()


class WinsScene(Scene):
    name = "wins"

    def __init__(self, stage: Stage) -> None:
        super().__init__(stage)
        self.events: OrderedDict[str, tuple[float, FeedEvent]] = OrderedDict()
        self.avatars = Avatars(stage)
        self._laid_out: dict[tuple[str, int, int, str, str], tuple[list[tuple[str, str, str, bool]], int]] = {}
        self._qr: tuple[tuple[str, tuple[int, int], object], QrPanel] | None = None
        self.cards_drawn: list[pygame.Rect] = []  # where the last draw put its cards (or its message)

    def subtitle(self) -> str:
        return "Wins and thanks"

    def has_content(self) -> bool:
        return bool(self.events)  # before the day's first win or thanks, the rotation skips the scene

    def update(self, board: Board, events: Sequence[BoardEvent]) -> bool:
        super().update(board, events)
        for event in board.events:
            self.remember(event)
        return True

    def adopt(self, old: Scene) -> None:
        if isinstance(old, WinsScene):
            self.events = old.events

    def remember(self, event: FeedEvent) -> None:
        """Keep a win or a thanks for the list (also chalkwall's own completions, not in any feed)."""
        if event.type in (KUDOS, CHALLENGE_COMPLETED) and event.id not in self.events and not self_thank(event):
            self.events[event.id] = (event_time(event, self.stage.clock.wall()), event)
        while len(self.events) > REMEMBERED:
            self.events.popitem(last=False)

    def forget(self, event_id: str) -> None:
        """A thank-you taken back leaves the list."""
        self.events.pop(event_id, None)

    def latest(self) -> list[FeedEvent]:
        return [e for _, e in sorted(self.events.values(), key=lambda item: -item[0])]

    def qr_panel(self) -> QrPanel | None:
        """The QR code's panel (None when ``[web] qr_on_wall`` is off), made once per address, size and theme."""
        st = self.stage
        if not st.wall_qr:
            return None
        key = (st.wall_qr, st.size, st.theme)
        if self._qr is None or self._qr[0] != key:
            self._qr = (key, make_panel(st, st.wall_qr))
        return self._qr[1]

    def qr_rect(self, area: pygame.Rect | None = None) -> pygame.Rect | None:
        """Where the QR panel stands: the content's bottom-right corner (in portrait a strip across
        its foot, the caption beside the code); None when it is off, or on a screen too small to
        give it room beside the cards."""
        panel = self.qr_panel()
        if panel is None:
            return None
        area = area or self.stage.content()
        w, h = panel.size
        wide, tall = (1.0, 0.3) if self.stage.portrait else (0.4, 0.6)  # of the content: room left for the cards
        if w > area.w * wide or h > area.h * tall:
            return None
        return pygame.Rect(area.right - w, area.bottom - h, w, h)

    def draw(self, surface: pygame.Surface) -> None:
        st = self.stage
        area = st.content()
        items = self.latest()
        qr = self.qr_rect(area)
        self.cards_drawn = []
        if qr is not None:
            surface.blit(self.qr_panel().surface, qr)  # type: ignore[union-attr]
        if not items:  # shown only when asked for (a preview): the rotation skips an empty scene
            free = area.w - 2 * (qr.w + st.margin) if qr is not None else area.w  # centred, clear of the code
            title = st.text_fitted("No wins or thanks yet today", st.theme.sizes.value, "text", free, bold=True)
            note = st.text_fitted("The first completed challenge or thank-you shows here", st.theme.sizes.small,
                                  "muted", free)
            self.cards_drawn = [surface.blit(title, title.get_rect(midbottom=area.center)),
                                surface.blit(note, note.get_rect(midtop=area.center))]
            return
        row_h = self.row_height()
        gap = round(row_h * 0.15)
        y = area.y
        for event in items:
            width = area.w
            lines, h = self._fitted(event, width, row_h)
            if qr is not None and y + h > qr.top - gap:
                if st.portrait:  # the code and its caption are a strip across the foot: cards stop above it
                    break
                width = area.w - qr.w - gap  # it would reach down beside the code: narrower
                lines, h = self._fitted(event, width, row_h)
            if y + h > area.bottom:
                break
            card = pygame.Rect(area.x, y, width, h)
            self._card(surface, event, card, lines, row_h)
            self.cards_drawn.append(card)
            y += h + gap

    def _fitted(self, event: FeedEvent, width: int, row_h: int) -> tuple[list[tuple[str, str, str, bool]], int]:
        """A card's lines and height at ``width``: measuring text is what a frame costs, so once per
        event and size (a renamed agent is laid out again)."""
        name, _, _, giver, _, _ = self._what(event)
        key = (event.id, width, row_h, name, giver)
        if key not in self._laid_out:
            if len(self._laid_out) > 4 * REMEMBERED:
                self._laid_out.clear()
            lines = self._lines(event, self._text_width(width, row_h, event))
            self._laid_out[key] = (lines, max(row_h, self._lines_height(lines) + row_h // 8))
        return self._laid_out[key]

    def row_height(self) -> int:
        """A card's height with one or two lines of text; a longer thank-you makes its card taller."""
        return round(self.stage.px(self.stage.theme.sizes.row) * (2.7 if self.stage.portrait else 2.3))

    def _name(self, ident: str | None) -> tuple[str, str | None, str | None]:
        return who_is(self.board, ident)

    def _what(self, event: FeedEvent) -> tuple[str, str | None, str | None, str, str, str]:
        """Who the card is about (name, colour, avatar), the giver ("" for a win), what happened, the points."""
        data = event.data
        if event.type == CHALLENGE_COMPLETED:
            name, colour, avatar = hailed_is(self.board, data.get("agent") or data.get("team"))
            points = data.get("points") or 0
            return name, colour, avatar, "", f"“{data.get('challenge', '')}”", f"+{points:g} pts" if points else ""
        name, colour, avatar = self._name(data.get("to"))
        giver = sender_name(self.board, data.get("from")) or COLLEAGUE  # mid-sentence: "thanked by a colleague"
        quote = f"“{data['text']}”" if data.get("text") else ""
        return name, colour, avatar, giver, quote, ""

    def _layout(self, rect_w: int, row_h: int) -> tuple[int, int]:
        """Where the text starts and where the right-hand column (points, time) begins, from the card's left."""
        if self.stage.portrait:
            icon_r = row_h // 5
            return row_h // 3 + icon_r + row_h // 6, rect_w - row_h // 4
        icon_r = row_h // 4
        size = round(row_h * 0.62)
        return row_h // 2 + icon_r + row_h // 6 + size + row_h // 5, rect_w - row_h // 3

    def _right(self, event: FeedEvent) -> list[pygame.Surface]:
        """The points and the time, as drawn at the card's right."""
        st = self.stage
        sizes = st.theme.sizes
        when = time.strftime("%H:%M", time.localtime(event_time(event, st.clock.wall())))
        tail = self._what(event)[5]
        if st.portrait:
            return [st.text(when, sizes.small, "muted", numbers=True)]
        if tail:
            return [st.text(f"{tail}  {when}", sizes.row, "accent", bold=True, numbers=True)]
        return [st.text(when, sizes.row, "muted", numbers=True)]

    def _text_width(self, rect_w: int, row_h: int, event: FeedEvent) -> int:
        text_x, edge = self._layout(rect_w, row_h)
        if self.stage.portrait:
            return edge - text_x
        return edge - text_x - self._right(event)[0].get_width() - row_h // 3

    def _lines(self, event: FeedEvent, width: int) -> list[tuple[str, str, str, bool]]:
        """The card's lines (text, size, colour, bold): never cut short while a line more fits — a
        thank-you is wrapped over up to three lines, and only what is longer than that ends in "…"."""
        st = self.stage
        sizes = st.theme.sizes
        name, _, _, giver, what, tail = self._what(event)
        fits = lambda text, size, bold: st.fonts.width(text, "text", st.px(size), bold) <= width  # noqa: E731
        if event.type == KUDOS:
            title = f"{giver[:1].upper()}{giver[1:]} thanked {name}"
            if st.portrait or not fits(title, sizes.row, True):
                head = [(name, "row", "text", True), (f"thanked by {giver}", "small", "muted", False)]
            else:
                head = [(title, "row", "text", True)]
            quote_size = "small" if st.portrait else "row"
            quote = [(line, quote_size, "muted", False) for line in
                     wrap_text(st, what, getattr(sizes, quote_size), width, 3 if st.portrait else 2)] if what else []
            return head + quote
        if st.portrait:
            points = st.text(tail, sizes.small, "accent", bold=True, numbers=True).get_width() + st.px(sizes.small) \
                if tail else 0
            return [(name, "row", "text", True)] + [(line, "small", "muted", False) for line in
                                                     wrap_text(st, what, sizes.small, width - points, 2)]
        title = f"{name} completed {what}"
        if fits(title, sizes.row, True):
            return [(title, "row", "text", True)]
        return [(name, "row", "text", True), (f"completed {what}", "small", "muted", False)]

    def _lines_height(self, lines: list[tuple[str, str, str, bool]]) -> int:
        st = self.stage
        return sum(st.text("Åg", getattr(st.theme.sizes, size), colour, bold=bold).get_height()
                   for _, size, colour, bold in lines)

    def _card(self, surface: pygame.Surface, event: FeedEvent, rect: pygame.Rect,
              lines: list[tuple[str, str, str, bool]], row_h: int) -> None:
        st = self.stage
        sizes = st.theme.sizes
        pygame.draw.rect(surface, st.colour("surface"), rect, border_radius=row_h // 5)
        name, colour, avatar, _, _, tail = self._what(event)
        portrait = st.portrait
        icon_r = row_h // 5 if portrait else row_h // 4
        icon_c = (rect.x + (row_h // 3 if portrait else row_h // 2), rect.centery)
        if event.type == CHALLENGE_COMPLETED:
            draw_star(surface, icon_c, icon_r, st.colour("accent"))
        else:
            draw_heart(surface, icon_c, icon_r, st.colour("down"))
        text_x, edge = (rect.x + v for v in self._layout(rect.w, row_h))
        if not portrait:
            size = round(row_h * 0.62)
            who = event.data.get("agent") or event.data.get("team") if event.type == CHALLENGE_COMPLETED \
                else event.data.get("to")
            face = self.avatars.get(str(who), name, avatar, avatar_colour(colour, name), size)
            surface.blit(face, face.get_rect(midleft=(icon_c[0] + icon_r + row_h // 6, rect.centery)))
        width = self._text_width(rect.w, row_h, event)
        rendered = [st.text(text, getattr(sizes, size_name), colour_name, bold=bold, max_width=width)
                    for text, size_name, colour_name, bold in lines if text]
        top = rect.centery - sum(r.get_height() for r in rendered) // 2
        first = top
        for line in rendered:
            surface.blit(line, (text_x, top))
            top += line.get_height()
        right = self._right(event)[0]
        if portrait:  # the time beside the name; the points beside what was won
            surface.blit(right, right.get_rect(midright=(edge, first + rendered[0].get_height() // 2)))
            if tail and len(rendered) > 1:
                pts = st.text(tail, sizes.small, "accent", bold=True, numbers=True)
                surface.blit(pts, pts.get_rect(midright=(edge, first + rendered[0].get_height()
                                                         + rendered[1].get_height() // 2)))
        else:
            surface.blit(right, right.get_rect(midright=(edge, rect.centery)))

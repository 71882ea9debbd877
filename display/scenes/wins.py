"""Wins and thanks: the latest completed challenges and kudos, newest first.

The scene remembers the events it has seen (the feed may only list its most recent few), so the
wall keeps showing the day's wins after they have scrolled out of the feed.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime, timezone

import pygame

from display.scenes import Scene
from display.stage import Stage
from display.widgets import Avatars, avatar_colour, draw_heart, draw_star
from feeds.board import COLLEAGUE, Board, self_thank, sender_name, who_is
from feeds.diff import BoardEvent
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

    def subtitle(self) -> str:
        return "Wins and thanks"

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

    def latest(self) -> list[FeedEvent]:
        return [e for _, e in sorted(self.events.values(), key=lambda item: -item[0])]

    def draw(self, surface: pygame.Surface) -> None:
        st = self.stage
        area = st.content()
        items = self.latest()
        if not items:
            label = st.text("The first win of the day is still up for grabs", st.theme.sizes.value, "muted")
            surface.blit(label, label.get_rect(center=area.center))
            return
        row_h = round(st.px(st.theme.sizes.row) * (2.7 if st.portrait else 2.3))
        gap = round(row_h * 0.15)
        count = max(1, (area.h + gap) // (row_h + gap))
        for i, event in enumerate(items[:count]):
            self._card(surface, event, pygame.Rect(area.x, area.y + i * (row_h + gap), area.w, row_h))

    def _name(self, ident: str | None) -> tuple[str, str | None, str | None]:
        return who_is(self.board, ident)

    def _card(self, surface: pygame.Surface, event: FeedEvent, rect: pygame.Rect) -> None:
        if self.stage.portrait:
            self._narrow_card(surface, event, rect)
            return
        st = self.stage
        sizes = st.theme.sizes
        pygame.draw.rect(surface, st.colour("surface"), rect, border_radius=rect.h // 5)
        icon_r = rect.h // 4
        icon_c = (rect.x + rect.h // 2, rect.centery)
        pad = rect.h // 2 + icon_r + rect.h // 6
        data = event.data
        if event.type == CHALLENGE_COMPLETED:
            who = data.get("agent") or data.get("team")
            name, colour, avatar = self._name(who)
            draw_star(surface, icon_c, icon_r, st.colour("accent"))
            title = f"{name} completed “{data.get('challenge', '')}”"
            points = data.get("points") or 0
            tail = f"+{points:g} pts" if points else ""
        else:
            name, colour, avatar = self._name(data.get("to"))
            sender = sender_name(self.board, data.get("from"))
            giver = sender or COLLEAGUE  # mid-sentence: "thanked by a colleague"
            draw_heart(surface, icon_c, icon_r, st.colour("down"))
            title = f"{sender or COLLEAGUE.capitalize()} thanked {name}"
            tail = ""
        size = round(rect.h * 0.62)
        face = self.avatars.get(str(who if event.type == CHALLENGE_COMPLETED else data.get("to")), name, avatar,
                                avatar_colour(colour, name), size)
        surface.blit(face, face.get_rect(midleft=(rect.x + pad, rect.centery)))
        text_x = rect.x + pad + size + rect.h // 5
        when = time.strftime("%H:%M", time.localtime(event_time(event, st.clock.wall())))
        edge = rect.right - rect.h // 3
        if tail:  # points above the time on a narrow screen, beside it on a wide one
            if st.portrait:
                pts = st.text(tail, sizes.row, "accent", bold=True, numbers=True)
                clock = st.text(when, sizes.small, "muted", numbers=True)
                surface.blit(pts, pts.get_rect(bottomright=(edge, rect.centery + rect.h // 20)))
                surface.blit(clock, clock.get_rect(topright=(edge, rect.centery + rect.h // 20)))
                right_x = edge - pts.get_width()
            else:
                right = st.text(f"{tail}  {when}", sizes.row, "accent", bold=True, numbers=True)
                surface.blit(right, right.get_rect(midright=(edge, rect.centery)))
                right_x = edge - right.get_width()
        else:
            right = st.text(when, sizes.row if not st.portrait else sizes.small, "muted", numbers=True)
            surface.blit(right, right.get_rect(midright=(edge, rect.centery)))
            right_x = edge - right.get_width()
        width = right_x - text_x - rect.h // 3
        if event.type == KUDOS:
            quote = f"“{data['text']}”" if data.get("text") else ""
            lines = [(title, "row", "text", True), (quote, "small", "muted", False)]
            if st.fonts.width(title, "text", st.px(sizes.row), bold=True) > width:  # too long for one line
                lines = [(name, "row", "text", True), (f"thanked by {giver}" + (f": {quote}" if quote else ""),
                                                          "small", "muted", False)]
        elif st.fonts.width(title, "text", st.px(sizes.row), bold=True) > width:
            lines = [(name, "row", "text", True), (f"completed “{data.get('challenge', '')}”", "small", "muted", False)]
        else:
            lines = [(title, "row", "text", True)]
        rendered = [st.text(text, getattr(sizes, size_name), colour, bold=bold, max_width=width)
                    for text, size_name, colour, bold in lines if text]
        top = rect.centery - sum(r.get_height() for r in rendered) // 2
        for line in rendered:
            surface.blit(line, (text_x, top))
            top += line.get_height()

    def _narrow_card(self, surface: pygame.Surface, event: FeedEvent, rect: pygame.Rect) -> None:
        """A portrait card: the name and the time, then what happened (and its points) below."""
        st = self.stage
        sizes = st.theme.sizes
        data = event.data
        pygame.draw.rect(surface, st.colour("surface"), rect, border_radius=rect.h // 5)
        icon_r = rect.h // 5
        icon_c = (rect.x + rect.h // 3, rect.centery)
        if event.type == CHALLENGE_COMPLETED:
            draw_star(surface, icon_c, icon_r, st.colour("accent"))
            name = self._name(data.get("agent") or data.get("team"))[0]
            what = f"“{data.get('challenge', '')}”"
            points = data.get("points") or 0
            tail = f"+{points:g} pts" if points else ""
        else:
            draw_heart(surface, icon_c, icon_r, st.colour("down"))
            name = self._name(data.get("to"))[0]
            giver = sender_name(self.board, data.get("from")) or COLLEAGUE
            what = f"thanked by {giver}" + (f": “{data['text']}”" if data.get("text") else "")
            tail = ""
        x = icon_c[0] + icon_r + rect.h // 6
        edge = rect.right - rect.h // 4
        when = st.text(time.strftime("%H:%M", time.localtime(event_time(event, st.clock.wall()))), sizes.small,
                       "muted", numbers=True)
        line1 = st.text(name, sizes.row, "text", bold=True, max_width=edge - x - when.get_width() - rect.h // 6)
        pts = st.text(tail, sizes.small, "accent", bold=True, numbers=True) if tail else None
        room = edge - x - (pts.get_width() + rect.h // 6 if pts else 0)
        line2 = st.text(what, sizes.small, "muted", max_width=room)
        top = rect.centery - (line1.get_height() + line2.get_height()) // 2
        surface.blit(line1, (x, top))
        surface.blit(when, when.get_rect(midright=(edge, top + line1.get_height() // 2)))
        surface.blit(line2, (x, top + line1.get_height()))
        if pts is not None:
            surface.blit(pts, pts.get_rect(midright=(edge, top + line1.get_height() + line2.get_height() // 2)))

"""Wins and thanks: the latest completed challenges and kudos, newest first.

The scene remembers the events it has seen (the feed may only list its most recent few), so the
wall keeps showing the day's wins after they have scrolled out of the feed.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime

import pygame

from display.scenes import Scene
from display.stage import Stage
from display.widgets import Avatars, avatar_colour, draw_heart, draw_star
from feeds.board import Board
from feeds.diff import BoardEvent
from feeds.model import CHALLENGE_COMPLETED, KUDOS, FeedEvent

REMEMBERED = 40


def event_time(event: FeedEvent, fallback: float) -> float:
    if event.at:
        try:
            return datetime.fromisoformat(event.at).timestamp()
        except ValueError:
            pass
    return fallback


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
        now = self.stage.clock.wall()
        for event in board.events:
            if event.type in (KUDOS, CHALLENGE_COMPLETED) and event.id not in self.events:
                self.events[event.id] = (event_time(event, now), event)
        while len(self.events) > REMEMBERED:
            self.events.popitem(last=False)
        return True

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
        row_h = round(st.px(st.theme.sizes.row) * 2.3)
        gap = round(row_h * 0.15)
        count = max(1, (area.h + gap) // (row_h + gap))
        for i, event in enumerate(items[:count]):
            self._card(surface, event, pygame.Rect(area.x, area.y + i * (row_h + gap), area.w, row_h))

    def _name(self, agent_id: str | None) -> tuple[str, str | None, str | None]:
        board = self.board
        if board is not None and agent_id:
            ranked = board.find(agent_id)
            if ranked is not None:
                team = next((t.team for t in board.teams if t.team.id == ranked.agent.team), None)
                return ranked.agent.name, team.color if team else None, ranked.agent.avatar
        if board is not None:
            team = next((t.team for t in board.teams if t.team.id == agent_id), None)
            if team is not None:
                return team.name, team.color, None
        return agent_id or "Someone", None, None

    def _card(self, surface: pygame.Surface, event: FeedEvent, rect: pygame.Rect) -> None:
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
            giver = self._name(data.get("from"))[0] if data.get("from") else "Someone"
            draw_heart(surface, icon_c, icon_r, st.colour("down"))
            title = f"{giver} thanked {name}"
            tail = ""
        size = round(rect.h * 0.62)
        face = self.avatars.get(str(who if event.type == CHALLENGE_COMPLETED else data.get("to")), name, avatar,
                                avatar_colour(colour, name), size)
        surface.blit(face, face.get_rect(midleft=(rect.x + pad, rect.centery)))
        text_x = rect.x + pad + size + rect.h // 5
        when = time.strftime("%H:%M", time.localtime(event_time(event, st.clock.wall())))
        right = st.text(f"{tail}  {when}".strip(), sizes.row, "accent" if tail else "muted", bold=bool(tail),
                        numbers=True)
        surface.blit(right, right.get_rect(midright=(rect.right - rect.h // 3, rect.centery)))
        width = right.get_rect(midright=(rect.right - rect.h // 3, rect.centery)).x - text_x - rect.h // 3
        line1 = st.text(title, sizes.row, "text", bold=True, max_width=width)
        if event.type == KUDOS and data.get("text"):
            line2 = st.text(f"“{data['text']}”", sizes.small, "muted", max_width=width)
            block = line1.get_height() + line2.get_height()
            top = rect.centery - block // 2
            surface.blit(line1, (text_x, top))
            surface.blit(line2, (text_x, top + line1.get_height()))
        else:
            surface.blit(line1, line1.get_rect(midleft=(text_x, rect.centery)))

"""Role models: the managers and colleagues outside support who take tickets too (issue 13 §3).

They are thanked, not ranked: a card each with their face, their name and team and what they
took today ("9 solved today"), in no order but their names' — never a rank, never against the
agents. The scene is skipped while there are none (see docs/fair-ranking.md for who counts).
"""

from __future__ import annotations

import math

import pygame

from display.scenes import Box, Scene, Shape
from display.stage import Stage
from display.widgets import Avatars, avatar_colour, draw_heart, format_value, metric_label
from feeds.board.build import RankedAgent

MAX_COLUMNS = 3


class RoleModelsScene(Scene):
    name = "role_models"

    def __init__(self, stage: Stage) -> None:
        super().__init__(stage)
        self.avatars = Avatars(stage)

    def subtitle(self) -> str:
        return "Role models · thank you"

    def has_content(self) -> bool:
        return self.board is not None and bool(self.board.role_models)

    def metric(self) -> str:
        """What a card counts: the volume the ranking is made of (the score's first part)."""
        return next(iter(self.stage.board.ranked_metrics), "")

    def grid(self) -> tuple[list[tuple[RankedAgent, pygame.Rect]], int]:
        """The cards that fit at a legible size and where they go; how many did not fit."""
        st = self.stage
        area = st.content()
        people = list(self.board.role_models) if self.board is not None else []
        if not people:
            return [], 0
        heading = self.heading().get_height() * 2
        area = pygame.Rect(area.x, area.y + heading, area.w, area.h - heading)
        gap = round(st.px(st.theme.sizes.row) * 0.6)
        min_h = round(st.px(st.theme.sizes.row) * (4.2 if st.portrait else 3.6))
        cols = 1 if st.portrait else min(MAX_COLUMNS, len(people))
        fit_rows = max(1, (area.h + gap) // (min_h + gap))
        shown = people[:cols * fit_rows]
        if len(shown) < len(people):  # the last card's room says how many more there are
            shown = shown[:-1]
        rows = max(1, math.ceil((len(shown) + (len(shown) < len(people))) / cols))
        card_h = min((area.h - gap * (rows - 1)) // rows, round(min_h * 1.6))
        card_w = min((area.w - gap * (cols - 1)) // cols, round(card_h * 4.5))  # no wide empty card for one
        left = area.x + (area.w - (cols * card_w + gap * (cols - 1))) // 2
        top = area.y + (area.h - (rows * card_h + gap * (rows - 1))) // 3
        out = []
        for n, ranked in enumerate(shown):
            row, col = divmod(n, cols)
            out.append((ranked, pygame.Rect(left + col * (card_w + gap), top + row * (card_h + gap), card_w, card_h)))
        return out, len(people) - len(shown)

    def heading(self) -> pygame.Surface:
        st = self.stage
        words = "Everyone does support" if st.portrait else "Everyone does support: thank you for taking tickets with us"
        return st.text_fitted(words, st.theme.sizes.row, "muted", st.content().w)

    def shapes(self) -> list[Shape]:
        radius = round(self.stage.px(self.stage.theme.sizes.row) * 0.4)
        return [Box(self.stage.colour("surface"), (r.x, r.y, r.w, r.h), radius) for _, r in self.grid()[0]]

    def draw(self, surface: pygame.Surface) -> None:
        st = self.stage
        sizes = st.theme.sizes
        cards, more = self.grid()
        if cards:
            heading = self.heading()
            surface.blit(heading, heading.get_rect(midtop=(st.content().centerx, st.content().y + heading.get_height() // 2)))
        metric = self.metric()
        teams = {t.team.id: (t.team.name, t.team.color) for t in self.board.teams} if self.board is not None else {}
        for ranked, rect in cards:
            agent = ranked.agent
            team_name, team_colour = teams.get(agent.team or "", ("", None))
            pad = rect.h // 8
            face_size = min(rect.h - 2 * pad, round(rect.h * 0.62))
            face = self.avatars.get(agent.id, agent.name, agent.avatar, avatar_colour(team_colour, agent.id), face_size)
            surface.blit(face, face.get_rect(midleft=(rect.x + pad, rect.centery)))
            x = rect.x + pad * 2 + face_size
            room = rect.right - pad - x
            heart_r = round(st.px(sizes.row) * 0.32)
            name = st.text(agent.name, sizes.row, "text", bold=True, max_width=room - 3 * heart_r)
            value = agent.metrics.get(metric) if metric else None
            label = metric_label(metric, st.board).lower() if metric else ""
            took = f"{format_value(value, metric, st.board)} {label} today" if value is not None else "Thank you!"
            count = st.text_fitted(took, sizes.row, "accent", room, bold=True)
            team = st.text(team_name, sizes.small, "muted", max_width=room) if team_name else None
            lines = [s for s in (name, count, team) if s is not None]
            y = rect.centery - sum(s.get_height() for s in lines) // 2
            for line in lines:
                surface.blit(line, (x, y))
                if line is name:
                    draw_heart(surface, (x + name.get_width() + heart_r * 2, y + name.get_height() // 2),
                               heart_r, st.colour("down"))
                y += line.get_height()
        if more:
            area = st.content()
            last = cards[-1][1] if cards else area
            text = st.text(f"and {more} more role model{'s' if more != 1 else ''}: thank you all", sizes.row, "muted")
            surface.blit(text, text.get_rect(midtop=(area.centerx, min(area.bottom - text.get_height(),
                                                                        last.bottom + round(st.px(sizes.row) * 0.4)))))

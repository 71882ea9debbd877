"""Team standings: teams side by side (stacked on a portrait screen), each with its total, a bar
against the leading team, and the gap to the team just ahead — the number the next team must beat.
"""

from __future__ import annotations

import pygame

from display.scenes import Scene
from display.stage import hex_rgb
from display.widgets import draw_bar, format_value, metric_label
from feeds.board import TeamStanding

MAX_TEAMS = 8


class TeamsScene(Scene):
    name = "teams"

    def subtitle(self) -> str:
        how = "total" if self.stage.board.team_aggregate == "sum" else "average"
        return f"Team standings · {how} {metric_label(self.stage.board.rank_by, self.stage.board).lower()}"

    def standings(self) -> list[TeamStanding]:
        if self.board is None:
            return []
        return [t for t in self.board.teams if t.members][:MAX_TEAMS]

    def draw(self, surface: pygame.Surface) -> None:
        teams = self.standings()
        if not teams:
            return
        area = self.stage.content()
        best = max((abs(t.value) for t in teams if t.value is not None), default=0.0) or 1.0
        n = len(teams)
        if self.stage.portrait or n > 4:
            gap = round(area.h * 0.02)
            h = (area.h - gap * (n - 1)) // n
            for i, team in enumerate(teams):
                self._card(surface, team, pygame.Rect(area.x, area.y + i * (h + gap), area.w, h), best, wide=True)
        else:
            gap = round(area.w * 0.02)
            w = (area.w - gap * (n - 1)) // n
            for i, team in enumerate(teams):
                self._card(surface, team, pygame.Rect(area.x + i * (w + gap), area.y, w, area.h), best, wide=False)

    def _card(self, surface: pygame.Surface, team: TeamStanding, rect: pygame.Rect, best: float, wide: bool) -> None:
        st = self.stage
        sizes = st.theme.sizes
        board = st.board
        leader = team.rank == 1
        colour = hex_rgb(team.team.color, st.colour("accent"))
        pygame.draw.rect(surface, st.colour("highlight" if leader else "surface"), rect, border_radius=rect.w // 30 + 8)
        pygame.draw.rect(surface, colour, (rect.x, rect.y, rect.w, max(8, rect.h // 40)),
                         border_top_left_radius=rect.w // 30 + 8, border_top_right_radius=rect.w // 30 + 8)
        pad = round(min(rect.w, rect.h) * 0.08) if not wide else round(rect.h * 0.15)
        value_text = format_value(team.value, board.rank_by, board)
        gap_text = ("Leading" if leader else
                    f"{format_value(team.gap, board.rank_by, board)} behind" if team.gap is not None else "")
        rank = st.text(f"#{team.rank}" if team.rank else "–", sizes.rank, "accent" if leader else "muted",
                       bold=True, numbers=True)
        members = st.text(f"{team.members} agents", sizes.small, "muted")
        if wide:
            x, cy = rect.x + pad, rect.centery
            surface.blit(rank, rank.get_rect(midleft=(x, cy)))
            name_x = x + rank.get_width() + pad
            value = st.text(value_text, sizes.value * 1.2, "accent" if leader else "text", bold=True, numbers=True)
            value_rect = value.get_rect(midright=(rect.right - pad, cy - value.get_height() // 4))
            name = st.text(team.team.name, sizes.row, "text", bold=True, max_width=value_rect.x - name_x - pad)
            surface.blit(name, name.get_rect(bottomleft=(name_x, cy)))
            surface.blit(value, value_rect)
            below = st.text(gap_text, sizes.small, "muted")
            surface.blit(below, below.get_rect(topright=(rect.right - pad, value_rect.bottom)))
            bar = pygame.Rect(name_x, cy + pad // 3, max(10, value_rect.x - name_x - pad), max(8, rect.h // 8))
        else:
            x = rect.x + pad
            y = rect.y + pad + rect.h // 40
            surface.blit(rank, (x, y))
            name = st.text(team.team.name, sizes.row * 1.15, "text", bold=True, max_width=rect.w - 2 * pad)
            surface.blit(name, (x, y + rank.get_height()))
            surface.blit(members, (x, y + rank.get_height() + name.get_height()))
            value = st.text(value_text, sizes.hero * 0.6, "accent" if leader else "text", bold=True, numbers=True,
                            max_width=rect.w - 2 * pad)
            value_rect = value.get_rect(midleft=(x, rect.centery + rect.h // 10))
            surface.blit(value, value_rect)
            label = st.text(gap_text, sizes.row, "text" if leader else "muted", bold=leader)
            surface.blit(label, (x, value_rect.bottom))
            bar = pygame.Rect(x, rect.bottom - pad - max(12, rect.h // 30), rect.w - 2 * pad, max(12, rect.h // 30))
        fraction = 0.0 if team.value is None else abs(team.value) / best
        draw_bar(surface, bar, fraction, colour, st.colour("background"))

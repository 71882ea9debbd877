"""Challenges: each agent's progress toward their *own* target, team challenges and races, as bars.

Sections follow the config's order; within one, those closest to done come first and a met target
shows a tick. A race shows its leaders and how far each still has to go.
"""

from __future__ import annotations

from collections import OrderedDict

import pygame

from display.scenes import Scene
from display.stage import hex_rgb
from display.widgets import draw_bar, format_value
from feeds.challenges import Progress


class ChallengesScene(Scene):
    name = "challenges"

    def subtitle(self) -> str:
        return "Challenges"

    def sections(self) -> OrderedDict[str, list[Progress]]:
        out: OrderedDict[str, list[Progress]] = OrderedDict()
        if self.game is None or self.board is None:
            return out
        shown = {a.agent.id for a in self.board.agents} | {t.team.id for t in self.board.teams}
        for p in self.game.progress:
            if p.subject in shown:
                out.setdefault(p.challenge, []).append(p)
        for rows in out.values():
            rows.sort(key=lambda p: (-p.fraction, self.board.who(p.subject)[0]))
        return out

    def has_content(self) -> bool:
        return bool(self.sections())

    def draw(self, surface: pygame.Surface) -> None:
        st = self.stage
        sizes = st.theme.sizes
        area = st.content()
        sections = self.sections()
        if not sections:
            return
        row_h = round(st.px(sizes.row) * (2.3 if st.portrait else 1.55))  # portrait: the bar has a line of its own
        title_h = round(st.px(sizes.row) * 1.5)
        budget = area.h - len(sections) * title_h
        per_section = max(1, budget // row_h // len(sections))
        y = area.y
        for rows in sections.values():
            title = st.text(rows[0].title + (" — race" if rows[0].kind == "race" else ""), sizes.row, "accent",
                            bold=True, max_width=area.w)
            surface.blit(title, (area.x, y + (title_h - title.get_height()) // 2))
            y += title_h
            for p in rows[:per_section]:
                self._row(surface, p, pygame.Rect(area.x, y, area.w, row_h - row_h // 8))
                y += row_h

    def _row(self, surface: pygame.Surface, p: Progress, rect: pygame.Rect) -> None:
        st = self.stage
        sizes = st.theme.sizes
        name, colour, _ = self.board.who(p.subject) if self.board else (p.subject, None, None)
        pygame.draw.rect(surface, st.colour("surface"), rect, border_radius=rect.h // 4)
        pad = rect.h // 3
        figures = f"{format_value(p.value, '', st.board)} / {format_value(p.target, '', st.board)}"
        right = st.text(figures if not p.done else f"{figures}  done", sizes.row, "up" if p.done else "text",
                        bold=True, numbers=True)
        if st.portrait:
            line = rect.y + rect.h * 3 // 8
            label = st.text(name, sizes.row, "text", bold=True, max_width=rect.w - right.get_width() - 3 * pad)
            surface.blit(label, label.get_rect(midleft=(rect.x + pad, line)))
            surface.blit(right, right.get_rect(midright=(rect.right - pad, line)))
            bar = pygame.Rect(rect.x + pad, 0, rect.w - 2 * pad, max(10, rect.h // 7))
            bar.centery = rect.y + rect.h * 4 // 5
        else:
            name_w = round(rect.w * 0.3)
            label = st.text(name, sizes.row, "text", bold=True, max_width=name_w - pad)
            surface.blit(label, label.get_rect(midleft=(rect.x + pad, rect.centery)))
            surface.blit(right, right.get_rect(midright=(rect.right - pad, rect.centery)))
            bar = pygame.Rect(rect.x + pad + name_w, 0, rect.w - name_w - right.get_width() - 4 * pad,
                              max(10, rect.h // 4))
            bar.centery = rect.centery
        if bar.w > rect.h:
            draw_bar(surface, bar, p.fraction, st.colour("up") if p.done else hex_rgb(colour, st.colour("accent")),
                     st.colour("background"))

"""Challenges: each agent's progress toward their *own* target, team challenges and races, as bars.

Sections follow the config's order; within one, those closest to done come first and a met target
shows a tick. A race shows its leaders and how far each still has to go.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime

import pygame

from display.scenes import Scene
from display.stage import hex_rgb
from display.widgets import draw_bar, format_value
from feeds.board import who_is
from feeds.challenges import Duel, Progress


class ChallengesScene(Scene):
    name = "challenges"

    def subtitle(self) -> str:
        return "Challenges"

    # The last sections and the board and game they were made of: sorting every agent's progress
    # (~20 ms on a floor of 5,000) once per new board, not for every picture and rotation.
    _sections: tuple[object, object, OrderedDict[str, list[Progress]]] | None = None

    def sections(self) -> OrderedDict[str, list[Progress]]:
        cached = self._sections
        if cached is not None and cached[0] is self.board and cached[1] is self.game:
            return cached[2]
        out: OrderedDict[str, list[Progress]] = OrderedDict()
        self._sections = (self.board, self.game, out)
        if self.game is None or self.board is None:
            return out
        shown = {a.agent.id for a in self.board.agents} | {t.team.id for t in self.board.teams}
        for p in self.game.progress:
            if p.subject in shown:
                out.setdefault(p.challenge, []).append(p)
        for rows in out.values():
            rows.sort(key=lambda p: (-p.fraction, who_is(self.board, p.subject)[0]))
        return out

    def duels(self) -> tuple[Duel, ...]:
        return self.game.duels if self.game is not None else ()

    def has_content(self) -> bool:
        return bool(self.sections()) or bool(self.duels())

    def draw(self, surface: pygame.Surface) -> None:
        st = self.stage
        sizes = st.theme.sizes
        area = st.content()
        sections = self.sections()
        duel_h = self._duel_height() + st.margin // 2
        for duel in self.duels():
            self._duel(surface, duel, pygame.Rect(area.x, area.y, area.w, duel_h - st.margin // 2))
            area = pygame.Rect(area.x, area.y + duel_h, area.w, area.h - duel_h)
        if not sections:
            return
        row_h = round(st.px(sizes.row) * (2.3 if st.portrait else 1.55))  # portrait: the bar has a line of its own
        title_h = round(st.px(sizes.row) * 1.5)
        budget = area.h - len(sections) * title_h
        # Share the rows out one at a time, so a short section leaves its room to the others.
        shares = dict.fromkeys(sections, 0)
        left = max(len(sections), budget // row_h)
        while left > 0 and any(shares[k] < len(v) for k, v in sections.items()):
            for key, rows_of in sections.items():
                if left > 0 and shares[key] < len(rows_of):
                    shares[key] += 1
                    left -= 1
        y = area.y
        for key, rows in sections.items():
            per_section = max(1, shares[key])
            title = st.text(rows[0].title + (" — race" if rows[0].kind == "race" else ""), sizes.row, "accent",
                            bold=True, max_width=area.w)
            surface.blit(title, (area.x, y + (title_h - title.get_height()) // 2))
            y += title_h
            for p in rows[:per_section]:
                self._row(surface, p, pygame.Rect(area.x, y, area.w, row_h - row_h // 8))
                y += row_h

    def _duel_height(self) -> int:
        """Measured: the title, the names and figures (one line, or two when narrow), the bar."""
        st = self.stage
        sizes = st.theme.sizes
        title = st.text("Åg", sizes.small, "accent", bold=True).get_height()
        names = st.text("Åg", sizes.row, "text", bold=True).get_height()
        figures = st.text("88", sizes.value, "text", bold=True, numbers=True).get_height()
        lines = names + figures if st.portrait else max(names, figures)
        titles = title * (2 if st.portrait else 1)  # narrow: the countdown has a line of its own
        return titles + lines + max(10, figures // 4) + figures // 2

    def _duel(self, surface: pygame.Surface, duel: Duel, rect: pygame.Rect) -> None:
        """Two sides facing each other over one bar split by their shares, and the time left."""
        st = self.stage
        sizes = st.theme.sizes
        pygame.draw.rect(surface, st.colour("surface"), rect, border_radius=rect.h // 8)
        (a, va), (b, vb) = duel.sides
        (name_a, colour_a, _), (name_b, colour_b, _) = who_is(self.board, a), who_is(self.board, b)
        left = datetime.fromisoformat(duel.ends_at).timestamp() - st.clock.wall()
        hours, minutes = divmod(max(0, int(left // 60)), 60)
        countdown = f"ends in {hours} h {minutes:02d} min" if hours else f"ends in {minutes} min"
        pad = st.text("Åg", sizes.small, "muted").get_height() // 3
        inner = rect.inflate(-2 * pad, -pad)
        y = inner.y
        heads = [(duel.title, "accent"), (countdown, "muted")] if st.portrait else [(f"{duel.title} · {countdown}", "accent")]
        for text, colour in heads:
            title = st.text_fitted(text, sizes.small, colour, inner.w, bold=True)
            surface.blit(title, title.get_rect(midtop=(inner.centerx, y)))
            y += title.get_height()
        figure_a = st.text(format_value(va, duel.metric, st.board), sizes.value, "text", bold=True, numbers=True)
        figure_b = st.text(format_value(vb, duel.metric, st.board), sizes.value, "text", bold=True, numbers=True)
        if st.portrait:  # names on one line, their figures under them
            label_a = st.text(name_a, sizes.row, "text", bold=True, max_width=inner.w // 2 - pad)
            label_b = st.text(name_b, sizes.row, "text", bold=True, max_width=inner.w // 2 - pad)
            surface.blit(label_a, (inner.x, y))
            surface.blit(label_b, label_b.get_rect(topright=(inner.right, y)))
            y += label_a.get_height()
            surface.blit(figure_a, (inner.x, y))
            surface.blit(figure_b, figure_b.get_rect(topright=(inner.right, y)))
            y += figure_a.get_height()
        else:
            room = inner.w // 2 - max(figure_a.get_width(), figure_b.get_width()) - 2 * pad
            label_a = st.text(name_a, sizes.row, "text", bold=True, max_width=room)
            label_b = st.text(name_b, sizes.row, "text", bold=True, max_width=room)
            line = y + figure_a.get_height() // 2
            surface.blit(label_a, label_a.get_rect(midleft=(inner.x, line)))
            surface.blit(figure_a, figure_a.get_rect(midleft=(inner.x + label_a.get_width() + pad, line)))
            surface.blit(label_b, label_b.get_rect(midright=(inner.right, line)))
            surface.blit(figure_b, figure_b.get_rect(midright=(inner.right - label_b.get_width() - pad, line)))
            y += figure_a.get_height()
        bar = pygame.Rect(inner.x, y, inner.w, max(10, figure_a.get_height() // 4))
        total = (va or 0) + (vb or 0)
        share = 0.5 if total <= 0 else (va or 0) / total
        if duel.lower_is_better and total > 0:
            share = 1 - share  # a lower handle time is the bigger share of the win
        pygame.draw.rect(surface, hex_rgb(colour_b, st.colour("down")), bar, border_radius=bar.h // 2)
        won_part = bar.copy()
        won_part.w = max(bar.h, round(bar.w * share))
        pygame.draw.rect(surface, hex_rgb(colour_a, st.colour("up")), won_part, border_radius=bar.h // 2)

    def _row(self, surface: pygame.Surface, p: Progress, rect: pygame.Rect) -> None:
        st = self.stage
        sizes = st.theme.sizes
        name, colour, _ = who_is(self.board, p.subject)
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

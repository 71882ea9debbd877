"""Challenges: each agent's progress toward their *own* target, team challenges and races, as bars.

Sections follow the config's order; within one, those who are done share one line ("Everyone is
done: all 15", or "10 of 15 done" and their names), then those still going, closest first. A race
shows its leaders and how far each still has to go, and once decided its winner and the two who
came closest. Every bar ends on one grid.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

import pygame

from display.scenes import Scene
from display.stage import Stage, hex_rgb
from display.widgets import draw_bar, draw_star, format_value
from feeds.board.build import QUALITY_FIRST, who_is
from feeds.game.challenges import Duel, Progress

Item = tuple[str, list[Progress]]  # "row", "won", "2nd", "3rd" (a decided race) or "done" (all who are), and whom


@dataclass
class Plan:
    sections: list[tuple[pygame.Surface, list[Item], int]]  # title, the items shown, how many in all
    figures_w: int


class ChallengesScene(Scene):
    name = "challenges"

    def __init__(self, stage: Stage) -> None:
        super().__init__(stage)
        self._planned: tuple[tuple[object, ...], Plan] | None = None
        self._fitted: dict[tuple[str, int], pygame.Surface] = {}  # a name in bold at the row size, fitted to a width

    def _name(self, text: str, width: int) -> pygame.Surface:
        key = (text, width)
        if key not in self._fitted:
            if len(self._fitted) > 500:
                self._fitted.clear()
            self._fitted[key] = self.stage.text_fitted(text, self.stage.theme.sizes.row, "text", width, bold=True)
        return self._fitted[key]

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

    def items(self, rows: list[Progress]) -> list[Item]:
        """What a section shows. A decided race: its winner and the two who came closest. Else
        those who are done as one line (everyone, or how many), then those still going, closest first."""
        winner = next((p for p in rows if p.won), None)
        if winner is not None:
            return [("won", [winner])] + [(place, [p]) for place, p in zip(("2nd", "3rd"), (
                p for p in rows if p is not winner))]
        done = [p for p in rows if p.done]
        going = [p for p in rows if not p.done]
        if len(done) > 1 or (done and not going):
            return [("done", done)] + [("row", [p]) for p in going]
        return [("row", [p]) for p in rows]

    def draw(self, surface: pygame.Surface) -> None:
        st = self.stage
        area = st.content()
        duel_h = self._duel_height() + st.margin // 2
        for duel in self.duels():
            self._duel(surface, duel, pygame.Rect(area.x, area.y, area.w, duel_h - st.margin // 2))
            area = pygame.Rect(area.x, area.y + duel_h, area.w, area.h - duel_h)
        plan = self._plan(area)
        row_h = round(st.px(st.theme.sizes.row) * (2.3 if st.portrait else 1.55))  # portrait: the bar has a line
        title_h = round(st.px(st.theme.sizes.row) * 1.5)
        y = area.y
        for title, items, total in plan.sections:
            surface.blit(title, (area.x, y + (title_h - title.get_height()) // 2))
            y += title_h
            for kind, group in items:
                rect = pygame.Rect(area.x, y, area.w, row_h - row_h // 8)
                if kind == "done":
                    self._done(surface, group, total, rect)
                else:
                    self._row(surface, group[0], rect, plan.figures_w, kind)
                y += row_h

    def _plan(self, area: pygame.Rect) -> Plan:
        """What goes where: each section's title and the items it has room for, and the width of the
        figures' column. Worked out once per board, as measuring text is what a frame costs."""
        key = (self.board, self.game, tuple(area))
        if self._planned is not None and all(a is b for a, b in zip(self._planned[0][:2], key)) \
                and self._planned[0][2] == key[2]:  # the same objects: comparing boards by value costs
            return self._planned[1]
        st = self.stage
        sizes = st.theme.sizes
        rows_of = self.sections()
        sections = OrderedDict((k, self.items(rows)) for k, rows in rows_of.items())
        row_h = round(st.px(sizes.row) * (2.3 if st.portrait else 1.55))
        title_h = round(st.px(sizes.row) * 1.5)
        budget = area.h - len(sections) * title_h
        # Share the rows out one at a time, so a short section leaves its room to the others.
        shares = dict.fromkeys(sections, 0)
        left = max(len(sections), budget // row_h)
        while left > 0 and any(shares[k] < len(v) for k, v in sections.items()):
            for k, items in sections.items():
                if left > 0 and shares[k] < len(items):
                    shares[k] += 1
                    left -= 1
        planned = []
        px = st.px(sizes.row)
        for k, items in sections.items():
            first = items[0][1][0]
            winner = first.won and items[0][0] == "won"
            tails = [f" — won by {who_is(self.board, first.subject)[0]}", " — won"] if winner else \
                [" — race"] if first.kind == "race" else []
            # The longest tail that fits at the row size, else the shortest that fits a little smaller.
            tail = next((t for t in tails if st.fonts.width(first.title + t, "text", px, True) <= area.w),
                        next((t for t in tails[-1:] if st.fonts.width(first.title + t, "text", st.px(0), True)
                              <= area.w), ""))
            title = st.text_fitted(first.title + tail, sizes.row, "accent", area.w, bold=True)
            planned.append((title, items[:max(1, shares[k])], len(rows_of[k])))
        # Every bar ends on one grid: the figures' column is as wide as the widest figures on screen.
        figures_w = max((self._figures(group[0], kind).get_width() for _, items, _ in planned
                         for kind, group in items if kind != "done"), default=0)
        plan = Plan(planned, figures_w)
        self._planned = (key, plan)
        return plan

    def _figures(self, p: Progress, kind: str, tag: bool = True) -> pygame.Surface:
        """A row's figures and how it stands: "38 / 40", "43 / 40  done", in a decided race "47 / 40  won",
        "43 / 40  2nd" (without ``tag``, the figures alone)."""
        st = self.stage
        figures = f"{format_value(p.value, '', st.board)} / {format_value(p.target, '', st.board)}"
        tag_text = f"  {kind}" if kind in ("won", "2nd", "3rd") else "  done" if p.done else ""
        if p.gated:  # past the target on volume, but the quality gate holds it back: say so in words
            tag_text = f"  {QUALITY_FIRST}"
        tag = tag_text if tag else ""
        colour = "accent" if kind == "won" else "text" if kind != "row" else "up" if p.done else \
            "stale" if p.gated and tag else "text"
        return st.text(figures + tag, st.theme.sizes.row, colour, bold=True, numbers=True)

    def _done(self, surface: pygame.Surface, done: list[Progress], total: int, rect: pygame.Rect) -> None:
        """Those who are done, on one line: "Everyone is done: all 15", or "10 of 15 done: Kwame, Olga…"
        with as many names as fit, the best first."""
        st = self.stage
        sizes = st.theme.sizes
        pygame.draw.rect(surface, st.colour("surface"), rect, border_radius=rect.h // 4)
        pad = rect.h // 3
        star = min(rect.h // 5, st.px(sizes.row) // 3)
        x = rect.x + pad + star * 2 + pad // 2
        head = st.text(f"Everyone is done: all {total}" if len(done) == total else f"{len(done)} of {total} done",
                       sizes.row, "up", bold=True)
        draw_star(surface, (rect.x + pad + star, rect.centery), star, st.colour("up"))
        surface.blit(head, head.get_rect(midleft=(x, rect.centery)))
        names_at = (x + head.get_width() + pad, rect.centery)  # and as many of their names as fit beside it
        best = sorted(done, key=lambda p: (-p.value / p.target if p.target else 0, who_is(self.board, p.subject)[0]))
        names = [who_is(self.board, p.subject)[0] for p in best]
        room = rect.right - pad - names_at[0]
        key = (", ".join(names), -room)
        if key not in self._fitted:
            px = st.px(sizes.small)
            self._fitted[key] = pygame.Surface((0, 0))
            for n in range(len(names), 0, -1):  # as many names as fit, and how many more there are
                text = ", ".join(names[:n]) + (f" and {len(names) - n} more" if n < len(names) else "")
                if st.fonts.width(text, "text", px) <= room:
                    self._fitted[key] = st.text(text, sizes.small, "muted")
                    break
        surface.blit(self._fitted[key], self._fitted[key].get_rect(midleft=names_at))

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

    def _row(self, surface: pygame.Surface, p: Progress, rect: pygame.Rect, figures_w: int, kind: str = "row") -> None:
        st = self.stage
        name, colour, _ = who_is(self.board, p.subject)
        pygame.draw.rect(surface, st.colour("surface"), rect, border_radius=rect.h // 4)
        pad = rect.h // 3
        right = self._figures(p, kind)
        bar_colour = st.colour("accent") if kind == "won" else st.colour("up") if p.done and kind == "row" else \
            hex_rgb(colour, st.colour("accent"))
        if st.portrait:
            line = rect.y + rect.h * 3 // 8
            if self._name(name, 1 << 16).get_width() > rect.w - right.get_width() - 3 * pad:
                right = self._figures(p, kind, tag=False)  # the name comes first; the bar's colour still tells
            label = self._name(name, rect.w - right.get_width() - 3 * pad)
            surface.blit(label, label.get_rect(midleft=(rect.x + pad, line)))
            surface.blit(right, right.get_rect(midright=(rect.right - pad, line)))
            bar = pygame.Rect(rect.x + pad, 0, rect.w - 2 * pad, max(10, rect.h // 7))
            bar.centery = rect.y + rect.h * 4 // 5
        else:
            name_w = round(rect.w * 0.3)
            label = self._name(name, name_w - pad)
            surface.blit(label, label.get_rect(midleft=(rect.x + pad, rect.centery)))
            surface.blit(right, right.get_rect(midright=(rect.right - pad, rect.centery)))
            bar = pygame.Rect(rect.x + pad + name_w, 0, rect.w - name_w - max(figures_w, right.get_width()) - 4 * pad,
                              max(10, rect.h // 4))
            bar.centery = rect.centery
        if bar.w > rect.h:
            draw_bar(surface, bar, p.fraction, bar_colour, st.colour("background"))

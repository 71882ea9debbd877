"""History: today against yesterday at this time, the week against last week, the last days as
bars, and who is beating themselves — the most improved and today's personal bests — so that
not only the top of the ranking is celebrated.
"""

from __future__ import annotations

from datetime import date

import pygame

from display.scenes import Scene
from display.widgets import draw_star, format_value
from feeds.board import who_is
from feeds.compare import Change, Comparison


class HistoryScene(Scene):
    name = "history"

    def comparison(self) -> Comparison | None:
        return self.game.comparison if self.game is not None else None

    def subtitle(self) -> str:
        c = self.comparison()
        return "Compared with earlier days" if c else ""

    def has_content(self) -> bool:
        c = self.comparison()
        return c is not None and (c.today.before is not None or len(c.daily) > 1)

    def draw(self, surface: pygame.Surface) -> None:
        c = self.comparison()
        if c is None:
            return
        st = self.stage
        area = st.content()
        gap = round(area.w * 0.025)
        if st.portrait:
            top = pygame.Rect(area.x, area.y, area.w, area.h * 58 // 100)
            bottom = pygame.Rect(area.x, top.bottom + gap, area.w, area.bottom - top.bottom - gap)
            self._numbers(surface, c, top)
            self._people(surface, c, bottom)
        else:
            left = pygame.Rect(area.x, area.y, area.w * 56 // 100, area.h)
            right = pygame.Rect(left.right + gap, area.y, area.right - left.right - gap, area.h)
            self._numbers(surface, c, left)
            self._people(surface, c, right)

    def _trend(self, change: Change, lower: bool) -> tuple[str, str, int]:
        """The words, colour and direction (+1 better, -1 worse, 0 same) of a change."""
        pct = change.percent
        if pct is None:
            return "no figure for then yet", "muted", 0
        better = (pct < 0) if lower else (pct > 0)
        if round(pct) == 0:
            return "same as then", "muted", 0
        return f"{pct:+.0f} %", "up" if better else "down", 1 if better else -1

    def _arrow(self, surface: pygame.Surface, x: int, cy: int, size: int, direction: int, colour: tuple[int, int, int],
               pct: float | None) -> None:
        if not direction or pct is None:
            return
        half = size // 2
        up = pct > 0  # the arrow shows the number's direction; the colour says whether that is good
        points = [(x, cy + half), (x + size, cy + half), (x + half, cy - half)] if up else \
            [(x, cy - half), (x + size, cy - half), (x + half, cy + half)]
        pygame.draw.polygon(surface, colour, points)

    def _numbers(self, surface: pygame.Surface, c: Comparison, rect: pygame.Rect) -> None:
        st = self.stage
        sizes = st.theme.sizes
        board = st.board
        y = rect.y
        label = st.text("Today so far", sizes.row, "muted")
        surface.blit(label, (rect.x, y))
        y += label.get_height()
        big = st.text(format_value(c.today.now, c.metric, board), sizes.hero * (0.8 if st.portrait else 1.0), "text",
                      bold=True, numbers=True, max_width=rect.w // 2)
        surface.blit(big, (rect.x, y))
        words, colour, direction = self._trend(c.today, c.lower_is_better)
        side_x = rect.x + big.get_width() + rect.w // 30
        trend = st.text(words, sizes.value, colour, bold=True, numbers=True)
        self._arrow(surface, side_x, y + big.get_height() // 3, trend.get_height() * 2 // 3, direction,
                    st.colour(colour), c.today.percent)
        arrow_w = trend.get_height() if direction else 0
        surface.blit(trend, trend.get_rect(midleft=(side_x + arrow_w, y + big.get_height() // 3)))
        y += big.get_height()
        if c.today.before is not None:  # its own line: it must never be cut short
            versus = st.text(f"yesterday at this time: {format_value(c.today.before, c.metric, board)}",
                             sizes.small, "muted", max_width=rect.w)
            surface.blit(versus, (rect.x, y))
            y += versus.get_height() + rect.h // 40
        if c.week.now is not None:
            line = st.text(f"This week so far: {format_value(c.week.now, c.metric, board)}", sizes.row, "text",
                           max_width=rect.w)
            surface.blit(line, (rect.x, y))
            y += line.get_height()
            if c.week.before is not None:
                words, colour, _ = self._trend(c.week, c.lower_is_better)
                pct = st.text(words, sizes.small, colour, bold=True, numbers=True)
                last = st.text(f"last week by now: {format_value(c.week.before, c.metric, board)}  ", sizes.small,
                               "muted", max_width=rect.w - pct.get_width())
                surface.blit(last, (rect.x, y))
                surface.blit(pct, (rect.x + last.get_width(), y))
                y += last.get_height()
            y += rect.h // 30
        self._bars(surface, c, pygame.Rect(rect.x, y, rect.w, rect.bottom - y))

    def _bars(self, surface: pygame.Surface, c: Comparison, rect: pygame.Rect) -> None:
        st = self.stage
        if len(c.daily) < 2 or rect.h < st.px(st.theme.sizes.small) * 4:
            return
        small = st.theme.sizes.small
        label_h = st.text("Mon", small, "muted").get_height()
        top = rect.y + label_h
        bottom = rect.bottom - label_h
        best = max(abs(v) for _, v in c.daily) or 1.0
        slot = rect.w // len(c.daily)
        for i, (key, value) in enumerate(c.daily):
            height = max(4, round((bottom - top - label_h) * abs(value) / best))
            bar = pygame.Rect(rect.x + i * slot + slot // 6, bottom - height, slot * 2 // 3, height)
            today = i == len(c.daily) - 1
            pygame.draw.rect(surface, st.colour("accent" if today else "highlight"), bar, border_radius=slot // 12)
            number = st.text(format_value(value, c.metric, st.board), small, "text", numbers=True, max_width=slot)
            surface.blit(number, number.get_rect(midbottom=(bar.centerx, bar.y)))
            day = date.fromisoformat(key.split(":", 1)[1])
            name = st.text("today" if today else day.strftime("%a"), small, "text" if today else "muted", bold=today)
            surface.blit(name, name.get_rect(midtop=(bar.centerx, bottom)))

    def _people(self, surface: pygame.Surface, c: Comparison, rect: pygame.Rect) -> None:
        st = self.stage
        sizes = st.theme.sizes
        y = rect.y
        title = st.text_fitted("Most improved on yesterday", sizes.row, "accent", rect.w, bold=True)
        surface.blit(title, (rect.x, y))
        y += title.get_height() * 5 // 4
        row_h = round(st.px(sizes.row) * 1.6)
        if not c.improved:
            none = st.text("nobody yet — the day is young", sizes.small, "muted", max_width=rect.w)
            surface.blit(none, (rect.x, y))
            y += row_h
        for change in c.improved:
            box = pygame.Rect(rect.x, y, rect.w, row_h - row_h // 8)
            pygame.draw.rect(surface, st.colour("surface"), box, border_radius=box.h // 4)
            pct = st.text(f"{change.percent:+.0f} %", sizes.row, "up", bold=True, numbers=True)
            surface.blit(pct, pct.get_rect(midright=(box.right - box.h // 3, box.centery)))
            name = st.text(who_is(self.board, change.subject)[0], sizes.row, "text", bold=True,
                           max_width=box.w - pct.get_width() - box.h)
            surface.blit(name, name.get_rect(midleft=(box.x + box.h // 3, box.centery)))
            y += row_h
        y += row_h // 3
        title = st.text_fitted("Personal best today", sizes.row, "accent", rect.w, bold=True)
        surface.blit(title, (rect.x, y))
        y += title.get_height() * 5 // 4
        names = [who_is(self.board, s)[0] for s in c.personal_bests]
        if not names:
            none = st.text("still to come", sizes.small, "muted", max_width=rect.w)
            surface.blit(none, (rect.x, y))
        for name_text in names:
            if y + row_h > rect.bottom:
                break
            line = st.text(name_text, sizes.row, "text", bold=True, max_width=rect.w - row_h)
            draw_star(surface, (rect.x + row_h // 4, y + line.get_height() // 2), row_h // 5, st.colour("accent"))
            surface.blit(line, (rect.x + row_h // 2 + 8, y))
            y += line.get_height() + row_h // 6

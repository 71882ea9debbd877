"""History: today against yesterday at this time, today's curve by hour against yesterday's, the
week and the last days when they add something, and who is beating themselves — the most
improved, today's personal bests and each team against itself — so that not only the top of the
ranking is celebrated.

Nothing is shown twice (the week so far appears only once it is more than today), and every part
that has nothing yet says plainly why and when it will ("comparisons start tomorrow").
"""

from __future__ import annotations

from datetime import date

import pygame

from display.scenes import Scene
from display.stage import hex_rgb
from display.scenes.history_curve import draw_curves
from display.widgets import draw_star, format_value, wrap_text
from feeds.board.build import who_is
from feeds.privacy.view import shows
from feeds.game.compare import Change, Comparison


MIN_CURVE = 3  # points of today's curve (two whole hours and now) worth a scene of its own on the first day


class HistoryScene(Scene):
    name = "history"

    def comparison(self) -> Comparison | None:
        return self.game.comparison if self.game is not None else None

    def subtitle(self) -> str:
        c = self.comparison()
        return "Compared with earlier days" if c else ""

    def has_content(self) -> bool:
        c = self.comparison()
        # Something to compare, or on the very first day a curve of a few hours already
        return c is not None and (c.today.before is not None or len(c.daily) > 1 or len(c.hourly) >= MIN_CURVE)

    def draw(self, surface: pygame.Surface) -> None:
        c = self.comparison()
        if c is None:
            return
        st = self.stage
        area = st.content()
        gap = round(area.w * 0.025)
        if st.portrait:
            share = 62 if len(c.daily) > 1 else 55
            top = pygame.Rect(area.x, area.y, area.w, area.h * share // 100)
            bottom = pygame.Rect(area.x, top.bottom + gap, area.w, area.bottom - top.bottom - gap)
            bars = self._numbers(surface, c, top, bars=True)
            y = self._people(surface, c, bottom)
        else:
            left = pygame.Rect(area.x, area.y, area.w * 58 // 100, area.h)
            right = pygame.Rect(left.right + gap, area.y, area.right - left.right - gap, area.h)
            y = self._people(surface, c, right)
            bottom = right
            # The days go below the people when there is room for them there, else below the curve.
            bars = self._numbers(surface, c, left, bars=right.bottom - y < self._bars_height())
        if not bars:  # the days as bars below the people, when there is room for them
            self._bars(surface, c, pygame.Rect(bottom.x, y, bottom.w, bottom.bottom - y))

    def _trend(self, change: Change, lower: bool) -> tuple[str, str, int]:
        """The words, colour and direction (+1 better, -1 worse, 0 same) of a change."""
        pct = change.percent
        if pct is None:
            return "", "muted", 0
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

    def _first_day(self, c: Comparison) -> bool:
        return len(c.daily) < 2 and not c.hourly_before

    def _numbers(self, surface: pygame.Surface, c: Comparison, rect: pygame.Rect, bars: bool) -> bool:
        """The headline, its facts and today's curve; with ``bars``, the last days below the curve when
        they fit. Whether the bars were drawn."""
        st = self.stage
        sizes = st.theme.sizes
        board = st.board
        y = rect.y
        label = st.text("Today so far", sizes.row, "muted")
        surface.blit(label, (rect.x, y))
        y += label.get_height()
        big = st.text(format_value(c.today.now, c.metric, board), sizes.hero * 0.8, "text",
                      bold=True, numbers=True, max_width=rect.w // 2)
        surface.blit(big, (rect.x, y))
        side_x = rect.x + big.get_width() + rect.w // 30
        side_w = rect.right - side_x
        words, colour, direction = self._trend(c.today, c.lower_is_better)
        if words:  # against yesterday at this time: the change, and what it is measured against
            trend = st.text(words, sizes.value, colour, bold=True, numbers=True)
            arrow_w = trend.get_height() if direction else 0
            middle = y + big.get_height() // 3
            self._arrow(surface, side_x, middle, trend.get_height() * 2 // 3, direction, st.colour(colour),
                        c.today.percent)
            placed = trend.get_rect(midleft=(side_x + arrow_w, middle))
            surface.blit(trend, placed)
            ty = placed.bottom
            against = [f"on yesterday at this time ({format_value(c.today.before, c.metric, board)})"]
        else:
            ty = y + big.get_height() // 4
            against = ["The first day on record:", "comparisons start tomorrow"] if self._first_day(c) else \
                ["Yesterday had nothing", "by this time to compare"]
        for text in [line for part in against for line in wrap_text(st, part, sizes.small, side_w, 2)]:
            line = st.text(text, sizes.small, "muted", max_width=side_w)
            surface.blit(line, (side_x, ty))
            ty += line.get_height()
        line_h = st.text("Åg", sizes.small, "text").get_height()
        beside = self._fact_lines(c, side_w)
        if beside is not None and ty + line_h // 3 + len(beside) * line_h <= y + big.get_height() + line_h:
            ty += line_h // 3  # room beside the number: the facts go there, and the curve gets the height
            for text in beside:
                surface.blit(st.text(text, sizes.small, "text"), (side_x, ty))
                ty += line_h
            y = max(y + big.get_height(), ty)
        else:
            y = max(y + big.get_height(), ty) + rect.h // 60
            for text in self._fact_lines(c, rect.w) or []:
                surface.blit(st.text(text, sizes.small, "text", max_width=rect.w), (rect.x, y))
                y += line_h
        y += rect.h // 40
        rest = pygame.Rect(rect.x, y, rect.w, rect.bottom - y)
        need = self._bars_height()
        bars_h = max(rest.h * 2 // 5, need) if bars and len(c.daily) > 1 and rest.h >= need * 5 // 2 else 0
        chart = pygame.Rect(rest.x, rest.y, rest.w, rest.h - bars_h - (rect.h // 40 if bars_h else 0))
        draw_curves(surface, st, chart, c.metric, c.hourly, c.hourly_before)
        if bars_h:
            self._bars(surface, c, pygame.Rect(rest.x, rest.bottom - bars_h, rest.w, bars_h))
        return bool(bars_h)

    def _fact_lines(self, c: Comparison, width: int) -> list[str] | None:
        """The facts as lines of ``width``: each on one line, or a line per part when that is too long;
        None when even a part does not fit."""
        st = self.stage
        px = st.px(st.theme.sizes.small)
        fits = lambda text: st.fonts.width(text, "text", px) <= width  # noqa: E731
        lines: list[str] = []
        for parts in self._facts(c):
            whole = "  ·  ".join(parts)
            lines += [whole] if fits(whole) else parts
        return lines if all(fits(line) for line in lines) else None

    def _facts(self, c: Comparison) -> list[list[str]]:
        """Lines (each of one or more parts) that add to the headline, never repeat it: yesterday's
        final, and the week when it is more than today (from the second day of the week on)."""
        board = self.stage.board
        out = []
        if c.hourly_before and c.hourly_before[-1][0] >= 24 * 60:
            out.append([f"Yesterday ended on {format_value(c.hourly_before[-1][1], c.metric, board)}"])
        elif len(c.daily) > 1:
            out.append([f"The last day on record ended on {format_value(c.daily[-2][1], c.metric, board)}"])
        if c.week.now is not None and c.week.now != c.today.now:
            parts = [f"This week so far: {format_value(c.week.now, c.metric, board)}"]
            if c.week.before is not None:
                words, _, _ = self._trend(c.week, c.lower_is_better)
                parts.append(f"last week by now {format_value(c.week.before, c.metric, board)}" + (
                    f" ({words})" if words else ""))
            out.append(parts)
        return out

    def _bars_height(self) -> int:
        """The least height the last days' bars need: a title, the figures, the bars, the days."""
        return self.stage.text("Åg", self.stage.theme.sizes.small, "muted").get_height() * 5

    def _bars(self, surface: pygame.Surface, c: Comparison, rect: pygame.Rect) -> None:
        st = self.stage
        small = st.theme.sizes.small
        label_h = st.text("Mon", small, "muted").get_height()
        if len(c.daily) < 2 or rect.h < self._bars_height():
            return
        title = st.text(f"The last {len(c.daily)} days", small, "muted", bold=True)
        surface.blit(title, (rect.x, rect.y))
        top = rect.y + title.get_height() + label_h
        bottom = rect.bottom - label_h
        best = max(abs(v) for _, v in c.daily) or 1.0
        slot = rect.w // len(c.daily)
        for i, (key, value) in enumerate(c.daily):
            height = max(4, round((bottom - top) * abs(value) / best))
            bar = pygame.Rect(rect.x + i * slot + slot // 6, bottom - height, slot * 2 // 3, height)
            today = i == len(c.daily) - 1
            pygame.draw.rect(surface, st.colour("accent" if today else "highlight"), bar, border_radius=slot // 12)
            number = st.text_fitted(format_value(value, c.metric, st.board), small, "text", slot - 4, numbers=True)
            surface.blit(number, number.get_rect(midbottom=(bar.centerx, bar.y)))
            day = date.fromisoformat(key.split(":", 1)[1])
            name = st.text_fitted("today" if today else day.strftime("%a"), small, "text" if today else "muted",
                                  slot - 4, bold=today)
            surface.blit(name, name.get_rect(midtop=(bar.centerx, bottom)))

    def _people(self, surface: pygame.Surface, c: Comparison, rect: pygame.Rect, teams: bool = True) -> int:
        """Who is beating themselves: the most improved, today's personal bests, and (with ``teams``)
        each team against itself yesterday; each section says plainly when and why it is still
        empty. Where the next part can start."""
        st = self.stage
        sizes = st.theme.sizes
        y = rect.y
        row_h = round(st.px(sizes.row) * 1.6)
        first = self._first_day(c)
        if not shows(self.board, "individual_history"):  # the profile shows no one's own progress
            return self._teams(surface, c, rect, row_h) if teams else y
        y = self._title(surface, "Most improved on yesterday", rect, y)
        if not c.improved:
            y = self._note(surface, "From tomorrow: each of you against yourself today" if first else
                           "Nobody past their yesterday at this time yet", rect, y) + row_h // 4
        for change in c.improved:
            box = pygame.Rect(rect.x, y, rect.w, row_h - row_h // 8)
            pygame.draw.rect(surface, st.colour("surface"), box, border_radius=box.h // 4)
            pct = st.text(f"{change.percent:+.0f} %", sizes.row, "up", bold=True, numbers=True)
            surface.blit(pct, pct.get_rect(midright=(box.right - box.h // 3, box.centery)))
            name = st.text_fitted(who_is(self.board, change.subject)[0], sizes.row, "text",
                                  box.w - pct.get_width() - box.h, bold=True)
            surface.blit(name, name.get_rect(midleft=(box.x + box.h // 3, box.centery)))
            y += row_h
        y += row_h // 3
        y = self._title(surface, "Personal best today", rect, y)
        names = [who_is(self.board, s)[0] for s in c.personal_bests]
        if not names:
            y = self._note(surface, "Best days count from tomorrow" if first else
                           "Still to come: beat your best day of the last 30", rect, y) + row_h // 4
        shown = 0
        for name_text in names:
            if y + row_h > rect.bottom or (shown == 3 and len(names) > 4):
                break
            line = st.text_fitted(name_text, sizes.row, "text", rect.w - row_h, bold=True)
            draw_star(surface, (rect.x + row_h // 4, y + line.get_height() // 2), row_h // 5, st.colour("accent"))
            surface.blit(line, (rect.x + row_h // 2 + 8, y))
            y += line.get_height() + row_h // 6
            shown += 1
        if shown < len(names):
            y = self._note(surface, f"and {len(names) - shown} more", rect, y)
        y += row_h // 3
        return self._teams(surface, c, pygame.Rect(rect.x, y, rect.w, rect.bottom - y), row_h) if teams else y

    def _title(self, surface: pygame.Surface, text: str, rect: pygame.Rect, y: int) -> int:
        title = self.stage.text_fitted(text, self.stage.theme.sizes.row, "accent", rect.w, bold=True)
        surface.blit(title, (rect.x, y))
        return y + title.get_height() * 5 // 4

    def _note(self, surface: pygame.Surface, text: str, rect: pygame.Rect, y: int) -> int:
        st = self.stage
        for part in wrap_text(st, text, st.theme.sizes.small, rect.w, 2):
            line = st.text(part, st.theme.sizes.small, "muted", max_width=rect.w)
            surface.blit(line, (rect.x, y))
            y += line.get_height()
        return y

    def _teams(self, surface: pygame.Surface, c: Comparison, rect: pygame.Rect, row_h: int) -> int:
        """Each team's figure so far and its change on yesterday at this time, as long as there is
        room; where the next part can start."""
        st = self.stage
        sizes = st.theme.sizes
        title_h = st.text("Åg", sizes.row, "accent", bold=True).get_height() * 5 // 4
        if not c.teams or rect.h < title_h + row_h:
            return rect.y
        compared = any(t.before is not None for t in c.teams)
        total = sum(t.now or 0 for t in c.teams)
        y = self._title(surface, "Teams against yesterday" if compared else "Teams so far today", rect, rect.y)
        for change in c.teams:
            if y + row_h > rect.bottom:
                break
            name, colour, _ = who_is(self.board, change.subject)
            box = pygame.Rect(rect.x, y, rect.w, row_h - row_h // 8)
            pygame.draw.rect(surface, st.colour("surface"), box, border_radius=box.h // 4)
            pygame.draw.rect(surface, hex_rgb(colour, st.colour("accent")),
                             (box.x, box.y, max(6, box.h // 8), box.h), border_radius=box.h // 8)
            words, tone, _ = self._trend(change, c.lower_is_better)
            if not words and not compared and total and not c.lower_is_better:  # the first day: its share
                words, tone = f"{100 * (change.now or 0) / total:.0f} % of the floor", "muted"
            pct = st.text(words or "nothing yesterday", sizes.row if compared else sizes.small,
                          tone if words else "muted", bold=compared, numbers=True)
            surface.blit(pct, pct.get_rect(midright=(box.right - box.h // 3, box.centery)))
            value = st.text(format_value(change.now, c.metric, st.board), sizes.row, "text", bold=True, numbers=True)
            value_x = box.right - box.h // 3 - pct.get_width() - box.h // 2 - value.get_width()
            surface.blit(value, value.get_rect(midleft=(value_x, box.centery)))
            label = st.text_fitted(name, sizes.row, "text", value_x - box.x - box.h * 2 // 3)
            surface.blit(label, label.get_rect(midleft=(box.x + box.h // 2, box.centery)))
            y += row_h
        return y + row_h // 3

"""Near you: for each team, every member with the colleague just above to catch and the one just
below to hold off — so the middle of the table has someone to chase, not only the top.

Every gap says what it counts ("4.7 score points to catch …"); a detail too long for its line
breaks before the name, never inside it. A team with more members than room keeps its top member
and its bottom, and says how many are shown; a portrait screen too narrow for cards shows each
team as a ladder instead, one line per member, so nobody is left out.
"""

from __future__ import annotations

from collections.abc import Sequence

import pygame

from display.scenes import Box, Scene, Shape
from display.stage import Stage, hex_rgb
from display.widgets import draw_badges, format_gap, format_value, gap_unit, wrap_text
from feeds.board.build import Board, RankedAgent, TeamStanding, limit_to_group
from feeds.board.diff import BoardEvent


Choice = tuple[list[int], dict[int, list[str]], int]


class NearScene(Scene):
    name = "near"

    def __init__(self, stage: Stage) -> None:
        super().__init__(stage)
        # What each column shows, worked out once per board: measuring text is what a frame costs.
        self._choices: tuple[Board | None, dict[tuple[tuple[int, ...], int, int], Choice]] = (None, {})
        # [board] group_by: the colleague to catch is in one's own group; a group per visit.
        self.full: Board | None = None
        self.group: str | None = None
        self.group_turn = 0

    def subtitle(self) -> str:
        return f"Near you in {self.group.capitalize()}: the next place to take" if self.group else "Near you: the next place to take"

    def update(self, board: Board, events: Sequence[BoardEvent]) -> bool:
        self.full = board
        groups = board.groups()
        self.group = groups[self.group_turn % len(groups)] if groups else None
        return super().update(limit_to_group(board, self.group) if self.group is not None else board, events)

    def leave(self) -> None:
        if self.full is not None and self.full.groups():
            self.group_turn += 1
            self.update(self.full, ())

    def takes_turns(self) -> bool:
        return self.full is not None and len(self.full.groups()) > 1

    def adopt(self, old: Scene) -> None:
        if isinstance(old, NearScene):
            self.group_turn = old.group_turn

    _teams: tuple[object, list[tuple[TeamStanding, list[int]]]] | None = None  # and the board they are of

    def teams(self) -> list[tuple[TeamStanding, list[int]]]:
        """Each team with its members' positions on the board, best first (worked out once a board)."""
        if self.board is None:
            return []
        if self._teams is not None and self._teams[0] is self.board:
            return self._teams[1]
        by_team: dict[str | None, list[int]] = {}  # one pass over the floor, not one per team
        for i, a in enumerate(self.board.agents):
            if a.rank is not None:  # the unranked (too few ratings, quality first) have no place to take
                by_team.setdefault(a.agent.team, []).append(i)
        out = [(team, by_team[team.team.id]) for team in self.board.teams if team.team.id in by_team]
        self._teams = (self.board, out)
        return out

    def has_content(self) -> bool:
        return bool(self.teams()) and self.board is not None and len(self.board.agents) > 2

    def draw(self, surface: pygame.Surface) -> None:
        teams = self.teams()
        if not teams:
            return
        columns = self._columns(teams)
        if columns is None:
            self._ladders(surface, teams, self.stage.content())
            return
        for team, places, rect in columns:
            self._column(surface, team, places, rect)

    def shapes(self) -> list[Shape]:
        """Each column's stripe and its rows' backgrounds (the ladders draw their own)."""
        teams = self.teams()
        columns = self._columns(teams) if teams else None
        out: list[Shape] = []
        for team, places, rect in columns or ():
            head, _, shown, _, row_h, y = self._column_parts(team, places, rect)
            out.append(Box(hex_rgb(team.team.color, self.stage.colour("accent")),
                           (rect.x, rect.y, rect.w, max(6, head.get_height() // 8))))
            for _ in shown:
                out.append(Box(self.stage.colour("surface"), (rect.x, y, rect.w, row_h), row_h // 6))
                y += row_h + row_h // 12
        return out

    def _columns(self, teams: list[tuple[TeamStanding, list[int]]]) -> list[tuple[TeamStanding, list[int], pygame.Rect]] | None:
        """Each team's column: side by side, or stacked on a portrait screen; None where a portrait
        screen has no room for cards and shows ladders instead."""
        st = self.stage
        area = st.content()
        gap = round(area.w * 0.02)
        if st.portrait and not self._cards_fit(teams, area):
            return None
        out = []
        if st.portrait:
            heights = [len(places) + 1 for _, places in teams]
            unit = (area.h - gap * (len(teams) - 1)) / sum(heights)
            y = area.y
            for (team, places), units in zip(teams, heights):
                out.append((team, places, pygame.Rect(area.x, round(y), area.w, round(unit * units))))
                y += unit * units + gap
        else:
            w = (area.w - gap * (len(teams) - 1)) // len(teams)
            for i, (team, places) in enumerate(teams):
                out.append((team, places, pygame.Rect(area.x + i * (w + gap), area.y, w, area.h)))
        return out

    def _portrait_rects(self, teams: list[tuple[TeamStanding, list[int]]], area: pygame.Rect,
                        units: list[int]) -> list[pygame.Rect]:
        gap = round(area.w * 0.02)
        unit = (area.h - gap * (len(teams) - 1)) / sum(units)
        rects, y = [], float(area.y)
        for n in units:
            rects.append(pygame.Rect(area.x, round(y), area.w, round(unit * n)))
            y += unit * n + gap
        return rects

    def _cards_fit(self, teams: list[tuple[TeamStanding, list[int]]], area: pygame.Rect) -> bool:
        """Whether every member of every team gets a card of its own on a portrait screen."""
        line_h = self.stage.text("Åg", self.stage.theme.sizes.row, "text", bold=True).get_height()
        rects = self._portrait_rects(teams, area, [len(places) + 1 for _, places in teams])
        return all(len(self.choose(places, r.w, r.h - line_h * 3 // 2)[0]) == len(places)
                   for (_, places), r in zip(teams, rects))

    def _ladders(self, surface: pygame.Surface, teams: list[tuple[TeamStanding, list[int]]],
                 area: pygame.Rect) -> None:
        """Narrow and too many for cards: each team as a ladder, a line per member and the gap to the
        next place up on its right, so no one is left out."""
        st = self.stage
        sizes = st.theme.sizes
        agents = self.board.agents if self.board else ()
        metric = st.board.rank_by
        top = area.y
        for line in wrap_text(st, f"Gap in {gap_unit(metric, st.board)} to the next place up; #1: its lead",
                              sizes.small, area.w, 2):
            legend = st.text(line, sizes.small, "muted", max_width=area.w)
            surface.blit(legend, (area.x, top))
            top += legend.get_height()
        line_h = st.text("Åg", sizes.row, "text", bold=True).get_height()
        top += line_h // 4
        body = pygame.Rect(area.x, top, area.w, area.bottom - top)
        for (team, places), rect in zip(teams, self._portrait_rects(teams, body, [len(p) + 1 for _, p in teams])):
            colour = hex_rgb(team.team.color, st.colour("accent"))
            pygame.draw.rect(surface, colour, (rect.x, rect.y, rect.w, max(6, line_h // 8)))
            room = rect.bottom - rect.y - line_h * 7 // 6
            step = max(line_h * 11 // 10, min(line_h * 5 // 4, room // len(places)))
            fit = max(1, min(len(places), room // step))
            shown = places if fit >= len(places) else places[:1] + (places[len(places) - fit + 1:] if fit > 1 else [])
            count = st.text(f"{len(shown)} of {len(places)} shown", sizes.small, "muted") \
                if len(shown) < len(places) else None
            if count is not None:
                surface.blit(count, count.get_rect(topright=(rect.right, rect.y + line_h // 6)))
            head = st.text_fitted(team.team.name, sizes.row, "text",
                                  rect.w - (count.get_width() + line_h // 2 if count else 0), bold=True)
            surface.blit(head, (rect.x, rect.y + line_h // 6))
            y = rect.y + line_h * 7 // 6
            pad = line_h // 4
            for place in shown:
                me = agents[place]
                row = pygame.Rect(rect.x, y, rect.w, step - step // 10)
                pygame.draw.rect(surface, st.colour("surface"), row, border_radius=row.h // 4)
                above, below = self._neighbours(place)
                if me.rank == 1:
                    lead = format_value(me.value - below.value, metric, st.board) \
                        if below is not None and below.value is not None and me.value is not None else ""
                    right = st.text(f"+{lead}" if lead else "top", sizes.row, "accent", bold=True, numbers=True)
                elif above is not None and above.value is not None and me.value is not None:
                    right = st.text(format_value(above.value - me.value, metric, st.board), sizes.row, "text",
                                    bold=True, numbers=True)
                else:
                    right = st.text("–", sizes.row, "muted", bold=True)
                surface.blit(right, right.get_rect(midright=(row.right - pad, row.centery)))
                rank = st.text("–" if me.rank is None else f"#{me.rank}", sizes.row,
                               "accent" if me.rank == 1 else "text", bold=True, numbers=True)
                surface.blit(rank, rank.get_rect(midleft=(row.x + pad, row.centery)))
                text_x = row.x + self._text_x(row.w)
                name = st.text_fitted(me.agent.name, sizes.row, "text",
                                      row.right - 2 * pad - right.get_width() - text_x, bold=True)
                surface.blit(name, name.get_rect(midleft=(text_x, row.centery)))
                y += step

    def _column(self, surface: pygame.Surface, team: TeamStanding, places: list[int], rect: pygame.Rect) -> None:
        """A team's column over its backdrop: the name, how many are shown, the rows."""
        head, count, shown, parts, row_h, y = self._column_parts(team, places, rect)
        surface.blit(head, (rect.x, rect.y + head.get_height() // 4))
        if count is not None:
            surface.blit(count, count.get_rect(midright=(rect.right, rect.y + head.get_height() * 3 // 4)))
        for place in shown:
            self._row(surface, place, parts[place], pygame.Rect(rect.x, y, rect.w, row_h))
            y += row_h + row_h // 12

    def _column_parts(self, team: TeamStanding, places: list[int], rect: pygame.Rect
                      ) -> tuple[pygame.Surface, pygame.Surface | None, list[int], dict[int, list[str]], int, int]:
        """A column's heading, its count (when not all are shown), the members shown, their detail
        lines, the row height and the first row's top."""
        st = self.stage
        sizes = st.theme.sizes
        line_h = st.text("Åg", sizes.row, "text", bold=True).get_height()
        y = rect.y + line_h * 3 // 2
        shown, parts, row_h = self.choose(places, rect.w, rect.bottom - y)
        # A team too big for its room says how many of its members are shown.
        count = st.text(f"{len(shown)} of {len(places)} shown", sizes.small, "muted") if len(shown) < len(places) \
            else None
        room = rect.w - (count.get_width() + line_h // 2 if count else 0)
        head = st.text_fitted(team.team.name, sizes.row, "text", room, bold=True)
        return head, count, shown, parts, row_h, y

    def choose(self, places: list[int], width: int, height: int) -> Choice:
        """Which members a column of ``width`` x ``height`` shows, each one's detail lines, and the row height.
        Every member with both neighbours when they fit; else only whom to catch; and when even that
        does not fit, the team's top member and then its bottom: the leaderboard celebrates the rest
        of the top already, and this scene is for the middle and the bottom of the table."""
        key = (tuple(places), width, height)
        if self._choices[0] is not self.board:  # a new board: new gaps, new lines
            self._choices = (self.board, {})
        if key in self._choices[1]:
            return self._choices[1][key]
        text_w = width - self._text_x(width) - self._row_height(1) // 8
        smallest = self._row_height(1)
        room = max(1, (height + smallest // 12) // (smallest + smallest // 12))  # rows of one detail line
        # Details are measured text: only for the members who can be shown, never the whole team of
        # a large floor (the top member, and as many from the bottom as could ever fit).
        candidates = places if len(places) <= room else places[:1] + places[len(places) - room + 1:]
        for both in (True, False) if candidates is places else (False,):
            if both and not self._may_fit_both(places, height):
                continue
            parts = {p: self._details(p, text_w, both) for p in candidates}
            row_h = self._row_height(max(len(v) for v in parts.values()))
            fit = max(1, (height + row_h // 12) // (row_h + row_h // 12))
            if fit >= len(places) or not both:
                break
        shown = places if fit >= len(places) else places[:1] + (places[len(places) - fit + 1:] if fit > 1 else [])
        parts = {p: parts[p] for p in shown}
        self._choices[1][key] = (shown, parts, row_h)
        return shown, parts, row_h

    def _may_fit_both(self, places: list[int], height: int) -> bool:
        """Whether rows with both neighbours could fit at all: each part takes a line at least, so a
        member with two rules out rows shorter than two lines before any text is measured."""
        agents = self.board.agents if self.board else ()
        most = 0
        for place in places:
            if agents[place].rank != 1 and agents[place].value is not None:
                above, below = self._neighbours(place)
                most = max(most, (above is not None and above.value is not None)
                           + (below is not None and below.value is not None))
            if most == 2:
                break
        row_h = self._row_height(most)
        return (height + row_h // 12) // (row_h + row_h // 12) >= len(places)

    def _row_height(self, lines: int = 2) -> int:
        """Measured, not guessed: the name's line, the detail lines and a margin."""
        st = self.stage
        name = st.text("Åg", st.theme.sizes.row, "text", bold=True).get_height()
        small = st.text("Åg", st.theme.sizes.small, "muted").get_height()
        return name + lines * small + name // 2

    def _text_x(self, width: int) -> int:
        """Where a row's name and details start, from its left."""
        st = self.stage
        pad = self._row_height(1) // 8
        return pad * 2 + st.fonts.width("#88", "numbers", st.px(st.theme.sizes.row), True)

    def _neighbours(self, place: int) -> tuple[RankedAgent | None, RankedAgent | None]:
        """The colleague to catch (the nearest better rank) and the one to hold off (the nearest
        other rank below), walked outwards from ``place``: a slice would copy most of a large floor
        for every row drawn."""
        agents = self.board.agents if self.board else ()
        me = agents[place]
        above = next((agents[i] for i in range(place - 1, -1, -1)
                      if agents[i].rank is not None and agents[i].rank < (me.rank or 0)), None)
        below = next((agents[i] for i in range(place + 1, len(agents))
                      if agents[i].value is not None and agents[i].rank != me.rank), None)
        return above, below

    def _details(self, place: int, width: int, both: bool) -> list[str]:
        """Whom to catch (and, with ``both``, whom to hold off), each gap with its unit, wrapped to ``width``."""
        st = self.stage
        agents = self.board.agents if self.board else ()
        me = agents[place]
        metric = st.board.rank_by
        parts: list[tuple[str, str]] = []
        above, below = self._neighbours(place)
        if me.rank == 1:  # the top says by how much it leads, as the rest say the gap they have to close
            if below is not None and below.value is not None and me.value is not None:
                parts.append((f"top, {format_gap(me.value - below.value, metric, st.board)} clear of", below.agent.name))
            else:
                parts.append(("top of the board", ""))
            return self._lines(parts, width)
        if above is not None and above.value is not None and me.value is not None:
            parts.append((f"{format_gap(above.value - me.value, metric, st.board)} to catch", above.agent.name))
        if (both or not parts) and below is not None and below.value is not None and me.value is not None:
            parts.append((f"{format_gap(me.value - below.value, metric, st.board)} ahead of", below.agent.name))
        return self._lines(parts, width)

    def _lines(self, parts: list[tuple[str, str]], width: int) -> list[str]:
        st = self.stage
        lines = []
        px = st.px(st.theme.sizes.small)
        fits = lambda text: st.fonts.width(text, "text", px) <= width  # noqa: E731
        for gap, whom in parts:  # too long for a line: the name gets a line of its own, if that is enough
            whole = f"{gap} {whom}".strip()
            if fits(whole):
                lines.append(whole)
            elif fits(gap) and fits(whom):
                lines += [gap, whom]
            else:
                lines += wrap_text(st, whole, st.theme.sizes.small, width, 3)
        return lines

    def _row(self, surface: pygame.Surface, place: int, details: list[str], rect: pygame.Rect) -> None:
        st = self.stage
        sizes = st.theme.sizes
        agents = self.board.agents if self.board else ()
        me: RankedAgent = agents[place]  # on its background, in the backdrop
        pad = self._row_height(1) // 8
        rank = st.text("–" if me.rank is None else f"#{me.rank}", sizes.row, "accent" if me.rank == 1 else "text",
                       bold=True, numbers=True)
        surface.blit(rank, (rect.x + pad, rect.y + pad // 2))
        text_x = rect.x + self._text_x(rect.w)
        worn = self.game.badges.get(me.agent.id, ()) if self.game is not None else ()
        badge = round(st.px(sizes.row) * 0.8)
        room = rect.right - pad - text_x - draw_badges(None, 0, 0, badge, worn, st)
        name = st.text_fitted(me.agent.name, sizes.row, "text", max(badge, room), bold=True)
        surface.blit(name, (text_x, rect.y + pad // 2))
        draw_badges(surface, text_x + name.get_width(), rect.y + pad // 2 + name.get_height() // 2, badge, worn, st)
        y = rect.y + pad // 2 + name.get_height()
        for line in details:
            detail = st.text(line, sizes.small, "muted", max_width=rect.right - pad - text_x)
            surface.blit(detail, (text_x, y))
            y += detail.get_height()

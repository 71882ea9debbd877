"""Near you: for each team, every member with the colleague just above to catch and the one just
below to hold off — so the middle of the table has someone to chase, not only the top.
"""

from __future__ import annotations

import pygame

from display.scenes import Scene
from display.stage import hex_rgb
from display.widgets import draw_badges, format_value
from feeds.board import RankedAgent, TeamStanding


class NearScene(Scene):
    name = "near"

    def subtitle(self) -> str:
        return "Near you: the next place to take"

    _teams: tuple[object, list[tuple[TeamStanding, list[int]]]] | None = None  # and the board they are of

    def teams(self) -> list[tuple[TeamStanding, list[int]]]:
        """Each team with its members' positions on the board, best first (worked out once a board)."""
        if self.board is None:
            return []
        if self._teams is not None and self._teams[0] is self.board:
            return self._teams[1]
        by_team: dict[str | None, list[int]] = {}  # one pass over the floor, not one per team
        for i, a in enumerate(self.board.agents):
            if a.value is not None:
                by_team.setdefault(a.agent.team, []).append(i)
        out = [(team, by_team[team.team.id]) for team in self.board.teams if team.team.id in by_team]
        self._teams = (self.board, out)
        return out

    def has_content(self) -> bool:
        return bool(self.teams()) and self.board is not None and len(self.board.agents) > 2

    def draw(self, surface: pygame.Surface) -> None:
        st = self.stage
        teams = self.teams()
        if not teams:
            return
        area = st.content()
        gap = round(area.w * 0.02)
        if st.portrait:
            heights = [len(places) + 1 for _, places in teams]
            unit = (area.h - gap * (len(teams) - 1)) / sum(heights)
            y = area.y
            for (team, places), units in zip(teams, heights):
                rect = pygame.Rect(area.x, round(y), area.w, round(unit * units))
                self._column(surface, team, places, rect)
                y += unit * units + gap
        else:
            w = (area.w - gap * (len(teams) - 1)) // len(teams)
            for i, (team, places) in enumerate(teams):
                self._column(surface, team, places, pygame.Rect(area.x + i * (w + gap), area.y, w, area.h))

    def _column(self, surface: pygame.Surface, team: TeamStanding, places: list[int], rect: pygame.Rect) -> None:
        st = self.stage
        sizes = st.theme.sizes
        colour = hex_rgb(team.team.color, st.colour("accent"))
        head = st.text(team.team.name, sizes.row, "text", bold=True, max_width=rect.w)
        pygame.draw.rect(surface, colour, (rect.x, rect.y, rect.w, max(6, head.get_height() // 8)))
        surface.blit(head, (rect.x, rect.y + head.get_height() // 4))
        y = rect.y + head.get_height() * 3 // 2
        row_h = self._row_height()
        fit = max(1, (rect.bottom - y + row_h // 12) // (row_h + row_h // 12))
        # When a team does not fit, its top goes first: the leaderboard celebrates them already,
        # and this scene is for the middle and the bottom of the table.
        for place in places[-fit:]:
            self._row(surface, place, pygame.Rect(rect.x, y, rect.w, row_h))
            y += row_h + row_h // 12

    def _lines(self) -> int:
        """Neighbour lines per row: whom to catch and whom to hold off; only the first when narrow."""
        return 1 if self.stage.portrait else 2

    def _row_height(self) -> int:
        """Measured, not guessed: the name's line, the neighbour lines and a margin."""
        st = self.stage
        name = st.text("Åg", st.theme.sizes.row, "text", bold=True).get_height()
        small = st.text("Åg", st.theme.sizes.small, "muted").get_height()
        return name + self._lines() * small + name // 2

    def _row(self, surface: pygame.Surface, place: int, rect: pygame.Rect) -> None:
        st = self.stage
        sizes = st.theme.sizes
        agents = self.board.agents if self.board else ()
        me: RankedAgent = agents[place]
        pygame.draw.rect(surface, st.colour("surface"), rect, border_radius=rect.h // 6)
        pad = rect.h // 8
        rank = st.text("–" if me.rank is None else f"#{me.rank}", sizes.row, "accent" if me.rank == 1 else "text",
                       bold=True, numbers=True)
        surface.blit(rank, (rect.x + pad, rect.y + pad // 2))
        text_x = rect.x + pad * 2 + st.fonts.width("#88", "numbers", st.px(sizes.row), True)
        worn = self.game.badges.get(me.agent.id, ()) if self.game is not None else ()
        badge = round(st.px(sizes.row) * 0.8)
        room = rect.right - pad - text_x - draw_badges(None, 0, 0, badge, worn, st)
        name = st.text(me.agent.name, sizes.row, "text", bold=True, max_width=max(badge, room))
        surface.blit(name, (text_x, rect.y + pad // 2))
        draw_badges(surface, text_x + name.get_width(), rect.y + pad // 2 + name.get_height() // 2, badge, worn, st)
        metric = st.board.rank_by
        parts = []
        # Walked outwards from the row, not sliced: a slice would copy most of a large floor per row.
        above = next((agents[i] for i in range(place - 1, -1, -1)
                      if agents[i].rank is not None and agents[i].rank < (me.rank or 0)), None)
        below = next((agents[i] for i in range(place + 1, len(agents))
                      if agents[i].value is not None and agents[i].rank != me.rank), None)
        if me.rank == 1:
            parts.append("top of the board")
        elif above is not None and above.value is not None and me.value is not None:
            parts.append(f"{format_value(abs(above.value - me.value), metric, st.board)} to catch {above.agent.name}")
        if below is not None and below.value is not None and me.value is not None:
            parts.append(f"{format_value(abs(me.value - below.value), metric, st.board)} ahead of {below.agent.name}")
        y = rect.y + pad // 2 + name.get_height()
        for part in parts[: self._lines()]:  # one line each: whom to catch, whom to hold off
            detail = st.text(part, sizes.small, "muted", max_width=rect.right - pad - text_x)
            surface.blit(detail, (text_x, y))
            y += detail.get_height()

"""How a leaderboard row looks: its columns, the room its headers get, and its pre-rendered surface
(landscape: one line across; portrait: the name, with the secondary metric and the team below).
The value is not part of it: the scene draws it live on top while it counts up.
"""

from __future__ import annotations

import pygame

from display.fonts import ELLIPSIS, fit
from display.stage import Stage
from display.widgets import (Avatars, avatar_colour, draw_badges, draw_move, draw_note, format_value, keyed_surface,
                             metric_label, move_label_px, move_width, signed_places)
from feeds.board.build import RankedAgent
from feeds.game.challenges import GameState

HEADER_SHARE = 0.2  # the most of a row's width a number column may take to fit its header
class RowArt:
    """Row surfaces for one stage; the scene keeps ``teams``, ``order`` and ``game`` up to date."""

    def __init__(self, stage: Stage) -> None:
        self.stage = stage
        self.avatars = Avatars(stage)
        self.teams: dict[str, tuple[str, str | None]] = {}
        self.order: list[RankedAgent] = []
        self.game: GameState | None = None
        self._columns_cache: dict[tuple[int, int], dict[str, int]] = {}
        self._move_cache: dict[tuple[int, int, int], tuple[int, int]] = {}  # portrait: the marker's x and height
        self._widest_cache: tuple[list[RankedAgent], tuple[int, str, str]] | None = None

    def columns(self, width: int, row_h: int) -> dict[str, int]:
        """Left edges (and widths) of the columns, for this row width (worked out once per size)."""
        cached = self._columns_cache.get((width, row_h))
        if cached is None:
            cached = self._columns_cache[(width, row_h)] = self._place_columns(width, row_h)
        return cached

    def _place_columns(self, width: int, row_h: int) -> dict[str, int]:
        st = self.stage
        rank_w = round(st.px(st.theme.sizes.rank) * 1.9)
        inner = row_h - round(row_h * 0.12)
        px = move_label_px(inner)
        digits = max(st.fonts.width(signed_places(st, d, px), "numbers", px, bold=True) for d in (88, -88))
        move_w = round(inner * 0.62) + digits + round(row_h * 0.2)  # an arrow, a sign and two digits, a gap
        avatar = round(row_h * 0.72)
        value_right = width - round(row_h * 0.25)
        value_w = round(st.px(st.theme.sizes.value) * 3.4)
        secondary_w = round(st.px(st.theme.sizes.row) * 3.0) if st.display.secondary else 0
        if not st.portrait:  # the number columns widen for their headers, up to a share of the row each
            gap, cap = self.header_gap(), round(width * HEADER_SHARE)
            value_w = max(value_w, min(cap, self.header_width(st.board.rank_by) + width - value_right + gap))
            if secondary_w:
                secondary_w = max(secondary_w, min(cap, self.header_width(st.display.secondary) + 8 + gap))
        team_w = 0 if st.portrait else round(width * 0.15)
        name_x = rank_w + move_w + avatar + round(row_h * 0.3)
        name_w = width - name_x - team_w - secondary_w - value_w - round(row_h * 0.4)
        return {"rank_w": rank_w, "move_x": rank_w, "avatar_x": rank_w + move_w, "avatar": avatar,
                "name_x": name_x, "name_w": name_w, "team_x": name_x + name_w + round(row_h * 0.2),
                "team_w": team_w, "secondary_x": width - value_w - secondary_w, "secondary_w": secondary_w,
                "value_w": value_w, "value_right": value_right}

    def header_gap(self) -> int:
        return round(self.stage.px(self.stage.theme.sizes.small) * 0.8)

    def header_width(self, metric: str) -> int:
        st = self.stage
        return st.fonts.width(metric_label(metric, st.board), "text", st.px(st.theme.sizes.small))

    def render(self, ranked: RankedAgent, move: int, size: tuple[int, int]) -> pygame.Surface:
        """A row's surface, less its value (drawn live on top); ``move``: the arrow's places."""
        if self.stage.portrait:
            return self._render_portrait(ranked, move, size)
        st = self.stage
        w, h = size
        inner_h = h - round(h * 0.12)
        cy = inner_h // 2
        out = keyed_surface((w, h))
        leader = ranked.rank == 1
        pygame.draw.rect(out, st.colour("highlight" if leader else "surface"), (0, 0, w, inner_h),
                         border_radius=h // 5)
        team_name, team_colour = self.teams.get(ranked.agent.team or "", ("", None))
        colour = avatar_colour(team_colour, ranked.agent.id)
        pygame.draw.rect(out, colour, (0, 0, max(6, h // 12), inner_h), border_top_left_radius=h // 5,
                         border_bottom_left_radius=h // 5)
        cols = self.columns(w, h)
        rank = st.text("–" if ranked.rank is None else str(ranked.rank), st.theme.sizes.rank,
                       "accent" if leader else "text", bold=True, numbers=True)
        out.blit(rank, rank.get_rect(midright=(cols["rank_w"] - round(h * 0.1), cy)))
        draw_move(out, st, cols["move_x"] + round(h * 0.08), cy, move, inner_h)
        avatar = self.avatars.get(ranked.agent.id, ranked.agent.name, ranked.agent.avatar, colour, cols["avatar"])
        out.blit(avatar, avatar.get_rect(midleft=(cols["avatar_x"], cy)))
        worn = self.game.badges.get(ranked.agent.id, ()) if self.game is not None else ()
        badge = round(st.px(st.theme.sizes.row) * 0.8)
        gap = round(h * 0.2)
        note_w = draw_note(None, st, ranked.note, 0, cy, inner_h) + gap if ranked.note else 0
        room = cols["name_w"] - draw_badges(None, 0, 0, badge, worn, st) - note_w
        name = st.text(ranked.agent.name, st.theme.sizes.row, "text", bold=True, max_width=max(badge, room))
        out.blit(name, name.get_rect(midleft=(cols["name_x"], cy)))
        after = cols["name_x"] + name.get_width() + draw_badges(out, cols["name_x"] + name.get_width(), cy, badge, worn, st)
        if ranked.note:
            draw_note(out, st, ranked.note, after + gap, cy, inner_h)
        if cols["team_w"] and team_name:
            team = st.text(team_name, st.theme.sizes.small, "muted", max_width=cols["team_w"])
            out.blit(team, team.get_rect(midleft=(cols["team_x"], cy)))
        if cols["secondary_w"]:
            metric = st.display.secondary
            text = format_value(ranked.agent.metrics.get(metric), metric, st.board)
            secondary = st.text(text, st.theme.sizes.row, "muted", numbers=True)
            out.blit(secondary, secondary.get_rect(midright=(cols["secondary_x"] + cols["secondary_w"] - 8, cy)))
        return out

    def _portrait_move(self, h: int, inner_h: int, rank_w: int) -> tuple[int, int]:
        """Where the movement marker starts under the rank, and its height: every row's alike, the
        widest ("+88") clear of the avatar, drawn a little smaller where even that needs it."""
        key = (h, inner_h, rank_w)
        cached = self._move_cache.get(key)
        if cached is not None:
            return cached
        st = self.stage
        stripe, marker = max(6, h // 16) + h // 24, inner_h // 2
        room = rank_w - h // 24 - stripe
        wide = max(move_width(st, d, marker) for d in (88, -88))
        if wide > room:
            marker = max(8, marker * room // wide)
            wide = max(move_width(st, d, marker) for d in (88, -88))
        out = max(stripe, min(rank_w // 2 - inner_h // 6, rank_w - h // 24 - wide)), marker
        self._move_cache[key] = out
        return out

    def _render_portrait(self, ranked: RankedAgent, move: int, size: tuple[int, int]) -> pygame.Surface:
        """Two lines: the name across the row; team, secondary metric and (drawn live) the value below."""
        st = self.stage
        w, h = size
        inner_h = h - round(h * 0.12)
        out = keyed_surface((w, h))
        leader = ranked.rank == 1
        radius = h // 6
        pygame.draw.rect(out, st.colour("highlight" if leader else "surface"), (0, 0, w, inner_h), border_radius=radius)
        team_name, team_colour = self.teams.get(ranked.agent.team or "", ("", None))
        colour = avatar_colour(team_colour, ranked.agent.id)
        pygame.draw.rect(out, colour, (0, 0, max(6, h // 16), inner_h), border_top_left_radius=radius,
                         border_bottom_left_radius=radius)
        rank_w = round(st.px(st.theme.sizes.rank) * 2.0)
        rank = st.text("–" if ranked.rank is None else str(ranked.rank), st.theme.sizes.rank,
                       "accent" if leader else "text", bold=True, numbers=True)
        out.blit(rank, rank.get_rect(center=(rank_w // 2 + h // 20, inner_h // 3)))
        x, marker = self._portrait_move(h, inner_h, rank_w)
        draw_move(out, st, x, inner_h * 3 // 4, move, marker)
        avatar_size = round(inner_h * 0.5)
        avatar = self.avatars.get(ranked.agent.id, ranked.agent.name, ranked.agent.avatar, colour, avatar_size)
        out.blit(avatar, avatar.get_rect(midleft=(rank_w, inner_h // 2)))
        text_x = rank_w + avatar_size + h // 8
        worn = self.game.badges.get(ranked.agent.id, ()) if self.game is not None else ()
        badge = round(st.px(st.theme.sizes.row) * 0.8)
        room = w - text_x - h // 8 - draw_badges(None, 0, 0, badge, worn, st)
        name = st.text(ranked.agent.name, st.theme.sizes.row, "text", bold=True, max_width=max(badge, room))
        name_y = inner_h // 4 + inner_h // 20
        out.blit(name, name.get_rect(midleft=(text_x, name_y)))
        draw_badges(out, text_x + name.get_width(), name_y, badge, worn, st)
        value_w, _, _ = self.widest()
        value_left = w - round(h * 0.25) - value_w  # the value is drawn live, right-aligned there
        detail_x, detail_y = text_x, inner_h * 3 // 4 - inner_h // 20
        if ranked.note:  # the name keeps its line: why the row is unranked leads the line below it
            detail_x += draw_note(out, st, ranked.note, detail_x, detail_y, inner_h // 2) + h // 10
        text, px = self.portrait_detail(ranked, team_name, value_left - h // 8 - detail_x)
        if text:
            detail = st.fonts.render(text, "text", px, st.colour("muted"), max_width=value_left - h // 8 - detail_x)
            out.blit(detail, detail.get_rect(midleft=(detail_x, detail_y)))
        return out

    def widest(self) -> tuple[int, str, str]:
        """For portrait rows, once per board: the widest value's width, the longest secondary
        number and the widest team name, so that every row makes the same choice of what to show."""
        if self._widest_cache is None or self._widest_cache[0] is not self.order:
            st = self.stage
            board = st.board
            values = [format_value(a.value, board.rank_by, board) for a in self.order] or [""]
            value_px = max(st.fonts.width(v, "numbers", st.px(st.theme.sizes.value), bold=True)
                           for v in sorted(set(values), key=len)[-3:])  # the longest few: digits differ in width
            metric = st.display.secondary
            numbers = [format_value(a.agent.metrics.get(metric), metric, board) for a in self.order] if metric else [""]
            small = st.px(st.theme.sizes.small)
            teams = [name for name, _ in self.teams.values()] or [""]
            self._widest_cache = (self.order, (value_px, max(numbers or [""], key=len),
                                               max(teams, key=lambda t: st.fonts.width(t, "text", small))))
        return self._widest_cache[1]

    def portrait_detail(self, ranked: RankedAgent, team_name: str, room: int) -> tuple[str, int]:
        """The line under a portrait row's name and its pixel size: the secondary metric and the
        team, as much as fits. The same for every row of a board: the team shows (set up to 15 %
        smaller if need be) only if the widest team name fits beside the widest number; else the
        metric alone, its label shortened if it must be; its number always stays."""
        st = self.stage
        px = st.px(st.theme.sizes.small)
        metric = st.display.secondary
        if not metric:
            return team_name, px
        label, number = metric_label(metric, st.board), format_value(ranked.agent.metrics.get(metric), metric, st.board)
        _, widest_number, widest_team = self.widest()
        if team_name:
            size = px
            while size >= px * 0.85:
                if st.fonts.width(f"{label} {widest_number} · {widest_team}", "text", size) <= room:
                    return f"{label} {number} · {team_name}", size
                size = int(size * 0.95)
        if st.fonts.width(f"{label} {number}", "text", px) <= room:
            return f"{label} {number}", px
        tail = f" {number}"
        short = fit(st.fonts.font_for(label, "text", px, False), label, room - st.fonts.width(tail, "text", px))
        return (short + tail if short != ELLIPSIS else number), px  # "Customer sat… 4.4", or just "4.4"

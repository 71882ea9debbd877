"""Team standings: teams side by side (stacked on a portrait screen, or when there are many).

Each card says what the team is ranked by and how ("Score · team average", "Solved · team total"),
its value, the gap to the team ahead (labelled as such), a bar on a scale every card shares (the
score's own 0-100, else the leading team's value) with the leader's mark on it, and the
members behind the number: each one's value, the top contributor starred, and progress to a team
target when the config has one.
"""

from __future__ import annotations

from dataclasses import dataclass

import pygame

from display.scenes import Box, Scene, Shape
from display.stage import RGB, hex_rgb, mix
from display.widgets import Avatars, draw_bar, draw_star, format_value, metric_label, metric_title
from feeds.privacy.view import unlisted
from feeds.board.build import Board, RankedAgent, TeamStanding
from feeds.game.challenges import Progress, plain_number
from feeds.config.schema import SCORE
from feeds.board.scoring import team_averages

MAX_TEAMS = 8


@dataclass(frozen=True)
class Scale:
    """The full width of every team's bar; ``out_of`` is said beside a value when the scale is fixed
    ("/ 100" for the score), empty when the leading team's value is the full width."""

    top: float
    out_of: str

    def fraction(self, value: float | None) -> float:
        return 0.0 if value is None or self.top <= 0 else min(1.0, abs(value) / self.top)


class TeamsScene(Scene):
    name = "teams"

    def __init__(self, stage) -> None:  # type: ignore[no-untyped-def]
        super().__init__(stage)
        self.avatars = Avatars(stage)
        self.boxes: list[tuple[pygame.Rect, list[tuple[str, pygame.Rect]]]] = []  # per card: what was written where
        self._members_of: tuple[Board, dict[str, list[RankedAgent]]] | None = None

    def subtitle(self) -> str:
        return "Team standings"  # each card says what it is ranked by; the header has no room for it

    def ranked_by(self, out_of: str = "") -> str:
        """What the teams are ranked by, with its aggregate: "Score · team average", or with the
        scale's end: "Score (0–100) · team average"."""
        board = self.stage.board
        how = "average" if team_averages(board, board.rank_by) else "total"
        scale = f" (0–{out_of.strip('/ ')})" if out_of else ""
        return f"{metric_title(board.rank_by, board)}{scale} · team {how}"

    def standings(self) -> list[TeamStanding]:
        if self.board is None:
            return []
        return [t for t in self.board.teams if t.members][:MAX_TEAMS]

    def members(self, team: TeamStanding) -> list[RankedAgent]:
        """The team's agents, best first (the board's order); one pass over the board per board."""
        board = self.board
        if board is None:
            return []
        if self._members_of is None or self._members_of[0] is not board:
            grouped: dict[str, list[RankedAgent]] = {}
            for ranked in board.agents:
                if ranked.agent.team is not None:
                    grouped.setdefault(ranked.agent.team, []).append(ranked)
            self._members_of = (board, grouped)
        return self._members_of[1].get(team.team.id, [])

    def target(self, team: TeamStanding) -> Progress | None:
        """The team's progress to a team target challenge, if the config has one."""
        progress = self.game.progress if self.game is not None else ()
        return next((p for p in progress if p.scope == "team" and p.subject == team.team.id
                     and p.kind in ("target", "personal_best")), None)

    def scale(self, teams: list[TeamStanding]) -> Scale:
        """One scale for every bar, so bar lengths compare as the values do."""
        board = self.stage.board
        if board.rank_by == SCORE and team_averages(board, SCORE):
            return Scale(100.0, "/ 100")
        best = max((abs(t.value) for t in teams if t.value is not None), default=0.0)
        return Scale(best or 1.0, "")

    def draw(self, surface: pygame.Surface) -> None:
        teams = self.standings()
        self.boxes = []
        if not teams:
            return
        scale = self.scale(teams)
        what, cards, wide = self._layout(teams, scale)
        if what is not None:
            area = self.stage.content()
            self.boxes.append((area.copy(), []))
            self._put(surface, what, "ranked by", topleft=area.topleft)
        for team, rect in cards:
            self._card(surface, teams, team, rect, scale, wide)

    def shapes(self) -> list[Shape]:
        """Each card's background and its team's stripe along the top."""
        teams = self.standings()
        out: list[Shape] = []
        for team, rect in self._layout(teams, self.scale(teams))[1] if teams else ():
            radius, stripe = self._corner(rect), self._stripe(rect)
            out.append(Box(self.stage.colour("highlight" if team.rank == 1 else "surface"), (rect.x, rect.y, rect.w, rect.h),
                           radius))
            out.append(Box(hex_rgb(team.team.color, self.stage.colour("accent")), (rect.x, rect.y, rect.w, stripe),
                           radius, top=True))
        return out

    def _layout(self, teams: list[TeamStanding], scale: Scale
                ) -> tuple[pygame.Surface | None, list[tuple[TeamStanding, pygame.Rect]], bool]:
        """The line saying once what the cards show (on stacked cards, else None), each team's
        card, and whether the cards are wide (stacked) ones."""
        st = self.stage
        area = st.content()
        n = len(teams)
        what = None
        if st.portrait or n > 4:  # rows have no room to say it each: say once what the cards show
            what = st.text_fitted(self.ranked_by(out_of=scale.out_of), st.theme.sizes.small, "muted", area.w)
            top = area.y + what.get_height()
            area = pygame.Rect(area.x, top + area.h // 80, area.w, area.bottom - top - area.h // 80)
            gap = round(area.h * 0.02)
            h = (area.h - gap * (n - 1)) // n
            return what, [(team, pygame.Rect(area.x, area.y + i * (h + gap), area.w, h)) for i, team in enumerate(teams)], True
        gap = round(area.w * 0.02)
        w = (area.w - gap * (n - 1)) // n
        return what, [(team, pygame.Rect(area.x + i * (w + gap), area.y, w, area.h)) for i, team in enumerate(teams)], False

    @staticmethod
    def _corner(card: pygame.Rect) -> int:
        return min(card.w, card.h) // 30 + 8

    @staticmethod
    def _stripe(card: pygame.Rect) -> int:
        return max(8, min(card.w, card.h) // 40)

    # --- one card -----------------------------------------------------------------------
    def _put(self, surface: pygame.Surface, text: pygame.Surface, label: str, **where: tuple[int, int]) -> pygame.Rect:
        rect = text.get_rect(**where)
        surface.blit(text, rect)
        self.boxes[-1][1].append((label, rect))
        return rect

    def _gap_text(self, teams: list[TeamStanding], team: TeamStanding) -> tuple[str, str]:
        """A caption and its line: the gap to the team ahead, or the leader's lead over the next."""
        board = self.stage.board
        i = teams.index(team)
        if i == 0:  # a team tied with it for first is listed second, "level with" it
            after = teams[1] if len(teams) > 1 else None
            if after is None or after.gap is None:
                return "Leading", ""
            if after.rank == 1:
                return "Level at the top", f"tied with {after.team.name}"
            return "Lead over the next team", f"{format_value(after.gap, board.rank_by, board)} ahead of {after.team.name}"
        ahead = teams[i - 1] if i else None
        if ahead is None or team.gap is None:
            return "", ""
        if team.gap == 0:
            return "Gap to the team ahead", f"level with {ahead.team.name}"
        return "Gap to the team ahead", f"{format_value(team.gap, board.rank_by, board)} behind {ahead.team.name}"

    def _card(self, surface: pygame.Surface, teams: list[TeamStanding], team: TeamStanding, rect: pygame.Rect,
              scale: Scale, wide: bool) -> None:
        st = self.stage
        leader = team.rank == 1
        colour = hex_rgb(team.team.color, st.colour("accent"))
        self.boxes.append((rect, []))  # its background and stripe are in the backdrop
        stripe = self._stripe(rect)
        pad = max(stripe * 2, round(min(rect.w, rect.h) * 0.07))
        inner = pygame.Rect(rect.x + pad, rect.y + stripe + pad * 2 // 3, rect.w - 2 * pad, rect.h - stripe - pad * 4 // 3)
        if wide:
            y = self._banner(surface, teams, team, inner, scale, colour, leader)
            if y < inner.bottom:
                self._members(surface, team, pygame.Rect(inner.x, y, inner.w, inner.bottom - y), colour,
                              scale, caption=False)
        else:
            y = self._headline(surface, teams, team, inner, scale, colour, leader)
            self._members(surface, team, pygame.Rect(inner.x, y + pad // 2, inner.w, inner.bottom - y - pad // 2), colour,
                          scale)

    def _headline(self, surface: pygame.Surface, teams: list[TeamStanding], team: TeamStanding, box: pygame.Rect,
                  scale: Scale, colour: RGB, leader: bool) -> int:
        """Rank, name, value with what it is, the gap and the bar, top down in ``box``; the bottom."""
        st = self.stage
        sizes = st.theme.sizes
        board = st.board
        rank = st.text(f"#{team.rank}" if team.rank else "–", sizes.rank, "accent" if leader else "muted",
                       bold=True, numbers=True)
        count = st.text(f"{team.members} agent{'s' if team.members != 1 else ''}", sizes.small, "muted")
        y = box.y
        self._put(surface, rank, "rank", topleft=(box.x, y))
        self._put(surface, count, "members", bottomright=(box.right, y + rank.get_height() - rank.get_height() // 8))
        y += rank.get_height()
        name = st.text_fitted(team.team.name, sizes.row * 1.15, "text", box.w, bold=True)
        y = self._put(surface, name, "name", topleft=(box.x, y)).bottom
        caption, line = self._gap_text(teams, team)
        small_h = st.text("Åg", sizes.small, "muted").get_height()
        row_h = st.text("Åg", sizes.row, "text").get_height()
        bar_h = max(10, row_h // 3)
        below = small_h + (row_h if line else 0) + bar_h * 3 + small_h  # what follows the value
        room = box.bottom - y - below
        value_size = min(sizes.hero * 0.45, max(sizes.value, room / max(1, st.h) / 1.4))
        out_of = st.text(scale.out_of, sizes.small, "muted") if scale.out_of else None
        room_w = box.w - (out_of.get_width() + small_h // 3 if out_of else 0)
        value = st.text_fitted(format_value(team.value, board.rank_by, board), value_size,
                               "accent" if leader else "text", room_w, bold=True, numbers=True)
        value_rect = self._put(surface, value, "value", topleft=(box.x, y))
        if out_of is not None:
            self._put(surface, out_of, "out of", bottomleft=(value_rect.right + small_h // 3,
                                                              value_rect.bottom - value_rect.h // 6))
        y = value_rect.bottom
        what = st.text_fitted(self.ranked_by(), sizes.small, "muted", box.w)
        y = self._put(surface, what, "what", topleft=(box.x, y)).bottom + small_h // 3
        if caption:
            cap = st.text_fitted(caption, sizes.small, "muted", box.w)
            y = self._put(surface, cap, "gap caption", topleft=(box.x, y)).bottom
        if line:
            text = st.text_fitted(line, sizes.row, "text", box.w, bold=leader)
            y = self._put(surface, text, "gap", topleft=(box.x, y)).bottom
        y += bar_h
        bar = pygame.Rect(box.x, y, box.w, bar_h)
        self._bar(surface, teams, team, bar, scale, colour, leader)
        return bar.bottom + bar_h // 2

    def _banner(self, surface: pygame.Surface, teams: list[TeamStanding], team: TeamStanding, box: pygame.Rect,
                scale: Scale, colour: RGB, leader: bool) -> int:
        """A wide, short card's headline: rank, name and headcount on one line, the value beside the
        gap, then the bar; the bottom. Only what fits is drawn, the bar always."""
        st = self.stage
        sizes = st.theme.sizes
        board = st.board
        small_h = st.text("Åg", sizes.small, "muted").get_height()
        bar_h = max(10, small_h // 4)
        rank = st.text(f"#{team.rank}" if team.rank else "–", sizes.row * 1.15, "accent" if leader else "muted",
                       bold=True, numbers=True)
        value_h = st.text("8", sizes.value * 1.3, "text", bold=True, numbers=True).get_height()
        if rank.get_height() + max(value_h, small_h * 2) + bar_h * 2 > box.h:
            return self._row(surface, teams, team, box, scale, colour, leader)  # a short card: all on one line
        count: pygame.Surface | None = st.text(f"{team.members} agent{'s' if team.members != 1 else ''}",
                                               sizes.small, "muted")
        y = box.y
        self._put(surface, rank, "rank", topleft=(box.x, y))
        name_x = box.x + rank.get_width() + small_h // 2
        beside = box.right - name_x - count.get_width() - small_h // 2
        if st.fonts.width(team.team.name, "text", st.px(0), True) > beside:
            beside = box.right - name_x  # the name comes first: the headcount gives way, the members show it
            count = None
        name = st.text_fitted(team.team.name, sizes.row * 1.15, "text", beside, bold=True)
        self._put(surface, name, "name", topleft=(name_x, y))
        if count is not None:
            self._put(surface, count, "members", midright=(box.right, y + name.get_height() // 2))
        y += max(rank.get_height(), name.get_height())
        caption, line = self._gap_text(teams, team)
        value = st.text_fitted(format_value(team.value, board.rank_by, board), sizes.value * 1.3,
                               "accent" if leader else "text", box.w // 3, bold=True, numbers=True)
        right_w = box.w - value.get_width() - small_h
        out_of = st.text(scale.out_of, sizes.small, "muted") if scale.out_of and not st.portrait else None
        if out_of is not None:
            right_w -= out_of.get_width() + small_h // 3
        lines = [st.text_fitted(caption, sizes.small, "muted", right_w)] if caption else []
        lines += [st.text_fitted(line, sizes.small, "text", right_w, bold=leader)] if line else []
        block = max(value.get_height(), sum(t.get_height() for t in lines))
        if y + block + bar_h * 2 <= box.bottom:
            value_rect = self._put(surface, value, "value", midleft=(box.x, y + block // 2))
            if out_of is not None:
                self._put(surface, out_of, "out of", bottomleft=(value_rect.right + small_h // 3,
                                                                  value_rect.bottom - value_rect.h // 6))
            ty = y + (block - sum(t.get_height() for t in lines)) // 2
            for n, text in enumerate(lines):
                ty = self._put(surface, text, "gap caption" if n == 0 and caption else "gap",
                               topright=(box.right, ty)).bottom
            y += block
        y += bar_h // 2
        bar = pygame.Rect(box.x, min(y, box.bottom - bar_h), box.w, bar_h)
        self._bar(surface, teams, team, bar, scale, colour, leader)
        return bar.bottom + bar_h

    def _row(self, surface: pygame.Surface, teams: list[TeamStanding], team: TeamStanding, box: pygame.Rect,
             scale: Scale, colour: RGB, leader: bool) -> int:
        """The shortest card (many teams on a landscape screen): rank, name, the gap and the value on
        one line, the bar below; the bottom."""
        st = self.stage
        sizes = st.theme.sizes
        board = st.board
        small_h = st.text("Åg", sizes.small, "muted").get_height()
        bar_h = max(6, small_h // 5)
        cy = box.y + (box.h - bar_h * 2) // 2
        rank = st.text(f"#{team.rank}" if team.rank else "–", sizes.row, "accent" if leader else "muted",
                       bold=True, numbers=True)
        x = self._put(surface, rank, "rank", midleft=(box.x, cy)).right + small_h // 2
        value = st.text(format_value(team.value, board.rank_by, board), sizes.row * 1.1,
                        "accent" if leader else "text", bold=True, numbers=True)
        value_rect = self._put(surface, value, "value", midright=(box.right, cy))
        caption, line = self._gap_text(teams, team)
        gap = st.text(line or caption, sizes.small, "muted")
        name_w = st.fonts.width(team.team.name, "text", st.px(sizes.row), True)
        if x + name_w + gap.get_width() + small_h * 2 <= value_rect.x:
            self._put(surface, gap, "gap", midright=(value_rect.x - small_h, cy))
            room = value_rect.x - small_h * 2 - gap.get_width() - x
        else:
            room = value_rect.x - small_h - x
        name = st.text_fitted(team.team.name, sizes.row, "text", room, bold=True)
        self._put(surface, name, "name", midleft=(x, cy))
        bar = pygame.Rect(box.x, box.bottom - bar_h, box.w, bar_h)
        self._bar(surface, teams, team, bar, scale, colour, leader)
        return box.bottom

    def _bar(self, surface: pygame.Surface, teams: list[TeamStanding], team: TeamStanding, bar: pygame.Rect,
             scale: Scale, colour: RGB, leader: bool) -> None:
        """The team's bar on the shared scale, with the leading team's mark on the others'."""
        track = self.stage.colour("background")
        draw_bar(surface, bar, scale.fraction(team.value), colour, track)
        best = max((t.value for t in teams if t.value is not None), key=abs, default=None)
        if not leader and best is not None:  # what this team's bar falls short of
            mark = min(bar.right - 2, bar.x + round(bar.w * scale.fraction(best)))
            pygame.draw.rect(surface, mix(track, self.stage.colour("text"), 0.7),
                             (mark - 2, bar.y - bar.h // 2, 4, bar.h * 2))

    def _members(self, surface: pygame.Surface, team: TeamStanding, box: pygame.Rect, colour: RGB, scale: Scale,
                 caption: bool = True) -> None:
        """The members behind the number, best first, the top contributor starred; a target at the foot."""
        st = self.stage
        sizes = st.theme.sizes
        board = st.board
        people = [a for a in self.members(team) if a.value is not None]
        target = self.target(team)
        small_h = st.text("Åg", sizes.small, "muted").get_height()
        row_h = round(small_h * 1.2)
        bottom = box.bottom
        if target is not None and box.h >= small_h * 2:  # the target first, the members in what is left
            bottom = self._target(surface, target, box, colour)
        unseen = max(0, team.members - len(self.members(team))) if unlisted(self.board) else 0
        if not people and unseen and caption and bottom - box.y >= small_h:  # team totals only
            line = st.text_fitted("Everyone counts · no one is ranked", sizes.small, "muted", box.w)
            self._put(surface, line, "members caption", topleft=(box.x, box.y))
            return
        if not people or bottom - box.y < (small_h if caption else 0) + row_h:
            return
        y = box.y
        if caption:
            head = st.text_fitted(f"Members · {metric_label(board.rank_by, board)}", sizes.small, "muted", box.w)
            y = self._put(surface, head, "members caption", topleft=(box.x, box.y)).bottom + small_h // 4
        fit = max(0, (bottom - y) // row_h)
        # "+ 3 more" only below a list worth the name; the headcount is on the card in any case
        # (with privacy, the members not listed are counted in the "more", never named)
        room = fit - 1 if unseen else fit
        shown = people if len(people) <= room else people[:fit - 1] if fit >= 3 else people[:fit]
        # A member's bar: their share of the team's total, or where they stand on the teams' scale
        top_value = (abs(team.value or 0.0) if not team_averages(board, board.rank_by) else scale.top) or 1.0
        for n, member in enumerate(shown):
            self._member(surface, member, pygame.Rect(box.x, y, box.w, row_h), top_value, n == 0, colour)
            y += row_h
        hidden = len(people) - len(shown) + unseen
        if hidden and (fit >= 3 or (unseen and len(shown) < fit)):
            more = st.text(f"+ {hidden} more", sizes.small, "muted")
            self._put(surface, more, "more", midleft=(box.x, y + row_h // 2))

    def _member(self, surface: pygame.Surface, member: RankedAgent, row: pygame.Rect, top: float, first: bool,
                colour: RGB) -> None:
        st = self.stage
        sizes = st.theme.sizes
        board = st.board
        size = row.h * 3 // 4
        x = row.x
        if first:  # the top contributor
            draw_star(surface, (x + size // 2, row.centery), size // 2, st.colour("accent"))
        else:
            avatar = self.avatars.get(member.agent.id, member.agent.name, member.agent.avatar, colour, size)
            surface.blit(avatar, avatar.get_rect(midleft=(x, row.centery)))
        x += size + size // 3
        value = st.text(format_value(member.value, board.rank_by, board), sizes.small, "accent" if first else "text",
                        bold=first, numbers=True)
        value_rect = value.get_rect(midright=(row.right, row.centery))
        spark = max(row.w // 6, 1)
        name = st.text_fitted(member.agent.name, sizes.small, "text", value_rect.x - x - spark - size // 2, bold=first)
        self._put(surface, name, "member", midleft=(x, row.centery))
        self._put(surface, value, "member value", midright=value_rect.midright)
        bar = pygame.Rect(value_rect.x - size // 3 - spark, row.centery - max(3, row.h // 10), spark, max(6, row.h // 5))
        draw_bar(surface, bar, abs(member.value or 0.0) / top, mix(colour, st.colour("text"), 0.15),
                 st.colour("background"))

    def _target(self, surface: pygame.Surface, target: Progress, box: pygame.Rect, colour: RGB) -> int:
        """Progress to the team target at the foot of ``box``; the top of what it took."""
        st = self.stage
        sizes = st.theme.sizes
        small_h = st.text("Åg", sizes.small, "muted").get_height()
        bar_h = max(10, small_h // 3)
        numbers = st.text(f"{plain_number(target.value)} / {plain_number(target.target)}",
                          sizes.small, "text", bold=True, numbers=True)
        title = st.text_fitted(target.title, sizes.small, "muted", box.w - numbers.get_width() - small_h // 2)
        bar = pygame.Rect(box.x, box.bottom - bar_h, box.w, bar_h)
        top = bar.y - small_h // 4 - max(title.get_height(), numbers.get_height())
        self._put(surface, title, "target", topleft=(box.x, top))
        self._put(surface, numbers, "target value", topright=(box.right, top))
        draw_bar(surface, bar, target.fraction, colour, st.colour("background"))
        return top - small_h // 2

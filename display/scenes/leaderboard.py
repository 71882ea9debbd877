"""The individual leaderboard: rank, move, avatar, name, team, secondary metric and the value.

Each agent's row is a pre-rendered surface (rebuilt only when its content changes) that slides to
its new place over 0.8 s when the rank changes, while the value counts up. A new leader's row
glows for a few seconds. With more agents than fit, the scene pages through them in balanced pages,
as many in each visit as its slot has room for, each visit going on where the last one stopped.
A frame looks only at the page on screen: what moves is filed by page once per poll.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import pygame

from display.anim import COUNT_SECONDS, HIGHLIGHT_SECONDS, PULSE_FPS, SLIDE_SECONDS, Tween, ease_out_cubic
from display.scenes import Scene
from display.stage import Stage, mix
from display.scenes.rows import RowArt
from display.widgets import format_value, metric_label
from feeds.board.build import Board, RankedAgent, limit_to_group
from feeds.board.diff import BoardEvent, NewLeader, RankChanged
from feeds.privacy.view import unlisted

MOVE_SHOWN_SECONDS = 45.0  # an arrow stays beside a row this long after it moved
PAGE_SECONDS = 10.0  # a page's time when the scene has no slot in a playlist (a preview)
MIN_PAGE_SECONDS = 8.0  # long enough to find one's own name on a page from across the room


@dataclass
class _Row:
    agent_id: str
    ranked: RankedAgent
    slot: Tween  # position in the ordered list, in rows (fractional while sliding)
    value: Tween
    move: int = 0
    moved_at: float = -1e9
    led_at: float = -1e9
    surface: pygame.Surface | None = None
    key: tuple[object, ...] = ()
    drawn: pygame.Rect | None = None  # where it was last drawn, to clean up after it moves
    shown: str | None = None  # the value it was last drawn with (a count-up changes it only now and then)


class LeaderboardScene(Scene):
    name = "leaderboard"

    def __init__(self, stage: Stage) -> None:
        super().__init__(stage)
        self.rows: dict[str, _Row] = {}
        self.order: list[RankedAgent] = []
        self.art = RowArt(stage)
        self.entered = stage.clock.now()
        self.first_page = 0  # the page this visit began with: where the last one stopped
        # What animates, by the page it crosses, and until when: a frame asks only about its own
        # page, so its cost does not grow with the agents on the other pages.
        self._live: dict[int, list[_Row]] = {}
        self._settle: dict[int, float] = {}
        self._drawn: dict[str, _Row] = {}  # the rows drawn since the last full draw
        self._layout_cache: tuple[tuple[object, ...], tuple[pygame.Rect, int, int]] | None = None
        self._active: set[str] = set()  # the rows that moved in the last partial frame
        # [board] group_by: one group's board per visit, the next group the next visit.
        self.full: Board | None = None
        self.group: str | None = None
        self.group_turn = 0

    # --- geometry ---------------------------------------------------------------------
    def _layout(self) -> tuple[pygame.Rect, int, int]:
        """Rows area, row height and rows per page (asked many times a frame: worked out once per shape)."""
        area = self.stage.content()
        key = (tuple(area), len(self.order))
        if self._layout_cache is None or self._layout_cache[0] != key:
            self._layout_cache = key, self._fit(area)
        rect, row_h, per_page = self._layout_cache[1]
        return rect.copy(), row_h, per_page

    def _fit(self, area: pygame.Rect) -> tuple[pygame.Rect, int, int]:
        """As many balanced pages as it takes for rows of a readable height within ``area``."""
        label_h = 0 if self.stage.portrait else round(self.stage.px(self.stage.theme.sizes.small) * 1.5)
        area = pygame.Rect(area.x, area.y + label_h, area.w, area.h - label_h)
        # Portrait rows hold two lines (the name alone on the first), so they are taller.
        min_row = round(self.stage.px(self.stage.theme.sizes.row) * (2.6 if self.stage.portrait else 1.6))
        fit = max(1, area.h // min_row)
        n = max(1, len(self.order))
        pages = math.ceil(n / fit)
        per_page = math.ceil(n / pages)
        row_h = min(area.h // per_page, round(min_row * 1.5))
        area.h = row_h * per_page  # exactly one page: no sliver of the next page's first row
        return area, row_h, per_page

    def pages(self) -> int:
        return math.ceil(max(1, len(self.order)) / self._layout()[2])

    def subtitle(self) -> str:
        pages = self.pages()
        group = f"{self.group.capitalize()} · ranked by " if self.group else "Ranked by "
        return f"{group}{metric_label(self.stage.board.rank_by, self.stage.board).lower()}" + (
            f" · page {self.page + 1} of {pages}" if pages > 1 else "")

    # --- pages ------------------------------------------------------------------------
    def page_seconds(self) -> float:
        """How long each page stays: the slot shared by as many pages as it has room for at
        MIN_PAGE_SECONDS or more each, so a visit shows every page when it can, and never the same
        page twice while others wait; without a slot (a preview), PAGE_SECONDS."""
        slot = self.slot_seconds
        if slot <= 0:
            return PAGE_SECONDS
        return slot / min(self.pages(), max(1, int(slot // MIN_PAGE_SECONDS)))

    def _turns(self) -> tuple[int, float]:
        """Pages turned since this visit began, and how long the page on screen has been there."""
        turns, into = divmod(max(0.0, self.stage.clock.now() - self.entered), self.page_seconds())
        return int(turns), into

    @property
    def page(self) -> int:
        """The page on screen: time decides it, so it turns on time whether or not a frame is drawn."""
        pages = self.pages()
        return (self.first_page + self._turns()[0]) % pages if pages > 1 else 0

    # --- life cycle -------------------------------------------------------------------
    def enter(self) -> None:
        self.entered = self.stage.clock.now()
        self.first_page %= self.pages()

    def leave(self) -> None:
        """The next visit resumes where this one stopped: with the page after the last one seen,
        or with that page itself when it was cut short (a visit of a 25 s slot on 10 s pages)."""
        pages = self.pages()
        if pages > 1:
            into = self._turns()[1]
            self.first_page = (self.page + (into >= self.page_seconds() / 2)) % pages
        if self.full is not None and self.full.groups():  # the next visit shows the next group, from its top
            self.group_turn += 1
            self.first_page = 0
            self.update(self.full, ())

    def takes_turns(self) -> bool:
        return self.full is not None and len(self.full.groups()) > 1

    def adopt(self, old: Scene) -> None:
        if isinstance(old, LeaderboardScene):  # a reload keeps the page, not back to page 1
            self.entered, self.first_page, self.group_turn = old.entered, old.first_page, old.group_turn

    def update(self, board: Board, events: Sequence[BoardEvent]) -> bool:
        self.full = board
        groups = board.groups()
        self.group = groups[self.group_turn % len(groups)] if groups else None
        if self.group is not None:
            board = limit_to_group(board, self.group)
        super().update(board, events)
        layout_before = (self.pages(), self.subtitle(), len(self.order))
        clock, motion = self.stage.clock, self.stage.motion
        now = clock.now()
        self.order = list(board.agents)
        self.art.teams = {t.team.id: (t.team.name, t.team.color) for t in board.teams}
        self.art.order, self.art.game = self.order, self.game
        moves = {e.agent: e for e in events if isinstance(e, RankChanged)}
        leaders = {e.agent for e in events if isinstance(e, NewLeader)}
        rows: dict[str, _Row] = {}
        for index, ranked in enumerate(board.agents):
            agent_id = ranked.agent.id
            row = self.rows.get(agent_id)
            if row is None:
                row = _Row(agent_id, ranked, Tween(clock, index), Tween(clock, ranked.value or 0.0))
            rows[agent_id] = row
            row.ranked = ranked
            row.slot.to(index, motion.duration(SLIDE_SECONDS))
            row.value.to(ranked.value or 0.0, motion.duration(COUNT_SECONDS, essential=True), ease_out_cubic)
            move = moves.get(agent_id)
            if move is not None and move.old is not None and move.new is not None:
                row.move, row.moved_at = move.old - move.new, now
            if agent_id in leaders:
                row.led_at = now
        gone = len(rows) != len(self.rows) or any(agent_id not in rows for agent_id in self.rows)
        self.rows = rows
        self._plan(now)
        # Moves and new values are drawn as they animate; only a new shape needs a full redraw.
        return (self.pages(), self.subtitle(), len(self.order)) != layout_before or gone

    def _plan(self, now: float) -> None:
        """File every row that moves, counts or glows under each page its band crosses (once a
        poll, so that no frame has to look at every agent)."""
        per_page = self._layout()[2]
        glow = self._highlight_seconds()  # the frame without the halo after it is the wall's settling frame
        self._live, self._settle = {}, {}
        for row in self.rows.values():
            ends = [t.t0 + t.duration for t in (row.slot, row.value) if t.moving()]
            if now - row.led_at < glow:
                ends.append(row.led_at + glow)
            if not ends:
                continue
            slot = row.slot
            low, high = sorted((slot.start, slot.end)) if slot.moving() else (slot.end, slot.end)
            for page in range(int(low // per_page), math.ceil((high + 1) / per_page)):
                self._live.setdefault(page, []).append(row)
                self._settle[page] = max(self._settle.get(page, now), *ends)

    def _on_page(self) -> list[_Row]:
        """The rows that can be seen on the page on screen: its own (and a neighbour each side,
        for a row sliding in) and those that cross it while they move."""
        per_page = self._layout()[2]
        first = self.page * per_page
        around = self.order[max(0, first - 1):first + per_page + 1]
        rows = {id(row): row for row in (self.rows[a.agent.id] for a in around)}
        rows.update((id(row), row) for row in self._live.get(self.page, ()))
        return list(rows.values())

    def _stale_rows(self) -> list[_Row]:
        """Rows on screen whose picture is out of date (a new secondary value, badge, an arrow
        that expired) though they do not move."""
        return [row for row in self._on_page()
                if row.surface is not None and row.key != self._row_key(row, row.ranked, row.key[-1])]

    def animating(self) -> bool:
        return self.stage.clock.now() < self._settle.get(self.page, -math.inf) or bool(self._stale_rows())

    def frame_rate(self) -> int | None:
        """Rows that slide or count up want every frame; a leader's glow alone pulses slowly."""
        if any(row.slot.moving() or row.value.moving() for row in self._live.get(self.page, ())):
            return None
        return PULSE_FPS if not self._stale_rows() else None

    def _highlight_seconds(self) -> float:
        return self.stage.motion.duration(HIGHLIGHT_SECONDS, essential=True)

    def next_change(self) -> float | None:
        now = self.stage.clock.now()
        times = [r.moved_at + MOVE_SHOWN_SECONDS for r in self._on_page()
                 if r.move and r.moved_at + MOVE_SHOWN_SECONDS > now]
        if self.pages() > 1:
            times.append(self.entered + (self._turns()[0] + 1) * self.page_seconds())
        return min(times) if times else None

    # --- drawing ----------------------------------------------------------------------
    def draw_base(self, surface: pygame.Surface) -> None:
        for label, rect in self.headers():
            surface.blit(label, rect)

    def draw(self, surface: pygame.Surface) -> None:
        for row in self._drawn.values():
            row.drawn = None  # not on this picture, so nothing of it to clean up later
        # The leader's glow reaches a little past the rows, as in a partial frame.
        self._drawn = {row.agent_id: row for row in self._draw_rows(surface, self._layout()[0].inflate(8, 0))}
        self._draw_more(surface)

    def _draw_more(self, surface: pygame.Surface) -> None:
        """Under the last page's rows, with a privacy profile: how many more people there are, who
        are not named here but count in their team's totals (never who they are or where they stand)."""
        more = unlisted(self.full, self.group)  # with group_by: this group's board
        if not more or self.page != self.pages() - 1:
            return
        st = self.stage
        area, row_h, per_page = self._layout()
        rows = len(self.order) - self.page * per_page
        y = area.y + rows * row_h + row_h // 3
        content = st.content()
        size = st.theme.sizes.row * 0.8
        whole = f"and {more} more · everyone counts in the team totals"
        lines = [whole] if st.fonts.width(whole, "text", st.px(size)) <= area.w else \
            [f"and {more} more", "everyone counts in the team totals"]  # a narrow (portrait) screen: two lines
        for line in lines:
            text = st.text_fitted(line, size, "muted", area.w)
            rect = text.get_rect(midtop=(area.centerx, y))
            if rect.bottom > content.bottom:
                return
            surface.blit(text, rect)
            y = rect.bottom

    def draw_partial(self, surface: pygame.Surface, base: pygame.Surface) -> list[pygame.Rect]:
        """Redraw only the band the moving rows cross (where they are and where they were)."""
        area, row_h, per_page = self._layout()
        now = self.stage.clock.now()
        bands = []
        stale = {id(row) for row in self._stale_rows()}
        active = set()
        for row in self._on_page():
            # A value counting up is drawn again only when the number it shows changes (at 60
            # frames a second most frames of a count-up show the same digits), and only on screen.
            if id(row) in stale or row.slot.moving() or now - row.led_at < self._highlight_seconds() \
                    or (row.drawn is not None and self._value_text(row) != row.shown):
                active.add(row.agent_id)
            # A row that moved in the last frame is drawn once more, at the place where it stopped.
            if row.agent_id in active or row.agent_id in self._active:
                y = area.y + round((row.slot.value() - self.page * per_page) * row_h)
                bands.append(pygame.Rect(area.x - 4, y, area.w + 8, row_h))
                if row.drawn is not None:
                    bands.append(row.drawn)
        self._active = active
        if not bands:
            return []
        band = bands[0].unionall(bands[1:]).clip(area.inflate(8, 0))
        surface.blit(base, band, band)
        self._drawn.update((row.agent_id, row) for row in self._draw_rows(surface, band))
        return [band]

    def _draw_rows(self, surface: pygame.Surface, clip_to: pygame.Rect) -> list[_Row]:
        """Draw the page's rows that meet ``clip_to``; those drawn."""
        area, row_h, per_page = self._layout()
        first = self.page * per_page
        clip = surface.get_clip()
        surface.set_clip(clip_to.clip(area.inflate(8, 0)))
        drawn = []
        slot = (lambda row: row.slot.end) if self.still else (lambda row: row.slot.value())
        for row in sorted(self._on_page(), key=lambda row: -slot(row)):
            rect = pygame.Rect(area.x, area.y + round((slot(row) - first) * row_h), area.w, row_h)
            row.drawn = rect.inflate(8, 0) if area.colliderect(rect) else None
            if rect.colliderect(clip_to) and row.drawn is not None:
                self._draw_row(surface, row, row.ranked, rect)
                drawn.append(row)
        surface.set_clip(clip)
        return drawn

    def headers(self) -> list[tuple[pygame.Surface, pygame.Rect]]:
        """The column headers and where they go (landscape only: each portrait row names its
        numbers). Each has its own column's width, less a gap to the next: a label longer than
        that is set smaller, down to the legible minimum, and only then shortened with "…"."""
        st = self.stage
        if st.portrait:
            return []
        area, row_h, _ = self._layout()
        cols = self.art.columns(area.w, row_h)
        size, gap = st.theme.sizes.small, self.art.header_gap()
        y = area.y - round(st.px(size) * 1.4)
        out = []
        value_room = cols["value_w"] - (area.w - cols["value_right"]) - gap
        label = st.text_fitted(metric_label(st.board.rank_by, st.board), size, "muted", value_room)
        out.append((label, label.get_rect(topright=(area.x + cols["value_right"], y))))
        if cols["secondary_w"]:
            label = st.text_fitted(metric_label(st.display.secondary, st.board), size, "muted",
                                   cols["secondary_w"] - 8 - gap)
            out.append((label, label.get_rect(topright=(area.x + cols["secondary_x"] + cols["secondary_w"] - 8, y))))
        if cols["team_w"]:
            label = st.text_fitted("Team", size, "muted", cols["team_w"] - gap)
            out.append((label, label.get_rect(topleft=(area.x + cols["team_x"], y))))
        return out

    def _row_key(self, row: _Row, ranked: RankedAgent, size: tuple[int, int]) -> tuple[object, ...]:
        """What a row's surface shows; the value is drawn live on top, so it is not part of it."""
        st = self.stage
        agent = ranked.agent
        shown_move = row.move if st.clock.now() - row.moved_at < MOVE_SHOWN_SECONDS else 0
        secondary = agent.metrics.get(st.display.secondary) if st.display.secondary else None
        worn = self.game.badges.get(agent.id, ()) if self.game is not None else ()
        return (ranked.rank, ranked.note, agent.name, agent.team, self.art.avatars.source(agent.avatar), secondary, worn,
                shown_move, tuple(size))

    def _value_text(self, row: _Row) -> str:
        """The value as a row shows it now: counting up, or (under a banner) where it settles."""
        board = self.stage.board
        if row.ranked.value is None:  # no value (not 0, which the tween starts from): a dash
            return format_value(None, board.rank_by, board)
        return format_value(row.value.end if self.still else row.value.value(), board.rank_by, board)

    def _draw_row(self, surface: pygame.Surface, row: _Row, ranked: RankedAgent, rect: pygame.Rect) -> None:
        st = self.stage
        now = st.clock.now()
        key = self._row_key(row, ranked, rect.size)
        if row.surface is None or row.key != key:
            row.surface, row.key = self.art.render(ranked, key[-2], rect.size), key
        glow = 1e9 if self.still else now - row.led_at
        if glow < self._highlight_seconds():
            # "calm" fades the halo out instead of pulsing it
            pulse = 1 - glow / self._highlight_seconds() if st.motion.fades else 0.5 + 0.5 * math.sin(glow * 6)
            halo = rect.inflate(6, 0).move(0, 0)
            halo.h -= round(rect.h * 0.12) - 6
            pygame.draw.rect(surface, mix(st.colour("highlight"), st.colour("accent"), pulse), halo,
                             border_radius=rect.h // 5)
        surface.blit(row.surface, rect.topleft)
        row.shown = self._value_text(row)
        value = st.text(row.shown, st.theme.sizes.value, "accent" if ranked.rank == 1 else "text", bold=True, numbers=True)
        cols = self.art.columns(rect.w, rect.h)
        inner_h = rect.h - round(rect.h * 0.12)
        cy = rect.y + (inner_h * 3 // 4 - inner_h // 20 if st.portrait else inner_h // 2)
        surface.blit(value, value.get_rect(midright=(rect.x + cols["value_right"], cy)))

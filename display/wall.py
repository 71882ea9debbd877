"""The wall: scene rotation, celebrations and the decision whether a new frame is needed at all.

The wall only *reads* feed state: each new board (by generation) is limited to the configured teams,
diffed against the last one it showed, and handed to every scene; feed events become celebrations.
``frame`` is what lets the loop sleep: a still board is redrawn only when the minute on the
header clock changes, a page turns, a scene rotates or the feed's stale flag flips; while rows
slide, only the band they cross is redrawn.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence

import pygame

from display.celebrate import Celebration, Celebrations
from display.scenes import Scene, make_scenes
from display.scenes.wins import WinsScene, event_time
from display.stage import Notice, Stage
from feeds.board import Board, concerns, limit_to_teams
from feeds.config import SceneConfig
from feeds.coordinator import FeedState
from feeds.diff import BoardEvent, FeedEventReceived, NewLeader, diff_boards

OLD_EVENT_SECONDS = 600.0  # an event this old when first seen (a restart, a long outage) is not celebrated


class Wall:
    def __init__(self, stage: Stage, on_banner: Callable[[Celebration], None] | None = None) -> None:
        self.stage = stage
        self.scenes: dict[str, Scene] = make_scenes(stage)
        self.playlist = stage.display.scenes
        self.index = 0
        self.scene_started = stage.clock.now()
        self.celebrations = Celebrations(stage, on_banner)
        self.view: Board | None = None
        self.state = FeedState(None, None, None, 0, False, 0)
        self._drawn_key: tuple[object, ...] | None = None
        self._force = True
        self._frozen: pygame.Surface | None = None
        self._base_layer: pygame.Surface | None = None
        self._board_layer: pygame.Surface | None = None
        self._base_key: tuple[object, ...] | None = None
        self.notice: Notice | None = None  # for the admin: a config edit that was (not) applied
        self._enter()

    @property
    def scene(self) -> Scene:
        return self.scenes[self.playlist[self.index].name]

    def show(self, name: str) -> None:
        """Put a scene on screen now (for previews and tests)."""
        for i, entry in enumerate(self.playlist):
            if entry.name == name:
                self.index = i
                break
        else:
            self.playlist = (*self.playlist, SceneConfig(name))  # type: ignore[arg-type]
            self.index = len(self.playlist) - 1
        self.scene_started = self.stage.clock.now()
        self._enter()
        self._force = True

    def _enter(self) -> None:
        """Put the playlist's current scene on screen, for its slot."""
        self.scene.slot_seconds = self.playlist[self.index].seconds
        self.scene.enter()

    def adopt(self, old: Wall) -> None:
        """Take over from ``old`` (the screen was resized, or the config or theme changed): the
        board, the scene on screen if it is still in the playlist, the wins remembered, the
        celebrations waiting and showing, and the notice."""
        for i, entry in enumerate(self.playlist):
            if entry.name == old.scene.name:
                self.index, self.scene_started = i, old.scene_started
                break
        for name, scene in self.scenes.items():
            if name in old.scenes:
                scene.adopt(old.scenes[name])
        self.scene.slot_seconds = self.playlist[self.index].seconds
        self.celebrations.adopt(old.celebrations)
        self.notice = old.notice
        state = old.state
        if state.board is None and old.view is not None:  # the board came from a feed since replaced
            state = dataclasses.replace(state, board=old.view, generation=state.generation + 1)
        self.update(state, [])

    def set_notice(self, notice: Notice | None) -> None:
        self.notice = notice
        self._force = True

    def notices(self) -> list[str]:
        """The notices on screen now, as text (for the status file)."""
        return [line for notice in self._shown() for line in notice.lines]

    def _notice(self) -> Notice | None:
        notice = self.notice
        if notice is not None and notice.until is not None and self.stage.clock.now() >= notice.until:
            self.notice = notice = None
        return notice

    def invalidate(self) -> None:
        """Draw everything again on the next frame (the screen was dark, or another program drew)."""
        self._force = True
        self._frozen = None

    # --- input ------------------------------------------------------------------------
    def update(self, state: FeedState, events: Sequence[BoardEvent] = ()) -> None:
        if state.board is not None and state.generation != self.state.generation:
            view = limit_to_teams(state.board, self.stage.display.teams)
            diffs = diff_boards(self.view, view)
            for scene in self.scenes.values():
                scene.game = state.game
                if scene.update(view, diffs) and scene is self.scene:
                    self._force = True
            for event in diffs:
                if isinstance(event, NewLeader):
                    self.celebrations.new_leader(event.agent, view)
            if self.view is None:
                self._force = True
            self.view = view
        if state.stale != self.state.stale:
            self._force = True
        self.state = state
        now_wall = self.stage.clock.wall()
        teams = set(self.stage.display.teams)
        members = self.view.index if self.view is not None else {}  # the board's own id index: no copy per frame
        wins = self.scenes.get("wins")
        for event in events:
            if not isinstance(event, FeedEventReceived):
                continue
            if teams and not concerns(event.event, teams, members):
                continue
            if isinstance(wins, WinsScene):
                wins.remember(event.event)
            if now_wall - event_time(event.event, now_wall) > OLD_EVENT_SECONDS:
                continue
            self.celebrations.feed_event(event.event, self.view)
        self._rotate()
        self.celebrations.update()

    def _rotate(self) -> None:
        now = self.stage.clock.now()
        if self.celebrations.active():
            return  # a celebration holds the current scene; its time does not run out underneath
        if now - self.scene_started >= self.playlist[self.index].seconds and len(self.playlist) > 1:
            self.scene.leave()
            for _ in range(len(self.playlist)):  # the next scene with something to show
                self.index = (self.index + 1) % len(self.playlist)
                if self.scene.has_content():
                    break
            self.scene_started = now
            self._enter()
            self._force = True

    # --- output -----------------------------------------------------------------------
    def animating(self) -> bool:
        return self.scene.animating() or self.celebrations.animating()

    def next_wake(self) -> float:
        """Clock time by which the loop must look again, even if nothing arrives."""
        now = self.stage.clock.now()
        wall = self.stage.clock.wall()
        times = [now + 60 - wall % 60,  # the header clock's next minute
                 self.scene_started + self.playlist[self.index].seconds]
        for t in (self.scene.next_change(), self.celebrations.next_change(),
                  self.notice.until if self.notice is not None else None):
            if t is not None:
                times.append(t)
        return max(now + 0.01, min(times))

    def frame(self, surface: pygame.Surface) -> list[pygame.Rect]:
        """Bring ``surface`` up to date; the rectangles that changed (none when nothing did).

        A full frame is drawn when the picture changed as a whole (a new board, another scene,
        the minute, the stale flag); while only rows move, just the band they cross is redrawn.
        """
        key = (self.index, self.state.stale, self._minute(), getattr(self.scene, "page", 0),
               len(self.celebrations.toasts), id(self.celebrations.current), self._notice())
        full = self._force or key != self._drawn_key
        self._drawn_key, self._force = key, False
        if full:  # the notices change only with a full frame; the scenes lay out above them
            self.stage.reserved_bottom = self.stage.notice_band(self._shown())
        if self.celebrations.current is not None:
            return self._celebration_frame(surface, full)
        self._frozen = None
        if full or self.celebrations.toasts_moving():
            return self.draw(surface)
        if not self.animating():
            return []
        rects = self.scene.draw_partial(surface, self._base())
        rects += self._overlays(surface)
        return rects

    def draw(self, surface: pygame.Surface) -> list[pygame.Rect]:
        """The whole picture."""
        surface.blit(self._base(), (0, 0))
        if self.view is None:
            self.stage.draw_waiting(surface, self.state)
        else:
            self.scene.draw(surface)
        self.celebrations.draw(surface)
        self._notices(surface)
        return [surface.get_rect()]

    def _overlays(self, surface: pygame.Surface) -> list[pygame.Rect]:
        return self.celebrations.draw_toasts(surface) + self._notices(surface)

    def _notices(self, surface: pygame.Surface) -> list[pygame.Rect]:
        """The stale notice (bottom right) and the admin's notice (bottom left, or above it)."""
        return [self.stage.draw_notice(surface, notice, box) for notice, box in self.stage.place_notices(self._shown())]

    def _shown(self) -> list[Notice]:
        stale = self.stage.stale_text(self.state)
        notice = self._notice()
        return ([Notice((stale,))] if stale else []) + ([notice] if notice is not None else [])

    def _celebration_frame(self, surface: pygame.Surface, full: bool) -> list[pygame.Rect]:
        if self._frozen is not None and not full:
            if not self.celebrations.animating():
                return []  # the banner stands still: nothing to draw until it ends
            if not self.celebrations.toasts_moving():
                return self.celebrations.draw_banner_partial(surface, self._frozen) + self._overlays(surface)
        if self._frozen is None or full:
            # The board under a banner does not move: draw and shade it once, then reuse it.
            self._frozen = self._shaded_board()
            surface.blit(self._frozen, (0, 0))
            if self.celebrations.animating() and not self.celebrations.card_ready():
                # The card rises in anyway: render it on the next frame, so that no one frame
                # both composes the board and renders the card's text (each ~2-3 ms at 1080p).
                self._overlays(surface)
                return [surface.get_rect()]
        else:
            surface.blit(self._frozen, (0, 0))
        self.celebrations.draw_banner(surface)
        self._overlays(surface)
        return [surface.get_rect()]

    def _shaded_board(self) -> pygame.Surface:
        board = self._board_layer
        if board is None or board.get_size() != self.stage.size:  # allocated once, not per banner
            board = pygame.Surface(self.stage.size)
            self._board_layer = board = board.convert() if pygame.display.get_surface() else board
        board.blit(self._base(), (0, 0))
        if self.view is not None:
            self.scene.draw(board)
        self.stage.shade(board)
        return board

    def _minute(self) -> str:
        return time.strftime("%H:%M", time.localtime(self.stage.clock.wall()))

    def _base(self) -> pygame.Surface:
        """Background, header and the scene's static labels: one opaque layer, rebuilt only when
        one of them changes (a minute, a page, a scene)."""
        subtitle = self.scene.subtitle() if self.view is not None else ""
        key = (self.index, subtitle, self._minute(), self.view is None)
        if self._base_layer is None or self._base_key != key:
            base = self._base_layer
            if base is None or base.get_size() != self.stage.size:  # allocated once: a copy and a convert
                base = pygame.Surface(self.stage.size)  # of the whole screen cost ~7 ms at 1080p, a blit ~1
                base = base.convert() if pygame.display.get_surface() else base
            base.blit(self.stage.background(), (0, 0))
            self.stage.draw_header(base, subtitle)
            if self.view is not None:
                self.scene.draw_base(base)
            self._base_layer = base
            self._base_key = key
        return self._base_layer

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
from collections.abc import Callable, Container, Sequence

import pygame

from display.celebrate import Celebration, Celebrations
from display.scenes import Scene, make_scenes
from display.scenes.wins import WinsScene, event_time
from display.stage import Notice, Stage
from feeds.board.build import Board, concerns, limit_to_teams
from feeds.config.schema import SceneConfig
from feeds.live.coordinator import FeedState
from feeds.board.diff import BoardEvent, FeedEventReceived, NewLeader, ThanksWithdrawn, diff_boards
from feeds.config.privacy import PrivacyConfig
from feeds.privacy.view import Privacy, known_ids, team_only

INDIVIDUAL_SCENES = frozenset({"leaderboard", "near", "role_models"})  # nothing to show where only team totals may be
OLD_EVENT_SECONDS = 600.0  # an event this old when first seen (a restart, a long outage) is not celebrated


class Wall:
    def __init__(self, stage: Stage, on_banner: Callable[[Celebration], None] | None = None,
                 privacy: Privacy | None = None) -> None:
        self.stage = stage
        # What the profile lets the screen show: every board and game passes through it first.
        self.privacy = privacy or Privacy(PrivacyConfig())
        self.scenes: dict[str, Scene] = make_scenes(stage)
        self.playlist = stage.display.scenes
        self.index = 0
        self.scene_started = stage.clock.now()
        self.celebrations = Celebrations(stage, on_banner)
        self.view: Board | None = None  # what the scenes show: the board as the privacy profile allows it
        self._seen: Board | None = None  # the board it was made from (to redact again under a new profile)
        self.state = FeedState(None, None, None, 0, False, 0)
        self._drawn_key: tuple[object, ...] | None = None
        self._force = True
        self._frozen: pygame.Surface | None = None
        self._base_layer: pygame.Surface | None = None
        self._board_layer: pygame.Surface | None = None
        self._moving = False  # whether the last frame drew something in motion
        self._scene_moved = False  # ... and whether that was the scene itself
        self._toast: tuple[str, int] | None = None  # what the toast slot showed in the last frame
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
        if not self._allowed(self.scene):
            self._next_scene()

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
        if state.board is None and old._seen is not None:  # the board came from a feed since replaced
            state = dataclasses.replace(state, board=old._seen, generation=state.generation + 1)
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
        if state.board is not None and (state.generation != self.state.generation or self.privacy.changed(self.stage.clock.now())):
            self._seen = limit_to_teams(state.board, self.stage.display.teams)
            private = self.privacy.view(self._seen, state.game)
            view = private.board
            diffs = diff_boards(self.view, view)
            for scene in self.scenes.values():
                scene.game = private.game
                if scene.update(view, diffs) and scene is self.scene:
                    self._force = True
            if self.celebrations.current is not None:
                self._force = True  # under a banner the board stands still: drawn once more, as it settles
            for event in diffs:
                if isinstance(event, NewLeader) and self.privacy.leader_banners():
                    self.celebrations.new_leader(event.agent, view)
            if self.view is None:
                self._force = True
            self.view = view
            if not self._allowed(self.scene):
                self._next_scene()
        if (state.stale, state.problems, state.notes) != (self.state.stale, self.state.problems, self.state.notes):
            self._force = True
        self.state = state
        now_wall = self.stage.clock.wall()
        teams = set(self.stage.display.teams)
        members: Container[str] | None = None
        wins = self.scenes.get("wins")
        for event in events:
            if isinstance(event, ThanksWithdrawn):  # taken back: gone from the toasts and the wins list
                self.celebrations.withdraw(event.event_id)
                if isinstance(wins, WinsScene):
                    wins.forget(event.event_id)
                continue
            if not isinstance(event, FeedEventReceived) or not self.privacy.allows(event.event, self.view):
                continue
            if teams:
                members = known_ids(self.view) if members is None else members  # whom it lists or may name
                if not concerns(event.event, teams, members):
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
        # A playlist of one scene stays on it, unless the scene has visits to take turns with
        # (a board per group shows the next group each visit).
        if now - self.scene_started >= self.playlist[self.index].seconds and (len(self.playlist) > 1
                                                                              or self.scene.takes_turns()):
            self._next_scene()

    def _allowed(self, scene: Scene) -> bool:
        """Whether the privacy profile lets this scene on screen (``near`` is off in ``top``)."""
        if scene.name in INDIVIDUAL_SCENES and team_only(self.view):
            return False  # team totals only: the teams scene says it all
        return self.privacy.scene_allowed(scene.name)

    def _next_scene(self) -> None:
        """On to the next scene with something to show that the profile allows."""
        self.scene.leave()
        for _ in range(len(self.playlist)):
            self.index = (self.index + 1) % len(self.playlist)
            if self.scene.has_content() and self._allowed(self.scene):
                break
        self.scene_started = self.stage.clock.now()
        self._enter()
        self._force = True

    # --- output -----------------------------------------------------------------------
    def animating(self) -> bool:
        """Whether the loop should draw the next frame at once: something moves, or moved in the
        last frame and still has to be drawn where it stopped."""
        return self._motion() or self._moving

    def frame_rate(self, most: int) -> int:
        """While ``animating``: the frames a second the motion on screen needs, at most ``most``
        (a slide wants every frame it can get; falling confetti or a pulse alone, fewer)."""
        rates = [part.frame_rate() for part, moves in ((self.scene, self._scene_animates()),
                                                       (self.celebrations, self.celebrations.animating())) if moves]
        if not rates or None in rates:  # nothing moves but what just stopped, or something wants every frame
            return most
        return min(most, max(rate for rate in rates if rate is not None))

    def _motion(self) -> bool:
        return self._scene_animates() or self.celebrations.animating()

    def _scene_animates(self) -> bool:
        """The scene moves: not under a banner, where it is drawn as it will settle (nobody watches
        rows slide behind a banner, and a Pi is spared a shaded redraw of them at every frame)."""
        return self.view is not None and self.celebrations.current is None and self.scene.animating()

    def _draw_scene(self, surface: pygame.Surface) -> None:
        self.scene.still = self.celebrations.current is not None
        self.scene.draw(surface)

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

        A full frame is drawn when the picture changed as a whole (a new board shape, another
        scene, the minute, the stale flag, a banner coming or going, a notice); otherwise only what
        moves is redrawn: the band the rows cross, the confetti, the toast's slot. Whatever a
        partial frame leaves on the surface is exactly what a full redraw of the same state draws:
        a moving thing gets one more frame after it stops, to put it at its final place.
        """
        key = (self.index, self.state.stale, self._minute(), getattr(self.scene, "page", 0),
               id(self.celebrations.current), self._notice())
        full = self._force or key != self._drawn_key
        self._drawn_key, self._force = key, False
        moving = self._motion()
        settling, self._moving = self._moving, moving  # what moved in the last frame settles in this one
        scene_moves = self._scene_animates()
        scene_moves, self._scene_moved = scene_moves or self._scene_moved, scene_moves
        toast = self.celebrations.toast_key()
        toast_changed, self._toast = toast != self._toast, toast
        if full:
            if self.celebrations.current is not None:
                return self._compose_banner(surface)
            self._frozen = None
            return self.draw(surface)
        if not (moving or settling or toast_changed):
            return []
        if self.celebrations.current is not None:
            return self._banner_partial(surface, toast_changed)
        self._frozen = None
        rects = self.scene.draw_partial(surface, self._base()) if scene_moves else []
        return self._overlays_partial(surface, self._base(), rects, toast_changed)

    def draw(self, surface: pygame.Surface) -> list[pygame.Rect]:
        """The whole picture: what every frame must equal."""
        self._lay_out()
        surface.blit(self._base(), (0, 0))
        if self.view is None:
            self.stage.draw_waiting(surface, self.state)
        else:
            self._draw_scene(surface)
        self.celebrations.draw(surface)
        self._notices(surface)
        return [surface.get_rect()]

    def _overlays_partial(self, surface: pygame.Surface, under: pygame.Surface, rects: list[pygame.Rect],
                          toast_changed: bool) -> list[pygame.Rect]:
        """The toast and the notices over a partial frame: the toast's slot is laid again from
        ``under`` when the toast moved; each is drawn again where something was drawn over it."""
        slot = self.stage.header_slot()
        if toast_changed:
            surface.blit(under, slot, slot)
            rects = [*rects, slot]
        if not rects:
            return []
        if slot.collidelist(rects) >= 0:
            self.celebrations.draw_toasts(surface)
        for notice, box in self.stage.place_notices(self._shown()):
            if box.collidelist(rects) >= 0:
                self.stage.draw_notice(surface, notice, box)
        return rects

    def _lay_out(self) -> None:
        """Keep the notices' band clear: the scenes lay out above it (it changes only with a full frame)."""
        self.stage.reserved_bottom = self.stage.notice_band(self._shown())

    def _notices(self, surface: pygame.Surface) -> list[pygame.Rect]:
        """The stale notice (bottom right) and the admin's notice (bottom left, or above it)."""
        return [self.stage.draw_notice(surface, notice, box) for notice, box in self.stage.place_notices(self._shown())]

    def _shown(self) -> list[Notice]:
        stale = self.stage.stale_text(self.state)
        notice = self._notice()
        problems = self.state.problems  # the feed's data against the config, judged in feeds/
        more = (f"{len(problems) - 1} more: see chalkwall status",) if len(problems) > 1 else ()
        data = [Notice(("Feed data does not fit the config", *problems[0].lines(), *more),
                       colour="down")] if problems else []
        source = [Notice(self.state.notes[:3])] if self.state.notes else []  # e.g. "Catching up with Zendesk"
        return ([Notice((stale,))] if stale else []) + data + source + ([notice] if notice is not None else [])

    # --- under a banner -----------------------------------------------------------------
    def _compose_banner(self, surface: pygame.Surface) -> list[pygame.Rect]:
        """A whole frame under a banner: the board drawn as it settles and shaded (kept, for the
        frames after), the banner, the toast, the notices."""
        self._lay_out()
        self._board_layer = frozen = self._layer(self._board_layer)
        frozen.blit(self._base(), (0, 0))
        if self.view is not None:
            self._draw_scene(frozen)
        self.stage.shade(frozen)
        self._frozen = frozen
        surface.blit(frozen, (0, 0))
        self.celebrations.draw_banner(surface)
        self.celebrations.draw_toasts(surface)
        self._notices(surface)
        return [surface.get_rect()]

    def _banner_partial(self, surface: pygame.Surface, toast_changed: bool) -> list[pygame.Rect]:
        """A partial frame under a banner, over the still board: the confetti, the card where
        anything crossed it, the toast's slot when it moved, the notices."""
        if self._frozen is None:
            return self._compose_banner(surface)
        slots = [self.stage.header_slot()] if toast_changed else []
        rects = self.celebrations.draw_banner_partial(surface, self._frozen, slots)
        return self._overlays_partial(surface, self._frozen, rects, False)

    def _layer(self, surface: pygame.Surface | None) -> pygame.Surface:
        """``surface`` again if it is a screen-sized layer already, else a new one: allocated once
        per size, since a copy and a convert of the whole screen cost ~7 ms at 1080p, a blit ~1."""
        if surface is None or surface.get_size() != self.stage.size:
            surface = pygame.Surface(self.stage.size)
            surface = surface.convert() if pygame.display.get_surface() else surface
        return surface

    def _minute(self) -> str:
        return time.strftime("%H:%M", time.localtime(self.stage.clock.wall()))

    def _base(self) -> pygame.Surface:
        """Background, header, the scene's static labels and its backdrop (cards, row backgrounds):
        one opaque layer, rebuilt only when one of them changes (a minute, a page, a scene, the
        shape of the board)."""
        subtitle = self.scene.subtitle() if self.view is not None else ""
        shapes = self.scene.backdrop() if self.view is not None else ()
        key = (self.index, subtitle, self._minute(), self.view is None, shapes)
        if self._base_layer is None or self._base_key != key:
            base = self._layer(self._base_layer)
            base.blit(self.stage.background(), (0, 0))
            self.stage.draw_header(base, subtitle)
            if self.view is not None:
                self.scene.draw_base(base)
                self.scene.draw_backdrop(base)
            self._base_layer = base
            self._base_key = key
        return self._base_layer

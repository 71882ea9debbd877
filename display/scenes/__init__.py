"""Scenes: what fills the screen below the header, one at a time, like TV channels.

Every scene follows the same small life cycle: ``enter`` when it comes on screen, ``update`` with
each new board (visible or not, so rank arrows are right when it comes back), ``draw`` onto the
frame, and ``animating`` to tell the loop whether the next frame differs from this one — when no
scene is animating the loop sleeps.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

import pygame

from display.stage import Stage
from feeds.board.build import Board
from feeds.game.challenges import GameState
from feeds.board.diff import BoardEvent


class Box(NamedTuple):
    """A filled rectangle of a scene's backdrop, rounded by ``radius`` (only its top corners with ``top``)."""

    colour: tuple[int, int, int]
    rect: tuple[int, int, int, int]
    radius: int = 0
    top: bool = False


class Line(NamedTuple):
    """A straight line of a scene's backdrop."""

    colour: tuple[int, int, int]
    start: tuple[int, int]
    end: tuple[int, int]
    width: int = 1


Shape = Box | Line


def paint(surface: pygame.Surface, shapes: Iterable[Shape]) -> None:
    """Draw a backdrop's shapes, in order."""
    for shape in shapes:
        if isinstance(shape, Line):
            pygame.draw.line(surface, shape.colour, shape.start, shape.end, shape.width)
        elif shape.top:
            pygame.draw.rect(surface, shape.colour, shape.rect, border_top_left_radius=shape.radius,
                             border_top_right_radius=shape.radius)
        else:
            pygame.draw.rect(surface, shape.colour, shape.rect, border_radius=shape.radius)


class Scene:
    name = "scene"
    slot_seconds = 0.0  # how long each visit lasts (its playlist entry's seconds; set by the wall; 0: unknown)

    def __init__(self, stage: Stage) -> None:
        self.stage = stage
        self.board: Board | None = None
        self.game: GameState | None = None  # chalkwall's own challenges, set by the wall
        self.still = False  # draw as it will settle, nothing in motion (set by the wall under a banner)
        self._backdrop: tuple[Board | None, GameState | None, pygame.Rect, tuple[Shape, ...]] | None = None

    def subtitle(self) -> str:
        return ""

    def has_content(self) -> bool:
        """Whether there is anything to show; an empty scene is skipped in the rotation."""
        return True

    def adopt(self, old: Scene) -> None:
        """Take over what ``old`` (the same scene on the wall being replaced) remembers beyond the board."""

    def enter(self) -> None:
        """Called when the scene comes on screen."""

    def leave(self) -> None:
        """Called when the rotation takes the scene off screen."""

    def takes_turns(self) -> bool:
        """Whether each visit shows something else (one group's board after another), so that
        even a playlist of this scene alone leaves and enters it again when its time is up."""
        return False

    def update(self, board: Board, events: Sequence[BoardEvent]) -> bool:
        """Take a new board; True when the whole scene must be redrawn (not just what animates)."""
        self.board = board
        return True

    def draw_base(self, surface: pygame.Surface) -> None:
        """The scene's static parts (labels), drawn once into the cached base layer."""

    def backdrop(self) -> tuple[Shape, ...]:
        """The shapes under the scene's text that stay while its numbers change (the cards and row
        backgrounds): the wall draws them into its base layer, below all that :meth:`draw` draws,
        and builds that layer again when they change. Worked out once per board, game and layout."""
        area = self.stage.content()
        cached = self._backdrop
        if cached is None or cached[0] is not self.board or cached[1] is not self.game or cached[2] != area:
            cached = self._backdrop = (self.board, self.game, area, tuple(self.shapes()))
        return cached[3]

    def draw_backdrop(self, surface: pygame.Surface) -> None:
        """The backdrop's shapes, in order (into the wall's base layer)."""
        paint(surface, self.backdrop())

    def shapes(self) -> list[Shape]:
        """The backdrop (see :meth:`backdrop`), which :meth:`draw` then leaves out; none by default."""
        return []

    def draw(self, surface: pygame.Surface) -> None:
        """Everything but the backdrop, over it."""
        raise NotImplementedError

    def draw_partial(self, surface: pygame.Surface, base: pygame.Surface) -> list[pygame.Rect]:
        """Redraw only what animates, restoring from ``base``; the rects changed. A scene that
        cannot do better redraws in full."""
        surface.blit(base, (0, 0))
        self.draw(surface)
        return [surface.get_rect()]

    def animating(self) -> bool:
        return False

    def frame_rate(self) -> int | None:
        """While ``animating``: the frames a second its motion needs (None: as many as allowed)."""
        return None

    def next_change(self) -> float | None:
        """Clock time of the next change that is not an animation (a page turn), if any."""
        return None


def make_scenes(stage: Stage) -> dict[str, Scene]:
    from display.scenes.challenges import ChallengesScene
    from display.scenes.history import HistoryScene
    from display.scenes.leaderboard import LeaderboardScene
    from display.scenes.near import NearScene
    from display.scenes.record import RecordScene
    from display.scenes.rolemodels import RoleModelsScene
    from display.scenes.teams import TeamsScene
    from display.scenes.wins import WinsScene

    return {cls.name: cls(stage) for cls in (LeaderboardScene, TeamsScene, WinsScene, ChallengesScene, RecordScene,
                                           NearScene, HistoryScene, RoleModelsScene)}

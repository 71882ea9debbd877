"""Putting frames on the real screen: the drifting canvas and the rectangles handed to SDL.

The wall draws on a canvas a few pixels smaller than the screen, which wanders inside it (burn-in
care, :mod:`display.burnin`). Each frame the wall says which rectangles changed; exactly those,
moved to screen coordinates, go to ``pygame.display.update`` — all of them, since the screen shows
only what is handed over. A drift step lays the backdrop's edges and draws the whole picture again.
"""

from __future__ import annotations

import pygame

from display import burnin
from display.wall import Wall


def canvas_for(screen: pygame.Surface) -> tuple[int, int]:
    """The size the wall draws at: the screen less the margin its burn-in drift moves within."""
    return screen.get_width() - 2 * burnin.MAX, screen.get_height() - 2 * burnin.MAX


class Presenter:
    """Owns the screen surface: where the canvas is, and what reaches the display."""

    def __init__(self, screen: pygame.Surface, backdrop: pygame.Surface) -> None:
        self.screen = screen
        self.backdrop = backdrop  # fills the edges the drifting canvas leaves
        self.canvas_size = canvas_for(screen)
        self.canvas = screen
        self.drifted: tuple[int, int] | None = None

    def invalidate(self) -> None:
        """Lay the backdrop and the whole picture again on the next frame (a new wall, a dark screen)."""
        self.drifted = None

    def present(self, wall: Wall, seconds: float) -> list[pygame.Rect]:
        """Draw the wall's next frame (drifted as at wall-clock ``seconds``) and hand the changed
        rectangles to the display; the rectangles, in screen coordinates (none: nothing changed)."""
        offset = burnin.drift(seconds)
        if offset != self.drifted:
            self.drifted = offset
            self.screen.blit(self.backdrop, (0, 0))
            self.canvas = self.screen.subsurface(pygame.Rect((burnin.MAX + offset[0], burnin.MAX + offset[1]),
                                                             self.canvas_size))
            wall.invalidate()
        rects = [r.move(self.canvas.get_offset()) for r in wall.frame(self.canvas)]
        if not rects:
            return []
        if len(rects) == 1 and rects[0].size == self.canvas_size:
            rects = [self.screen.get_rect()]  # a whole frame: the backdrop's edges too
        pygame.display.update(rects)
        return rects

"""Offscreen rendering: one scene of the wall to a PNG, with the configured feed polled once.

Admins preview themes and sizes with ``chalkwall shot``; the golden-image tests and the benchmark
use :func:`build_wall`. With the demo feed the floor is polled twice, a few minutes apart, so
the picture has rank moves and wins in it, as a wall that has been running a while would.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pygame

from display.anim import Motion
from display.clock import Clock, FakeClock
from display.fonts import FontBook
from display.stage import Stage
from display.themes import Theme, load_theme
from display.wall import Wall
from feeds.connectors.base import Adapter
from feeds.connectors.registry import adapter_for
from feeds.live.avatars import avatar_dir
from feeds.config.schema import LoadedConfig
from feeds.config.web import wall_qr_url
from feeds.live.coordinator import FeedCoordinator
from feeds.live.roles import RoleModels
from feeds.game.engine import Engine
from feeds.game.history import History
from feeds.game.ledger import Ledger
from feeds.board.diff import FeedEventReceived
from feeds.privacy.view import open_privacy

DEMO_WARM_UP = 300.0


def init_offscreen() -> None:
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    if not pygame.display.get_init():
        pygame.display.init()
    if not pygame.font.get_init():
        pygame.font.init()


def make_stage(loaded: LoadedConfig, size: tuple[int, int], clock: Clock, theme: Theme | None = None) -> Stage:
    cfg = loaded.config
    theme = theme or load_theme(cfg.display.theme, loaded.base_dir, loaded.label)
    fonts = FontBook({"text": theme.fonts.text, "numbers": theme.fonts.numbers})
    return Stage(size, theme, fonts, clock, Motion(cfg.display.animation), cfg.display, cfg.board, avatar_dir(cfg),
                 wall_qr_url(cfg.web))


@dataclass
class Preview:
    wall: Wall
    coordinator: FeedCoordinator
    clock: FakeClock
    scratch: tempfile.TemporaryDirectory[str] | None = None  # the throwaway state, removed with the preview

    def close(self) -> None:
        """Close the engine's ledger and history, the role models' and the privacy choices'
        connections, and remove the throwaway state."""
        for part in (self.coordinator.on_snapshot, self.coordinator.roles, self.wall.privacy):
            close = getattr(part, "close", None)
            if close is not None:
                close()
        if self.scratch is not None:
            self.scratch.cleanup()


def build_wall(loaded: LoadedConfig, size: tuple[int, int], *, clock: FakeClock | None = None,
               theme: Theme | None = None, state: Path | None = None, adapter: Adapter | None = None,
               people: Path | None = None) -> Preview:
    """A wall fed by one real poll of the configured feed (two for the demo), or of ``adapter``
    (the team page's previews: the wall's last saved board), on a fake clock.
    Its challenges run over ``state`` (a throwaway directory unless given), never the real ledger;
    each person's privacy choices and the team page's role models are read from ``people`` (the
    real state directory, read as the wall reads it: a preview never shows what the wall would
    not), else from ``state``."""
    init_offscreen()
    clock = clock or FakeClock()
    cfg = loaded.config
    scratch = None if state else tempfile.TemporaryDirectory(prefix="chalkwall-preview-")
    directory = state or Path(scratch.name)  # type: ignore[union-attr]
    warm_up = adapter is None and cfg.feed.type == "demo"
    adapter = adapter or adapter_for(loaded, clock=clock.wall, state_dir=directory)
    engine = Engine(Ledger(directory), cfg, History(directory), clock=clock.wall, announce=False)
    coordinator = FeedCoordinator(adapter, cfg.feed, cfg.board, clock=clock.wall, on_snapshot=engine,
                                  roles=RoleModels(cfg.roles.role_models, people or directory))
    wall = Wall(make_stage(loaded, size, clock, theme), privacy=open_privacy(cfg.privacy, people or directory))
    coordinator.poll_once()
    wall.update(coordinator.state(), [e for e in coordinator.drain_events() if not isinstance(e, FeedEventReceived)])
    if warm_up:
        clock.advance(DEMO_WARM_UP)
        coordinator.poll_once()
        wall.update(coordinator.state(), [])
        clock.advance(3)  # let the slides, count-ups and highlight finish: a still picture
        wall.update(coordinator.state(), [])
    coordinator.drain_events()  # the warm-up's events are history (they show on the wins scene), not news
    return Preview(wall, coordinator, clock, scratch)


def render(preview: Preview, scene: str) -> pygame.Surface:
    wall = preview.wall
    surface = pygame.Surface(wall.stage.size)
    if scene == "celebration":
        board = wall.view
        event = next((e for e in (board.events if board else ()) if e.type == "challenge_completed"), None)
        if event is not None:
            wall.celebrations.feed_event(event, board)
        elif board is not None and board.agents:
            wall.celebrations.new_leader(board.agents[0].agent.id, board)
        wall.celebrations.update()
        preview.clock.advance(1.2)  # mid-burst: the confetti is in the air
    else:
        wall.show(scene)
    wall.draw(surface)
    return surface

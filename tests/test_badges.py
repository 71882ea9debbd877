"""Badges after a name are drawn no smaller than the legible minimum, on every screen shape."""

from __future__ import annotations

from pathlib import Path

import pygame
import pytest

from display.clock import FakeClock
from display.shot import init_offscreen, make_stage
from display.stage import Stage
from display.wall import Wall
from display.widgets import draw_badges
from feeds.board.build import build_board
from feeds.game.challenges import GameState
from feeds.config.schema import BoardConfig, load_config
from feeds.live.coordinator import FeedState
from feeds.connectors.parse import normalise
from helpers import agent, doc, write_config

init_offscreen()
SIZES = [(1920, 1080), (1280, 720), (1080, 1920)]
BADGES = ["record", "streak", "milestone:10", "milestone:50", "milestone:100"]


def stage_for(tmp_path: Path, size: tuple[int, int]) -> Stage:
    return make_stage(load_config(str(write_config(tmp_path, '[feed]\ntype = "demo"\n'))), size, FakeClock())


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("badge", BADGES)
def test_a_badge_is_never_drawn_below_the_legible_minimum(tmp_path: Path, size: tuple[int, int], badge: str) -> None:
    stage = stage_for(tmp_path, size)
    minimum = stage.px(0)  # the smallest text allowed, 1/36 of the height
    for asked in (1, minimum // 2, minimum, minimum * 2):
        surface = pygame.Surface((minimum * 8, minimum * 6), pygame.SRCALPHA)
        width = draw_badges(surface, 0, surface.get_height() // 2, asked, (badge,), stage)
        drawn = surface.get_bounding_rect()
        assert drawn.h >= max(asked, minimum) - 1, f"{badge} asked at {asked} px is {drawn.h} px tall"
        assert drawn.right <= width  # the width it says it takes covers all it drew: no overlap after it
        assert width == draw_badges(None, 0, 0, asked, (badge,), stage)  # measuring gives the same width


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_leaderboard_draws_its_badges_at_least_the_legible_minimum(tmp_path: Path, size: tuple[int, int]) -> None:
    stage = stage_for(tmp_path, size)
    wall = Wall(stage)
    board = build_board(normalise(doc(agent("ann", 30), agent("bob", 20), agent("cid", 10))), BoardConfig())
    game = GameState("day:2026-12-01", badges={"bob": ("streak",)})
    wall.update(FeedState(board, 1.0, None, 0, False, 1, game))
    wall.show("leaderboard")
    surface = pygame.Surface(stage.size)
    wall.draw(surface)
    flame = pygame.mask.from_threshold(surface, stage.colour("stale"), (1, 1, 1, 255))
    assert flame.count() > 0, "no streak badge on the board"
    assert flame.get_bounding_rects()[0].h >= stage.px(0)

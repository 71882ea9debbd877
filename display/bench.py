"""Display benchmarks behind ``chalkwall bench``: milliseconds per frame, offscreen, per scene.

For each scene: an *idle* tick (nothing moves: the loop's cost while the board is still), a *full*
redraw of a still board (a new minute, a new scene), *rank-change* frames (a real poll of the demo
floor that moves rows, drawn at 60 frames a second until they settle) and *celebration* frames
(a banner with confetti). Rank-change and celebration figures count only frames that drew. A fake clock moves exactly 1/60 s per frame, so runs are comparable.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable

import pygame

from display.shot import Preview, build_wall
from feeds.config.schema import SCENES, LoadedConfig, SceneConfig
from feeds.board.diff import FeedEventReceived
from feeds.model import CHALLENGE_COMPLETED

FRAME = 1 / 60


def _timed(preview: Preview, screen: pygame.Surface, frames: int, step: float = FRAME,
           drawn_only: bool = False) -> list[float]:
    """Seconds per loop iteration (update + frame); with ``drawn_only``, only iterations that drew."""
    out = []
    wall, clock = preview.wall, preview.clock
    for _ in range(frames):
        clock.advance(step)
        t0 = time.perf_counter()
        wall.update(preview.coordinator.state(), preview.coordinator.drain_events())
        drew = wall.frame(screen)
        elapsed = time.perf_counter() - t0
        if drew or not drawn_only:
            out.append(elapsed)
    return out


def _rank_change(preview: Preview, screen: pygame.Surface) -> list[float]:
    """Poll the demo until a poll moves someone, then time the frames until the rows settle."""
    samples: list[float] = []
    for _ in range(20):
        before = preview.wall.view
        preview.clock.advance(2.0)
        preview.coordinator.poll_once()
        preview.wall.update(preview.coordinator.state(), [])
        after = preview.wall.view
        if before is not None and after is not None and [a.agent.id for a in before.agents] != [a.agent.id for a in after.agents]:
            samples += _timed(preview, screen, 60, drawn_only=True)
        if len(samples) >= 180:
            break
    return samples


def _celebration(preview: Preview, screen: pygame.Surface) -> list[float]:
    board = preview.wall.view
    event = next((e for e in board.events if e.type == CHALLENGE_COMPLETED), None) if board else None
    if event is None:
        return []
    preview.wall.update(preview.coordinator.state(), [FeedEventReceived(event)])
    preview.wall.celebrations.feed_event(event, board)
    return _timed(preview, screen, 180, drawn_only=True)


def _line(name: str, samples: list[float]) -> str:
    if not samples:
        return f"    {name:<14} (no frames)"
    ms = sorted(s * 1000 for s in samples)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return f"    {name:<14} p50 {statistics.median(ms):6.2f} ms   p95 {p95:6.2f} ms   ({len(ms)} frames)"


def run(loaded: LoadedConfig, size: tuple[int, int] = (1920, 1080), report: Callable[[str], None] = print) -> dict[str, dict[str, list[float]]]:
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    pygame.display.init()
    pygame.font.init()
    screen = pygame.display.set_mode(size)
    results: dict[str, dict[str, list[float]]] = {}
    report(f"display, {size[0]}x{size[1]}, offscreen, ms per frame:")
    for scene in SCENES:
        preview = build_wall(loaded, size)
        # This scene alone, for the whole run: a rotation to the next scene mid-measurement would be
        # a scene change timed under this scene's name.
        preview.wall.playlist = (SceneConfig(scene, seconds=3600),)  # type: ignore[arg-type]
        preview.wall.show(scene)
        preview.wall.frame(screen)
        idle = _timed(preview, screen, 120)
        full = []
        for _ in range(30):
            preview.wall.invalidate()  # what a new minute or a scene change costs
            full += _timed(preview, screen, 1)
        results[scene] = {"idle": idle, "full": full, "rank change": _rank_change(preview, screen),
                          "celebration": _celebration(preview, screen)}
        report(f"  {scene}:")
        for name, samples in results[scene].items():
            report(_line(name, samples))
    return results

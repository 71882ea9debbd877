"""The soak: a day of the wall on an accelerated clock, to show that nothing grows.

The real coordinator, engine (ledger, history, challenges), wall and frames run on a fake clock:
the feed is polled every 15 simulated seconds, the loop runs once a simulated second (drawing
whenever something moves), scenes rotate, celebrations come and go, and midnight passes. Every
simulated hour the process's RSS and the size of every cache and queue are read; a leak shows as
a number that keeps climbing.
"""

from __future__ import annotations

import gc
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pygame

from display.health import rss_mib
from display.shot import build_wall, init_offscreen
from feeds.config.schema import LoadedConfig

POLL_SECONDS = 15
HOUR = 3600


def sizes(preview: Any) -> dict[str, int]:
    wall = preview.wall
    stage = wall.stage
    wins = wall.scenes.get("wins")
    out = {"text_cache": stage.fonts.cache_len(), "text_cache_kib": stage.fonts.cache_bytes() // 1024,
           "celebration_queue": len(wall.celebrations.queue),
           "toasts": len(wall.celebrations.toasts),
           "wins_remembered": len(getattr(wins, "events", ())),
           "leaderboard_rows": len(getattr(wall.scenes.get("leaderboard"), "rows", {}))}
    out.update(preview.coordinator.sizes())
    return out


def run(loaded: LoadedConfig, hours: float = 24.0, size: tuple[int, int] = (1920, 1080),
        report: Callable[[str], None] = print) -> list[dict[str, Any]]:
    init_offscreen()
    screen = pygame.display.set_mode(size)
    with tempfile.TemporaryDirectory(prefix="chalkwall-soak-") as state:
        preview = build_wall(loaded, size, state=Path(state))
        wall, clock, coordinator = preview.wall, preview.clock, preview.coordinator
        marks: list[dict[str, Any]] = []
        frames = 0
        for second in range(1, int(hours * HOUR) + 1):
            clock.advance(1.0)
            if second % POLL_SECONDS == 0:
                coordinator.poll_once()
            wall.update(coordinator.state(), coordinator.drain_events())
            frames += bool(wall.frame(screen))
            if second % HOUR == 0:
                gc.collect()
                mark = {"hour": second // HOUR, "rss_mib": round(rss_mib(), 1), "frames": frames,
                        **sizes(preview)}
                marks.append(mark)
                report("  hour {hour:>3}: RSS {rss_mib:6.1f} MiB, {frames:>6} frames drawn, ".format(**mark)
                       + ", ".join(f"{k} {v}" for k, v in mark.items() if k not in ("hour", "rss_mib", "frames")))
        if len(marks) > 1:
            report(f"  RSS growth from hour 1 to hour {marks[-1]['hour']}: "
                   f"{marks[-1]['rss_mib'] - marks[0]['rss_mib']:+.1f} MiB")
        return marks

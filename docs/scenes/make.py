"""Renders the pictures of docs/scenes.md: every scene, landscape and portrait, at the start of a
day and mid-afternoon, on the built-in demo floor and a fake clock (the same every run).

    .venv/bin/python docs/scenes/make.py      # from the repository's root; writes docs/scenes/*.png

"Start of day" is 08:10 on a wall's first day: no history, nothing in the ledger yet. "Afternoon"
is 14:40 on a wall that has run for a week: earlier days, yesterday and today hour by hour (the
golden-image tests' seeding), and a few awards, so badges are worn.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

os.environ["TZ"] = "UTC"  # the header shows local time; the seeding works in UTC
time.tzset()
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import pygame  # noqa: E402
from PIL import Image  # noqa: E402

from display.clock import FakeClock  # noqa: E402
from display.shot import build_wall, render  # noqa: E402
from feeds.config.schema import SCENES, load_config  # noqa: E402
from feeds.game.history import History  # noqa: E402
from feeds.game.ledger import Award, Ledger  # noqa: E402
from feeds.periods import Calendar  # noqa: E402
from helpers import seed_history  # noqa: E402

MOMENTS = {"start": datetime(2026, 11, 18, 8, 10, tzinfo=timezone.utc),
           "afternoon": datetime(2026, 11, 18, 14, 40, tzinfo=timezone.utc)}
SIZES = {"landscape": (1920, 1080), "portrait": (1080, 1920)}
OUT = Path(__file__).parent


def seed(directory: Path, now: float) -> None:
    """A week behind the wall, yesterday's team totals (the record to beat), today hour by hour up
    to the demo floor's 508 at a quarter to three, and some awards (a streak, the record, a medal)."""
    seed_history(directory, now, until_hour=7)
    calendar = Calendar("UTC")
    day = calendar.period("day", datetime.fromtimestamp(now, timezone.utc))
    today = day.key
    history = History(directory)
    history.record(calendar.previous(day).key, [("team", "night", "tickets_solved", 203.0),
                                                ("team", "day", "tickets_solved", 171.0),
                                                ("team", "escalations", "tickets_solved", 168.0)])
    for hour in range(7, 15):
        history.sample(today, hour * 60 + 5, [("floor", "all", "tickets_solved", round(470 * (hour - 6) / 8))],
                       force=True)
    history.close()
    ledger = Ledger(directory)
    ledger.award(Award("on-a-roll", "agent", "kwame", today, 1, "chalkwall"))
    ledger.award(Award("chalk", "agent", "olga", today, 1, "chalkwall"))
    for n in range(12):
        ledger.award(Award(f"c{n}", "agent", "bjorn", today, 1, "feed"))
    ledger.close()


def main() -> None:
    loaded = load_config(str(ROOT / "config.toml"))
    for moment, when in MOMENTS.items():
        for orientation, size in SIZES.items():
            for scene in (*SCENES, "celebration"):
                with tempfile.TemporaryDirectory() as scratch:
                    state = Path(scratch)
                    clock = FakeClock(wall=when.timestamp())
                    if moment == "afternoon":
                        seed(state, clock.wall())
                    surface = render(build_wall(loaded, size, clock=clock, state=state), scene)
                picture = Image.frombytes("RGB", surface.get_size(), pygame.image.tobytes(surface, "RGB"))
                picture = picture.resize((size[0] // 2, size[1] // 2), Image.LANCZOS)  # half size: the repo stays small
                picture.save(OUT / f"{scene}-{orientation}-{moment}.png", optimize=True)
                print(f"{scene}-{orientation}-{moment}.png")


if __name__ == "__main__":
    main()

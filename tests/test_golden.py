"""Golden images: every scene in every built-in theme, at 1920x1080 and portrait 1080x1920.

The pictures come from the demo floor on a fake clock, so they are the same on every run. A
changed picture fails with the actual image and a difference image written beside the golden one;
after looking at them, ``CHALKWALL_UPDATE_GOLDEN=1 ./bootstrap test tests/test_golden.py``
accepts the new pictures.
"""

from __future__ import annotations

import os
import time
from datetime import datetime, timezone
from pathlib import Path

import pygame
import pytest
from PIL import Image, ImageChops

from display.clock import FakeClock
from display.shot import build_wall, render
from display.themes import builtin_names, load_theme
from feeds.config.schema import SCENES as SCENE_NAMES
from feeds.config.schema import load_config
from feeds.game.history import History
from feeds.game.ledger import Award, Ledger
from feeds.periods import Calendar
from helpers import ROOT, seed_history

GOLDEN = Path(__file__).parent / "golden"
FAILED = GOLDEN / "_failed"
UPDATE = os.environ.get("CHALKWALL_UPDATE_GOLDEN") == "1"
SIZES = {"1080p": (1920, 1080), "portrait": (1080, 1920)}
SCENES = (*SCENE_NAMES, "celebration")
MAX_MEAN_DIFF = 0.3  # mean absolute difference per channel, 0-255
MAX_CHANGED = 0.0005  # fraction of pixels that may differ by more than CHANGED_BY (anti-aliasing noise)
CHANGED_BY = 10


@pytest.fixture(autouse=True, scope="module")
def utc() -> None:
    os.environ["TZ"] = "UTC"  # the header clock shows local time
    time.tzset()


def compare(actual: Image.Image, golden: Image.Image) -> tuple[float, float]:
    diff = ImageChops.difference(actual.convert("RGB"), golden.convert("RGB"))
    r, g, b = diff.split()
    histogram = ImageChops.lighter(r, ImageChops.lighter(g, b)).histogram()  # each pixel's largest channel change
    pixels = actual.width * actual.height
    mean = sum((i % 256) * n for i, n in enumerate(diff.histogram())) / (pixels * 3)  # 3 bands of 256
    changed = sum(histogram[CHANGED_BY + 1:]) / pixels
    return mean, changed


@pytest.mark.parametrize("size_name", list(SIZES))
@pytest.mark.parametrize("theme_name", builtin_names())
@pytest.mark.parametrize("scene", SCENES)
def test_scene_matches_its_golden_image(scene: str, theme_name: str, size_name: str, tmp_path: Path) -> None:
    loaded = load_config(str(ROOT / "config.toml"))
    clock = FakeClock()
    if scene == "record":  # yesterday's teams set the number to beat
        yesterday = Calendar("UTC").previous(Calendar("UTC").period("day", datetime.fromtimestamp(clock.wall(), timezone.utc)))
        History(tmp_path).record(yesterday.key, [("team", "night", "tickets_solved", 203.0),
                                                 ("team", "day", "tickets_solved", 171.0)])
    if scene == "leaderboard":  # badges worn: a streak, the record, two milestones
        ledger = Ledger(tmp_path)
        today = Calendar("UTC").period("day", datetime.fromtimestamp(clock.wall(), timezone.utc)).key
        ledger.award(Award("on-a-roll", "agent", "kwame", today, 1, "chalkwall"))
        ledger.award(Award("chalk", "agent", "olga", today, 1, "chalkwall"))
        for n in range(12):
            ledger.award(Award(f"c{n}", "agent", "bjorn", today, 1, "feed"))
        for n in range(52):
            ledger.award(Award(f"c{n}", "agent", "asa", today, 1, "feed"))
        ledger.close()
    if scene == "history":  # a week behind it, yesterday and this morning hour by hour
        seed_history(tmp_path, clock.wall())
    preview = build_wall(loaded, SIZES[size_name], theme=load_theme(theme_name, ROOT), clock=clock, state=tmp_path)
    surface = render(preview, scene)
    check_golden(surface, f"{scene}-{theme_name}-{size_name}.png")


def check_golden(surface: pygame.Surface, name: str) -> None:
    """Fail unless ``surface`` matches tests/golden/``name`` (writing it when there is none yet, or
    when CHALKWALL_UPDATE_GOLDEN=1); a mismatch leaves the picture and a difference image in _failed."""
    actual = Image.frombytes("RGB", surface.get_size(), pygame.image.tobytes(surface, "RGB"))
    path = GOLDEN / name
    if UPDATE or not path.exists():
        GOLDEN.mkdir(exist_ok=True)
        actual.save(path, optimize=True)
        if not UPDATE:
            pytest.fail(f"no golden image yet: wrote {path}; look at it, then commit it")
        return
    mean, changed = compare(actual, Image.open(path))
    if mean > MAX_MEAN_DIFF or changed > MAX_CHANGED:
        FAILED.mkdir(exist_ok=True)
        actual.save(FAILED / name)
        ImageChops.difference(actual, Image.open(path).convert("RGB")).save(FAILED / f"diff-{name}")
        pytest.fail(f"{name} differs from its golden image (mean {mean:.2f}, {changed:.2%} of pixels changed); "
                    f"see {FAILED}")


def test_the_comparison_notices_a_small_change() -> None:
    base = Image.new("RGB", (200, 100), (20, 30, 40))
    moved = base.copy()
    moved.paste((250, 250, 250), (10, 10, 30, 20))  # a 20x10 patch: 1% of the picture
    assert compare(base, base) == (0.0, 0.0)
    mean, changed = compare(moved, base)
    assert changed == pytest.approx(0.01) and changed > MAX_CHANGED

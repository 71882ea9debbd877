"""Golden images per privacy profile: every scene and a celebration in ``top``, ``teams`` and
``anonymous``, dark theme, 1920x1080 and portrait, on the demo floor with a fake clock (the machinery
and ``CHALKWALL_UPDATE_GOLDEN=1`` of tests/test_golden.py). In ``top`` and ``teams`` the ``near`` scene
is off: its picture is of the scene shown in its place."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone
from pathlib import Path

import pytest

from display.clock import FakeClock
from display.shot import build_wall, render
from display.themes import load_theme
from feeds.config.privacy import PersonPrivacy, PrivacyConfig
from feeds.config.schema import load_config
from feeds.game.history import History
from feeds.periods import Calendar
from helpers import ROOT, seed_history
from test_golden import SCENES, SIZES, check_golden, utc  # noqa: F401 - utc: the module's UTC fixture

PROFILES = {
    "top": PrivacyConfig(mode="top", people={"olga": PersonPrivacy("celebrate_only")}),
    "teams": PrivacyConfig(mode="teams"),
    "anonymous": PrivacyConfig(mode="anonymous", people={"asa": PersonPrivacy(alias="Night owl")}),
}


@pytest.mark.parametrize("size_name", list(SIZES))
@pytest.mark.parametrize("profile", list(PROFILES))
@pytest.mark.parametrize("scene", SCENES)
def test_each_profile_matches_its_golden_image(scene: str, profile: str, size_name: str, tmp_path: Path) -> None:
    loaded = load_config(str(ROOT / "config.toml"))
    loaded = dataclasses.replace(loaded, config=dataclasses.replace(loaded.config, privacy=PROFILES[profile]))
    clock = FakeClock()
    if scene == "record":
        cal = Calendar("UTC")
        yesterday = cal.previous(cal.period("day", datetime.fromtimestamp(clock.wall(), timezone.utc)))
        History(tmp_path).record(yesterday.key, [("team", "night", "tickets_solved", 203.0),
                                                 ("team", "day", "tickets_solved", 171.0)])
    if scene == "history":
        seed_history(tmp_path, clock.wall())
    preview = build_wall(loaded, SIZES[size_name], theme=load_theme("dark", ROOT), clock=clock, state=tmp_path)
    check_golden(render(preview, scene), f"privacy-{profile}-{scene}-{size_name}.png")

"""Two simulated hours of the whole wall on an accelerated clock: nothing grows past its bound."""

from __future__ import annotations

from display.soak import run
from feeds.config.schema import load_config
from helpers import ROOT


def test_two_hours_on_an_accelerated_clock_stay_bounded() -> None:
    marks = run(load_config(str(ROOT / "config.toml")), hours=2, size=(1280, 720), report=lambda line: None)
    assert [m["hour"] for m in marks] == [1, 2]
    last = marks[-1]
    assert last["frames"] > marks[0]["frames"] > 100  # it drew: ranks moved, scenes rotated, banners came
    assert last["text_cache_kib"] <= 16 * 1024  # the rendered-text cache keeps to its byte budget
    assert last["queued_events"] == 0 and last["celebration_queue"] <= 2  # drained as it goes
    assert last["leaderboard_rows"] == 15 and last["wins_remembered"] <= 40
    assert last["seen_events"] <= last["seen_events_cap"]

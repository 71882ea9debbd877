"""Each ``[privacy]`` feature switch on the wall itself (the demo floor, real pygame surfaces under
SDL's dummy driver): what it shows when on and what is gone when off, and the new-leader banner in
each profile."""

from __future__ import annotations

from pathlib import Path

import pygame
import pytest

from display.shot import Preview, build_wall, render
from feeds.board.diff import FeedEventReceived, NewLeader
from feeds.config.schema import load_config
from feeds.connectors.demo import ROSTER, TEAMS
from feeds.model import FeedEvent, _frozen
from feeds.privacy.report import markdown
from helpers import base_config
from test_privacy_proof import drawn, utc  # noqa: F401  (fixtures: every text drawn; the zone)

NAMES = {i: n for i, n, *_ in ROSTER}
TEAM_NAMES = {t: n for t, n, _ in TEAMS}


def wall(tmp_path: Path, privacy: str) -> Preview:
    path = tmp_path / "config.toml"
    path.write_text(base_config() + "\n[privacy]\n" + privacy, encoding="utf-8")
    made = build_wall(load_config(str(path)), (1920, 1080), state=tmp_path / "state")
    made.wall.celebrations.queue.clear()  # the warm-up's banners: a still picture of what follows
    made.wall.celebrations.current = None
    return made


def completion(preview: Preview, agent: str, title: str = "Solve 36 tickets today") -> None:
    event = FeedEvent(f"c-{agent}", "challenge_completed", data=_frozen({"agent": agent, "challenge": title,
                                                                            "points": 20}))
    preview.wall.update(preview.coordinator.state(), [FeedEventReceived(event)])


@pytest.mark.parametrize("on", [True, False])
def test_individual_celebrations_off_names_the_team_only(tmp_path: Path, on: bool, drawn: list[str]) -> None:
    preview = wall(tmp_path, f"individual_celebrations = {str(on).lower()}\n")
    drawn.clear()
    completion(preview, "kwame")
    banner = preview.wall.celebrations.current
    assert banner is not None
    expected = "Kwame Mensah" if on else "Someone on Night shift"
    assert banner.names == [expected] and banner.title == expected
    render(preview, "celebration")
    assert any("Solve 36 tickets today" in t for t in drawn)
    assert any(expected in t for t in drawn)  # (the leaderboard under the banner still lists Kwame by name)
    drawn.clear()
    render(preview, "wins")
    assert any(expected in t for t in drawn)
    # A new leader's banner names a person too: none with the switch off.
    assert preview.wall.privacy.leader_banners() is on



def test_the_report_lists_the_celebrations_switch(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(base_config() + "\n[privacy]\nindividual_celebrations = false\n", encoding="utf-8")
    text = markdown(load_config(str(path)).config, "config.toml")
    assert "naming the person who completed a challenge" in text and "**off** (`individual_celebrations`)" in text

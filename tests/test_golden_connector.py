"""Golden images of a board read from a native connector: the fake Zendesk API's seeded day (Åsa,
Дмитрий, Zoë, Pål...) through the Zendesk connector, the coordinator and the wall, in the
leaderboard and teams scenes, landscape and portrait. Same comparison as tests/test_golden.py;
``CHALKWALL_UPDATE_GOLDEN=1`` accepts new pictures after looking at them."""

from __future__ import annotations

import os
import time
from datetime import date
from pathlib import Path

import pytest

from display.clock import FakeClock
from display.shot import build_wall, render
from display.themes import load_theme
from fakes.scenario import make_scenario
from fakes.zendesk import ZendeskFake
from feeds.config.schema import load_config
from helpers import ROOT, write_config
from test_golden import SIZES, check_golden

SECRET_ENV = "CHALKWALL_GOLDEN_ZENDESK_TOKEN"


@pytest.fixture(autouse=True, scope="module")
def utc() -> None:
    os.environ["TZ"] = "UTC"  # the header clock shows local time
    time.tzset()


@pytest.mark.parametrize("size_name", list(SIZES))
@pytest.mark.parametrize("scene", ["leaderboard", "teams"])
def test_a_zendesk_board_matches_its_golden_image(scene: str, size_name: str, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    day = make_scenario(seed=5, day=date(2026, 11, 18), tz="UTC", agents=10, tickets=160)
    clock = FakeClock(day.at(15, 30))
    monkeypatch.setenv(SECRET_ENV, ZendeskFake.TOKEN)
    with ZendeskFake(day, clock.wall).running() as fake:
        config = write_config(tmp_path, f"""
[feed]
type = "zendesk"
subdomain = "golden"
base_url = "{fake.base_url}"
[feed.auth]
email = "{ZendeskFake.EMAIL}"
token_env = "{SECRET_ENV}"
[periods]
timezone = "UTC"
[board]
rank_by = "tickets_solved"
[board.metrics.csat]
label = "CSAT"
unit = "%"
[display]
secondary = "csat"
[[display.scenes]]
name = "{scene}"
""")
        loaded = load_config(str(config))
        preview = build_wall(loaded, SIZES[size_name], theme=load_theme("dark", ROOT), clock=clock, state=tmp_path)
        surface = render(preview, scene)
    board = preview.wall.view
    assert board is not None and len(board.agents) == 10  # the roster: no deactivated agent, no end user
    expected = day.expected(clock.wall(), "zendesk")
    assert {a.agent.id: a.agent.metrics.get("tickets_solved") for a in board.agents} == \
        {k: v["tickets_solved"] for k, v in expected.items()}
    check_golden(surface, f"zendesk-{scene}-dark-{size_name}.png")

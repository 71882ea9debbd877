"""The game in parts through a real Mosquitto and a real ``chalkwall hub``: a screen of one team gets
that team's progress and not another's, a screen of every team gets all of it, a team gone from the
feed has its part cleared, a game of the old shape costs one log line, and init-broker's ACL lets a
screen read its site's game parts and not another site's."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import pytest

from feeds.bus.topics import read
from feeds.live.feed import open_live_feed
from feeds.live.hubgame import assemble, decode_game, decode_team_game
from feeds.publish.broker_setup import Layout, init_broker
from tests.hubkit import make_site
from tests.mosquitto import Broker, Client, free_port, needs_mosquitto
from tests.test_hub_broker import hub_config, secret
from tests.test_hub_e2e import AGENTS, TEAMS, wait_for

pytestmark = needs_mosquitto
CHALLENGES = """
[[challenges]]
id = "solve"
title = "Solve {target} tickets today"
kind = "target"
metric = "tickets_solved"
points = 20
target = 100

[[challenges]]
id = "team-solve"
title = "Team: {target} tickets"
kind = "target"
scope = "team"
metric = "tickets_solved"
points = 20
target = 500
"""


def subjects(live: Any) -> set[str]:
    game = live.coordinator.state().game
    return {p.subject for p in game.progress} if game is not None else set()


def write(feed: Path, agents: list[dict[str, Any]], teams: list[dict[str, Any]]) -> None:
    tmp = feed.with_suffix(".tmp")
    tmp.write_text(json.dumps({"version": 1, "teams": teams, "agents": agents}))
    tmp.replace(feed)


def the_hubs_game(port: int) -> Any:
    """Every part the broker keeps, put together as a screen of every team would."""
    client = Client("watcher-game")
    assert client.connect(port) == 0
    client.mqtt.subscribe("chalkwall/acme/game/#", qos=1)
    time.sleep(1.0)
    client.close()
    last = {m.topic: m.payload for m in client.messages}
    site = decode_game(read(last.pop("chalkwall/acme/game"), "game")["game"])
    return assemble(site, [decode_team_game(read(body, "game_team")) for body in last.values() if body])


def test_screens_get_their_teams_game_and_a_gone_team_is_cleared(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    port = free_port()
    site = make_site(tmp_path, f"listener {port} 127.0.0.1\nallow_anonymous true\n", port)
    site.start_hub(CHALLENGES)
    night = open_live_feed(site.screen("floor-1"))
    every = open_live_feed(site.screen("floor-2", teams="[]"))
    rogue = Client("rogue")
    try:
        night.start(), every.start()
        assert wait_for(lambda: subjects(night) and subjects(every) == {"asa", "petr", "lin", "night", "day"}, timeout=10)
        assert subjects(night) == {"asa", "petr", "night"}  # its agents and its team; not lin, not day
        whole = the_hubs_game(port)
        assert every.coordinator.state().game == whole
        mine = night.coordinator.state().game
        assert mine.progress == tuple(p for p in whole.progress if p.subject in {"asa", "petr", "night"})
        assert (mine.period, mine.records, mine.duels, mine.comparison) == \
            (whole.period, whole.records, whole.duels, whole.comparison)

        # a game of the old shape (every team's progress in one message): refused, said once, the game kept
        assert rogue.connect(port) == 0
        old = json.dumps({"v": 1, "kind": "game", "epoch": 1, "game": {
            "period": "x", "progress": [], "records": [], "duels": [], "comparison": None, "badges": {}}})
        rogue.publish("chalkwall/acme/game", old)
        said = lambda: [r.getMessage() for r in caplog.records if "ignored a message on chalkwall/acme/game:" in r.getMessage()]  # noqa: E731
        assert wait_for(lambda: len(said()) >= 2, timeout=5)  # one line on each screen
        time.sleep(0.5)
        assert len(said()) == 2 and "old shape" in said()[0], said()
        assert subjects(night) == {"asa", "petr", "night"}

        # the day team leaves the feed: its part is cleared, and the screen of every team drops it
        write(site.feed, [a for a in AGENTS if a["team"] == "night"], [t for t in TEAMS if t["id"] == "night"])
        assert wait_for(lambda: subjects(every) == {"asa", "petr", "night"}, timeout=10), subjects(every)
        fresh = Client("fresh")
        assert fresh.connect(port) == 0
        fresh.mqtt.subscribe("chalkwall/acme/game/team/#", qos=1)
        time.sleep(1.0)
        fresh.close()
        assert {m.topic for m in fresh.messages if m.payload} == {"chalkwall/acme/game/team/night"}
        assert "Traceback" not in caplog.text + site.hub_log_text()
    finally:
        rogue.close()
        night.stop()
        every.stop()
        site.close()


def test_the_acl_lets_a_screen_read_its_sites_game_parts_and_not_another_sites(tmp_path: Path) -> None:
    out, local, tls = tmp_path / "mosquitto", free_port(), free_port()
    init_broker(hub_config(tmp_path).config.hub, out, [], local_port=local, tls_port=tls)
    layout = Layout(out)
    layout.acl.write_text(layout.acl.read_text() + "user hub\ntopic readwrite chalkwall/other/#\n")  # a second site
    running = Broker(tmp_path, f"include_dir {out}/conf.d\n", [local, tls]).start()
    hub, screen = Client("hub"), Client("floor-1")
    try:
        assert hub.connect(local, "hub", secret(out, "hub")) == 0
        for topic in ("chalkwall/acme/game", "chalkwall/acme/game/team/night", "chalkwall/other/game/team/night"):
            assert hub.publish(topic, b'{"v":1}', retain=True) == 0x10  # taken (no subscriber yet)
        assert screen.connect(tls, "floor-1", secret(out, "floor-1"), ca=layout.ca_cert) == 0
        assert screen.publish("chalkwall/acme/game/team/night", b'{"v":1,"forged":true}') == 135  # not authorised
        screen.mqtt.subscribe("chalkwall/+/game/#", qos=1)
        assert wait_for(lambda: len(screen.messages) >= 2, timeout=3)
        time.sleep(0.5)
        assert sorted(m.topic for m in screen.messages) == ["chalkwall/acme/game", "chalkwall/acme/game/team/night"]
    finally:
        hub.close()
        screen.close()
        running.stop()

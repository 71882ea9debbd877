"""A hub process and a screen through a real Mosquitto: the board within a second of connecting,
each celebration once (also across a screen restart), the screen never writing the ledger."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from feeds.board.diff import FeedEventReceived
from feeds.config.schema import load_config
from feeds.live.feed import open_live_feed
from tests.mosquitto import Broker, Client, free_port, needs_mosquitto

pytestmark = needs_mosquitto

AGENTS = [
    {"id": "asa", "name": "Åsa Ödegård", "team": "night", "metrics": {"tickets_solved": 12}},
    {"id": "petr", "name": "Пётр Иванов", "team": "night", "metrics": {"tickets_solved": 9}},
    {"id": "lin", "name": "Lin Chen", "team": "day", "metrics": {"tickets_solved": 14}},
]
TEAMS = [{"id": "night", "name": "Night shift"}, {"id": "day", "name": "Day shift"}]


def wait_for(check: Callable[[], object], timeout: float = 5.0) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.02)
    return check()


def write_feed(path: Path, events: list[dict[str, object]] = ()) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"version": 1, "teams": TEAMS, "agents": AGENTS, "events": list(events)}))
    tmp.replace(path)


@pytest.fixture()
def site(tmp_path: Path):
    port = free_port()
    broker = Broker(tmp_path / "broker", f"listener {port} 127.0.0.1\nallow_anonymous true\n", [port])
    (tmp_path / "broker").mkdir()
    broker.start()
    feed = tmp_path / "floor.json"
    write_feed(feed)
    (tmp_path / "hub.toml").write_text(f"""
[feed]
type = "file"
path = "{feed}"
interval = 0.5
[state]
dir = "{tmp_path / 'hub-state'}"
[hub]
broker = "mqtt://127.0.0.1:{port}"
site = "acme"
screens = ["floor-1"]
""")
    hub = subprocess.Popen([sys.executable, "-m", "display.cli", "hub", "--config", str(tmp_path / "hub.toml")],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    watcher = Client("watcher")
    assert watcher.connect(port) == 0
    watcher.mqtt.subscribe("chalkwall/acme/hub/status", qos=1)
    assert wait_for(lambda: any(b'"online"' in m.payload for m in watcher.messages), timeout=15), hub.poll()
    watcher.close()
    yield tmp_path, port, feed, hub
    hub.kill()
    hub.wait()
    broker.stop()


def screen_config(tmp_path: Path, port: int, name: str = "floor-1", teams: str = '["night"]'):
    path = tmp_path / f"{name}.toml"
    path.write_text(f"""
[feed]
type = "hub"
broker = "mqtt://127.0.0.1:{port}"
site = "acme"
screen = "{name}"
[display]
teams = {teams}
[state]
dir = "{tmp_path / (name + '-state')}"
""")
    return load_config(str(path))


def test_a_screen_shows_the_hubs_board_within_a_second_of_connecting(site) -> None:
    tmp_path, port, _, _ = site
    live = open_live_feed(screen_config(tmp_path, port))
    live.start()
    try:
        adapter = live.coordinator.adapter
        assert wait_for(lambda: adapter.link.status().connected, timeout=5)
        connected = adapter.link.status().since
        board = wait_for(lambda: live.coordinator.state().board, timeout=2)
        assert board is not None and time.time() - connected < 1.0
        assert [a.agent.name for a in board.agents] == ["Åsa Ödegård", "Пётр Иванов"]  # its team, ranked here
    finally:
        live.stop()


def test_a_celebration_reaches_the_screen_once_even_across_a_restart(site) -> None:
    tmp_path, port, feed, _ = site
    loaded = screen_config(tmp_path, port)
    live = open_live_feed(loaded)
    live.start()
    got: list[FeedEventReceived] = []

    def kudos_seen() -> bool:
        got.extend(e for e in live.coordinator.drain_events() if isinstance(e, FeedEventReceived))
        return any(e.event.id == "k1" for e in got)

    try:
        assert wait_for(lambda: live.coordinator.state().board, timeout=5)
        write_feed(feed, [{"id": "k1", "type": "kudos", "from": "lin", "to": "asa", "text": "Tack för hjälpen!"}])
        assert wait_for(kudos_seen, timeout=5)
        assert [e.event.id for e in got] == ["k1"] and got[0].event.data["text"] == "Tack för hjälpen!"
        time.sleep(1.5)  # more polls of the hub, the same event still listed by the feed
        kudos_seen()
        assert [e.event.id for e in got] == ["k1"]
    finally:
        live.stop()
    again = open_live_feed(loaded)  # the screen restarts; the hub's ring still holds k1
    again.start()
    try:
        assert wait_for(lambda: again.coordinator.state().board, timeout=5)
        time.sleep(1.5)
        assert not [e for e in again.coordinator.drain_events() if isinstance(e, FeedEventReceived)]
    finally:
        again.stop()
    state_file = tmp_path / "floor-1-state" / "chalkwall.sqlite3"
    tables = {r[0] for r in sqlite3.connect(state_file).execute("SELECT name FROM sqlite_master")}
    assert "awards" not in tables  # a screen never opens the ledger


def test_a_celebration_that_comes_before_any_board_waits_for_it_and_is_shown(tmp_path: Path) -> None:
    """After a restart the broker's session may hand a screen its queued celebrations before the
    retained boards: they must wait in the inbox, not be taken and lost."""
    import json as _json

    from feeds.bus.topics import pack

    port = free_port()
    (tmp_path / "broker").mkdir()
    broker = Broker(tmp_path / "broker", f"listener {port} 127.0.0.1\nallow_anonymous true\n", [port]).start()
    hub = Client("hub")
    live = open_live_feed(screen_config(tmp_path, port))
    got: list[str] = []
    try:
        assert hub.connect(port) == 0
        live.start()
        adapter = live.coordinator.adapter
        assert wait_for(lambda: adapter.link.status().connected, timeout=5)
        now = time.time()
        event = {"id": "k9", "type": "kudos", "from": "lin", "to": "asa", "text": "Tack!"}
        hub.publish("chalkwall/acme/events/team/night", pack("event", {
            "stream": "team/night", "seq": 1, "epoch": "e1", "created_at": now, "expires_at": now + 900,
            "event": event}))
        time.sleep(1.0)  # polls come and go with no board yet
        assert live.coordinator.state().board is None
        doc = {"version": 1, "teams": [TEAMS[0]], "agents": AGENTS[:2]}
        hub.publish("chalkwall/acme/board/team/night", pack("board", {"rev": 1, "epoch": "e1", **doc}), retain=True)

        def seen() -> bool:
            got.extend(e.event.id for e in live.coordinator.drain_events() if isinstance(e, FeedEventReceived))
            return "k9" in got

        assert wait_for(seen, timeout=5), _json.dumps(got)
    finally:
        live.stop()
        hub.close()
        broker.stop()

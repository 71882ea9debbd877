"""Kill -9 of a screen, of the broker (losing everything it kept) and of the hub, in turn, while
thanks keep coming: every celebration reaches the screen once, in order, and is awarded once."""

from __future__ import annotations

import json
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from tests.mosquitto import Broker, free_port, needs_mosquitto
from tests.test_hub_e2e import write_feed

pytestmark = [needs_mosquitto, pytest.mark.slow]

SCREEN = textwrap.dedent("""
    import sys, time
    from feeds.board.diff import FeedEventReceived
    from feeds.config.schema import load_config
    from feeds.live.feed import open_live_feed
    live = open_live_feed(load_config(sys.argv[1]))
    live.start()
    while True:
        for e in live.coordinator.drain_events():
            if isinstance(e, FeedEventReceived):
                print("EVENT", e.event.id, flush=True)
        state = live.coordinator.state()
        print("BOARD", int(state.board is not None), flush=True) if state.board is not None else None
        time.sleep(0.05)
""")


class Screen:
    def __init__(self, config: Path) -> None:
        self.config, self.lines, self.proc = config, [], None

    def start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", SCREEN, str(self.config)], stdout=subprocess.PIPE,
                                     stderr=open(str(self.config) + ".log", "a"), text=True)
        threading.Thread(target=self._read, args=(self.proc,), daemon=True).start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.lines.append(line.split())

    def events(self) -> list[str]:
        return [parts[1] for parts in self.lines if parts and parts[0] == "EVENT"]

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


def wait_events(screen: Screen, want: list[str], timeout: float = 45.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and screen.events()[:len(want)] != want:
        time.sleep(0.05)
    return screen.events()


def test_every_celebration_once_in_order_through_kills_of_screen_broker_and_hub(tmp_path: Path) -> None:
    port = free_port()
    broker_dir = tmp_path / "broker"
    broker_dir.mkdir()
    broker = Broker(broker_dir, f"listener {port} 127.0.0.1\nallow_anonymous true\nautosave_interval 1\n", [port])
    broker.start()
    feed = tmp_path / "floor.json"
    events: list[dict[str, object]] = []

    def thank(n: int, giver: str) -> None:
        events.append({"id": f"k{n}", "type": "kudos", "from": giver, "to": "asa", "text": f"tack {n}"})
        write_feed(feed, events)

    write_feed(feed)
    hub_toml = tmp_path / "hub.toml"
    hub_toml.write_text(f'[feed]\ntype = "file"\npath = "{feed}"\ninterval = 0.5\n[state]\ndir = "{tmp_path}/hub"\n'
                        f'[hub]\nbroker = "mqtt://127.0.0.1:{port}"\nsite = "acme"\nscreens = ["floor-1"]\n')
    screen_toml = tmp_path / "screen.toml"
    screen_toml.write_text(f'[feed]\ntype = "hub"\nbroker = "mqtt://127.0.0.1:{port}"\nsite = "acme"\n'
                           f'screen = "floor-1"\n[display]\nteams = ["night"]\n[state]\ndir = "{tmp_path}/screen"\n')

    def start_hub() -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-m", "display.cli", "hub", "--config", str(hub_toml)],
                                stdout=subprocess.DEVNULL, stderr=open(tmp_path / "hub.log", "a"))

    hub = start_hub()
    screen = Screen(screen_toml)
    screen.start()
    try:
        thank(1, "lin")
        assert wait_events(screen, ["k1"]) == ["k1"]

        screen.kill()  # a screen dies; a thank-you comes while it is down
        thank(2, "petr")
        time.sleep(1.5)
        screen.start()
        assert wait_events(screen, ["k1", "k2"]) == ["k1", "k2"]

        broker.stop(signal.SIGKILL)  # the broker dies and loses everything it kept
        shutil.rmtree(broker_dir / "data")
        thank(3, "lin")
        time.sleep(1.5)
        broker.start()
        assert wait_events(screen, ["k1", "k2", "k3"]) == ["k1", "k2", "k3"]

        hub.send_signal(signal.SIGKILL)  # the hub dies mid-stride
        hub.wait()
        thank(4, "petr")
        hub = start_hub()
        assert wait_events(screen, ["k1", "k2", "k3", "k4"]) == ["k1", "k2", "k3", "k4"]
        time.sleep(2)  # nothing more comes: no repeats
        assert screen.events() == ["k1", "k2", "k3", "k4"]
    finally:
        hub.kill()
        screen.proc and screen.proc.kill()
        broker.stop()
    ledger = sqlite3.connect(tmp_path / "hub" / "chalkwall.sqlite3")
    awards = ledger.execute("SELECT event_id FROM awards WHERE challenge = 'kudos' ORDER BY id").fetchall()
    assert [a[0] for a in awards] == ["k1", "k2", "k3", "k4"]
    assert not (tmp_path / "screen" / "chalkwall.sqlite3").exists() or "awards" not in {
        r[0] for r in sqlite3.connect(tmp_path / "screen" / "chalkwall.sqlite3").execute(
            "SELECT name FROM sqlite_master")}

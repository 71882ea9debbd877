"""A site for hub tests: a real Mosquitto, a feed file, a ``chalkwall hub`` subprocess whose log is a
file (to count its lines), and a screen's config — each test says which broker body and keys it needs."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from feeds.config.schema import LoadedConfig, load_config
from tests.mosquitto import Broker, Client, free_port
from tests.test_hub_e2e import wait_for, write_feed


@dataclass
class Site:
    root: Path
    broker: Broker
    port: int
    feed: Path
    hub: subprocess.Popen[bytes] | None = None

    @property
    def hub_log(self) -> Path:
        return self.root / "hub.log"

    def hub_log_text(self) -> str:
        return self.hub_log.read_text(errors="replace") if self.hub_log.exists() else ""

    def write_hub_config(self, extra: str = "", broker: str | None = None, screens: str = '["floor-1"]') -> Path:
        path = self.root / "hub.toml"
        path.write_text(f"""
[feed]
type = "file"
path = "{self.feed}"
interval = 0.5
[state]
dir = "{self.root / 'hub-state'}"
[hub]
broker = "{broker or f'mqtt://127.0.0.1:{self.port}'}"
site = "acme"
screens = {screens}
reconnect_max = 1
{extra}
""")
        return path

    def start_hub(self, extra: str = "", broker: str | None = None, wait_online: bool = True,
                  watcher: tuple[str, str] | None = None, screens: str = '["floor-1"]',
                  env: dict[str, str] | None = None) -> None:
        """Run ``chalkwall hub`` (with ``env`` added to its environment, a fault point say); wait for its
        online status (read as ``watcher``, a login, when given)."""
        config = self.write_hub_config(extra, broker, screens)
        self.hub = subprocess.Popen([sys.executable, "-m", "display.cli", "hub", "--config", str(config)],
                                    stdout=subprocess.DEVNULL, stderr=open(self.hub_log, "ab"),
                                    env={**os.environ, **(env or {})})
        if wait_online:
            client = Client("watcher-hub")
            assert client.connect(self.port, *(watcher or ())) == 0
            client.mqtt.subscribe("chalkwall/acme/hub/status", qos=1)
            assert wait_for(lambda: any(b'"online"' in m.payload for m in client.messages), timeout=15), \
                self.hub_log_text()
            client.close()

    def screen(self, name: str = "floor-1", feed_extra: str = "", auth: str = "", broker: str | None = None,
               teams: str = '["night"]') -> LoadedConfig:
        path = self.root / f"{name}.toml"
        path.write_text(f"""
[feed]
type = "hub"
broker = "{broker or f'mqtt://127.0.0.1:{self.port}'}"
site = "acme"
screen = "{name}"
reconnect_max = 1
{feed_extra}
{auth}
[display]
teams = {teams}
[state]
dir = "{self.root / (name + '-state')}"
""")
        return load_config(str(path))

    def close(self) -> None:
        if self.hub is not None:
            self.hub.kill()
            self.hub.wait()
        self.broker.stop()


def make_site(root: Path, body: str, port: int, ports: list[int] | None = None) -> Site:
    (root / "broker").mkdir(parents=True, exist_ok=True)
    broker = Broker(root / "broker", body, ports or [port])
    broker.start()
    feed = root / "floor.json"
    write_feed(feed)
    return Site(root, broker, port, feed)


def running_site(tmp_path: Path) -> Iterator[Site]:
    """A site on an anonymous loopback broker with its hub started, closed after (a fixture's body)."""
    port = free_port()
    made = make_site(tmp_path, f"listener {port} 127.0.0.1\nallow_anonymous true\n", port)
    made.start_hub()
    yield made
    made.close()

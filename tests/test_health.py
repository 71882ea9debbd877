"""systemd's notify protocol on a real UNIX socket, and the status file (whose leader is the one the
privacy profile lets the wall show)."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from types import MappingProxyType

from display.app import feed_fields
from display.health import Notifier, StatusFile, describe, read_status
from feeds.board.build import build_board
from feeds.config.privacy import PrivacyConfig
from feeds.config.schema import BoardConfig
from feeds.live.coordinator import FeedState
from feeds.model import Agent, Snapshot, Team
from feeds.privacy.choices import Choice
from feeds.privacy.view import redact


def listener(path: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(2)
    return sock


def test_ready_watchdog_and_stopping_reach_systemds_socket(tmp_path: Path) -> None:
    path = str(tmp_path / "notify")
    sock = listener(path)
    notifier = Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "2000000", "WATCHDOG_PID": str(os.getpid())})
    notifier.ready("showing leaderboard")
    assert sock.recv(256) == b"READY=1\nSTATUS=showing leaderboard"
    assert notifier.interval == 1.0  # half of WatchdogSec
    for now in (100.0, 100.5, 101.1, 101.2):
        notifier.alive(now)
    assert [sock.recv(64), sock.recv(64)] == [b"WATCHDOG=1", b"WATCHDOG=1"]  # at 100.0 and 101.1 only
    notifier.stopping()
    assert sock.recv(64) == b"STOPPING=1"


def test_the_abstract_namespace_and_someone_elses_watchdog(tmp_path: Path) -> None:
    name = f"chalkwall-test-{os.getpid()}"
    sock = listener("\0" + name)
    Notifier({"NOTIFY_SOCKET": "@" + name}).ready()
    assert sock.recv(64) == b"READY=1"
    other = Notifier({"NOTIFY_SOCKET": "@" + name, "WATCHDOG_USEC": "2000000", "WATCHDOG_PID": "1"})
    assert other.interval == 0.0  # the watchdog is meant for another process
    assert not Notifier({}).enabled and Notifier({}).send("READY=1") is False


def test_the_status_file_is_replaced_whole_and_read_back(tmp_path: Path) -> None:
    status = StatusFile(tmp_path / "status.json", started=10.0)
    assert status.due(10.0)
    assert status.write(25.0, {"fps": 2.5, "frame_p95_ms": 1.2, "last_success": 1_795_000_000.0, "stale": True,
                               "scene": "teams", "last_error": "server answered HTTP 500"})
    found = read_status(tmp_path / "status.json")
    assert found is not None and found["uptime_s"] == 15.0 and found["scene"] == "teams" and found["rss_mib"] > 0
    assert not status.due(26.0) and status.due(30.0)
    status.soon()  # a reload: written at the next chance
    assert status.due(26.0)
    text = describe(found, now=found["updated"] + 2)
    assert "teams, 2.5 frames/s, p95 1.2 ms" in text and "STALE" in text and "HTTP 500" in text
    found |= {"board": {"agents": 12, "leader": "Åsa"}, "notices": ["Config edit not applied"],
              "config": {"file": "/etc/chalkwall/config.toml", "theme": "Dark", "rejected": ["config.toml: x: bad"]}}
    text = describe(found, now=found["updated"] + 2)
    assert "12 agents, led by Åsa" in text and "theme Dark" in text and "NOT APPLIED: config.toml: x: bad" in text
    assert "on screen: Config edit not applied" in text
    assert [p.name for p in tmp_path.iterdir()] == ["status.json"]  # no temporary file left behind
    blocked = StatusFile(tmp_path / "status.json" / "inside")
    assert blocked.write(1.0, {}) is False  # a path that cannot be written: False, no exception
    assert json.loads((tmp_path / "status.json").read_text())["scene"] == "teams"


def test_a_hub_screens_status_says_its_broker_the_hub_and_the_lag(tmp_path: Path) -> None:
    base = {"updated": 1_795_000_000.0, "screen": "on", "scene": "leaderboard"}
    up = describe(base | {"hub": {"broker": "hub.lan:8883", "connected": True, "since": 1_794_999_000.0,
                                  "screen": "floor-1", "hub_online": True, "rev": 7, "lag_s": 0.042,
                                  "clock_offset_s": 18000.0}}, now=base["updated"])
    line = next(x for x in up.splitlines() if x.startswith("hub:"))
    assert "broker hub.lan:8883 connected since" in line and "as screen floor-1; the hub online" in line
    assert "board rev 7, applied 42 ms after the hub had it" in line and "18000 s behind the hub's" in line
    down = describe(base | {"hub": {"broker": "hub.lan:8883", "connected": False, "since": 1_794_999_000.0,
                                    "error": "cannot connect (no broker there, or TLS failed: is ca_file the hub's CA?)",
                                    "hub_online": None, "rev": None}}, now=base["updated"])
    assert "hub:     broker hub.lan:8883 UNREACHABLE since" in down and "TLS failed" in down


def test_the_status_names_the_leader_as_the_wall_shows_them_never_a_hidden_one() -> None:
    agents = tuple(Agent(i, n, "t", metrics=MappingProxyType({"tickets_solved": v}))
                   for i, n, v in [("as", "Åsa Berg", 30), ("ol", "Олег Петров", 20), ("li", "Li Wei", 10),
                                   ("km", "Kwame Mensah", 5), ("jo", "Jo Park", 1)])
    board = build_board(Snapshot(agents, (Team("t", "Day shift"),)), BoardConfig())
    state = FeedState(board, 1.0, None, 0, False, 1)

    def leader(cfg: PrivacyConfig, choices: dict[str, Choice] | None = None) -> object:
        out = feed_fields(state, redact(board, None, cfg, choices or {}).board)["board"]
        assert isinstance(out, dict) and out["agents"] == 5
        return out["leader"]

    assert leader(PrivacyConfig()) == "Åsa Berg"
    assert leader(PrivacyConfig(), {"as": Choice("hidden"), "jo": Choice("hidden")}) == "Олег Петров"
    assert leader(PrivacyConfig(mode="anonymous", min_group=1)) == "Å. B."
    assert leader(PrivacyConfig(mode="anonymous", min_group=1), {"as": Choice("ranked", "Night owl")}) == "Night owl"
    assert leader(PrivacyConfig(mode="teams")) is None
    assert feed_fields(state, None)["board"] == {"agents": 5, "leader": None, "generation": 1}

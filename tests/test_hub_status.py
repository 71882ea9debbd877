"""A screen's retained status and ``chalkwall hub status``, through a real Mosquitto and a real hub
process: online since when, version, teams, the scene and frame p95 from the wall's status file, the
last board applied and its lag; offline after a clean stop; the exit code says whether every listed
screen is online."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from feeds.live.feed import open_live_feed
from tests.mosquitto import Client, needs_mosquitto
from tests.test_hub_e2e import screen_config, site, wait_for  # noqa: F401  (site: the fixture)

pytestmark = needs_mosquitto


def hub_status(tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "display.cli", "hub", "status", "--config", str(tmp_path / "hub.toml")],
                          capture_output=True, text=True, timeout=30)


def retained_status(port: int, screen: str) -> dict[str, object]:
    watcher = Client(f"watch-{screen}")
    assert watcher.connect(port) == 0
    watcher.mqtt.subscribe(f"chalkwall/acme/screen/{screen}/status", qos=1)
    wait_for(lambda: watcher.messages, timeout=3)
    watcher.close()
    return json.loads(watcher.messages[-1].payload) if watcher.messages else {}


def test_a_screen_publishes_its_status_and_hub_status_lists_it(site) -> None:
    tmp_path, port, _, _ = site
    state = tmp_path / "floor-1-state"
    state.mkdir()
    (state / "status.json").write_text(json.dumps({"updated": time.time(), "screen": "on", "scene": "leaderboard",
                                                  "frame_p95_ms": 12.34}))  # as display/health.py writes it
    before = hub_status(tmp_path)
    assert before.returncode == 1 and "floor-1" in before.stdout and "never seen" in before.stdout, before
    live = open_live_feed(screen_config(tmp_path, port))
    live.start()
    try:
        assert wait_for(lambda: live.coordinator.state().board, timeout=5)
        body = wait_for(lambda: (lambda b: b if (b.get("board") or {}).get("rev") else None)(
            retained_status(port, "floor-1")), timeout=10)
        assert body and body["state"] == "online" and body["version"] and body["teams"] == ["night"]
        assert body["scene"] == "leaderboard" and body["frame_p95_ms"] == 12.34
        assert body["hub"] == {"online": True, "broker": "connected"}
        assert 0 <= body["board"]["lag_s"] < 5, body["board"]  # the hub's observed_at to applied
        assert abs(body["since"] - time.time()) < 30
        shown = hub_status(tmp_path)
        assert shown.returncode == 0, shown
        row = next(line for line in shown.stdout.splitlines() if line.startswith("floor-1"))
        assert "online" in row and "leaderboard" in row and "12.3" in row and "rev " in row and " ms" in row, row
        assert "last good poll" in shown.stdout and "connected as anonymous" in shown.stdout
    finally:
        live.stop()
    assert wait_for(lambda: retained_status(port, "floor-1").get("state") == "offline", timeout=5)
    after = wait_for(lambda: (lambda r: r if "offline" in r.stdout else None)(hub_status(tmp_path)), timeout=10)
    assert after and after.returncode == 1
    row = next(line for line in after.stdout.splitlines() if line.startswith("floor-1"))
    assert "offline" in row and "ago" in row, row  # offline, and since when


def test_hub_status_without_a_broker_says_so_and_fails(tmp_path: Path) -> None:
    from tests.mosquitto import free_port

    (tmp_path / "hub.toml").write_text(f"""
[feed]
type = "file"
path = "x.json"
[hub]
broker = "mqtt://127.0.0.1:{free_port()}"
site = "acme"
screens = ["floor-1"]
""")
    done = hub_status(tmp_path)
    assert done.returncode == 1 and "cannot connect" in done.stderr and "Traceback" not in done.stderr, done


def test_a_real_wall_on_a_hub_feed_reports_its_scene_and_its_status_shows_the_hub(site) -> None:
    """``chalkwall run`` (pygame under SDL's dummy driver) on ``[feed] type = "hub"``: its status file
    has the hub connection and the board's lag, ``chalkwall status`` says so, and the screen's
    retained status carries the scene and frame p95 the wall wrote."""
    import os

    tmp_path, port, _, _ = site
    screen_config(tmp_path, port)
    config = tmp_path / "floor-1.toml"
    env = {k: v for k, v in os.environ.items() if k != "RUNTIME_DIRECTORY"} | {
        "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy"}
    wall = subprocess.Popen([sys.executable, "-m", "display.cli", "run", "--windowed", "--size", "640x360",
                             "--config", str(config)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    status_file = tmp_path / "floor-1-state" / "status.json"
    try:
        found = wait_for(lambda: status_file.exists() and (json.loads(status_file.read_text()).get("hub") or {})
                         .get("rev") is not None, timeout=30)
        assert found, wall.poll()
        shown = subprocess.run([sys.executable, "-m", "display.cli", "status", "--config", str(config)], env=env,
                               capture_output=True, text=True, timeout=30)
        line = next(x for x in shown.stdout.splitlines() if x.startswith("hub:"))
        assert f"broker 127.0.0.1:{port} connected since" in line and "as screen floor-1" in line, line
        assert "the hub online" in line and "board rev" in line and "ms after the hub had it" in line, line
        body = wait_for(lambda: (lambda b: b if b.get("scene") else None)(retained_status(port, "floor-1")), timeout=15)
        assert body and isinstance(body["frame_p95_ms"], float) and body["screen"] == "on", body
    finally:
        wall.terminate()
        _, err = wall.communicate(timeout=20)
    assert "Traceback" not in err, err


@pytest.mark.slow
def test_a_screen_killed_minus_9_is_offline_since_its_will_arrived(site) -> None:
    """No clean stop: the broker sends the screen's will (no time in it) after its 10 s delay; the
    hub notes when it arrived, and ``chalkwall hub status`` says offline since then."""
    import signal

    tmp_path, port, _, _ = site
    screen_config(tmp_path, port)
    script = ("import sys, time\nfrom feeds.config.schema import load_config\nfrom feeds.live.feed import open_live_feed\n"
              "live = open_live_feed(load_config(sys.argv[1]))\nlive.start()\ntime.sleep(600)\n")
    proc = subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "floor-1.toml")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: retained_status(port, "floor-1").get("state") == "online", timeout=15)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    killed = time.time()
    assert wait_for(lambda: retained_status(port, "floor-1") == {"v": 1, "kind": "screen_status", "state": "offline"},
                    timeout=20)  # the will
    shown = wait_for(lambda: (lambda r: r if "offline" in r.stdout else None)(hub_status(tmp_path)), timeout=10)
    assert shown and shown.returncode == 1
    row = next(line for line in shown.stdout.splitlines() if line.startswith("floor-1"))
    import re

    found = re.search(r"offline\s+(\d\d:\d\d:\d\d)", row)
    assert found, row
    expected = {time.strftime("%H:%M:%S", time.localtime(killed + d)) for d in range(8, 16)}  # the will's 10 s
    assert found.group(1) in expected, (row, sorted(expected))

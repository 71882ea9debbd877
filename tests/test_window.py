"""chalkwall run in a real X window (Xvfb): it opens, draws, and stops cleanly on SIGTERM."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import agent, doc, write_config


@pytest.fixture
def x_display() -> str:
    if not shutil.which("Xvfb"):
        if os.environ.get("CI"):
            pytest.fail("Xvfb is missing on CI: ./bootstrap test installs it")
        pytest.skip("Xvfb is not installed (./bootstrap test installs it)")
    display = f":{150 + os.getpid() % 50}"
    server = subprocess.Popen(["Xvfb", display, "-screen", "0", "1024x768x24"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    time.sleep(0.8)
    yield display
    server.terminate()
    server.wait(timeout=10)


def test_run_opens_a_window_draws_and_stops_on_sigterm(x_display: str, tmp_path: Path) -> None:
    (tmp_path / "feed.json").write_text(json.dumps(doc(agent("åsa", 9), agent("олег", 7))))
    config = write_config(tmp_path, '[feed]\ntype = "file"\npath = "feed.json"\ninterval = 1\n')
    env = {k: v for k, v in os.environ.items() if k not in ("SDL_VIDEODRIVER", "CHALKWALL_CONFIG")}
    env["DISPLAY"] = x_display
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)  # standing in for systemd
    notify.bind(str(tmp_path / "notify"))
    notify.settimeout(0.5)
    env.update(NOTIFY_SOCKET=str(tmp_path / "notify"), WATCHDOG_USEC="1000000")
    proc = subprocess.Popen([sys.executable, "-m", "display.cli", "run", "--windowed", "--size", "800x480",
                             "--config", str(config)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    time.sleep(4)
    assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
    status = subprocess.run([sys.executable, "-m", "display.cli", "status", "--config", str(config)], env=env,
                            capture_output=True, text=True, timeout=30)
    assert status.returncode == 0, status.stderr
    assert "frames/s" in status.stdout and "last good poll" in status.stdout
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=20)
    messages = []
    while True:
        try:
            messages.append(notify.recv(256).decode())
        except OSError:
            break
    assert messages[0].startswith("READY=1") and messages.count("WATCHDOG=1") >= 3 and messages[-1] == "STOPPING=1"
    assert proc.returncode == 0, err
    assert "chalkwall running at 800x480 (windowed)" in err
    frames = int(err.split("stopped after ")[1].split(" frames")[0])
    assert frames >= 1 and "Traceback" not in err
    assert (tmp_path / "state" / "chalkwall" / "chalkwall.sqlite3").exists()  # announced events are kept


def test_outside_office_hours_the_screen_is_dark_and_the_off_command_runs(x_display: str, tmp_path: Path) -> None:
    (tmp_path / "feed.json").write_text(json.dumps(doc(agent("åsa", 9))))
    marker = tmp_path / "tv-standby"
    config = write_config(tmp_path, '[feed]\ntype = "file"\npath = "feed.json"\ninterval = 1\n'
                                    '[schedule]\nhours = { mon = "", tue = "", wed = "", thu = "", fri = "", '
                                    'sat = "", sun = "" }\n'
                                    f'off_command = ["sh", "-c", "touch {marker}"]\n')
    env = {k: v for k, v in os.environ.items() if k not in ("SDL_VIDEODRIVER", "CHALKWALL_CONFIG")}
    env.update(DISPLAY=x_display, XDG_STATE_HOME=str(tmp_path / "state"))
    proc = subprocess.Popen([sys.executable, "-m", "display.cli", "run", "--windowed", "--size", "640x360",
                             "--config", str(config)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    time.sleep(6)
    status = subprocess.run([sys.executable, "-m", "display.cli", "status", "--config", str(config)], env=env,
                            capture_output=True, text=True, timeout=30)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert marker.exists() and "screen off (office hours)" in err
    assert "screen:  off (outside office hours)" in status.stdout
    assert "stopped after 0 frames" in err  # dark: not a single frame drawn

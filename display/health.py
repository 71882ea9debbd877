"""Health for a kiosk nobody watches: systemd's notify protocol, and a status file.

:class:`Notifier` speaks sd_notify in the few lines of socket code it needs (one datagram per
message to ``$NOTIFY_SOCKET``): ``READY=1`` once the first frame is on screen, ``WATCHDOG=1`` from
the drawing loop only — so if the loop hangs, the pings stop and systemd restarts chalkwall — and
``STOPPING=1`` on the way out. Outside systemd it does nothing.

:class:`StatusFile` writes a small JSON file every few seconds (atomically: a reader never sees
half of it) that ``chalkwall status`` prints: version, uptime, fps, frame time, memory, the last
good poll, the stale flag, the scene on screen and the last error.
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from feeds.bench import rss_kib

STATUS_NAME = "status.json"
VERSION = "0.1.0"


class Notifier:
    def __init__(self, environ: dict[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        self.address = "\0" + address[1:] if address.startswith("@") else address  # '@': abstract namespace
        watchdog_usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        mine = not pid or pid == str(os.getpid())
        # Ping at half the interval systemd allows, as sd_watchdog_enabled(3) advises.
        self.interval = int(watchdog_usec) / 2e6 if watchdog_usec.isdigit() and mine else 0.0
        self._last_ping = 0.0

    @property
    def enabled(self) -> bool:
        return bool(self.address)

    def send(self, message: str) -> bool:
        if not self.address:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.sendto(message.encode(), self.address)
            return True
        except OSError:
            return False  # systemd gone or not listening: nothing a wall can do about it

    def ready(self, status: str = "") -> None:
        self.send("READY=1" + (f"\nSTATUS={status}" if status else ""))

    def stopping(self) -> None:
        self.send("STOPPING=1")

    def alive(self, now: float) -> None:
        """Called by the drawing loop each time round: a watchdog ping when one is due."""
        if self.interval and now - self._last_ping >= self.interval:
            self._last_ping = now
            self.send("WATCHDOG=1")


def rss_mib() -> float:
    return rss_kib() / 1024


@dataclass
class StatusFile:
    path: Path
    every: float = 5.0
    started: float = 0.0
    written: float = 0.0
    _failed: bool = False
    _soon: bool = False

    def due(self, now: float) -> bool:
        return self._soon or not self.written or now - self.written >= self.every

    def soon(self) -> None:
        """Write at the next chance, not at the next interval (something an admin waits for changed)."""
        self._soon = True

    def write(self, now: float, fields: dict[str, Any]) -> bool:
        """Replace the file with ``fields`` plus the process's own facts; False when it cannot."""
        self.written, self._soon = now, False
        body = {"version": VERSION, "pid": os.getpid(), "updated": time.time(),
                "uptime_s": round(now - self.started, 1), "rss_mib": round(rss_mib(), 1), **fields}
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(body, indent=1, default=str))
            os.replace(tmp, self.path)  # atomic: a reader sees the old file or the new one
            self._failed = False
            return True
        except OSError:
            self._failed = True  # a full disk: the wall keeps running; the caller logs it once
            return False


def status_path(configured_state_dir: str = "") -> Path:
    """Where the status file lives: systemd's $RUNTIME_DIRECTORY when given, else the state directory."""
    from feeds.bus.screen_status import wall_status_path  # the same path a hub's screen reads it from
    from feeds.db import state_dir

    return wall_status_path(state_dir(configured_state_dir))


def read_status(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def describe_hub(hub: dict[str, Any], now: float) -> str:
    """One line on a hub's screen: its broker connection, the hub, and the lag of its board."""
    since = hub.get("since")
    at = time.strftime("%H:%M:%S", time.localtime(since)) if isinstance(since, (int, float)) else "?"
    if hub.get("connected"):
        line = f"hub:     broker {hub.get('broker', '?')} connected since {at} as screen {hub.get('screen', '?')}"
        line += {True: "; the hub online", False: "; the hub OFFLINE (its will)", None: "; no word from the hub yet"}[
            hub.get("hub_online")]
    else:
        line = f"hub:     broker {hub.get('broker', '?')} UNREACHABLE since {at} ({hub.get('error') or '?'})"
    lag = hub.get("lag_s")
    if hub.get("rev") is not None:
        line += f"; board rev {hub['rev']}" + (f", applied {lag * 1000:.0f} ms after the hub had it"
                                               if isinstance(lag, (int, float)) else "")
    offset = hub.get("clock_offset_s")
    if isinstance(offset, (int, float)) and abs(offset) >= 5:
        line += f"; this clock is {abs(offset):.0f} s {'behind' if offset > 0 else 'ahead of'} the hub's (NTP?)"
    return line


def describe(status: dict[str, Any], now: float | None = None) -> str:
    """The status file for people."""
    now = now or time.time()
    age = now - float(status.get("updated", 0))
    last = status.get("last_success")
    poll = "never" if not last else f"{time.strftime('%H:%M:%S', time.localtime(last))} ({now - last:.0f} s ago)"
    lines = [
        f"chalkwall {status.get('version', '?')} (pid {status.get('pid', '?')}), up {status.get('uptime_s', 0):.0f} s;"
        f" status written {age:.0f} s ago" + ("  — NOT UPDATING: is chalkwall running?" if age > 30 else ""),
        ("screen:  off (outside office hours)" + (f"; {status['held_banners']} celebration(s) held for when it "
                                                   "comes on" if status.get("held_banners") else "")
         if status.get("screen") == "off" else
         f"screen:  {status.get('scene', '?')}, {status.get('fps', 0):.1f} frames/s, "
         f"p95 {status.get('frame_p95_ms', 0):.1f} ms per frame"),
        f"memory:  {status.get('rss_mib', 0):.0f} MiB",
        f"feed:    last good poll {poll}" + ("  — STALE" if status.get("stale") else ""),
    ]
    if status.get("last_error"):
        lines.append(f"error:   {status['last_error']}")
    hub = status.get("hub")
    if isinstance(hub, dict):
        lines.append(describe_hub(hub, now))
    for problem in status.get("data_problems") or ():
        lines.append(f"data:    {problem}")
    board = status.get("board")
    if board:
        lines.append(f"board:   {board.get('agents', 0)} agents, led by {board.get('leader') or '—'}")
    privacy = status.get("privacy")
    if privacy:
        lines.append(f"privacy: {privacy.get('mode', '?')} — {privacy.get('listed', 0)} named on the wall, "
                     f"{privacy.get('unlisted', 0)} counted in team totals only")
    config = status.get("config") or {}
    if config:
        lines.append(f"config:  {config.get('file', '?')}, theme {config.get('theme', '?')}")
    for problem in config.get("rejected") or ():
        lines.append(f"  NOT APPLIED: {problem}")
    for notice in status.get("notices") or ():
        lines.append(f"on screen: {notice}")
    return "\n".join(lines)

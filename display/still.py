"""``chalkwall bench --still N``: what a still board of N agents costs the whole ``chalkwall run``.

A file feed of N agents (the feed benchmark's floor: twenty teams, Swedish and Cyrillic names) that
never changes is polled every 2 s by the real coordinator, and the real loop shows the default
playlist on a real X window (Xvfb is started if none is given), as in :mod:`display.minute`. Once
the wall shows the board, its CPU time is read over the measured seconds and reported per minute.
Nothing moves, so what a floor of 5,000 costs over one of 12 is what the loop does with agents
that are not on screen: it should be close to nothing.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from display.health import status_path
from display.minute import measure
from feeds.bench import FloorGenerator

READY_TIMEOUT = 120.0
SETTLE_SECONDS = 3.0  # after the board is first shown: the first full frames and scene entries


def run(agents: int, seconds: float = 60.0, size: str = "1920x1080") -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        feed = Path(tmp) / "floor.json"
        feed.write_bytes(FloorGenerator(agents).next(events=0))
        config = (f'[feed]\ntype = "file"\npath = "{feed}"\ninterval = 2\n'
                  f'[display]\ntitle = "Still board"\n')
        result = measure(config, seconds, lambda state: _shown(state, agents), size)
    return result | {"agents": float(agents)}


def _shown(state_dir: Path, agents: int) -> None:
    """Wait until the wall's status file says it shows the whole board, then a little more."""
    path = status_path(str(state_dir))
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        try:
            board = json.loads(path.read_text()).get("board") or {}
        except (OSError, ValueError):
            board = {}
        if board.get("agents") == agents:
            time.sleep(SETTLE_SECONDS)
            return
        time.sleep(0.2)
    raise RuntimeError(f"the wall did not show the {agents}-agent board within {READY_TIMEOUT:.0f} s")


def report(result: dict[str, float]) -> str:
    per_minute = result["cpu_s"] * 60 / result["seconds"]
    return (f"a still board of {result['agents']:,.0f} agents (a file feed polled every 2 s, nothing changing) "
            f"on a real X window:\n  CPU {per_minute:.2f} s per minute (measured over {result['seconds']:.0f} s, "
            f"start-up {result['startup_cpu_s']:.2f} s before it), PSS {result['pss_mib']:.0f} MiB")

"""Where chalkwall keeps its state on disk: the state directory and the one SQLite file in it.

The directory is ``[state] dir`` in config, else systemd's ``$STATE_DIRECTORY``, else
``~/.local/state/chalkwall``; the demo feed keeps its own in a ``demo/`` subdirectory. The ledger,
history, announced events, the last board and the connectors' own state share one file.
"""

from __future__ import annotations

import os
from pathlib import Path

DB_NAME = "chalkwall.sqlite3"
DEMO_DIR = "demo"  # the demo feed's own ledger, history and board, apart from a real feed's


def state_dir(configured: str = "") -> Path:
    if configured:
        return Path(configured).expanduser()
    systemd = os.environ.get("STATE_DIRECTORY", "").split(":")[0]
    if systemd:
        return Path(systemd)
    return Path(os.environ.get("XDG_STATE_HOME", Path.home() / ".local" / "state")) / "chalkwall"


def feed_state_dir(configured: str, feed_type: str) -> Path:
    """Where a feed's ledger, history, announced events and last board live: the demo's in a
    directory of its own, so that its invented awards never reach the ledger a real feed pays from."""
    base = state_dir(configured)
    return base / DEMO_DIR if feed_type == "demo" else base

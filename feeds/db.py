"""Where chalkwall keeps its state on disk: the state directory and the one SQLite file in it.

The directory is ``[state] dir`` in config, else systemd's ``$STATE_DIRECTORY``, else
``~/.local/state/chalkwall``; the demo feed keeps its own in a ``demo/`` subdirectory. The ledger,
history, announced events, the last board and the connectors' own state share one file.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
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


def connect(directory: Path, *, timeout: float = 10.0, autocommit: bool = False,
            synchronous: str | None = None) -> sqlite3.Connection:
    """A connection to the state file in ``directory`` (made if need be), shared between threads,
    in WAL mode; ``synchronous`` ("FULL", "NORMAL") when the store wants other than SQLite's
    default. Raises OSError or sqlite3.Error as they come."""
    directory.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(directory / DB_NAME, timeout=timeout, check_same_thread=False,
                         **({"isolation_level": None} if autocommit else {}))
    db.execute("PRAGMA journal_mode=WAL")
    if synchronous is not None:
        db.execute(f"PRAGMA synchronous={synchronous}")
    return db


def saved_board_json(directory: Path) -> str | None:
    """The JSON of the last board the wall saved in ``directory``'s state file, read without writing
    anything (the team page, ``check`` and payouts look; only the wall saves); None when there is none."""
    path = directory / DB_NAME
    if not path.is_file():
        return None
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            row = db.execute("SELECT body FROM last_snapshot").fetchone()
        finally:
            db.close()
    except sqlite3.Error:  # no table yet: the wall has not saved a board
        return None
    return str(row[0]) if row else None


@contextmanager
def immediate(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One ``BEGIN IMMEDIATE`` transaction on an autocommit connection: it takes the write lock at
    once, so a check and the write it allows cannot be split by another process (a balance and a
    hold, a limit and a kudos, a number and its event); committed at the end, rolled back on any
    exception, which then goes on."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")

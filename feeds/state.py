"""chalkwall's state on disk: where it lives, and the feed events already announced.

The state directory is ``[state] dir`` in config, else systemd's ``$STATE_DIRECTORY``, else
``~/.local/state/chalkwall``. Announced event ids are kept in SQLite there (WAL mode, one
transaction per poll), so a celebration seen once is not shown again after a restart. If the
directory cannot be written (a full disk, a read-only mount) chalkwall says so once in the log
and carries on remembering in memory: the wall keeps running.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path

from feeds.diff import SeenEvents
from feeds.logs import LOGGER, log_event
from feeds.model import FeedEvent

log = logging.getLogger(f"{LOGGER}.state")
DB_NAME = "chalkwall.sqlite3"


def state_dir(configured: str = "") -> Path:
    if configured:
        return Path(configured).expanduser()
    systemd = os.environ.get("STATE_DIRECTORY", "").split(":")[0]
    if systemd:
        return Path(systemd)
    return Path(os.environ.get("XDG_STATE_HOME", Path.home() / ".local" / "state")) / "chalkwall"


class StoredSeenEvents(SeenEvents):
    """SeenEvents that survive a restart, in SQLite; in memory alone when the disk will not have them."""

    def __init__(self, directory: Path, capacity: int = 10_000) -> None:
        super().__init__(capacity)
        self.path = directory / DB_NAME
        self._db: sqlite3.Connection | None = None
        try:
            directory.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=5, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("CREATE TABLE IF NOT EXISTS seen_events (id TEXT PRIMARY KEY, seen_at REAL NOT NULL)")
            rows = db.execute("SELECT id FROM seen_events ORDER BY seen_at, rowid").fetchall()
            for (event_id,) in rows[-capacity:]:
                self._ids[event_id] = None
            self._db = db
        except (OSError, sqlite3.Error) as exc:
            self._failed(exc)

    def _failed(self, exc: Exception) -> None:
        log_event(log, logging.ERROR, "state_unwritable",
                  f"cannot keep state in {self.path}: {exc}; remembering in memory until restart",
                  path=str(self.path), error=str(exc))
        if self._db is not None:
            try:
                self._db.close()
            except sqlite3.Error:
                pass
        self._db = None

    def new(self, events: Iterable[FeedEvent]) -> list[FeedEvent]:
        fresh = super().new(events)
        if fresh and self._db is not None:
            now = time.time()
            try:
                with self._db:  # one transaction: all of this poll's events, or none
                    self._db.executemany("INSERT OR IGNORE INTO seen_events VALUES (?, ?)",
                                         [(e.id, now) for e in fresh])
                    self._db.execute("DELETE FROM seen_events WHERE id NOT IN "
                                     "(SELECT id FROM seen_events ORDER BY seen_at DESC, rowid DESC LIMIT ?)",
                                     (self.capacity,))
            except sqlite3.Error as exc:
                self._failed(exc)
        return fresh

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

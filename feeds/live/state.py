"""chalkwall's state on disk: where it lives, the feed events already announced, the last board.

The state directory is ``[state] dir`` in config, else systemd's ``$STATE_DIRECTORY``, else
``~/.local/state/chalkwall`` (the demo feed keeps its own in its ``demo/`` subdirectory).
Announced event ids are kept in SQLite there (WAL mode, one transaction per poll), so a celebration seen once is not shown again after a restart; the last
good snapshot is kept too (at most once a minute, and at a clean stop), so a restart shows the
same board at once, marked stale until the feed answers. If the directory cannot be written (a
full disk, a read-only mount) chalkwall says so once in the log and carries on in memory, trying
again every minute; when the disk is back, what was kept in memory is written and that is logged.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path

from feeds.db import DB_NAME
from feeds.board.diff import SeenEvents
from feeds.logs import LOGGER, log_event
from feeds.model import FeedError, FeedEvent, Snapshot
from feeds.connectors.parse import parse_document

log = logging.getLogger(f"{LOGGER}.state")
class _Store:
    """One SQLite connection to the state file that, when the disk fails, says so once, lets the
    caller carry on in memory, and reconnects at most once a minute."""

    RETRY_SECONDS = 60.0

    def __init__(self, directory: Path, what: str) -> None:
        self.directory, self.path, self.what = directory, directory / DB_NAME, what
        self.db: sqlite3.Connection | None = None
        self._retry_at = 0.0
        self._broken = False

    def connect(self, schema: str) -> sqlite3.Connection | None:
        if self.db is None and time.monotonic() >= self._retry_at:
            try:
                self.directory.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(self.path, timeout=5, check_same_thread=False)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute(schema)
                self.db = db
            except (OSError, sqlite3.Error) as exc:
                self.failed(exc)
        return self.db

    def failed(self, exc: Exception) -> None:
        if not self._broken:
            log_event(log, logging.ERROR, "state_unwritable",
                      f"cannot keep {self.what} in {self.path}: {exc}; keeping it in memory and trying again "
                      f"every {self.RETRY_SECONDS:.0f} s", path=str(self.path), error=str(exc))
        self._broken = True
        self._retry_at = time.monotonic() + self.RETRY_SECONDS
        self.close()

    def written(self) -> None:
        if self._broken:
            log_event(log, logging.INFO, "state_recovered", f"{self.what} is kept in {self.path} again",
                      path=str(self.path))
            self._broken = False

    def close(self) -> None:
        if self.db is not None:
            try:
                self.db.close()
            except sqlite3.Error:
                pass
            self.db = None


class StoredSeenEvents(SeenEvents):
    """SeenEvents that survive a restart, in SQLite; in memory alone while the disk will not have them."""

    SCHEMA = "CREATE TABLE IF NOT EXISTS seen_events (id TEXT PRIMARY KEY, seen_at REAL NOT NULL)"

    def __init__(self, directory: Path, capacity: int = 10_000) -> None:
        super().__init__(capacity)
        self._store = _Store(directory, "announced events")
        self.path = self._store.path
        self._unsaved: list[tuple[str, float]] = []
        db = self._store.connect(self.SCHEMA)
        if db is not None:
            try:
                rows = db.execute("SELECT id FROM seen_events ORDER BY seen_at, rowid").fetchall()
                for (event_id,) in rows[-capacity:]:
                    self._ids[event_id] = None
            except sqlite3.Error as exc:
                self._store.failed(exc)

    def new(self, events: Iterable[FeedEvent]) -> list[FeedEvent]:
        fresh = super().new(events)
        now = time.time()
        self._unsaved = (self._unsaved + [(e.id, now) for e in fresh])[-self.capacity:]
        if self._unsaved and (db := self._store.connect(self.SCHEMA)) is not None:
            try:
                with db:  # one transaction: all of this poll's events (and any kept while the disk was away)
                    db.executemany("INSERT OR IGNORE INTO seen_events VALUES (?, ?)", self._unsaved)
                    db.execute("DELETE FROM seen_events WHERE id NOT IN "
                               "(SELECT id FROM seen_events ORDER BY seen_at DESC, rowid DESC LIMIT ?)",
                               (self.capacity,))
                self._unsaved = []
                self._store.written()
            except sqlite3.Error as exc:
                self._store.failed(exc)
        return fresh

    def close(self) -> None:
        self._store.close()


class StoredBoard:
    """The last good snapshot and when it was polled: saved at most every ``every`` seconds (an SD
    card should not be written every poll) and at a clean stop; read back at start."""

    SCHEMA = "CREATE TABLE IF NOT EXISTS last_snapshot (id INTEGER PRIMARY KEY CHECK (id = 1), " \
             "polled_at REAL NOT NULL, body TEXT NOT NULL)"

    def __init__(self, directory: Path, every: float = 60.0) -> None:
        self._store = _Store(directory, "the last board")
        self.every = every
        self._saved_at = 0.0
        self._pending: tuple[Snapshot, float] | None = None

    def load(self) -> tuple[Snapshot, float] | None:
        db = self._store.connect(self.SCHEMA)
        try:
            row = db.execute("SELECT body, polled_at FROM last_snapshot").fetchone() if db is not None else None
            return (parse_document(row[0].encode(), len(row[0].encode()) + 1), float(row[1])) if row else None
        except (sqlite3.Error, FeedError) as exc:  # unreadable: start as if there were none
            log.warning("cannot read the last board back (%s); waiting for the feed", exc)
            return None

    def save(self, snapshot: Snapshot, polled_at: float) -> None:
        self._pending = (snapshot, polled_at)
        if time.monotonic() - self._saved_at >= self.every:
            self.flush()

    def flush(self) -> None:
        if self._pending is None or (db := self._store.connect(self.SCHEMA)) is None:
            return
        snapshot, polled_at = self._pending
        try:
            with db:
                db.execute("INSERT OR REPLACE INTO last_snapshot VALUES (1, ?, ?)",
                           (polled_at, json.dumps(snapshot.to_dict(), ensure_ascii=False)))
            self._pending = None
            self._saved_at = time.monotonic()
            self._store.written()
        except sqlite3.Error as exc:
            self._store.failed(exc)

    def close(self) -> None:
        self.flush()
        self._store.close()

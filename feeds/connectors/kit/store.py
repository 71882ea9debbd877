"""A connector's own state (cursors, watermarks, the roster, the day's tally) as JSON in the state
SQLite file, saved in one transaction with the snapshot it produced.

So ``kill -9`` at any moment loses nothing and counts nothing twice: what is on disk is always a
cursor together with the tally that read up to it (a restart re-reads from that cursor, and the
tally is idempotent). If the disk will not have it, the connector carries on in memory and says so
once in the log.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from pathlib import Path
from typing import Any

from feeds.db import DB_NAME
from feeds.logs import LOGGER, log_event
from feeds.model import Snapshot

log = logging.getLogger(f"{LOGGER}.connector")
SCHEMA = ("CREATE TABLE IF NOT EXISTS connector_state (account TEXT PRIMARY KEY, saved_at REAL NOT NULL, "
          "state TEXT NOT NULL, snapshot TEXT)")


class StateStore:
    def __init__(self, directory: Path | None, account: str) -> None:
        self.path = directory / DB_NAME if directory is not None else None
        self.account = account  # e.g. "zendesk:acme": a second account in the same file starts afresh
        self._db: sqlite3.Connection | None = None
        self._broken = False
        self.saves = 0

    def _connect(self) -> sqlite3.Connection | None:
        if self.path is None:
            return None
        if self._db is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(self.path, timeout=5, check_same_thread=False)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute(SCHEMA)
                self._db = db
            except (OSError, sqlite3.Error) as exc:
                self._failed(exc)
        return self._db

    def load(self) -> dict[str, Any] | None:
        db = self._connect()
        if db is None:
            return None
        try:
            row = db.execute("SELECT state FROM connector_state WHERE account = ?", (self.account,)).fetchone()
            doc = json.loads(row[0]) if row else None
            return doc if isinstance(doc, dict) else None
        except (sqlite3.Error, ValueError) as exc:
            log.warning("cannot read the connector's state back (%s); starting from midnight", exc)
            return None

    def save(self, state: dict[str, Any], snapshot: Snapshot | None) -> None:
        db = self._connect()
        if db is None:
            return
        body = json.dumps(snapshot.to_dict(), ensure_ascii=False) if snapshot is not None else None
        try:
            with db:  # one transaction: the cursor, the tally it read, and the board they make
                db.execute("INSERT OR REPLACE INTO connector_state VALUES (?, ?, ?, ?)",
                           (self.account, time.time(), json.dumps(state, separators=(",", ":")), body))
            self.saves += 1
            if self._broken:
                log_event(log, logging.INFO, "state_recovered", f"the connector's state is kept in {self.path} again")
                self._broken = False
        except sqlite3.Error as exc:
            self._failed(exc)

    def _failed(self, exc: Exception) -> None:
        if not self._broken:
            log_event(log, logging.ERROR, "state_unwritable",
                      f"cannot keep the connector's state in {self.path}: {exc}; keeping it in memory",
                      path=str(self.path), error=str(exc))
        self._broken = True
        self.close()

    def close(self) -> None:
        if self._db is not None:
            try:
                self._db.close()
            except sqlite3.Error:
                pass
            self._db = None

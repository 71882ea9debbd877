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

from feeds.db import DB_NAME, connect
from feeds.logs import LOGGER, log_event
from feeds.model import Snapshot

log = logging.getLogger(f"{LOGGER}.connector")
SCHEMA = ("CREATE TABLE IF NOT EXISTS connector_state (account TEXT PRIMARY KEY, saved_at REAL NOT NULL, "
          "state TEXT NOT NULL, snapshot TEXT)")
# The day's tally, one row per ticket or rating: a poll writes only the rows that changed, so a
# steady poll on a 12,500-ticket day costs a few rows, not the whole tally again.
ROWS = ("CREATE TABLE IF NOT EXISTS connector_rows (account TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL, "
        "value TEXT NOT NULL, PRIMARY KEY (account, kind, key))")
Tables = dict[str, dict[str, Any]]


class StateStore:
    def __init__(self, directory: Path | None, account: str) -> None:
        self.path = directory / DB_NAME if directory is not None else None
        self.account = account  # e.g. "zendesk:acme": a second account in the same file starts afresh
        self._db: sqlite3.Connection | None = None
        self._broken = False
        self.saves = 0
        self._on_disk: Tables = {}  # kind -> key -> value, as last committed (to write only what changed)

    def _connect(self) -> sqlite3.Connection | None:
        if self.path is None:
            return None
        if self._db is None:
            try:
                # A commit survives the process being killed at once; only a power cut can lose the
                # latest ones, and then the cursor and the tally it read are lost together (a poll
                # reads them again), so an fsync on every page of a backfill buys nothing.
                db = connect(self.path.parent, timeout=5, synchronous="NORMAL")
                db.execute(SCHEMA)
                db.execute(ROWS)
                self._db = db
            except (OSError, sqlite3.Error) as exc:
                self._failed(exc)
        return self._db

    def load(self) -> tuple[dict[str, Any], Tables] | None:
        """The state and the tables saved with it; None when there is none (or it cannot be read)."""
        db = self._connect()
        if db is None:
            return None
        try:
            row = db.execute("SELECT state FROM connector_state WHERE account = ?", (self.account,)).fetchone()
            doc = json.loads(row[0]) if row else None
            if not isinstance(doc, dict):
                return None
            tables: Tables = {}
            for kind, key, value in db.execute("SELECT kind, key, value FROM connector_rows WHERE account = ?",
                                               (self.account,)):
                tables.setdefault(kind, {})[key] = json.loads(value)
            self._on_disk = {kind: dict(rows) for kind, rows in tables.items()}
            return doc, tables
        except (sqlite3.Error, ValueError) as exc:
            log.warning("cannot read the connector's state back (%s); starting from midnight", exc)
            return None

    def save(self, state: dict[str, Any], snapshot: Snapshot | None, tables: Tables | None = None) -> None:
        """Save ``state`` (small: cursors, the roster), the rows of ``tables`` that changed since the
        last save, and the snapshot they make, in one transaction."""
        db = self._connect()
        if db is None:
            return
        body = json.dumps(snapshot.to_dict(), ensure_ascii=False) if snapshot is not None else None
        upserts: list[tuple[str, str, str, str]] = []
        deletes: list[tuple[str, str, str]] = []
        for kind, rows in (tables or {}).items():
            before = self._on_disk.get(kind, {})
            # A table that tracks its changes names the keys to look at; any other is compared whole.
            keys = rows.changed if isinstance(getattr(rows, "changed", None), set) else rows.keys() | before.keys()
            upserts += [(self.account, kind, key, json.dumps(rows[key])) for key in keys
                        if key in rows and before.get(key) != rows[key]]
            deletes += [(self.account, kind, key) for key in keys if key not in rows and key in before]
        try:
            with db:  # one transaction: the cursor, the tally it read, and the board they make
                db.executemany("INSERT OR REPLACE INTO connector_rows VALUES (?, ?, ?, ?)", upserts)
                db.executemany("DELETE FROM connector_rows WHERE account = ? AND kind = ? AND key = ?", deletes)
                # A checkpoint mid-poll (no snapshot yet) keeps the board the last whole poll made.
                db.execute("INSERT INTO connector_state VALUES (?, ?, ?, ?) ON CONFLICT (account) DO UPDATE SET "
                           "saved_at = excluded.saved_at, state = excluded.state, "
                           "snapshot = COALESCE(excluded.snapshot, connector_state.snapshot)",
                           (self.account, time.time(), json.dumps(state, separators=(",", ":")), body))
            self.saves += 1
            for rows in (tables or {}).values():
                if isinstance(getattr(rows, "changed", None), set):
                    rows.changed.clear()  # type: ignore[attr-defined]
            for _, kind, key, _ in upserts:  # a copy: the caller's lists may change in place
                value = (tables or {})[kind][key]
                self._on_disk.setdefault(kind, {})[key] = list(value) if isinstance(value, list) else value
            for _, kind, key in deletes:
                self._on_disk[kind].pop(key, None)
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

"""The hub's outbox: every celebration it will publish, numbered per stream, kept until the broker has it.

A stream is one topic's sequence of events (``team/<id>`` or ``site``). :func:`enqueue` gives an event
the next number of its stream and stores it in the same SQLite transaction as whatever else the
caller writes on that connection (the ledger's award), so an award and its announcement are
recorded together or not at all. The publisher sends what is unpublished, marks each row once the
broker acknowledges it, and on every (re)start sends the unmarked ones again — a duplicate is
harmless, because screens drop any number they have already shown. ``recent`` is the ring a screen
reads after being away, to fill gaps. ``epoch`` names this database: a screen that sees a new
epoch knows the numbers started again.
"""

from __future__ import annotations

import secrets
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from feeds.db import connect, immediate

SCHEMA = """
CREATE TABLE IF NOT EXISTS hub_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS hub_outbox (
    stream TEXT NOT NULL,         -- "team/<id>" or "site"
    seq INTEGER NOT NULL,         -- 1, 2, 3 … per stream, never reused
    event_id TEXT NOT NULL,       -- the award's stable id: once per stream whatever is offered again
    payload TEXT NOT NULL,        -- the JSON the screens receive
    created_at REAL NOT NULL,     -- seconds since the epoch, the hub's clock
    expires_at REAL NOT NULL,     -- after this a screen that was away skips it (a stale party is no party)
    published INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (stream, seq),
    UNIQUE (stream, event_id)
);
CREATE INDEX IF NOT EXISTS hub_outbox_unpublished ON hub_outbox (published) WHERE published = 0;
CREATE INDEX IF NOT EXISTS hub_outbox_whole ON hub_outbox (stream, seq) WHERE payload != '';  -- what prune may empty
"""
RING = 50  # events per stream in the retained "recent" ring
REMEMBER = 10_000  # ids per stream kept after their event expired: never announced twice


@dataclass(frozen=True)
class Entry:
    stream: str
    seq: int
    event_id: str
    payload: str
    created_at: float
    expires_at: float


def ensure_schema(db: sqlite3.Connection) -> None:
    db.executescript(SCHEMA)


def enqueue(db: sqlite3.Connection, stream: str, event_id: str, payload: str, now: float, ttl: float) -> int | None:
    """Number and store one event on ``db``, inside the caller's transaction; its seq, or None when the
    stream already holds ``event_id``. The caller commits (with its own writes)."""
    found = db.execute("SELECT seq FROM hub_outbox WHERE stream = ? AND event_id = ?", (stream, event_id)).fetchone()
    if found:
        return None
    seq = int(db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM hub_outbox WHERE stream = ?", (stream,)).fetchone()[0])
    db.execute("INSERT INTO hub_outbox (stream, seq, event_id, payload, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
               (stream, seq, event_id, payload, now, now + ttl))
    return seq


class Outbox:
    """The publisher's side of the table (its own connection to the state file)."""

    def __init__(self, directory: Path) -> None:
        self._db = connect(directory, autocommit=True, synchronous="FULL")
        self._lock = threading.Lock()
        ensure_schema(self._db)
        self.epoch = self._epoch()

    def close(self) -> None:
        self._db.close()

    def _epoch(self) -> str:
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO hub_meta VALUES ('epoch', ?)", (secrets.token_hex(8),))
            return str(self._db.execute("SELECT value FROM hub_meta WHERE key = 'epoch'").fetchone()[0])

    def add(self, stream: str, event_id: str, payload: str, now: float, ttl: float) -> int | None:
        """:func:`enqueue` in a transaction of its own (for events no award goes with)."""
        with self._lock:
            with immediate(self._db):
                seq = enqueue(self._db, stream, event_id, payload, now, ttl)
        return seq

    def unpublished(self, limit: int = 1000) -> list[Entry]:
        with self._lock:
            rows = self._db.execute("SELECT stream, seq, event_id, payload, created_at, expires_at FROM hub_outbox "
                                    "WHERE published = 0 ORDER BY rowid LIMIT ?", (limit,)).fetchall()
        return [Entry(*row) for row in rows]

    def mark_published(self, stream: str, seq: int) -> None:
        with self._lock:
            self._db.execute("UPDATE hub_outbox SET published = 1 WHERE stream = ? AND seq = ?", (stream, seq))

    def recent(self, stream: str, now: float, limit: int = RING) -> list[Entry]:
        """The stream's last ``limit`` events that have not expired, oldest first."""
        with self._lock:
            rows = self._db.execute("SELECT stream, seq, event_id, payload, created_at, expires_at FROM hub_outbox "
                                    "WHERE stream = ? AND expires_at > ? ORDER BY seq DESC LIMIT ?",
                                    (stream, now, limit)).fetchall()
        return [Entry(*row) for row in reversed(rows)]

    def streams(self) -> list[str]:
        with self._lock:
            return [row[0] for row in self._db.execute("SELECT DISTINCT stream FROM hub_outbox ORDER BY stream")]

    def prune(self, now: float, keep: int = RING, remember: int = REMEMBER) -> int:
        """Forget published, expired events; how many rows went. Each stream's last ``keep`` stay
        whole (the ring); older ones lose their payload but keep their id up to the last
        ``remember``, so an event a feed still lists hours later is not announced again (as a single
        wall remembers 10,000 ids). The highest seq of a stream is never deleted, so the next event
        still counts on from it."""
        gone = 0
        with self._lock, immediate(self._db):
            tops = self._db.execute("SELECT stream, MAX(seq) FROM hub_outbox GROUP BY stream").fetchall()
            for stream, top in tops:  # each a range of the primary key (and of the index of those still whole)
                self._db.execute("UPDATE hub_outbox SET payload = '' WHERE stream = ? AND seq <= ? AND payload != '' "
                                 "AND published = 1 AND expires_at <= ?", (stream, top - keep, now))
                gone += self._db.execute("DELETE FROM hub_outbox WHERE stream = ? AND seq <= ? AND published = 1 "
                                         "AND expires_at <= ?", (stream, top - max(keep, remember), now)).rowcount
        return gone

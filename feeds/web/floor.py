"""What the team page knows of the floor: the wall's last saved board, the people table, the day.

The page reads the board the wall saved (``last_snapshot`` in the state file, read only) for
names, levels and today's metrics; it never polls the feed itself. The board is parsed again only
when the wall saved a newer one.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from feeds.config.schema import Config
from feeds.connectors.parse import parse_document
from feeds.db import DB_NAME
from feeds.game.engine import calendar_for
from feeds.model import Agent, Snapshot
from feeds.periods import Calendar
from feeds.web.people import People


@dataclass(frozen=True)
class Colleague:
    id: str
    name: str


class Floor:
    def __init__(self, directory: Path, config: Config, people: People) -> None:
        self.path = directory / DB_NAME
        self.config = config
        self.people = people
        self.calendar: Calendar = calendar_for(config)
        self._lock = threading.Lock()
        self._board: tuple[float, Snapshot | None] = (-1.0, None)

    def snapshot(self) -> Snapshot | None:
        """The last board the wall saved; None before the wall ever ran (or when unreadable)."""
        try:
            db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=2)
            try:
                stamp = db.execute("SELECT polled_at FROM last_snapshot").fetchone()
                with self._lock:
                    if stamp is not None and stamp[0] == self._board[0]:
                        return self._board[1]
                row = db.execute("SELECT polled_at, body FROM last_snapshot").fetchone()
            finally:
                db.close()
        except sqlite3.Error:
            return None
        if row is None:
            return None
        try:
            snapshot = parse_document(row[1].encode(), len(row[1].encode()) + 1)
        except Exception:  # an unreadable board costs the names and targets, not the page
            return None
        with self._lock:
            self._board = (float(row[0]), snapshot)
        return snapshot

    def agent(self, agent_id: str) -> Agent | None:
        snapshot = self.snapshot()
        return next((a for a in snapshot.agents if a.id == agent_id), None) if snapshot else None

    def names(self) -> dict[str, str]:
        """Person id → name: the people table's, and the board's over it (the feed's spelling)."""
        out = {p.id: p.name for p in self.people.all()}
        snapshot = self.snapshot()
        if snapshot is not None:
            out.update({a.id: a.name for a in snapshot.agents})
        return out

    def colleagues(self, me: str) -> list[Colleague]:
        """Whom ``me`` may thank: everyone on the last board and in the people table but themself
        (and the revoked who are not on the board), by name."""
        names = {p.id: p.name for p in self.people.all() if not p.revoked}
        snapshot = self.snapshot()
        if snapshot is not None:
            names.update({a.id: a.name for a in snapshot.agents})
        names.pop(me, None)
        return sorted((Colleague(i, n) for i, n in names.items()), key=lambda c: (c.name.casefold(), c.id))

    def when(self, stamp: str) -> str:
        """A stored UTC time as the floor reads it: "2 Dec 11:05", in its time zone."""
        try:
            local = self.calendar.local(datetime.fromisoformat(stamp))
        except ValueError:
            return stamp
        return f"{local.day} {local:%b %H:%M}"

    def day(self, now: datetime) -> str:
        """The floor's day key (its time zone), as the engine counts kudos per sender per day."""
        return self.calendar.period("day", now).key

"""History: each period's values per agent, team and the whole floor, in SQLite beside the ledger.

A row per (period, subject, metric) holds the latest value seen in that period, so when a period
is over its row is the final figure: what the record challenge must beat, what "yesterday" means.
Rows are written only when a value changes, so a big quiet floor costs nothing per poll.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path

from feeds.state import DB_NAME

SCHEMA = """
CREATE TABLE IF NOT EXISTS totals (
    period TEXT NOT NULL,
    subject_kind TEXT NOT NULL,   -- 'agent', 'team' or 'floor'
    subject TEXT NOT NULL,
    metric TEXT NOT NULL,
    value REAL NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (period, subject_kind, subject, metric)
) WITHOUT ROWID;
"""
Row = tuple[str, str, str, float]  # subject kind, subject, metric, value


class History:
    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(directory / DB_NAME, timeout=10, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()
        self._written: dict[tuple[str, str, str, str], float] = {}

    def close(self) -> None:
        self._db.close()

    def record(self, period: str, rows: Iterable[Row], now: datetime | None = None) -> int:
        """Store the values that changed; how many rows were written."""
        if self._written and next(iter(self._written))[0] != period:
            self._written.clear()  # a new period: the cache of the old one is no use any more
        changed = [(period, k, s, m, v) for k, s, m, v in rows if self._written.get((period, k, s, m)) != v]
        if not changed:
            return 0
        stamp = (now or datetime.now(timezone.utc)).isoformat(timespec="seconds")
        with self._lock, self._db:
            self._db.executemany("INSERT INTO totals VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (period, subject_kind, "
                                 "subject, metric) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                                 [(*row, stamp) for row in changed])
        for period_key, kind, subject, metric, value in changed:
            self._written[(period_key, kind, subject, metric)] = value
        return len(changed)

    def values(self, period: str, subject_kind: str, metric: str) -> dict[str, float]:
        """Each subject's value of ``metric`` in ``period`` (its final value once the period is over)."""
        with self._lock:
            return dict(self._db.execute("SELECT subject, value FROM totals WHERE period = ? AND subject_kind = ? "
                                         "AND metric = ?", (period, subject_kind, metric)).fetchall())

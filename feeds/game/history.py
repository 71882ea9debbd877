"""History: each period's values per agent, team and the whole floor, in SQLite beside the ledger.

A row per (period, subject, metric) holds the latest value seen in that period, so when a period
is over its row is the final figure: what the record challenge must beat, what "yesterday" means.
Rows are written only when a value changes, so a big quiet floor costs nothing per poll, and at
most every FLUSH_EVERY seconds (a period's first values, this process's reads, a new period and
close write at once): another process (the team page) sees the day's totals at most that late, and
a kill -9 loses at most that much, which the next poll of the feed writes again.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path

from feeds.db import DB_NAME

SAMPLE_MINUTES = 10  # how often the time-of-day values are kept: "yesterday at this time"
KEEP_DAYS = 40
FLUSH_EVERY = 5.0  # seconds between writes of the live periods' totals (see History.record)
LIVE_PERIODS = 8  # day, week, month and shifts written side by side, with room for a rollover

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
CREATE TABLE IF NOT EXISTS samples (
    day TEXT NOT NULL,            -- a day period key
    minute INTEGER NOT NULL,      -- minutes since local midnight
    subject_kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    metric TEXT NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (day, subject_kind, subject, metric, minute)
) WITHOUT ROWID;
"""
Row = tuple[str, str, str, float]  # subject kind, subject, metric, value


class History:
    def __init__(self, directory: Path, flush_every: float = FLUSH_EVERY) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(directory / DB_NAME, timeout=10, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()
        self._written: dict[tuple[str, str, str, str], float] = {}
        self._sampled: tuple[str, int] = ("", -SAMPLE_MINUTES)
        # The periods being written now (today, this week, this shift...): their values still change.
        # Any other period is finished, so its finals can be cached.
        self._live: OrderedDict[str, None] = OrderedDict()
        self._finals: dict[tuple[str, str, str], dict[str, float]] = {}
        self._curves: dict[tuple[str, str, str, str], list[tuple[int, float]]] = {}  # finished days' curves
        self.flush_every = flush_every
        self._pending: dict[tuple[str, str, str, str], tuple[float, str]] = {}  # noted, not yet written
        self._flushed_at: datetime | None = None

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self._db.close()

    def record(self, period: str, rows: Iterable[Row], now: datetime | None = None) -> int:
        """Note the values that changed; how many. They reach the file at most every ``flush_every``
        seconds of ``now`` (and at once when a period begins, before anything here reads the totals,
        and at close): a 5,000-agent floor changes some 250 rows a second, which written every poll
        was a third of a megabyte of the SD card's WAL a second and a tenth of the hub's poll."""
        at = now or datetime.now(timezone.utc)
        if period not in self._live:
            self.flush()  # the period that ended gets its finals on disk before another begins
            self._live[period] = None
            self._finals.clear()  # a period began, so one has likely ended: its finals may have changed
            while len(self._live) > LIVE_PERIODS:
                ended, _ = self._live.popitem(last=False)
                self._written = {k: v for k, v in self._written.items() if k[0] != ended}
            self._flushed_at = None  # the first values of a period are written at once
        written, pending = self._written, self._pending
        changed = [(period, k, s, m, v) for k, s, m, v in rows if written.get((period, k, s, m)) != v]
        if changed:
            stamp = at.isoformat(timespec="seconds")
            for key in changed:
                written[key[:4]] = key[4]
                pending[key[:4]] = (key[4], stamp)
        if self.flush_due(at):
            self.flush()
            self._flushed_at = at
        return len(changed)

    def flush_due(self, now: datetime) -> bool:
        """Whether values are waiting and the time to write them has come (the engine asks while the
        feed is quiet, so the last changes of a day never wait for the next change)."""
        last = self._flushed_at
        return bool(self._pending) and (last is None or not 0 <= (now - last).total_seconds() < self.flush_every)

    def flush(self) -> None:
        """Write the values noted since the last flush (kept for the next one if the write fails)."""
        if not self._pending:
            return
        rows = [(*key, value, stamp) for key, (value, stamp) in self._pending.items()]
        with self._lock, self._db:
            self._db.executemany("INSERT INTO totals VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (period, subject_kind, "
                                 "subject, metric) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                                 rows)
        self._pending = {}

    def sample_due(self, day: str, minute: int) -> bool:
        """Whether :meth:`sample` would keep this time of day's values now."""
        last_day, last_minute = self._sampled
        return day != last_day or minute - last_minute >= SAMPLE_MINUTES

    def sample(self, day: str, minute: int, rows: Iterable[Row], force: bool = False) -> bool:
        """Keep this time of day's values, at most every SAMPLE_MINUTES (``force``: now, as at a shift's
        start, whose baseline must be exact); True when kept."""
        if not force and not self.sample_due(day, minute):
            return False
        with self._lock, self._db:
            self._db.executemany("INSERT OR REPLACE INTO samples VALUES (?, ?, ?, ?, ?, ?)",
                                 [(day, minute, *row) for row in rows])
            if day != self._sampled[0]:  # once a day: forget samples nobody will compare with any more
                self._db.execute("DELETE FROM samples WHERE day < (SELECT MIN(day) FROM (SELECT DISTINCT day FROM "
                                 "samples ORDER BY day DESC LIMIT ?))", (KEEP_DAYS,))
        self._sampled = (day, minute)
        return True

    def at(self, day: str, minute: int, subject_kind: str, metric: str, or_after: bool = False) -> dict[str, float]:
        """Each subject's value on ``day`` as it stood at ``minute`` (the last sample before it); with
        ``or_after``, a subject with no sample that early gets its first one after instead."""
        query = ("SELECT subject, value FROM samples s WHERE day = ? AND subject_kind = ? AND metric = ? AND minute = "
                 "(SELECT {}(minute) FROM samples WHERE day = s.day AND subject_kind = s.subject_kind AND "
                 "subject = s.subject AND metric = s.metric AND minute {} ?)")
        with self._lock:
            found = dict(self._db.execute(query.format("MAX", "<="), (day, subject_kind, metric, minute)).fetchall())
            if or_after:
                later = dict(self._db.execute(query.format("MIN", ">"), (day, subject_kind, metric, minute)).fetchall())
                found = later | found
        return found

    def curve(self, day: str, subject_kind: str, subject: str, metric: str) -> list[tuple[int, float]]:
        """One subject's samples on ``day`` as (minute since midnight, value), earliest first: the
        day's curve (at most 24 h / SAMPLE_MINUTES points). A day no longer sampled never changes,
        so its curve is read once."""
        key = (day, subject_kind, subject, metric)
        if key in self._curves:
            return self._curves[key]
        with self._lock:
            found = [(int(m), float(v)) for m, v in self._db.execute(
                "SELECT minute, value FROM samples WHERE day = ? AND subject_kind = ? AND subject = ? AND metric = ? "
                "ORDER BY minute", key).fetchall()]
        if day < self._sampled[0]:  # day keys sort by date: an earlier day is finished
            if len(self._curves) > 64:
                self._curves.clear()
            self._curves[key] = found
        return found

    def values(self, period: str, subject_kind: str, metric: str) -> dict[str, float]:
        """Each subject's value of ``metric`` in ``period`` (its final value once the period is over)."""
        key = (period, subject_kind, metric)
        if key in self._finals:
            return self._finals[key]
        self.flush()
        with self._lock:
            found = dict(self._db.execute("SELECT subject, value FROM totals WHERE period = ? AND subject_kind = ? "
                                          "AND metric = ?", (period, subject_kind, metric)).fetchall())
        if period not in self._live:
            if len(self._finals) > 2000:
                self._finals.clear()
            self._finals[key] = found  # a finished period never changes
        return found

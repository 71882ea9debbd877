"""A screen's cursor over the hub's event streams: every celebration shown once, in order.

Events reach a screen by more than one road — its broker session, the retained "recent" ring it reads
after being away, the hub sending unacknowledged events again after a restart — so the same event can
arrive twice and out of order. Each carries its stream's sequence number and the hub's epoch.
:class:`Inbox` passes on each number once, in order: a duplicate is dropped; a later number waits
briefly for the missing ones (the ring usually brings them) and then goes on without them, saying so
in the log. The cursor is written to disk *before* an event is handed on, so a crash mid-celebration
loses the rest of that celebration rather than showing it twice. A new epoch (the hub's database
made again) starts the numbers over.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

from feeds.db import connect
from feeds.logs import LOGGER

log = logging.getLogger(f"{LOGGER}.cursor")
SCHEMA = """
CREATE TABLE IF NOT EXISTS screen_cursor (
    stream TEXT PRIMARY KEY,   -- "team/<id>" or "site"
    epoch TEXT NOT NULL,       -- the hub database the numbers belong to
    seq INTEGER NOT NULL       -- the last number shown (or skipped)
);
"""
HOLD_SECONDS = 3.0  # how long a later number waits for a missing one before the screen goes on


class Cursor:
    """The last number shown per stream, on disk (WAL, synchronous FULL: it must survive power loss)."""

    def __init__(self, directory: Path) -> None:
        self._db = connect(directory, autocommit=True, synchronous="FULL")
        self._lock = threading.Lock()
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    def get(self, stream: str) -> tuple[str, int] | None:
        with self._lock:
            row = self._db.execute("SELECT epoch, seq FROM screen_cursor WHERE stream = ?", (stream,)).fetchone()
        return (str(row[0]), int(row[1])) if row else None

    def set(self, stream: str, epoch: str, seq: int) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO screen_cursor VALUES (?, ?, ?)", (stream, epoch, seq))


@dataclass(frozen=True)
class Arrival:
    stream: str
    epoch: str
    seq: int
    payload: str
    expires_at: float


@dataclass
class _Stream:
    epoch: str
    last: int
    waiting: dict[int, tuple[Arrival, float]] = field(default_factory=dict)  # seq -> (event, when it arrived)


class Inbox:
    """Orders arrivals per stream and hands each number on once (see the module docstring)."""

    def __init__(self, cursor: Cursor, hold: float = HOLD_SECONDS) -> None:
        self.cursor, self.hold = cursor, hold
        self._lock = threading.Lock()  # arrivals come on the network thread, ready() runs on the poller's
        self._streams: dict[str, _Stream] = {}
        self.duplicates = self.missed = self.expired = 0

    def _stream(self, arrival: Arrival) -> _Stream:
        state = self._streams.get(arrival.stream)
        if state is None:
            stored = self.cursor.get(arrival.stream)
            state = _Stream(*stored) if stored else _Stream(arrival.epoch, 0)
            self._streams[arrival.stream] = state
        if state.epoch != arrival.epoch:
            log.info("the hub's event numbers started again on %s (a new hub database): following them",
                     arrival.stream)
            state.epoch, state.last, state.waiting = arrival.epoch, 0, {}
        return state

    def offer(self, arrival: Arrival, now: float) -> None:
        with self._lock:
            self._offer(arrival, now)

    def _offer(self, arrival: Arrival, now: float) -> None:
        state = self._stream(arrival)
        if arrival.seq <= state.last or arrival.seq in state.waiting:
            self.duplicates += 1
            return
        state.waiting[arrival.seq] = (arrival, now)

    def ready(self, now: float, wall_time: float) -> list[Arrival]:
        """The events to show now, in order; the cursor already records them. ``now`` is monotonic
        (for the hold), ``wall_time`` the clock the hub's ``expires_at`` is on."""
        with self._lock:
            return self._ready(now, wall_time)

    def _ready(self, now: float, wall_time: float) -> list[Arrival]:
        out: list[Arrival] = []
        for name, state in self._streams.items():
            while state.waiting:
                following = state.last + 1
                if following not in state.waiting:
                    oldest = min(state.waiting)
                    if now - min(t for _, t in state.waiting.values()) < self.hold:
                        break  # the ring or a resend may still bring the missing ones
                    gone = oldest - following
                    self.missed += gone
                    log.warning("%d celebration(s) on %s never arrived (numbers %d to %d): going on without them",
                                gone, name, following, oldest - 1)
                    following = oldest
                arrival, _ = state.waiting.pop(following)
                self.cursor.set(name, state.epoch, following)  # before it is shown: never twice
                state.last = following
                if arrival.expires_at <= wall_time:
                    self.expired += 1
                    continue
                out.append(arrival)
        return out

"""The wall's ear for the team page: public thank-yous from the state file, to the display as toasts.

The team page (``chalkwall web``, another process) writes thank-yous into the ``thanks`` table of
the state file. Every ``EVERY_SECONDS`` the reader's own thread asks SQLite whether anyone else
wrote the file (``PRAGMA data_version``: no read at all when nobody did); only then does it read
the rows after the last one it saw, and hands the public ones that stand to the coordinator as kudos feed
events (``web:<id>``). The coordinator's announced-events store keeps them from showing twice,
across restarts too. A thank-you taken back while its toast may still be coming or showing is
handed on as :class:`~feeds.board.diff.ThanksWithdrawn`, so the toast goes, or never comes.
The display only drains events; it never reads the database.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path

from feeds.board.diff import BoardEvent, ThanksWithdrawn
from feeds.db import connect
from feeds.game.thanks import EVENT_PREFIX, SCHEMA, UNDO_SECONDS
from feeds.logs import LOGGER
from feeds.model import KUDOS, FeedEvent, _frozen

log = logging.getLogger(f"{LOGGER}.thanks")
EVERY_SECONDS = 0.5  # the wall shows a new thank-you within 2 s: this, plus a frame
STARTUP_WINDOW = 3600.0  # at start, thanks this recent may still be news (the wall skips older ones anyway)
Publish = Callable[[Sequence[FeedEvent], Sequence[BoardEvent]], object]


class ThanksReader:
    """Reads new public thank-yous and undos; ``check`` is cheap enough for twice a second."""

    def __init__(self, directory: Path, publish: Publish, clock: Callable[[], float] = time.time) -> None:
        self.publish = publish
        self.clock = clock
        self._db = connect(directory, timeout=2.0)
        self._db.executescript(SCHEMA)  # a wall may start before the team page ever ran
        self._lock = threading.Lock()
        self._version: int | None = None
        self._broken = False
        since = _stamp(clock() - STARTUP_WINDOW)
        row = self._db.execute("SELECT COALESCE(MAX(id), 0) FROM thanks WHERE given_at < ?", (since,)).fetchone()
        self._last = int(row[0])
        self._watching: OrderedDict[int, float] = OrderedDict()  # handed on, could still be undone: id -> when
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Check every ``EVERY_SECONDS`` in a thread of its own (cheaper than a scheduler job: a
        sleeping thread's wake-up and one PRAGMA, about 20 µs, when nothing changed)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="chalkwall-thanks", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(EVERY_SECONDS):
            try:
                self.check()
            except Exception:  # a bug here must not end the wall's thanks for good
                log.exception("reading the team page's thanks failed")

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._lock:
            self._db.close()

    def check(self) -> int:
        """Hand on what changed since the last check; how many events. A database error is logged
        once (until it works again) and costs nothing but this check."""
        with self._lock:
            try:
                events, withdrawn, seen = self._read()
            except sqlite3.Error as exc:
                if not self._broken:
                    log.warning("cannot read the team page's thanks: %s; trying again", exc)
                self._broken = True
                return 0
            if self._broken:
                log.info("reading the team page's thanks again")
                self._broken = False
        if events or withdrawn:
            self.publish(events, withdrawn)  # if this raises, the same rows are read again next time
        with self._lock:
            self._version, self._last, self._watching = seen
        return len(events) + len(withdrawn)

    def _read(self) -> tuple[list[FeedEvent], list[BoardEvent], tuple[int, int, OrderedDict[int, float]]]:
        """The news since the last look, and what the reader will have seen once it is handed on."""
        version = int(self._db.execute("PRAGMA data_version").fetchone()[0])
        if version == self._version:
            return [], [], (version, self._last, self._watching)
        # The version and the last row seen move on only once every read below has worked and the
        # news is handed on (see check): a failure is read again whole at the next look.
        first = self._version is None
        now = self.clock()
        last = self._last
        rows = self._db.execute("SELECT id, giver, taker, text, public, given_at, undone_at FROM thanks "
                                "WHERE id > ? ORDER BY id", (last,)).fetchall()
        # At the first look, what a wall before this one announced (a restart, or the feed this one
        # took over from on a config reload) is not news: the announced-events table says so now.
        shown = self._announced([f"{EVENT_PREFIX}{r[0]}" for r in rows]) if first else set()
        events: list[FeedEvent] = []
        watching = dict(self._watching)
        for thank_id, giver, taker, text, public, given_at, undone_at in rows:
            last = max(last, int(thank_id))
            if public and undone_at is None:
                watching[int(thank_id)] = now
                event_id = f"{EVENT_PREFIX}{thank_id}"
                if event_id not in shown:
                    events.append(FeedEvent(event_id, KUDOS, given_at,
                                            _frozen({"from": giver, "to": taker, "text": text, "source": "web"})))
        for thank_id in [t for t, seen in watching.items() if now - seen > UNDO_SECONDS + 60]:
            del watching[thank_id]  # past the undo window: it stands
        withdrawn: list[BoardEvent] = []
        if watching:
            ids = list(watching)
            for (thank_id,) in self._db.execute(f"SELECT id FROM thanks WHERE undone_at IS NOT NULL AND id IN "
                                                f"({','.join('?' * len(ids))})", ids).fetchall():
                del watching[int(thank_id)]
                withdrawn.append(ThanksWithdrawn(f"{EVENT_PREFIX}{thank_id}"))
        return events, withdrawn, (version, last, OrderedDict(watching))

    def _announced(self, event_ids: list[str]) -> set[str]:
        """Which of these the wall's announced-events table holds (none while it has no such table)."""
        found: set[str] = set()
        for start in range(0, len(event_ids), 500):  # SQLite's limit on bound parameters
            chunk = event_ids[start:start + 500]
            try:
                found.update(row[0] for row in self._db.execute(
                    f"SELECT id FROM seen_events WHERE id IN ({','.join('?' * len(chunk))})", chunk))
            except sqlite3.OperationalError:  # no such table: nothing announced yet
                return found
        return found


def _stamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="seconds")

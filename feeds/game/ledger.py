"""The points ledger: every award, exactly once, in SQLite, for whoever pays out the rewards.

An award's key is (challenge, subject kind, subject, period): a UNIQUE constraint makes a second
award of the same completion a no-op, whatever happens — a re-polled event, a restart, a clock
change. Each award is its own transaction in a WAL-mode database with ``synchronous=FULL``, so
``kill -9`` (or a power cut) at any moment leaves it either fully recorded or not at all, and the
next poll offers it again. Kudos are awards too (challenge "kudos", one per kudos event), limited
per sender per day; a kudos taken back (the team page's undo) is a reversing "kudos_undone" row, so
the history stays whole and the sender's day gets the kudos back. The shop's steps are rows too (source "shop", see :mod:`feeds.game.shop`): they
count in balances and never as a completion, a win or a streak.

A ledger may be given an ``announce`` hook (the hub's outbox, :mod:`feeds.publish.hub`): then an
award offered with its celebration is written in one transaction with the hook's own writes, so a
completion is never paid without its announcement queued, nor announced without being paid.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from feeds.db import DB_NAME, connect, immediate
from feeds.faults import fault
from feeds.model import FeedEvent

KUDOS = "kudos"
KUDOS_UNDONE = "kudos_undone"  # a kudos taken back (the team page's undo): the same points, negative
SHOP = "shop"  # the source (and challenge prefix, "shop:hold" ...) of the shop's rows: spending, not winning
AWARDED = "after-award"  # the fault point just after a new award is committed (see feeds.faults)
PRESENT_CAP = 200_000  # award keys remembered as recorded (a few periods of a 5,000-agent floor)
SCHEMA = """
CREATE TABLE IF NOT EXISTS awards (
    id INTEGER PRIMARY KEY,
    challenge TEXT NOT NULL,
    subject_kind TEXT NOT NULL CHECK (subject_kind IN ('agent', 'team')),
    subject TEXT NOT NULL,
    period TEXT NOT NULL,
    points REAL NOT NULL,
    awarded_at TEXT NOT NULL,
    source TEXT NOT NULL,
    giver TEXT,
    event_id TEXT UNIQUE,  -- the feed event behind it, when there is one: once per event, whatever its period
    UNIQUE (challenge, subject_kind, subject, period)
);
CREATE INDEX IF NOT EXISTS awards_by_subject ON awards (subject_kind, subject);
DROP INDEX IF EXISTS kudos_by_giver;  -- it covered 'kudos' only: the limit counts undone ones too
CREATE INDEX IF NOT EXISTS kudos_given ON awards (giver, period) WHERE challenge IN ('kudos', 'kudos_undone');
CREATE TABLE IF NOT EXISTS names (  -- who an id was when last awarded, for payroll after they left
    subject_kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (subject_kind, subject)
);
"""


Announce = Callable[[sqlite3.Connection, FeedEvent], None]  # writes the celebration, inside the award's transaction
MakeEvent = Callable[[], FeedEvent]  # the celebration of an award, made only when the award is new


@dataclass(frozen=True)
class Award:
    challenge: str
    subject_kind: str  # "agent" or "team"
    subject: str
    period: str
    points: float
    source: str  # "feed", "chalkwall" (its own challenge engine), "kudos" or "shop"
    giver: str | None = None
    event_id: str | None = None


def kudos_used(db: sqlite3.Connection, giver: str, day: str) -> int:
    """How many of ``day``'s kudos ``giver`` has used: those given, less those taken back."""
    # The names are literals, not parameters, so that SQLite can use the partial index kudos_given.
    row = db.execute(f"SELECT COALESCE(SUM(CASE challenge WHEN '{KUDOS}' THEN 1 ELSE -1 END), 0) FROM awards "
                     f"WHERE challenge IN ('{KUDOS}', '{KUDOS_UNDONE}') AND giver = ? AND substr(period, 1, ?) = ?",
                     (giver, len(day) + 1, f"{day}#")).fetchone()
    return int(row[0])


def kudos_in(db: sqlite3.Connection, event_id: str, giver: str, taker: str, day: str, points: float,
             per_sender_per_day: int, stamp: str) -> str:
    """The kudos award, inside the caller's open transaction on ``db`` (so the check and the insert
    are one): "awarded", "duplicate" (this event is already paid) or "limit" (the day's are used)."""
    if db.execute("SELECT 1 FROM awards WHERE event_id = ?", (event_id,)).fetchone():
        return "duplicate"
    if per_sender_per_day and kudos_used(db, giver, day) >= per_sender_per_day:
        return "limit"
    db.execute("INSERT INTO awards (challenge, subject_kind, subject, period, points, awarded_at, source, giver,"
               " event_id) VALUES (?, 'agent', ?, ?, ?, ?, 'kudos', ?, ?)",
               (KUDOS, taker, f"{day}#{event_id}", points, stamp, giver, event_id))
    return "awarded"


def undo_kudos_in(db: sqlite3.Connection, event_id: str, stamp: str) -> bool:
    """Take back the kudos award of ``event_id`` inside the caller's transaction: a reversing row
    (the same period, the points negative), so the history keeps both and the sender's day gets
    its kudos back. False when there is no such award or it was taken back already."""
    return db.execute(
        "INSERT OR IGNORE INTO awards (challenge, subject_kind, subject, period, points, awarded_at, source, giver,"
        " event_id) SELECT ?, subject_kind, subject, period, -points, ?, source, giver, ? FROM awards"
        " WHERE event_id = ? AND challenge = ?",
        (KUDOS_UNDONE, stamp, f"{event_id}#undone", event_id, KUDOS)).rowcount == 1


class Ledger:
    def __init__(self, directory: Path) -> None:
        self.path = directory / DB_NAME
        self._db = connect(directory, autocommit=True, synchronous="FULL")  # an SD card in a Pi loses power too
        self._lock = threading.Lock()
        self._db.executescript(SCHEMA)
        self.announce: Announce | None = None  # the hub's outbox: see the module docstring
        # Awards are never deleted (retention only forgets a giver), so a key once seen in the
        # ledger stays there: the engine offers the same completions every poll, and these spare
        # it a write transaction each time. Kept to the latest periods (see _remember).
        self._present: set[tuple[str, str, str, str]] = set()
        self._decided: set[tuple[str, str]] = set()  # (race, period): someone won it already
        self._paid: set[str] = set()  # feed events whose kudos award the ledger holds (offered every poll)

    def close(self) -> None:
        self._db.close()

    def award(self, award: Award, now: datetime | None = None, event: MakeEvent | None = None) -> bool:
        """Record ``award`` unless it already is; True when it is new. ``event`` makes its celebration,
        handed to ``announce`` (when set) in the same transaction."""
        key = (award.challenge, award.subject_kind, award.subject, award.period)
        if key in self._present:
            return False
        stamp = (now or datetime.now(timezone.utc)).isoformat(timespec="seconds")
        sql = ("INSERT OR IGNORE INTO awards (challenge, subject_kind, subject, period, points, awarded_at, source,"
               " giver, event_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
        args = (award.challenge, award.subject_kind, award.subject, award.period, award.points, stamp,
                award.source, award.giver, award.event_id)
        new = self._write(sql, args, event)
        if new or award.event_id is None:  # ignored for its event id alone: the key itself may be free
            self._remember(key)
        return new

    def _write(self, sql: str, args: tuple[object, ...], event: MakeEvent | None) -> bool:
        """One award's INSERT; True when it added the row. With an ``announce`` hook and an event,
        the row and the hook's writes are one transaction."""
        with self._lock:
            if self.announce is None or event is None:
                new = self._db.execute(sql, args).rowcount == 1
            else:
                with immediate(self._db):
                    new = self._db.execute(sql, args).rowcount == 1
                    if new:
                        self.announce(self._db, event())
        if new:
            fault(AWARDED)
        return new

    def _remember(self, key: tuple[str, str, str, str]) -> None:
        if len(self._present) > PRESENT_CAP:
            self._present.clear()  # a long-running hub: forget, and ask the database again
        self._present.add(key)

    def award_first(self, award: Award, now: datetime | None = None, event: MakeEvent | None = None) -> bool:
        """Record ``award`` only if nobody has won its challenge in its period yet (a race);
        ``event`` as for :meth:`award`."""
        race = (award.challenge, award.period)
        if race in self._decided:
            return False
        stamp = (now or datetime.now(timezone.utc)).isoformat(timespec="seconds")
        new = self._write(
            "INSERT INTO awards (challenge, subject_kind, subject, period, points, awarded_at, source, giver,"
            " event_id) SELECT ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE NOT EXISTS "
            "(SELECT 1 FROM awards WHERE challenge = ? AND period = ? AND source != ?)",
            (award.challenge, award.subject_kind, award.subject, award.period, award.points, stamp,
             award.source, award.giver, award.event_id, award.challenge, award.period, SHOP), event)
        if len(self._decided) > PRESENT_CAP:
            self._decided.clear()
        self._decided.add(race)  # won now, or by someone before: decided either way, for good
        return new

    def race_decided(self, challenge: str, period: str) -> bool:
        """Whether :meth:`award_first` is known to refuse any award of ``challenge`` in ``period``
        (asked only of memory: False may also mean "not known")."""
        return (challenge, period) in self._decided

    def award_kudos(self, event_id: str, giver: str | None, taker: str, day: str, points: float,
                    per_sender_per_day: int, now: datetime | None = None) -> bool:
        """A kudos award to ``taker``, unless ``giver`` has used up the day's kudos or is ``taker``;
        never without a giver (no limit could hold them). Checking the count and
        inserting happen in one transaction, so two polls cannot both squeeze in."""
        if giver is None or giver == taker:
            return False
        stamp = (now or datetime.now(timezone.utc)).isoformat(timespec="seconds")
        if event_id in self._paid:
            return False
        with self._lock, immediate(self._db):
            outcome = kudos_in(self._db, event_id, giver, taker, day, points, per_sender_per_day, stamp)
        if outcome != "limit":  # the event's award is in the ledger, for good: its next offers need no transaction
            if len(self._paid) > PRESENT_CAP:
                self._paid.clear()
            self._paid.add(event_id)
        if outcome == "awarded":
            fault(AWARDED)
        return outcome == "awarded"

    def recorded(self, event_ids: list[str]) -> dict[str, float]:
        """The points recorded for each of these feed events that the ledger holds an award for."""
        out: dict[str, float] = {}
        with self._lock:
            for start in range(0, len(event_ids), 500):  # SQLite's limit on bound parameters
                chunk = event_ids[start:start + 500]
                out.update(self._db.execute(f"SELECT event_id, points FROM awards WHERE event_id IN "
                                            f"({','.join('?' * len(chunk))})", chunk).fetchall())
        return out

    def subjects_won(self, challenge: str, subject_kind: str, period: str) -> list[str]:
        with self._lock:
            return [row[0] for row in self._db.execute(
                "SELECT subject FROM awards WHERE challenge = ? AND subject_kind = ? AND period = ? AND source != ? ORDER BY id",
                (challenge, subject_kind, period, SHOP))]

    def periods_won(self, challenge: str, subject_kind: str, subject: str, periods: list[str]) -> set[str]:
        """Which of ``periods`` the subject won ``challenge`` in."""
        marks = ",".join("?" * len(periods))
        with self._lock:
            return {row[0] for row in self._db.execute(
                f"SELECT period FROM awards WHERE challenge = ? AND subject_kind = ? AND subject = ? "
                f"AND source != ? AND period IN ({marks})", (challenge, subject_kind, subject, SHOP, *periods))}

    def periods_won_by(self, challenge: str, subject_kind: str, periods: list[str]) -> dict[str, set[str]]:
        """Which of ``periods`` each subject won ``challenge`` in: :meth:`periods_won` for everybody
        in one query (a streak asks it of every winner, every poll)."""
        marks = ",".join("?" * len(periods))
        out: dict[str, set[str]] = {}
        with self._lock:
            for subject, period in self._db.execute(
                    f"SELECT subject, period FROM awards WHERE challenge = ? AND subject_kind = ? AND source != ? "
                    f"AND period IN ({marks})", (challenge, subject_kind, SHOP, *periods)):
                out.setdefault(subject, set()).add(period)
        return out

    def completions(self) -> dict[tuple[str, str], int]:
        """How many challenges each agent and team has completed (kudos and the shop not counted)."""
        with self._lock:
            return {(k, s): n for k, s, n in self._db.execute(
                "SELECT subject_kind, subject, COUNT(*) FROM awards WHERE challenge NOT IN (?, ?) AND source != ? "
                "GROUP BY subject_kind, subject", (KUDOS, KUDOS_UNDONE, SHOP))}

    def latest_winners(self, challenges: list[str], since: str = "") -> list[tuple[str, str, str]]:
        """(challenge, subject kind, subject) of the most recent award of each challenge, in periods ≥ ``since``."""
        if not challenges:
            return []
        marks = ",".join("?" * len(challenges))
        with self._lock:
            return [(c, k, s) for c, k, s in self._db.execute(
                f"SELECT challenge, subject_kind, subject FROM awards a WHERE challenge IN ({marks}) AND period >= ? "
                f"AND source != ? AND id = (SELECT MAX(id) FROM awards WHERE challenge = a.challenge AND source != ?)",
                (*challenges, since, SHOP, SHOP))]

    def balances(self) -> list[tuple[str, str, float, int]]:
        """(subject kind, subject, total points, number of awards), highest first."""
        with self._lock:
            return [(k, s, p, n) for k, s, p, n in self._db.execute(
                "SELECT subject_kind, subject, SUM(points), COUNT(*) FROM awards GROUP BY subject_kind, subject "
                "ORDER BY SUM(points) DESC, subject")]

    def remember_names(self, names: Iterable[tuple[str, str, str]]) -> None:
        """Keep (subject kind, subject, name) for ``chalkwall points`` (the latest name wins)."""
        with self._lock:
            self._db.executemany("INSERT OR REPLACE INTO names VALUES (?, ?, ?)", list(names))

    def names(self) -> dict[tuple[str, str], str]:
        """(subject kind, subject) → the name it had when last awarded."""
        with self._lock:
            return {(k, s): n for k, s, n in self._db.execute("SELECT subject_kind, subject, name FROM names")}

    def rows(self) -> Iterable[tuple[object, ...]]:
        with self._lock:
            return self._db.execute("SELECT id, awarded_at, subject_kind, subject, challenge, period, points, source,"
                                    " giver FROM awards ORDER BY id").fetchall()

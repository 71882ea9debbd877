"""Thank-yous given on the team page: a ``thanks`` table in the state file, paid through the ledger.

Each thank-you (giver, taker, text, public or quiet, when, when undone) is a row here, and its
points a kudos award in the ledger under the event id ``web:<id>``. Both are written in one
``BEGIN IMMEDIATE`` transaction through :func:`feeds.game.ledger.kudos_in` — the same check the
feed's kudos pass — so the sender's daily limit holds across the feed's kudos and the page's
together, and a crash leaves either both or neither. The form carries a one-time key (``form``,
UNIQUE): the same form posted twice is one thank-you, paid once.

Undo (by the giver, within ``UNDO_SECONDS``) marks the row undone and adds a reversing
``kudos_undone`` row to the ledger rather than deleting the award: the history stays honest (a
payout already exported can be squared), and the sender's day gets its kudos back.
"""

from __future__ import annotations

import sqlite3
import threading
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from feeds.db import connect
from feeds.game.ledger import SCHEMA as LEDGER_SCHEMA
from feeds.game.ledger import kudos_in, kudos_used, undo_kudos_in

TEXT_MAX = 280
UNDO_SECONDS = 600
EVENT_PREFIX = "web:"
SCHEMA = """
CREATE TABLE IF NOT EXISTS thanks (
    id INTEGER PRIMARY KEY,
    form TEXT NOT NULL UNIQUE,   -- the form's one-time key: the same form posted twice is one thank-you
    giver TEXT NOT NULL,
    taker TEXT NOT NULL,
    text TEXT NOT NULL,
    public INTEGER NOT NULL,     -- 1: a toast on the wall; 0: quiet, only the taker sees it
    given_at TEXT NOT NULL,      -- ISO 8601, UTC
    undone_at TEXT               -- NULL while it stands
);
CREATE INDEX IF NOT EXISTS thanks_by_taker ON thanks (taker);
CREATE INDEX IF NOT EXISTS thanks_by_giver ON thanks (giver, given_at);
"""
_COLUMNS = "id, giver, taker, text, public, given_at, undone_at"


def _can_take_back(db: sqlite3.Connection, thank: Thank) -> bool:
    """Whether the one thanked still has the points to give back (the shop may have held them):
    an undo never takes a balance below zero, as no shop request may."""
    award = db.execute("SELECT points FROM awards WHERE event_id = ?", (thank.event_id,)).fetchone()
    if award is None:
        return True
    balance = db.execute("SELECT COALESCE(SUM(points), 0) FROM awards WHERE subject_kind = 'agent' AND subject = ?",
                         (thank.taker,)).fetchone()[0]
    return float(balance) >= float(award[0]) - 1e-9


class Refused(Exception):
    """A thank-you (or an undo) that cannot be: the message is a sentence for the person, the
    status the HTTP status a page answers it with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Thank:
    id: int
    giver: str
    taker: str
    text: str
    public: bool
    given_at: str
    undone_at: str | None = None

    @property
    def event_id(self) -> str:
        return f"{EVENT_PREFIX}{self.id}"

    def undoable(self, now: datetime) -> bool:
        return self.undone_at is None and now - datetime.fromisoformat(self.given_at) < timedelta(seconds=UNDO_SECONDS)


@dataclass(frozen=True)
class LedgerRow:
    """One of a person's ledger rows, for the Me page."""

    awarded_at: str
    challenge: str
    period: str
    points: float
    source: str
    giver: str | None
    text: str | None  # a team-page thank-you's words


def visible_length(text: str) -> int:
    """How many characters a person sees: combining marks, variation selectors, skin tones and the
    parts of a ZWJ emoji sequence add none, a pair of regional indicators (a flag) counts once.
    (An approximation of Unicode's grapheme clusters, without a dependency for it.)"""
    count, after_zwj, flag_open = 0, False, False
    for ch in unicodedata.normalize("NFC", text):
        code = ord(ch)
        if ch == "\u200d":
            after_zwj = True
            continue
        if after_zwj or unicodedata.category(ch).startswith("M") or 0x1F3FB <= code <= 0x1F3FF:
            after_zwj = False
            continue
        if 0x1F1E6 <= code <= 0x1F1FF:
            flag_open = not flag_open
            if not flag_open:
                continue  # the second half of a flag
        else:
            flag_open = False
        count += 1
    return count


def clean_text(text: str) -> str:
    """The words as kept and shown: NFC, on one line, trimmed. Raises Refused when empty, longer
    than ``TEXT_MAX`` seen characters, or holding control characters."""
    words = unicodedata.normalize("NFC", " ".join(text.split()))
    if not words:
        raise Refused("Say what you are thanking them for: a few words.")
    if any(unicodedata.category(ch) == "Cc" for ch in words):
        raise Refused("The text holds control characters; type it again.")
    length = visible_length(words)
    if length > TEXT_MAX:
        raise Refused(f"That is {length} characters; a thank-you is at most {TEXT_MAX}.")
    return words


class ThanksStore:
    """The ``thanks`` table and its ledger rows; safe to share between threads."""

    def __init__(self, directory: Path) -> None:
        self._db = connect(directory, autocommit=True, synchronous="FULL")  # points are money-like: as the ledger
        self._lock = threading.Lock()
        self._db.executescript(LEDGER_SCHEMA + SCHEMA)

    def close(self) -> None:
        self._db.close()

    def give(self, form: str, giver: str, taker: str, text: str, public: bool, *, day: str, points: float,
             per_sender_per_day: int, now: datetime | None = None) -> tuple[Thank, bool]:
        """Record a thank-you and its points; (it, True when new). The same ``form`` again returns
        the first one with False. Raises Refused for oneself, bad text or the day's limit used up."""
        if giver == taker:
            raise Refused("You cannot thank yourself — thank a colleague who helped you.")
        words = clean_text(text)
        if not form or len(form) > 100:
            raise Refused("This form has no key; reload the page and try again.")
        stamp = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).isoformat(timespec="seconds")
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute(f"SELECT {_COLUMNS} FROM thanks WHERE form = ?", (form,)).fetchone()
                if row is not None:
                    self._db.execute("COMMIT")
                    thank = _thank(row)
                    if thank.giver != giver:
                        raise Refused("This form was already used; reload the page and try again.")
                    return thank, False
                cursor = self._db.execute(
                    "INSERT INTO thanks (form, giver, taker, text, public, given_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (form, giver, taker, words, int(public), stamp))
                thank = Thank(int(cursor.lastrowid or 0), giver, taker, words, public, stamp)
                outcome = kudos_in(self._db, thank.event_id, giver, taker, day, points, per_sender_per_day, stamp)
                if outcome != "awarded":  # "limit" ("duplicate" cannot be: the id is new)
                    self._db.execute("ROLLBACK")
                    raise Refused(f"You have given your {per_sender_per_day} thanks for today (thanks on the "
                                  "wall count too). Tomorrow brings new ones.", 429)
                self._db.execute("COMMIT")
                return thank, True
            except Refused:
                raise
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def undo(self, thank_id: int, by: str, now: datetime | None = None) -> Thank:
        """Take back ``by``'s own thank-you and its points, within ``UNDO_SECONDS``; the undone one.
        Raises Refused when it is not theirs, already undone, or too old."""
        moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
        stamp = moment.isoformat(timespec="seconds")
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute(f"SELECT {_COLUMNS} FROM thanks WHERE id = ?", (thank_id,)).fetchone()
                thank = _thank(row) if row else None
                problem = (("There is no such thank-you of yours.", 404) if thank is None or thank.giver != by
                           else ("That thank-you was already undone.", 409) if thank.undone_at is not None
                           else (f"Thanks can be undone for {UNDO_SECONDS // 60} minutes; this one stands.", 409)
                           if not thank.undoable(moment) else None)
                if problem is None and thank is not None and not _can_take_back(self._db, thank):
                    problem = ("The points of this thank-you are already spent in the shop, so it stands.", 409)
                if problem is not None:
                    self._db.execute("COMMIT")
                    raise Refused(*problem)
                assert thank is not None
                self._db.execute("UPDATE thanks SET undone_at = ? WHERE id = ?", (stamp, thank_id))
                undo_kudos_in(self._db, thank.event_id, stamp)
                self._db.execute("COMMIT")
                return Thank(thank.id, thank.giver, thank.taker, thank.text, thank.public, thank.given_at, stamp)
            except Refused:
                raise
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def used_today(self, giver: str, day: str) -> int:
        """How many of ``day``'s kudos ``giver`` has used (the feed's and the page's)."""
        with self._lock:
            return kudos_used(self._db, giver, day)

    def given_by(self, giver: str, limit: int = 20) -> list[Thank]:
        return self._select("WHERE giver = ? ORDER BY id DESC LIMIT ?", (giver, limit))

    def received_by(self, taker: str, limit: int = 100) -> list[Thank]:
        """What ``taker`` was thanked for, public and quiet, newest first; undone ones left out."""
        return self._select("WHERE taker = ? AND undone_at IS NULL ORDER BY id DESC LIMIT ?", (taker, limit))

    def ledger_of(self, agent: str) -> list[LedgerRow]:
        """Every ledger row of ``agent``'s, newest first, with the words of the team page's thanks."""
        with self._lock:
            rows = self._db.execute(
                "SELECT a.awarded_at, a.challenge, a.period, a.points, a.source, a.giver, t.text FROM awards a "
                "LEFT JOIN thanks t ON a.event_id LIKE 'web:%' AND t.id = CAST(substr(a.event_id, 5) AS INTEGER) "
                "WHERE a.subject_kind = 'agent' AND a.subject = ? ORDER BY a.id DESC", (agent,)).fetchall()
        return [LedgerRow(str(r[0]), str(r[1]), str(r[2]), float(r[3]), str(r[4]), r[5], r[6]) for r in rows]

    def get(self, thank_id: int) -> Thank | None:
        found = self._select("WHERE id = ?", (thank_id,))
        return found[0] if found else None

    def _select(self, where: str, args: tuple[object, ...]) -> list[Thank]:
        with self._lock:
            return [_thank(r) for r in self._db.execute(f"SELECT {_COLUMNS} FROM thanks {where}", args)]


def _thank(row: tuple[int, str, str, str, int, str, str | None]) -> Thank:
    return Thank(int(row[0]), str(row[1]), str(row[2]), str(row[3]), bool(row[4]), str(row[5]),
                 None if row[6] is None else str(row[6]))

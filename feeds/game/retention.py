"""Retention: what the state file keeps about individuals is trimmed to ``[privacy] keep_days``.

Once a day (and when the wall starts) :func:`trim` reduces the history older than ``keep_days`` to
team and floor totals — each agent's own rows and time-of-day samples go — and forgets who an agent
was once they have been gone that long:

* ``totals`` and ``samples`` (feeds/game/history.py): an agent's rows last written more than
  ``keep_days`` ago are deleted; the team and floor rows stay (the record to beat, "yesterday").
  An agent who left the feed writes nothing more, so after ``keep_days`` nothing of them is left.
* the ledger (feeds/game/ledger.py) keeps every award and its points: a payout may still need them,
  so ids and amounts are never touched. Its ``names`` table (who an id was, for payroll) forgets
  the name of anyone with no award in ``keep_days``: ``chalkwall points`` then shows the id, or the
  name on the current board for someone still there. Who thanked whom (a kudos' ``giver``) is
  dropped from thank-yous older than ``keep_days``; the points stay with the one thanked.
* the team page's thank-yous (feeds/game/thanks.py: who, whom, the words) older than ``keep_days``
  are deleted; their points stay in the ledger.
* the last board (feeds/live/state.py) is the latest poll only: a leaver is gone from it at the next.
* someone who left the feed more than ``keep_days`` ago — no agent row of theirs in ``totals`` is
  left (the history writes one each day an agent is on the feed) — loses their privacy choice
  (``privacy_choices``, feeds/privacy/choices.py) and their team page entry (``people``, role
  ``agent``: their name and sign-in link, feeds/web/people.py), unless it was written or invited
  within ``keep_days``. Only while the history holds someone at all: a wall that has not run for
  ``keep_days`` does not forget its whole floor. Awards and their points are never touched.

Nothing here reads the clock: ``now`` is given, so tests run it on a real file at any date.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from feeds.db import connect
from feeds.logs import LOGGER, log_event

log = logging.getLogger(f"{LOGGER}.privacy")


@dataclass(frozen=True)
class Trimmed:
    """What one trim removed, by kind (for the log and the tests)."""

    totals: int = 0
    samples: int = 0
    names: int = 0
    givers: int = 0
    thanks: int = 0
    choices: int = 0
    people: int = 0

    def __bool__(self) -> bool:
        return bool(self.totals or self.samples or self.names or self.givers or self.thanks or self.choices
                    or self.people)


def _tables(db: sqlite3.Connection) -> set[str]:
    return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _leavers(db: sqlite3.Connection, tables: set[str], stamp: str) -> tuple[int, int]:
    """The privacy choices and team-page people of those gone from the feed (see the module); run
    after the totals' trim, in its transaction."""
    if "totals" not in tables or not db.execute("SELECT 1 FROM totals WHERE subject_kind = 'agent' LIMIT 1").fetchone():
        return 0, 0
    gone = "NOT IN (SELECT subject FROM totals WHERE subject_kind = 'agent')"
    choices = people = 0
    if "privacy_choices" in tables:
        choices = db.execute(f"DELETE FROM privacy_choices WHERE updated_at < ? AND agent {gone}", (stamp,)).rowcount
    if "people" in tables:
        people = db.execute(f"DELETE FROM people WHERE role = 'agent' AND COALESCE(invited_at, '') < ? AND id {gone}",
                            (stamp,)).rowcount
    return choices, people


def trim(directory: Path, keep_days: int, now: datetime) -> Trimmed:
    """Trim the state file in ``directory`` to ``keep_days`` before ``now`` (see the module)."""
    cutoff = now - timedelta(days=keep_days)
    stamp, day = cutoff.isoformat(timespec="seconds"), cutoff.date().isoformat()
    db = connect(directory)
    try:
        tables = _tables(db)
        with db:
            totals = samples = names = givers = thanks = 0
            if "totals" in tables:
                totals = db.execute("DELETE FROM totals WHERE subject_kind = 'agent' AND updated_at < ?",
                                    (stamp,)).rowcount
            if "samples" in tables:  # a day key is "day:YYYY-MM-DD"
                samples = db.execute("DELETE FROM samples WHERE subject_kind = 'agent' AND "
                                     "substr(day, instr(day, ':') + 1, 10) < ?", (day,)).rowcount
            if "names" in tables and "awards" in tables:
                names = db.execute("DELETE FROM names WHERE subject_kind = 'agent' AND subject NOT IN "
                                   "(SELECT subject FROM awards WHERE subject_kind = 'agent' AND awarded_at >= ?)",
                                   (stamp,)).rowcount
            if "awards" in tables:
                givers = db.execute("UPDATE awards SET giver = NULL WHERE giver IS NOT NULL AND awarded_at < ?",
                                    (stamp,)).rowcount
            if "thanks" in tables:
                thanks = db.execute("DELETE FROM thanks WHERE given_at < ?", (stamp,)).rowcount
            choices, people = _leavers(db, tables, stamp)
    finally:
        db.close()
    done = Trimmed(totals, samples, names, givers, thanks, choices, people)
    if done:
        log_event(log, logging.INFO, "retention_trimmed",
                  f"kept {keep_days} days of individual history: {totals} agent totals, {samples} samples, "
                  f"{names} names, {givers} kudos senders, {thanks} team-page thank-yous older than that, and "
                  f"{choices} privacy choices and {people} team-page people of leavers removed",
                  keep_days=keep_days, totals=totals, samples=samples, names=names, givers=givers, thanks=thanks,
                  choices=choices, people=people)
    return done


def trim_quietly(directory: Path, keep_days: int, now: datetime) -> Trimmed:
    """:func:`trim` for the scheduler: a locked or read-only file is logged, never raised."""
    try:
        return trim(directory, keep_days, now)
    except (OSError, sqlite3.Error) as exc:
        log_event(log, logging.WARNING, "retention_failed", f"cannot trim the history to keep_days: {exc}",
                  error=str(exc))
        return Trimmed()

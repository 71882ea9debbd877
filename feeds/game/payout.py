"""``chalkwall points``: the ledger as people read it — balances on screen, every award as CSV.

Subjects are shown by name (the name the ledger kept when they were last awarded, else the one on
the last board, else the id), points as whole numbers where they are whole, and each award's
challenge as one id column plus its title: a challenge of the config by its ``id`` and ``title``;
a kudos as ``kudos``; a completion the feed reported (which names it only by its title) as
``feed:`` and the title in lower case with dashes; a shop step as ``shop:hold``, ``shop:approve``,
``shop:fulfil`` or ``shop:refund`` with the item, the request and the step as its title
("Shop: Cinema tickets (request 3) — approved"; holds are negative, refunds positive). ``--since``/``--until`` are dates
(YYYY-MM-DD, both days included) in the ``[periods]`` time zone.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from feeds.game.challenges import _Blank
from feeds.config.schema import Config
from feeds.game.ledger import KUDOS, KUDOS_UNDONE, SHOP, Ledger
from feeds.game.shop import request_titles, row_title
from feeds.model import plain_number
from feeds.db import saved_board_json

_SLUG = re.compile(r"[^\w]+")
HEADER = ("id", "awarded_at", "subject_kind", "subject", "name", "challenge", "challenge_title", "period",
          "points", "source", "giver", "giver_name")


@dataclass(frozen=True)
class Window:
    """Awards from the start of ``since`` to the end of ``until`` (local dates; either may be open)."""

    start: datetime | None = None
    end: datetime | None = None  # exclusive: midnight after ``until``

    def holds(self, stamp: str) -> bool:
        when = datetime.fromisoformat(stamp)
        return (self.start is None or when >= self.start) and (self.end is None or when < self.end)


def parse_window(since: str | None, until: str | None, zone: str) -> Window:
    """The window for ``--since``/``--until``; ValueError naming the option when a date is not one."""
    tz = ZoneInfo(zone)

    def day(option: str, text: str) -> date:
        try:
            return date.fromisoformat(text.strip())
        except ValueError:
            raise ValueError(f"{option} {text!r}: expected a date as YYYY-MM-DD, e.g. 2026-11-01") from None

    start = datetime.combine(day("--since", since), time(), tz) if since else None
    end = datetime.combine(day("--until", until) + timedelta(days=1), time(), tz) if until else None
    if start is not None and end is not None and end <= start:
        raise ValueError(f"--until {until} is before --since {since}")
    return Window(start, end)


def number(points: float) -> str:
    """25.0 → "25", 2.5 → "2.5": what a payroll sheet expects."""
    return str(plain_number(points))


def feed_challenge_id(title: str) -> str:
    return "feed:" + (_SLUG.sub("-", title.lower()).strip("-") or "untitled")


@dataclass(frozen=True)
class Award:
    id: int
    awarded_at: str
    subject_kind: str
    subject: str
    name: str
    challenge: str
    title: str
    period: str
    points: float
    source: str
    giver: str
    giver_name: str


class Report:
    """The ledger's awards with names and titles, for one config."""

    def __init__(self, ledger: Ledger, config: Config, board_names: dict[tuple[str, str], str] | None = None) -> None:
        self.names = {**(board_names or {}), **ledger.names()}
        self.titles = {c.id: c.title.format_map(_Blank(
            {"target": plain_number(c.target)} if isinstance(c.target, (int, float)) else {}))
            for c in config.challenges}
        self._rows = ledger.rows()
        self.shop_titles = request_titles(ledger.path)

    def name(self, kind: str, subject: str) -> str:
        return self.names.get((kind, subject), subject)

    def _challenge(self, key: str, source: str) -> tuple[str, str]:
        if key == KUDOS_UNDONE:
            return KUDOS_UNDONE, "Kudos undone"
        if source == "kudos" or key == KUDOS:
            return KUDOS, "Kudos"
        if source == "feed":
            return feed_challenge_id(key), key
        return key, self.titles.get(key, key)

    def awards(self, window: Window = Window()) -> list[Award]:
        out = []
        for row in self._rows:
            row_id, stamp, kind, subject, key, period, points, source, giver = (str(v) for v in row)
            if not window.holds(stamp):
                continue
            challenge, title = ((key, row_title(key, period, self.shop_titles)) if source == SHOP
                                else self._challenge(key, source))
            given = row[8] is not None
            out.append(Award(int(row_id), stamp, kind, subject, self.name(kind, subject), challenge, title,
                             period.partition("#")[0],  # a kudos' period carries its event id, for uniqueness
                             float(points), source, giver if given else "",
                             self.name("agent", giver) if given else ""))
        return out

    def balances(self, window: Window = Window()) -> list[tuple[str, str, str, float, int]]:
        """(name, kind, id, points, awards), highest first."""
        totals: dict[tuple[str, str], tuple[float, int]] = {}
        for award in self.awards(window):
            points, count = totals.get((award.subject_kind, award.subject), (0.0, 0))
            totals[(award.subject_kind, award.subject)] = (points + award.points, count + 1)
        rows = [(self.name(k, s), k, s, p, n) for (k, s), (p, n) in totals.items()]
        return sorted(rows, key=lambda r: (-r[3], r[0].casefold(), r[2]))


def table(rows: Iterable[tuple[str, str, str, float, int]]) -> str:
    lines = [f"{'name':<28} {'kind':<6} {'points':>10} {'awards':>7}  id"]
    for name, kind, subject, points, count in rows:
        lines.append(f"{name[:28]:<28} {kind:<6} {number(points):>10} {count:>7}  {subject}")
    return "\n".join(lines)


def export_csv(awards: Iterable[Award], out: TextIO) -> int:
    """Every award as CSV, one row each in the order awarded; the number of rows."""
    writer = csv.writer(out)
    writer.writerow(HEADER)
    n = 0
    for a in awards:
        writer.writerow([a.id, a.awarded_at, a.subject_kind, a.subject, a.name, a.challenge, a.title, a.period,
                         number(a.points), a.source, a.giver, a.giver_name])
        n += 1
    return n


def board_names(directory: Path) -> dict[tuple[str, str], str]:
    """Names from the last board the wall saved there (read only), for subjects the ledger has no name for."""
    from feeds.connectors.parse import parse_document

    text = saved_board_json(directory)
    if text is None:
        return {}
    try:
        snapshot = parse_document(text.encode(), len(text.encode()) + 1)
    except Exception:  # an unreadable board only costs the names
        return {}
    return {**{("team", t.id): t.name for t in snapshot.teams}, **{("agent", a.id): a.name for a in snapshot.agents}}

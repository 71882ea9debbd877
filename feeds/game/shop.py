"""The shop: items people spend their points on, their requests, and every step as a ledger row.

Admins define items (a name, a cost in points, an optional stock, a tax note). A person's request
*holds* the cost at once: a negative row in the ``awards`` table of :mod:`feeds.game.ledger`
(source ``"shop"``), so the ledger's balances stay the one source of truth. An admin then
approves and, once handed over, marks it fulfilled (zero-point rows, so the CSV shows who got
what and when), or declines it: a positive row gives the points back and the stock returns.

Every step is one ``BEGIN IMMEDIATE`` transaction on the state file: the balance and the stock
are read and the hold written under SQLite's write lock, so two requests racing for the last
points or the last item (two threads, two processes, two browser tabs) cannot both get through,
and a balance never goes below zero. Each step's row has its own ``event_id``
(``shop:REQUEST:STEP``), so no step is ever recorded twice.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from feeds.db import DB_NAME, connect, immediate
from feeds.game.ledger import SCHEMA as LEDGER_SCHEMA
from feeds.game.ledger import SHOP

Tax = Literal["taxable", "tax_free", "ask"]
Status = Literal["pending", "approved", "fulfilled", "declined"]
Step = Literal["hold", "approve", "fulfil", "refund"]
# What each kind of item means for tax in Sweden (../shared/docs/people.md §3.4), shown to everyone.
TAX_NOTES: dict[Tax, str] = {
    "taxable": "Taxable (Sweden): a prize from a work competition is income — gift cards, goods, "
               "tickets, trips. Payroll reports it as a benefit.",
    "tax_free": "Usually tax-free (Sweden): flowers, simple refreshments such as a team fika, a "
                "tax-free wellness activity (friskvård), or a simple garment with the company logo.",
    "ask": "Ask payroll whether this is taxable before it is handed over.",
}
TAX_LABELS: dict[Tax, str] = {"taxable": "taxable", "tax_free": "tax-free", "ask": "ask payroll"}
STEP_LABELS: dict[str, str] = {"hold": "requested (points held)", "approve": "approved",
                               "fulfil": "fulfilled", "refund": "declined (points back)"}
STEP_OF_CHALLENGE = {f"{SHOP}:{step}": step for step in STEP_LABELS}
REQUEST_COLUMNS = "id, item_id, item_name, person, cost, tax, status, reason, requested_at, decided_at, fulfilled_at"
SCHEMA = """
CREATE TABLE IF NOT EXISTS shop_items (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    cost REAL NOT NULL CHECK (cost > 0),
    stock INTEGER CHECK (stock IS NULL OR stock >= 0),  -- NULL: no limit; a request takes one, a decline gives it back
    tax TEXT NOT NULL CHECK (tax IN ('taxable', 'tax_free', 'ask')),
    tax_note TEXT NOT NULL DEFAULT '',                   -- the admin's own words; empty: the preset's
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS shop_requests (
    id INTEGER PRIMARY KEY,
    item_id INTEGER NOT NULL REFERENCES shop_items (id),
    item_name TEXT NOT NULL,   -- as the item was named when asked for
    person TEXT NOT NULL,      -- the agent id (the ledger's subject)
    cost REAL NOT NULL,        -- as it cost when asked for: what the hold took
    tax TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'fulfilled', 'declined')),
    reason TEXT NOT NULL DEFAULT '',  -- why it was declined, for the person to see
    requested_at TEXT NOT NULL,
    decided_at TEXT,
    fulfilled_at TEXT
);
CREATE INDEX IF NOT EXISTS shop_requests_by_person ON shop_requests (person, id);
CREATE INDEX IF NOT EXISTS shop_requests_by_status ON shop_requests (status, id);
"""
EPSILON = 1e-9  # points are REAL: 0.1 + 0.2 must still buy an item costing 0.3


class Refused(Exception):
    """A shop step that cannot happen, with a message for the person who tried it."""


@dataclass(frozen=True)
class Item:
    id: int
    name: str
    cost: float
    stock: int | None
    tax: Tax
    tax_note: str
    active: bool

    @property
    def note(self) -> str:
        """What people read about tax: the admin's own note, else the preset's."""
        return self.tax_note or TAX_NOTES[self.tax]

    @property
    def tax_label(self) -> str:
        return TAX_LABELS[self.tax]

    @property
    def sold_out(self) -> bool:
        return self.stock is not None and self.stock <= 0


@dataclass(frozen=True)
class Request:
    id: int
    item_id: int
    item_name: str
    person: str
    cost: float
    tax: Tax
    status: Status
    reason: str
    requested_at: str
    decided_at: str | None
    fulfilled_at: str | None


def _stamp(now: datetime | None) -> datetime:
    return now or datetime.now(timezone.utc)


class Shop:
    """The shop's items and requests on the state file in ``directory``; safe to share between
    threads (one connection, one lock) and between processes (SQLite's write lock)."""

    def __init__(self, directory: Path, zone: str = "UTC") -> None:
        self.path = directory / DB_NAME
        self.zone = ZoneInfo(zone)
        self._db = connect(directory, autocommit=True, synchronous="FULL")
        self._lock = threading.Lock()
        self._db.executescript(LEDGER_SCHEMA + SCHEMA)

    def close(self) -> None:
        self._db.close()

    # --- items -----------------------------------------------------------------------
    def add_item(self, name: str, cost: float, stock: int | None, tax: Tax, tax_note: str = "",
                 now: datetime | None = None) -> int:
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO shop_items (name, cost, stock, tax, tax_note, active, created_at) VALUES (?, ?, ?, ?, ?, 1, ?)",
                (name, cost, stock, tax, tax_note, _stamp(now).isoformat(timespec="seconds")))
            return int(cursor.lastrowid or 0)

    def edit_item(self, item_id: int, name: str, cost: float, stock: int | None, tax: Tax, tax_note: str = "") -> bool:
        """Change an item; requests already made keep the name and cost they were made at."""
        with self._lock:
            cursor = self._db.execute("UPDATE shop_items SET name = ?, cost = ?, stock = ?, tax = ?, tax_note = ? "
                                      "WHERE id = ?", (name, cost, stock, tax, tax_note, item_id))
            return cursor.rowcount > 0

    def set_active(self, item_id: int, active: bool) -> bool:
        """Retire an item (no new requests; those made go on) or bring it back."""
        with self._lock:
            cursor = self._db.execute("UPDATE shop_items SET active = ? WHERE id = ?", (int(active), item_id))
            return cursor.rowcount > 0

    def items(self, active_only: bool = False) -> list[Item]:
        where = "WHERE active = 1" if active_only else ""
        return self._items(where + " ORDER BY active DESC, cost, name COLLATE NOCASE")

    def _items(self, tail: str, args: tuple[object, ...] = ()) -> list[Item]:
        with self._lock:
            rows = self._db.execute(f"SELECT id, name, cost, stock, tax, tax_note, active FROM shop_items {tail}",
                                    args).fetchall()
        return [Item(r[0], r[1], float(r[2]), r[3], r[4], r[5], bool(r[6])) for r in rows]

    def item(self, item_id: int) -> Item | None:
        found = self._items("WHERE id = ?", (item_id,))
        return found[0] if found else None

    # --- requests ----------------------------------------------------------------------
    def requests(self, person: str | None = None, statuses: tuple[Status, ...] = ()) -> list[Request]:
        """Requests, newest first: one person's, and/or those in ``statuses``."""
        where, args = self._where(person, statuses)
        with self._lock:
            rows = self._db.execute(f"SELECT {REQUEST_COLUMNS} FROM shop_requests {where} ORDER BY id DESC", args).fetchall()
        return [_request(r) for r in rows]

    @staticmethod
    def _where(person: str | None = None, statuses: tuple[Status, ...] = (), request_id: int | None = None
               ) -> tuple[str, list[object]]:
        terms, args = [], []  # type: ignore[var-annotated]
        for term, value in (("person = ?", person), ("id = ?", request_id)):
            if value is not None:
                terms.append(term)
                args.append(value)
        if statuses:
            terms.append(f"status IN ({','.join('?' * len(statuses))})")
            args += statuses
        return ("WHERE " + " AND ".join(terms) if terms else ""), args

    def count(self, statuses: tuple[Status, ...]) -> int:
        where, args = self._where(statuses=statuses)
        with self._lock:
            return int(self._db.execute(f"SELECT COUNT(*) FROM shop_requests {where}", args).fetchone()[0])

    def get(self, request_id: int) -> Request | None:
        where, args = self._where(request_id=request_id)
        with self._lock:
            row = self._db.execute(f"SELECT {REQUEST_COLUMNS} FROM shop_requests {where}", args).fetchone()
        return None if row is None else _request(row)

    def balance(self, person: str) -> float:
        """``person``'s points: every ledger row of theirs, shop holds and refunds included."""
        with self._lock:
            return self._balance(person)

    def _balance(self, person: str) -> float:
        row = self._db.execute("SELECT COALESCE(SUM(points), 0) FROM awards WHERE subject_kind = 'agent' "
                               "AND subject = ?", (person,)).fetchone()
        return float(row[0])

    def request(self, person: str, item_id: int, now: datetime | None = None) -> Request:
        """Ask for an item: the cost is held from ``person``'s balance and one of its stock taken,
        both in one transaction with the check; Refused (nothing written) when it cannot be."""
        when = _stamp(now)
        with self._lock:
            with immediate(self._db):
                row = self._db.execute("SELECT name, cost, stock, tax, active FROM shop_items WHERE id = ?",
                                       (item_id,)).fetchone()
                if row is None or not row[4]:
                    raise Refused("That item is not in the shop any more.")
                name, cost, stock, tax = row[0], float(row[1]), row[2], row[3]
                if stock is not None and stock <= 0:
                    raise Refused(f"{name} is sold out.")
                balance = self._balance(person)
                if balance + EPSILON < cost:
                    raise Refused(f"{name} costs {_points(cost)} points and you have {_points(balance)}: "
                                  f"{_points(cost - balance)} more to go.")
                cursor = self._db.execute(
                    "INSERT INTO shop_requests (item_id, item_name, person, cost, tax, status, requested_at) "
                    "VALUES (?, ?, ?, ?, ?, 'pending', ?)",
                    (item_id, name, person, cost, tax, when.isoformat(timespec="seconds")))
                request_id = int(cursor.lastrowid or 0)
                if stock is not None:
                    self._db.execute("UPDATE shop_items SET stock = stock - 1 WHERE id = ?", (item_id,))
                self._row(request_id, person, "hold", -cost, when)
        found = self.get(request_id)
        assert found is not None
        return found

    def approve(self, request_id: int, now: datetime | None = None) -> Request:
        return self._step(request_id, ("pending",), "approved", "approve", now)

    def fulfil(self, request_id: int, now: datetime | None = None) -> Request:
        return self._step(request_id, ("approved",), "fulfilled", "fulfil", now)

    def decline(self, request_id: int, reason: str = "", now: datetime | None = None) -> Request:
        """Decline a request not yet fulfilled: its points come back, and its stock."""
        return self._step(request_id, ("pending", "approved"), "declined", "refund", now, reason)

    def _step(self, request_id: int, from_: tuple[Status, ...], to: Status, step: Step,
              now: datetime | None, reason: str = "") -> Request:
        when = _stamp(now)
        stamp = when.isoformat(timespec="seconds")
        with self._lock:
            with immediate(self._db):
                row = self._db.execute("SELECT person, cost, status, item_id FROM shop_requests WHERE id = ?",
                                       (request_id,)).fetchone()
                if row is None:
                    raise Refused(f"There is no request {request_id}.")
                person, cost, status, item_id = row[0], float(row[1]), row[2], row[3]
                if status not in from_:
                    raise Refused(f"Request {request_id} is {status} already: it cannot be {to} now.")
                column = "fulfilled_at" if step == "fulfil" else "decided_at"
                self._db.execute(f"UPDATE shop_requests SET status = ?, reason = ?, {column} = ? WHERE id = ?",
                                 (to, reason, stamp, request_id))
                if step == "refund":
                    self._db.execute("UPDATE shop_items SET stock = stock + 1 WHERE id = ? AND stock IS NOT NULL",
                                     (item_id,))
                self._row(request_id, person, step, cost if step == "refund" else 0.0, when)
        found = self.get(request_id)
        assert found is not None
        return found

    def _row(self, request_id: int, person: str, step: Step, points: float, when: datetime) -> None:
        """The step's ledger row (inside the caller's transaction). Its period is the local day and
        the request (the CSV shows the day); its event id makes the step once only."""
        day = when.astimezone(self.zone).date().isoformat()
        self._db.execute(
            "INSERT INTO awards (challenge, subject_kind, subject, period, points, awarded_at, source, giver, event_id)"
            " VALUES (?, 'agent', ?, ?, ?, ?, ?, NULL, ?)",
            (f"{SHOP}:{step}", person, f"{day}#{request_id}", points, when.isoformat(timespec="seconds"), SHOP,
             f"{SHOP}:{request_id}:{step}"))


def _points(value: float) -> str:
    return f"{value:g}" if value != int(value) else str(int(value))


def _request(r: tuple[Any, ...]) -> Request:
    return Request(r[0], r[1], r[2], r[3], float(r[4]), r[5], r[6], r[7], r[8], r[9], r[10])


def request_titles(path: Path) -> dict[int, str]:
    """Each request's item name, read only from the state file at ``path`` (for ``chalkwall
    points``, which must not write); empty when there is no shop yet."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return {int(i): str(n) for i, n in db.execute("SELECT id, item_name FROM shop_requests")}
        finally:
            db.close()
    except sqlite3.Error:
        return {}


def row_title(challenge: str, period: str, titles: dict[int, str]) -> str:
    """A shop row's title for people: "Shop: Cinema tickets (request 3) — approved"."""
    step = STEP_OF_CHALLENGE.get(challenge, challenge.partition(":")[2])
    number = period.partition("#")[2]
    name = titles.get(int(number), "an item") if number.isdigit() else "an item"
    return f"Shop: {name} (request {number or '?'}) — {STEP_LABELS.get(step, step)}"

"""Who may use the team page: one ``people`` table in the state SQLite file.

A person is an agent id from the board's roster, or a name for someone outside the feed; each has a
role and a personal sign-in link. The link's token is 32 random bytes, shown once by
``chalkwall people invite`` and kept only as its SHA-256: a random token that long needs no slow
hash, and a leaked database gives no one a way in. Re-inviting replaces the token (the old link and
the sessions it made stop working); revoking keeps the row, marked, so nobody comes back by it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from feeds.db import DB_NAME, connect

Role = Literal["agent", "role_model", "watcher", "admin"]
ROLES: tuple[Role, ...] = ("agent", "role_model", "watcher", "admin")
ROLE_LABELS = {"agent": "agent", "role_model": "role model", "watcher": "watcher", "admin": "admin"}
SCHEMA = """
CREATE TABLE IF NOT EXISTS people (
    id TEXT PRIMARY KEY,            -- the agent id on the board, or a name for someone outside the feed
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('agent', 'role_model', 'watcher', 'admin')),
    token_sha256 TEXT UNIQUE,       -- of the personal sign-in link's token; NULL before an invite
    revoked INTEGER NOT NULL DEFAULT 0,
    invited_at TEXT
);
"""


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    role: Role
    token_sha256: str | None
    revoked: bool
    invited_at: str | None

    @property
    def role_label(self) -> str:
        return ROLE_LABELS[self.role]

    @property
    def session_mark(self) -> str:
        """What a session remembers of the link it came by: a new link or a revoke ends the session."""
        return "" if self.revoked or not self.token_sha256 else self.token_sha256[:16]


class People:
    """The people table; safe to share between threads (one connection, one lock)."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / DB_NAME
        self._db = connect(directory, autocommit=True)
        self._lock = threading.Lock()
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    def _rows(self, sql: str, args: tuple[object, ...] = ()) -> list[Person]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT id, name, role, token_sha256, revoked, invited_at FROM people {sql}", args).fetchall()
        return [Person(r[0], r[1], r[2], r[3], bool(r[4]), r[5]) for r in rows]

    def all(self) -> list[Person]:
        return self._rows("ORDER BY name COLLATE NOCASE, id")

    def get(self, person_id: str) -> Person | None:
        found = self._rows("WHERE id = ?", (person_id,))
        return found[0] if found else None

    def invite(self, person_id: str, name: str | None = None, role: Role | None = None,
               now: datetime | None = None) -> str:
        """A new sign-in token for ``person_id`` (added when new, un-revoked when not); the old link
        stops working. The token is returned once and kept only as its hash."""
        if not person_id.strip():
            raise ValueError("a person needs an id (the agent id on the board, or a name)")
        if role is not None and role not in ROLES:
            raise ValueError(f'role must be one of {", ".join(ROLES)}, not "{role}"')
        token = secrets.token_urlsafe(32)
        stamp = (now or datetime.now(timezone.utc)).isoformat(timespec="seconds")
        with self._lock:
            self._db.execute(
                "INSERT INTO people (id, name, role, token_sha256, revoked, invited_at) VALUES (?, ?, ?, ?, 0, ?)"
                " ON CONFLICT (id) DO UPDATE SET token_sha256 = excluded.token_sha256, revoked = 0,"
                " invited_at = excluded.invited_at, name = COALESCE(?, people.name), role = COALESCE(?, people.role)",
                (person_id, name or person_id, role or "agent", token_digest(token), stamp, name, role))
        return token

    def revoke(self, person_id: str) -> bool:
        """Revoke ``person_id``'s link and sessions; False when there is no such person."""
        with self._lock:
            cursor = self._db.execute("UPDATE people SET revoked = 1, token_sha256 = NULL WHERE id = ?",
                                      (person_id,))
        return cursor.rowcount > 0

    def set_role(self, person_id: str, role: Role) -> bool:
        """Give ``person_id`` another role (their link and sessions go on); False when there is no such person."""
        if role not in ROLES:
            raise ValueError(f'role must be one of {", ".join(ROLES)}, not "{role}"')
        with self._lock:
            cursor = self._db.execute("UPDATE people SET role = ? WHERE id = ?", (role, person_id))
        return cursor.rowcount > 0

    def by_token(self, token: str) -> Person | None:
        """The person whose live link carries ``token``; None for an unknown or revoked one."""
        if not 20 <= len(token) <= 100:
            return None
        found = self._rows("WHERE token_sha256 = ? AND revoked = 0", (token_digest(token),))
        if not found or not hmac.compare_digest(found[0].token_sha256 or "", token_digest(token)):
            return None
        return found[0]

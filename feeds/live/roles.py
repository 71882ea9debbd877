"""Who is a role model: a manager or a colleague outside support who takes tickets, thanked in a
lane of their own and never ranked against agents nor counted in their races.

Three places say so, and any one is enough: the feed's ``role = "role_model"``, ``[roles]
role_models`` in config.toml, and the team page's people table (role ``role_model``). The people
table is read from the state file with plain SQL, not through ``feeds.web`` (the wall does not
depend on the web app); it is read again only when the file has changed, so a poll costs one
``PRAGMA data_version``.

The same table's watchers (role ``watcher``: they see the wall, they are not on it) are marked
``watcher`` and left out as role models are (no ranking, race or team total), and shown in no lane.
A person is one role on the team page; [roles] role_models in config.toml wins over it.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from feeds.board.build import with_role_models
from feeds.config.schema import ROLE_MODEL, WATCHER
from feeds.db import DB_NAME, connect
from feeds.logs import LOGGER
from feeds.model import Snapshot

log = logging.getLogger(f"{LOGGER}.roles")


class RoleModels:
    """Marks the role models and watchers of a snapshot (called by the coordinator on every poll)."""

    def __init__(self, configured: tuple[str, ...] = (), directory: Path | None = None) -> None:
        self.configured = frozenset(configured)
        self.directory = directory
        self._db: sqlite3.Connection | None = None
        self._version: int | None = None
        self._from_page: frozenset[str] = frozenset()
        self._watchers: frozenset[str] = frozenset()
        self._failing = False

    def ids(self) -> frozenset[str]:
        """Every role model's id: from config and, when there is one, the team page's table."""
        return self.configured | self._page()

    def changed(self) -> bool:
        """Whether the team page's table changed since the roles were last read (a feed that has
        not changed is then marked afresh: a role given in a quiet hour shows at the next poll)."""
        before = (self._from_page, self._watchers)
        self._page()  # the file changes with every thank-you and award: only a changed set of roles counts
        return (self._from_page, self._watchers) != before

    def __call__(self, snapshot: Snapshot) -> Snapshot:
        page = self._page()  # one look at the state file a poll
        marked = with_role_models(snapshot, self.configured | page)
        return with_role_models(marked, self._watchers - self.configured, WATCHER)

    def _page(self) -> frozenset[str]:
        if self.directory is None or not (self.directory / DB_NAME).exists():
            return self._from_page
        try:
            if self._db is None:
                self._db = connect(self.directory, autocommit=True)
            version = self._db.execute("PRAGMA data_version").fetchone()[0]
            if version != self._version:
                rows = self._db.execute("SELECT id, role FROM people WHERE role IN (?, ?)",
                                        (ROLE_MODEL, WATCHER)).fetchall()
                self._from_page = frozenset(str(i) for i, role in rows if role == ROLE_MODEL)
                self._watchers = frozenset(str(i) for i, role in rows if role == WATCHER)
                self._version = version
            self._failing = False
        except sqlite3.OperationalError as exc:
            if "no such table" not in str(exc) and not self._failing:  # no team page yet is no problem
                log.warning("cannot read the team page's role models and watchers (%s); using the last ones known", exc)
                self._failing = True
        except (OSError, sqlite3.Error) as exc:
            if not self._failing:
                log.warning("cannot read the team page's role models and watchers (%s); using the last ones known", exc)
                self._failing = True
        return self._from_page

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

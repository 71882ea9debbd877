"""Each person's own privacy choices, kept in the state SQLite file where the wall reads them.

The team page's Me page writes them; the wall reads them on every poll, so a choice applies within
one poll. A choice is about what the wall *shows*: a hidden person's work still counts for their
team. ``ranked`` is everyone's default; ``celebrate_only`` keeps a person out of every ranking but
still names them in celebrations and thanks; ``hidden`` keeps them out of rankings and names them
nowhere. An alias, when set, is shown wherever their name would be.

A hub's screens have no such file of their own that the team page writes: the hub reads its own and
publishes the choices (:func:`to_wire`, retained on ``chalkwall/<site>/privacy``); each screen's feed
keeps the last good message (feeds/bus/privacy.py), which the wall reads through :class:`HubChoices`
just as it reads a local :class:`Choices`.
"""

from __future__ import annotations

import threading
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from collections.abc import Mapping
from typing import Literal, get_args

from feeds.config.privacy import ALIAS_MAX, check_alias  # noqa: F401 - ALIAS_MAX: the team page's form
from feeds.bus.privacy import bus_choices
from feeds.db import connect

Ranking = Literal["ranked", "celebrate_only", "hidden"]
RANKINGS: tuple[Ranking, ...] = get_args(Ranking)
SCHEMA = """
CREATE TABLE IF NOT EXISTS privacy_choices (
    agent TEXT PRIMARY KEY,        -- the agent id on the board
    ranking TEXT NOT NULL CHECK (ranking IN ('ranked', 'celebrate_only', 'hidden')),
    alias TEXT,                    -- shown instead of the name; NULL: the name
    updated_at TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Choice:
    ranking: Ranking = "ranked"
    alias: str | None = None

    @property
    def ranked(self) -> bool:
        return self.ranking == "ranked"

    @property
    def named(self) -> bool:
        """May the wall name this person at all (in a celebration, a thank-you)?"""
        return self.ranking != "hidden"


DEFAULT = Choice()


def clean_alias(text: str | None) -> str | None:
    """An alias fit for the wall: trimmed, no control characters, at most ``ALIAS_MAX`` characters;
    None for nothing. Raises ValueError with a sentence for the person when it cannot be one."""
    if text is None:
        return None
    alias = unicodedata.normalize("NFC", " ".join(text.split()))
    if not alias:
        return None
    problem = check_alias(alias)  # the same rule as an alias in [privacy.people]
    if problem:
        raise ValueError(problem[0].upper() + problem[1:] + ".")
    return alias


class Choices:
    """The ``privacy_choices`` table: one row per person who chose something other than the default."""

    def __init__(self, directory: Path) -> None:
        self._db = connect(directory, autocommit=True)
        self._lock = threading.Lock()
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    def get(self, agent: str) -> Choice:
        with self._lock:
            row = self._db.execute("SELECT ranking, alias FROM privacy_choices WHERE agent = ?", (agent,)).fetchone()
        return Choice(row[0], row[1]) if row else DEFAULT

    def all(self) -> dict[str, Choice]:
        with self._lock:
            rows = self._db.execute("SELECT agent, ranking, alias FROM privacy_choices").fetchall()
        return {agent: Choice(ranking, alias) for agent, ranking, alias in rows}

    def set(self, agent: str, ranking: Ranking, alias: str | None = None, now: datetime | None = None) -> Choice:
        """Record ``agent``'s choice (the default removes the row). Raises ValueError for a ranking
        that is not one of ``RANKINGS`` or an alias :func:`clean_alias` refuses."""
        if ranking not in RANKINGS:
            raise ValueError(f"ranking must be one of {', '.join(RANKINGS)}")
        choice = Choice(ranking, clean_alias(alias))
        stamp = (now or datetime.now(timezone.utc)).isoformat(timespec="seconds")
        with self._lock:
            if choice == DEFAULT:
                self._db.execute("DELETE FROM privacy_choices WHERE agent = ?", (agent,))
            else:
                self._db.execute("INSERT OR REPLACE INTO privacy_choices VALUES (?, ?, ?, ?)",
                                 (agent, choice.ranking, choice.alias, stamp))
        return choice

    def version(self) -> int:
        """Changes when another connection (the team page) wrote the file: a cheap "read again?"."""
        with self._lock:
            return int(self._db.execute("PRAGMA data_version").fetchone()[0])


def to_wire(choices: Mapping[str, Choice]) -> dict[str, dict[str, str]]:
    """What a screen needs of each choice other than the default: its ranking and alias, by agent id."""
    out: dict[str, dict[str, str]] = {}
    for agent, choice in sorted(choices.items()):
        if choice != DEFAULT:
            out[agent] = {"ranking": choice.ranking, **({"alias": choice.alias} if choice.alias else {})}
    return out


class HubChoices:
    """The choices a hub last published (:class:`feeds.bus.privacy.BusChoices`), for the wall of one of
    its screens: the same ``version``, ``all`` and ``close`` as :class:`Choices`."""

    def __init__(self, site: str) -> None:
        self._bus = bus_choices(site)

    def version(self) -> int:
        return self._bus.version()

    def all(self) -> dict[str, Choice]:
        return {agent: Choice(ranking, alias) for agent, (ranking, alias) in self._bus.all().items()}

    def close(self) -> None:
        """Nothing to close: the screen's feed keeps offering (and a reloaded wall reads on)."""

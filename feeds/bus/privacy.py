"""The people's privacy choices as a hub publishes them (``chalkwall/<site>/privacy``, docs/hub.md).

A screen's feed (feeds/connectors/hub.py) checks each message with :func:`of_wire` and offers it to
the site's :class:`BusChoices`; the wall reads that through feeds/privacy/choices.py ``HubChoices``,
combined with the screen's ``[privacy.people]`` as a single wall combines its own. Only each person's
ranking other than ``ranked`` and alias travel, by agent id.
"""

from __future__ import annotations

import threading
import unicodedata
from typing import Any, get_args

from feeds.config.privacy import PersonRanking, check_alias

RANKINGS: tuple[str, ...] = get_args(PersonRanking)
Wire = dict[str, tuple[PersonRanking, str | None]]  # agent id -> (ranking, alias or None)


def of_wire(people: Any) -> Wire:
    """The choices of a hub's ``privacy`` message; ValueError with the reason for any it cannot use
    (the whole message is refused then: half a set of choices could show a hidden person)."""
    if not isinstance(people, dict):
        raise ValueError("a privacy message without its people")
    out: Wire = {}
    for agent, entry in people.items():
        if not isinstance(entry, dict) or entry.get("ranking") not in RANKINGS:
            raise ValueError(f"the choice of {agent!r} is not one of {', '.join(RANKINGS)}")
        alias = entry.get("alias")
        if alias is not None and (not isinstance(alias, str) or check_alias(alias)
                                  or alias != unicodedata.normalize("NFC", " ".join(alias.split()))):
            raise ValueError(f"the alias of {agent!r} is not one the wall can show")
        out[str(agent)] = (entry["ranking"], alias)
    return out


class BusChoices:
    """The last good choices of one site (paho's thread offers, the wall's thread reads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._choices: Wire = {}
        self._version = 0

    def offer(self, choices: Wire) -> None:
        with self._lock:
            if choices != self._choices:
                self._choices, self._version = dict(choices), self._version + 1

    def all(self) -> Wire:
        with self._lock:
            return dict(self._choices)

    def version(self) -> int:
        with self._lock:
            return self._version


_BUS: dict[str, BusChoices] = {}
_BUS_LOCK = threading.Lock()


def bus_choices(site: str) -> BusChoices:
    """The one :class:`BusChoices` of ``site`` in this process: the screen's feed (restarted on a
    config edit) offers to it, the wall (rebuilt on a config edit) reads it."""
    with _BUS_LOCK:
        return _BUS.setdefault(site, BusChoices())

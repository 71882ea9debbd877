"""Canonical JSON feed bytes to a Snapshot, without decoding the agent records that did not change.

The hub reads a 5,000-agent document every poll and a twentieth of the records change. msgspec
splits the document into its top-level values and the agents into their raw bytes (a C scan, no
Python objects per record); a record whose bytes equal last poll's reuses last poll's result, the
very same Agent object (the engine and the publisher skip an agent that ``is`` last poll's). Only
the changed records are decoded and cleaned, by parse.py's own code (and one that differs from last
poll's record in the same place by its metrics alone keeps that one's cleaned fields).

The result is exactly ``normalise(decode_json(raw))``'s: anything msgspec refuses, reads differently
from ``json.loads`` or that is not a plain object with a list of agents, and any document-level
error, is read again by that slow path, which gives today's result or error. msgspec's grammar is
JSON's, narrower than ``json.loads``'s (no NaN or Infinity, no lone surrogates); a value it decodes
equals ``json.loads``'s (tests/test_fastparse.py), and one it cannot (1e400, an integer thousands of
digits long) is left to ``json.loads``, whose errors go the slow way too.

Per poll the common case is one C-level pass over all agents (each record's raw bytes against last
poll's in the same place) and Python work for the changed records alone: when they keep their
places, ids and teams, what last poll found of the whole floor (every record plain, ids unique,
teams known) still holds. A record that moved is found by its bytes among this and recent polls'
readings. Teams and events are read again only when their bytes change. A poll with a dropped
record, a note, a duplicate id or an unknown team walks the records in Python for the same warnings.
A poll of the common case carries the places that may have changed (``Snapshot.changed``, a
:class:`~feeds.model.Changed` about last poll's agents tuple and this one): the engine and the
publisher need no identity pass of their own.

One difference is left: a *repeated* top-level key keeps its last value, as ``json.loads`` does,
but an earlier value of it is checked by msgspec's grammar alone (not for UTF-8 or huge integers).
"""

from __future__ import annotations

import codecs
from itertools import chain, compress, count
from operator import attrgetter, itemgetter, ne
from typing import Any

import msgspec

from feeds.connectors.fastrecord import Entry, Fallback, load, read_record
from feeds.connectors.parse import (DUPLICATE_AGENT, decode_json, normalise, read_events, read_head,
                                    read_teams, unknown_team)
from feeds.model import Agent, Changed, FeedError, FeedEvent, Snapshot, Team

_HEAD = ("version", "generated_at", "teams", "events")
_load = load  # the name tests/test_fastparse.py knows


class _Top(msgspec.Struct, forbid_unknown_fields=True):
    """A canonical document's top level: the small values raw (decoded by ``load``), the agents
    split into their raw bytes. Another key sends the document to ``_loose``."""

    version: msgspec.Raw = msgspec.Raw()
    generated_at: msgspec.Raw = msgspec.Raw()
    teams: msgspec.Raw = msgspec.Raw()
    agents: list[msgspec.Raw] = msgspec.field(default_factory=list)
    events: msgspec.Raw = msgspec.Raw()


_TOP = msgspec.json.Decoder(_Top)
_PARTS = msgspec.json.Decoder(dict[str, msgspec.Raw])
_RAWS = msgspec.json.Decoder(list[msgspec.Raw])

_PLAIN = attrgetter("plain")
_SIMPLE = attrgetter("simple")
_AGENT = attrgetter("agent")
_EMPTY = attrgetter("empty")
_KEY = attrgetter("key")
_ID = itemgetter(0)
_TEAM = itemgetter(2)


class JsonDecoder:
    """Canonical JSON bytes to a Snapshot, remembering last poll's agent records by their bytes."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.slow_polls = 0  # documents read by the slow path (for tests and curiosity)
        self._forget()

    def _forget(self) -> None:
        self._cache: dict[bytes, Entry] = {}  # records by their bytes: this poll's and some before
        self._raws: list[msgspec.Raw] = []  # last poll's records in order, raw ...
        self._last: list[Entry] = []  # ... and read (for read_record's short cut)
        # Last poll's agents in order (a list, and the very tuple given) and the teams they name,
        # when every record was plain with a unique id; whether every record was simple too.
        self._plain: tuple[list[Agent], dict[str, None], tuple[Agent, ...]] | None = None
        self._hint: Changed | None = None  # this poll's, when its agents are last poll's with a few replaced
        self._simple = False
        self._values: dict[str, tuple[msgspec.Raw, Any]] = {}  # teams and events: last poll's, raw and read
        self._teams_read: tuple[Any, dict[str, Team], list[str]] | None = None
        self._events_read: tuple[Any, tuple[FeedEvent, ...], list[str]] | None = None

    def __call__(self, raw: bytes) -> Snapshot:
        try:
            return self._fast(raw)
        except (Fallback, FeedError, msgspec.MsgspecError, ValueError, RecursionError):
            self.slow_polls += 1
            self._forget()  # only this poll's records are remembered, and it has none
            return normalise(decode_json(raw, self.max_bytes))

    def _fast(self, raw: bytes) -> Snapshot:
        if len(raw) > self.max_bytes:
            raise Fallback
        body = raw[3:] if raw.startswith(codecs.BOM_UTF8) else raw  # as decode("utf-8-sig") does
        try:
            top = _TOP.decode(body)
            doc = {name: self._value(name, value) for name in _HEAD if (value := getattr(top, name))}
            raws = top.agents
        except msgspec.ValidationError:  # another key, or a wrong type: the slower split, or the slow path
            doc, raws = _loose(body)
        generated_at, warnings, raw_teams, _, raw_events = read_head(doc)
        teams = self._teams(raw_teams, warnings)
        derive = "teams" not in doc
        ready, misses = self._entries(raws)
        self._hint = None
        agents = self._agents_kept(ready, misses, teams, derive)
        if agents is None:
            self._plain = None
            agents = _agents_slow(ready, teams, derive, warnings)
        events = self._events(raw_events, warnings)
        empty = frozenset() if self._simple else frozenset(chain.from_iterable(map(_EMPTY, ready)))
        if len(self._cache) > 2 * len(ready) + 64:  # records seen polls ago: let them go
            self._cache = dict(zip(map(_KEY, ready), ready))
        self._raws, self._last = raws, ready
        return Snapshot(agents, tuple(teams.values()), events, generated_at, tuple(warnings), empty,
                        changed=self._hint)

    def _value(self, name: str, raw: msgspec.Raw) -> Any:
        """A top-level value read; teams and events are the very objects of last poll when their
        bytes are the same (so _teams and _events know them)."""
        if name == "version" or name == "generated_at":
            return load(bytes(raw))
        seen = self._values.get(name)
        if seen is not None and seen[0] == raw:
            return seen[1]
        value = load(bytes(raw))
        self._values[name] = (raw, value)
        return value

    def _teams(self, raw_teams: list[Any], warnings: list[str]) -> dict[str, Team]:
        seen = self._teams_read
        if seen is None or seen[0] is not raw_teams:
            notes: list[str] = []
            seen = self._teams_read = (raw_teams, read_teams(raw_teams, notes), notes)
        warnings.extend(seen[2])
        return dict(seen[1])  # a copy: the agents may add teams to it

    def _events(self, raw_events: list[Any], warnings: list[str]) -> tuple[FeedEvent, ...]:
        seen = self._events_read
        if seen is None or seen[0] is not raw_events:
            notes: list[str] = []
            seen = self._events_read = (raw_events, tuple(read_events(raw_events, notes)), notes)
        warnings.extend(seen[2])
        return seen[1]

    def _entries(self, raws: list[msgspec.Raw]) -> tuple[list[Entry], list[int]]:
        """Every record read, and the places whose bytes differ from last poll's (or are new)."""
        last, cache = self._last, self._cache
        ready: list[Entry | None] = last[: len(raws)]  # type: ignore[assignment]
        misses = list(compress(count(), map(ne, raws, self._raws)))  # Raw compares by bytes, in C
        if len(raws) > len(last):
            misses.extend(range(len(last), len(raws)))
            ready.extend([None] * (len(raws) - len(last)))
        for at in misses:
            key = bytes(raws[at])  # msgspec.Raw is not hashable
            entry = cache.get(key)
            if entry is None:
                entry = cache[key] = read_record(key, last[at] if at < len(last) else None)
            ready[at] = entry
        return ready, misses  # type: ignore[return-value]  # every None was replaced

    def _agents_kept(self, ready: list[Entry], misses: list[int], teams: dict[str, Team],
                     derive: bool) -> tuple[Agent, ...] | None:
        """The agents when every record is plain, ids unique and every team known (or, without a
        "teams" list, derived in order of first appearance); None otherwise. When last poll's were
        so and the records that changed kept their places, ids and teams, that is known without a
        pass over them all."""
        kept, last = self._plain, self._last
        if kept is not None and len(ready) == len(last):
            agents = kept[0].copy()
            for at in misses:
                entry, old = ready[at], agents[at]
                agent = entry.agent
                if not entry.plain or agent.id != old.id or agent.team != old.team:  # type: ignore[union-attr]
                    break
                agents[at] = agent  # type: ignore[assignment]
            else:
                self._simple = (self._simple and all(map(_SIMPLE, map(ready.__getitem__, misses)))
                                or all(map(_SIMPLE, ready)))
                found = _with_teams(agents, kept[1], teams, derive, self)
                if found is not None:  # last poll's tuple with only the misses' places replaced
                    self._hint = Changed(kept[2], found, tuple(misses))
                return found
        self._simple = all(map(_SIMPLE, ready))
        if not self._simple and not all(map(_PLAIN, ready)):
            return None
        agents = list(map(_AGENT, ready))
        if len(set(map(_ID, agents))) != len(agents):
            return None
        named = dict.fromkeys(map(_TEAM, agents))
        named.pop(None, None)
        return _with_teams(agents, named, teams, derive, self)


def _with_teams(agents: list[Agent], named: dict[str, None], teams: dict[str, Team], derive: bool,
                decoder: JsonDecoder) -> tuple[Agent, ...] | None:
    """The agents, once their teams are known to be the feed's (or derived: no "teams" key, so
    ``teams`` is empty); the decoder remembers them for next poll."""
    if derive:
        teams.update({team: Team(team, team) for team in named})
    elif not named.keys() <= teams.keys():
        return None
    found = tuple(agents)
    decoder._plain = (agents, named, found)
    return found


def _loose(body: bytes) -> tuple[dict[str, Any], list[msgspec.Raw]]:
    """A document with keys beyond the five: every value but the agents is decoded (so checked as
    ``json.loads`` would), the agents split. Not an object, or agents not a list: ValidationError."""
    parts = _PARTS.decode(body)
    doc = {name: load(bytes(value)) for name, value in parts.items() if name != "agents"}
    return doc, (_RAWS.decode(parts["agents"]) if "agents" in parts else [])


def _agents_slow(entries: list[Entry], teams: dict[str, Team], derive: bool,
                 warnings: list[str]) -> tuple[Agent, ...]:
    """``normalise``'s loop over the agents, on readings already made."""
    agents: dict[str, Agent] = {}
    for i, entry in enumerate(entries):
        label = f"agents[{i}]{entry.label}"
        agent = entry.agent
        if agent is None:
            warnings.append(f"{label} dropped: {entry.notes[0]}")
            continue
        notes = entry.notes
        if agent.team is not None and agent.team not in teams:
            if not derive:
                notes = (*notes, unknown_team(agent.team))
                agent = entry.unteamed()
            else:
                teams[agent.team] = Team(agent.team, agent.team)
        if agent.id in agents:
            warnings.append(f"{label} dropped: {DUPLICATE_AGENT}")
            continue
        agents[agent.id] = agent
        warnings.extend(f"{label} {note}" for note in notes)
    return tuple(agents.values())

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
digits long) is left to ``json.loads``, whose errors go the slow way too. Per poll the common
case is C-level passes over all agents (map, set, dict.fromkeys); a poll with a dropped record, a
note, a duplicate id or an unknown team walks the records in Python to give the same warnings.

One difference is left: a *repeated* top-level key keeps its last value, as ``json.loads`` does,
but an earlier value of it is checked by msgspec's grammar alone (not for UTF-8 or huge integers).
"""

from __future__ import annotations

import codecs
import json
from itertools import chain
from operator import attrgetter, itemgetter
from types import MappingProxyType
from typing import Any

import msgspec

from feeds.connectors.clean import _Drop
from feeds.connectors.parse import (DUPLICATE_AGENT, _agent, decode_json, label_id, named_empty, normalise,
                                    read_events, read_head, read_metrics, read_teams, unknown_team)
from feeds.model import Agent, FeedError, Snapshot, Team

_DEPTH = 100  # a value nested deeper is left to json.loads on the whole document (its recursion limit)
_HEAD = ("version", "generated_at", "teams", "events")
_SCALARS = (str, int, bool, type(None))


class _Top(msgspec.Struct, forbid_unknown_fields=True):
    """A canonical document's top level: the small values raw (decoded by ``_load``), the agents
    split into their raw bytes. Another key sends the document to ``_loose``."""

    version: msgspec.Raw = msgspec.Raw()
    generated_at: msgspec.Raw = msgspec.Raw()
    teams: msgspec.Raw = msgspec.Raw()
    agents: list[msgspec.Raw] = msgspec.field(default_factory=list)
    events: msgspec.Raw = msgspec.Raw()


_TOP = msgspec.json.Decoder(_Top)
_PARTS = msgspec.json.Decoder(dict[str, msgspec.Raw])
_RAWS = msgspec.json.Decoder(list[msgspec.Raw])
_ANY = msgspec.json.Decoder()


class _Fallback(Exception):
    """This document is for the slow path."""


class _Entry:
    """One agent record's reading, shared by every poll whose record has the same bytes."""

    __slots__ = ("agent", "notes", "label", "empty", "plain", "simple", "record", "_unteamed")

    def __init__(self, agent: Agent | None, notes: tuple[str, ...], label: str, empty: tuple[str, ...],
                 record: Any) -> None:
        self.agent = agent  # None: the record is dropped, and notes holds the reason alone
        self.notes = notes
        self.label = label
        self.empty = empty
        self.plain = agent is not None and not notes
        self.simple = self.plain and not empty  # the common case: nothing to say about it at all
        self.record = record if self.plain else None  # for _entry's short cut
        self._unteamed: Agent | None = None

    def unteamed(self) -> Agent:
        """The agent without its team (not one of the feed's), the same object every poll."""
        if self._unteamed is None:
            assert self.agent is not None
            self._unteamed = self.agent._replace(team=None)
        return self._unteamed


_PLAIN = attrgetter("plain")
_SIMPLE = attrgetter("simple")
_AGENT = attrgetter("agent")
_EMPTY = attrgetter("empty")
_ID = itemgetter(0)
_TEAM = itemgetter(2)


class JsonDecoder:
    """Canonical JSON bytes to a Snapshot, remembering last poll's agent records by their bytes."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.slow_polls = 0  # documents read by the slow path (for tests and curiosity)
        self._cache: dict[bytes, _Entry] = {}
        self._last: list[_Entry] = []  # last poll's records in order, for _entry's short cut

    def __call__(self, raw: bytes) -> Snapshot:
        try:
            snapshot, self._cache, self._last = self._fast(raw)
            return snapshot
        except (_Fallback, FeedError, msgspec.MsgspecError, ValueError, RecursionError):
            self.slow_polls += 1
            self._cache, self._last = {}, []  # only this poll's records are remembered, and it has none
            return normalise(decode_json(raw, self.max_bytes))

    def _fast(self, raw: bytes) -> tuple[Snapshot, dict[bytes, _Entry], list[_Entry]]:
        if len(raw) > self.max_bytes:
            raise _Fallback
        body = raw[3:] if raw.startswith(codecs.BOM_UTF8) else raw  # as decode("utf-8-sig") does
        try:
            top = _TOP.decode(body)
            doc = {name: _load(bytes(value)) for name in _HEAD if (value := getattr(top, name))}
            raws = top.agents
        except msgspec.ValidationError:  # another key, or a wrong type: the slower split, or the slow path
            doc, raws = _loose(body)
        generated_at, warnings, raw_teams, _, raw_events = read_head(doc)
        teams = read_teams(raw_teams, warnings)

        keys = list(map(bytes, raws))  # msgspec.Raw is not hashable
        entries: list[_Entry | None] = list(map(self._cache.get, keys))
        at, last = 0, self._last
        for _ in range(entries.count(None)):
            at = entries.index(None, at)
            entries[at] = _entry(keys[at], last[at] if at < len(last) else None)
        ready: list[_Entry] = entries  # type: ignore[assignment]  # every None was replaced
        simple = all(map(_SIMPLE, ready))
        agents = _agents_fast(ready, teams, "teams" not in doc, simple)
        if agents is None:
            agents = _agents_slow(ready, teams, "teams" not in doc, warnings)
        events = read_events(raw_events, warnings)
        empty = frozenset() if simple else frozenset(chain.from_iterable(map(_EMPTY, ready)))
        snapshot = Snapshot(agents, tuple(teams.values()), tuple(events), generated_at, tuple(warnings), empty)
        return snapshot, dict(zip(keys, ready)), ready


def _loose(body: bytes) -> tuple[dict[str, Any], list[msgspec.Raw]]:
    """A document with keys beyond the five: every value but the agents is decoded (so checked as
    ``json.loads`` would), the agents split. Not an object, or agents not a list: ValidationError."""
    parts = _PARTS.decode(body)
    doc = {name: _load(bytes(value)) for name, value in parts.items() if name != "agents"}
    return doc, (_RAWS.decode(parts["agents"]) if "agents" in parts else [])


def _load(raw: bytes) -> Any:
    """One JSON value as ``json.loads`` reads it: msgspec when it can (it reads the same, faster),
    ``json.loads`` for what only it accepts (1e400); its errors send the document to the slow path."""
    try:
        value = _ANY.decode(raw)
    except msgspec.MsgspecError:
        value = json.loads(raw.decode("utf-8"))
    if raw.count(b"[") + raw.count(b"{") > _DEPTH and _too_deep(value):
        raise _Fallback
    return value


def _too_deep(value: Any) -> bool:
    level = [value]
    for _ in range(_DEPTH):
        level = [child for v in level if isinstance(v, (dict, list))
                 for child in (v.values() if isinstance(v, dict) else v)]
        if not level:
            return False
    return True


def _entry(key: bytes, before: _Entry | None) -> _Entry:
    """A record not seen last poll. ``before`` is last poll's in the same place: when it had nothing
    to say and this one differs from it in its metrics alone (a ticket solved, the usual change),
    only the metrics are read again."""
    record = _load(key)
    notes: list[str] = []
    if before is not None and before.record is not None and _metrics_alone(record, before.record):
        old = before.agent
        assert old is not None
        metrics = MappingProxyType(read_metrics(record.get("metrics", {}), notes))
        return _Entry(Agent(*old[:5], metrics, *old[6:]), tuple(notes), before.label, named_empty(record), record)
    try:
        agent: Agent | None = _agent(record, notes)
    except _Drop as exc:
        agent, notes = None, [str(exc)]
    return _Entry(agent, tuple(notes), label_id(record), named_empty(record), record)


def _metrics_alone(record: Any, before: dict[str, Any]) -> bool:
    """Whether ``record`` has ``before``'s keys and, but for an object of metrics, its very values:
    text, whole numbers, true/false or null only (1.0 == 1 == True and -0.0 == 0.0 would mislead)."""
    if type(record) is not dict or record.keys() != before.keys() or type(record.get("metrics", {})) is not dict:
        return False
    for key, value in record.items():
        if key != "metrics" and (type(value) not in _SCALARS or type(before[key]) is not type(value)
                                 or before[key] != value):
            return False
    return True


def _agents_fast(entries: list[_Entry], teams: dict[str, Team], derive: bool,
                 simple: bool) -> tuple[Agent, ...] | None:
    """The common poll in C-level passes: every record kept without a note, ids unique, every team
    known (or, without a "teams" list, derived in order of first appearance). None otherwise."""
    if not simple and not all(map(_PLAIN, entries)):
        return None
    agents: list[Agent] = list(map(_AGENT, entries))
    if len(set(map(_ID, agents))) != len(agents):
        return None
    named = dict.fromkeys(map(_TEAM, agents))
    named.pop(None, None)
    if derive:  # no "teams" key: teams is empty
        teams.update({team: Team(team, team) for team in named})
    elif not named.keys() <= teams.keys():
        return None
    return tuple(agents)


def _agents_slow(entries: list[_Entry], teams: dict[str, Team], derive: bool,
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

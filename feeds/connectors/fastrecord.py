"""One canonical JSON value, and one agent record's reading, for ``fastparse.py``.

``load`` reads a JSON value exactly as ``json.loads`` does (msgspec when it can). ``read_record``
turns one agent record's bytes into an ``Entry`` with parse.py's own code; a record whose other
values are, byte for byte, those of last poll's record in the same place (a ticket solved, the
usual change) has only its metrics read again. Byte-identical JSON decodes to identical values, so
that short cut needs no care for 1 == 1.0 == True or -0.0 == 0.
"""

from __future__ import annotations

import json
from types import MappingProxyType
from typing import Annotated, Any

import msgspec

from feeds.connectors.clean import MAX_METRIC, _Drop
from feeds.connectors.parse import MAX_METRICS, _agent, label_id, named_empty, read_metrics
from feeds.model import Agent

DEPTH = 100  # a value nested deeper is left to json.loads on the whole document (its recursion limit)
_ANY = msgspec.json.Decoder()
_PARTS = msgspec.json.Decoder(dict[str, msgspec.Raw])
# read_metrics' common case, read in C: at most MAX_METRICS numbers (not true/false or null) in
# range, each as float(); msgspec reads an integer as float() of it ("-0" too: 0.0).
_NUMBERS = msgspec.json.Decoder(Annotated[dict[str, Annotated[float, msgspec.Meta(ge=-MAX_METRIC, le=MAX_METRIC)]],
                                          msgspec.Meta(max_length=MAX_METRICS)])
_new = tuple.__new__


class Fallback(Exception):
    """This document is for the slow path."""


class Entry:
    """One agent record's reading, shared by every poll whose record has the same bytes."""

    __slots__ = ("agent", "notes", "label", "empty", "plain", "simple", "key", "span", "_unteamed")

    def __init__(self, agent: Agent | None, notes: tuple[str, ...], label: str, empty: tuple[str, ...],
                 key: bytes, span: tuple[int, int] | None = None) -> None:
        self.agent = agent  # None: the record is dropped, and notes holds the reason alone
        self.notes = notes
        self.label = label
        self.empty = empty
        self.plain = agent is not None and not notes
        self.simple = self.plain and not empty  # the common case: nothing to say about it at all
        self.key = key  # the record's bytes
        self.span = span  # where its metrics' bytes lie in key, when known (see _metrics_changed)
        self._unteamed: Agent | None = None

    def unteamed(self) -> Agent:
        """The agent without its team (not one of the feed's), the same object every poll."""
        if self._unteamed is None:
            assert self.agent is not None
            self._unteamed = self.agent._replace(team=None)
        return self._unteamed


def load(raw: bytes) -> Any:
    """One JSON value as ``json.loads`` reads it: msgspec when it can (it reads the same, faster),
    ``json.loads`` for what only it accepts (1e400); its errors send the document to the slow path."""
    try:
        value = _ANY.decode(raw)
    except msgspec.MsgspecError:
        value = json.loads(raw.decode("utf-8"))
    if raw.count(b"[") + raw.count(b"{") > DEPTH and _too_deep(value):
        raise Fallback
    return value


def _too_deep(value: Any) -> bool:
    level = [value]
    for _ in range(DEPTH):
        level = [child for v in level if isinstance(v, (dict, list))
                 for child in (v.values() if isinstance(v, dict) else v)]
        if not level:
            return False
    return True


def read_record(key: bytes, before: Entry | None) -> Entry:
    """A record not seen last poll. ``before`` is last poll's in the same place: when it had nothing
    to say and this one differs from it in its metrics alone, only the metrics are read again."""
    if before is not None and before.plain:
        entry = _metrics_changed(key, before)
        if entry is not None:
            return entry
    record = load(key)
    notes: list[str] = []
    try:
        agent: Agent | None = _agent(record, notes)
    except _Drop as exc:
        agent, notes = None, [str(exc)]
    return Entry(agent, tuple(notes), label_id(record), named_empty(record), key)


def _metrics_changed(key: bytes, before: Entry) -> Entry | None:
    """``before``'s reading with this record's metrics, when the record is ``before``'s bytes with
    only the metrics' bytes replaced and the metrics are an object of numbers; None otherwise.
    Byte for byte: a key given twice (which a split would hide, with whatever its first value holds)
    cannot come in, since ``before`` was read whole; and no split of either record is needed."""
    span = before.span if before.span is not None else _span(before.key)
    if span is None:
        return None
    start, end = span
    tail = len(before.key) - end
    if len(key) <= start + tail or not (key.startswith(before.key[:start]) and key.endswith(before.key[end:])):
        return None
    raw_metrics = key[start:len(key) - tail]
    old = before.agent
    assert old is not None
    try:
        numbers = _NUMBERS.decode(raw_metrics)  # also refuses anything but one JSON object
    except msgspec.MsgspecError:  # something read_metrics has a note for, a null, or not an object
        pass
    else:
        return Entry(_with_metrics(old, numbers), (), before.label, (), key, (start, len(key) - tail))
    if raw_metrics.count(b"[") + raw_metrics.count(b"{") > 1:
        return None  # something nested: the whole record's depth is load's to judge
    try:
        metrics = _ANY.decode(raw_metrics)
    except msgspec.MsgspecError:  # 1e400, or not one JSON value: load's business
        return None
    if type(metrics) is not dict:
        return None
    notes: list[str] = []
    numbers = read_metrics(metrics, notes)
    empty = named_empty({"metrics": metrics})
    return Entry(_with_metrics(old, numbers), tuple(notes), before.label, empty, key)


def _span(key: bytes) -> tuple[int, int] | None:
    """Where the metrics' value lies in a record's bytes; None when that cannot be told for sure
    (no metrics, or their bytes also stand elsewhere in the record)."""
    try:
        raw = _PARTS.decode(key).get("metrics")
    except msgspec.MsgspecError:
        return None
    if raw is None:
        return None
    was = bytes(raw)
    at = key.find(was)
    if at < 0 or key.find(was, at + 1) >= 0:
        return None
    return at, at + len(was)


def _with_metrics(agent: Agent, metrics: dict[str, float]) -> Agent:
    """``agent._replace(metrics=…)`` without its Python-level calls."""
    fields = list(agent)
    fields[5] = MappingProxyType(metrics)
    return _new(Agent, fields)  # type: ignore[no-any-return]

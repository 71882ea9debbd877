"""A screen's boards, kept whole from the hub's changes (docs/hub.md, "A board and its changes").

Each poll the hub retains every team's whole board on ``board/team/<team>`` and sends, on
``board/change/<team>``, what changed since the board before: the agents re-encoded, each with its
place, on top of a ``base`` (that board's ``rev`` and ``observed_at``). A screen reads the whole
board only to begin: at start, after every reconnect, and when a change does not fit the board it
has (one was missed). :class:`Boards` decides which of them it needs subscribed at each moment
(:meth:`Boards.fetches`, asked by the owner's thread, never paho's), keeps each team's document, and
applies each change, or refuses one that does not fit.

A whole board's topic stays subscribed until a change on top of it has applied: a hub that sends
no changes (or a change lost on its way) leaves the screen reading whole boards, as before changes
existed, never behind.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from feeds.bus.topics import BusError, Topics

Key = tuple[int | None, float | None]  # a board's rev and observed_at
Document = dict[str, Any]
DOC_KEYS = ("version", "teams", "agents", "generated_at")


def key_of(data: dict[str, Any]) -> Key:
    rev, observed = data.get("rev"), data.get("observed_at")
    return (rev if isinstance(rev, int) and not isinstance(rev, bool) else None,
            float(observed) if isinstance(observed, (int, float)) and not isinstance(observed, bool) else None)


def _base_of(data: dict[str, Any]) -> Key | None:
    base = data.get("base")
    if base is None:
        return None
    if not isinstance(base, dict):
        raise BusError("a board change whose base is not an object")
    return key_of(base)


class Boards:
    """The boards of a screen's team levels (``["+"]``: every team); thread-safe."""

    def __init__(self, topics: Topics, levels: list[str], check: Callable[[Document], Any] = lambda _d: None) -> None:
        self.topics, self.levels, self.check = topics, levels, check
        self._lock = threading.Lock()
        self.docs: dict[str, Document] = {}  # team level -> its canonical document
        self.keys: dict[str, Key] = {}  # team level -> its board's rev, observed_at
        self._pending: dict[str, dict[str, Any]] = {}  # level -> the newest change that found no base
        self._wanted: set[str] = set()  # whole boards' topics to have subscribed
        self._forced: set[str] = set()  # ... that only a whole board can satisfy (a resync's)
        self._flowing = False  # a change has applied: the hub sends them (an older hub sends none)
        self._subscribed: set[str] = set()  # what the owner was told to subscribe to
        self.resync()

    def changes_topics(self) -> list[str]:
        """What to subscribe to for good (QoS 1)."""
        return [self.topics.board_changes_of(level) for level in self.levels]

    def resync(self) -> None:
        """Read every whole board again (at start; the link came back, and changes may be missed)."""
        topics = {self.topics.boards_of(level) for level in self.levels}
        with self._lock:  # not undone by a change from before it (queued in the session): see _applied
            self._wanted |= topics
            self._forced |= topics

    def fetches(self) -> tuple[list[str], list[str]]:
        """(to subscribe, to unsubscribe) since the last call: the owner's thread does it."""
        with self._lock:
            add, drop = sorted(self._wanted - self._subscribed), sorted(self._subscribed - self._wanted)
            self._subscribed = set(self._wanted)
        return add, drop

    def whole(self, level: str, data: dict[str, Any] | None, fetched: bool = True) -> bool:
        """A whole board (``fetched``: a ``board`` message, from the topic a resync subscribes to; or a
        change with no base); None: the team left the feed. True when the screen's boards changed."""
        if data is None:
            with self._lock:
                gone = self.docs.pop(level, None) is not None
                self.keys.pop(level, None)
                self._pending.pop(level, None)
                if level not in self.levels:  # a team of a "+" screen: its whole board is not needed now
                    self._wanted.discard(self.topics.boards_of(level))
                    self._forced.discard(self.topics.boards_of(level))
            return gone
        doc = {k: data[k] for k in DOC_KEYS if k in data}
        self.check(doc)  # refuse a board that is not a canonical document, before keeping it
        key = key_of(data)
        with self._lock:
            if fetched:  # what a resync asked for has come (a "+" screen's retained boards come in one burst)
                self._forced -= {self.topics.boards_of(level), self.topics.boards_of("+")}
                if self._flowing:  # the next change stands on this board: one team's topic is done
                    self._wanted.discard(self.topics.boards_of(level))
            if self.keys.get(level) == key and self.docs.get(level) == doc:
                return False  # the same board again (a retained copy after a reconnect)
            self.docs[level], self.keys[level] = doc, key
            pending = self._pending.pop(level, None)
        if pending is not None and _base_of(pending) == key:
            try:
                self.change(level, pending)  # a change that came before the board it stands on
            except BusError:
                pass  # the board just taken stays; the whole one is fetched (change() asked)
        return True

    def change(self, level: str, data: dict[str, Any]) -> bool:
        """A ``board_change``: applied (True), or — when it does not fit the board this screen has —
        kept while the whole board is fetched (False). One of the wrong shape: BusError, the board
        kept, the whole one fetched."""
        try:
            return self._change(level, data)
        except BusError:
            with self._lock:
                self._wanted.add(self.topics.boards_of(level))
            raise

    def _change(self, level: str, data: dict[str, Any]) -> bool:
        base = _base_of(data)
        if base is None:
            changed = self.whole(level, data, fetched=False)
            self._applied(level)
            return changed
        changed = data.get("set")
        size = data.get("size")
        if not isinstance(changed, list) or not isinstance(size, int) or isinstance(size, bool):
            raise BusError("a board change without its set and size")
        with self._lock:
            doc, key = self.docs.get(level), self.keys.get(level)
            already = key is not None and key == key_of(data)
        if already:  # the whole board came first: the changes flow, the next one stands on this board
            self._applied(level)
            return False
        with self._lock:
            if doc is None or key != base or len(doc["agents"]) != size:
                self._pending[level] = data
                self._wanted.add(self.topics.boards_of(level))
                return False
            agents = list(doc["agents"])
        records = []
        for item in changed:
            if (not isinstance(item, list) or len(item) != 2 or not isinstance(item[0], int)
                    or not 0 <= item[0] < size or not isinstance(item[1], dict)):
                raise BusError("a board change with an entry that is not [place, agent]")
            place, record = item
            if record.get("id") != agents[place].get("id"):
                raise BusError(f"a board change that puts agent {record.get('id')!r} in another's place")
            agents[place] = record
            records.append(record)
        teams = data.get("teams", doc.get("teams"))
        self.check({"version": data.get("version"), "teams": teams, "agents": records})
        fresh = {"version": data.get("version"), "teams": teams, "agents": agents}
        if "generated_at" in data:
            fresh["generated_at"] = data["generated_at"]
        with self._lock:
            if self.keys.get(level) != base:  # another message won the race: this one waits for a base again
                self._pending[level] = data
                self._wanted.add(self.topics.boards_of(level))
                return False
            self.docs[level], self.keys[level] = fresh, key_of(data)
        self._applied(level)
        return True

    def _applied(self, level: str) -> None:
        """A change applied on a whole board: that board's topic (and the first subscription to every
        team's) is no longer needed."""
        with self._lock:
            self._flowing = True
            self._wanted -= {self.topics.boards_of(level), self.topics.boards_of("+")} - self._forced

    def snapshot(self) -> tuple[list[Document], list[Key]]:
        with self._lock:
            return list(self.docs.values()), list(self.keys.values())

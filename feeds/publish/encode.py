"""The hub's payloads, encoded without redoing what did not change since the last poll.

A 5,000-agent floor's boards and game are megabytes of JSON every poll, yet between two polls only
a few agents move. The parse layer keeps an unchanged agent's record as the *same* object, and so
does the engine an unchanged :class:`~feeds.game.challenges.Progress`; :class:`Fragments` keeps the
JSON of each such object from the last poll, keyed by the object itself, and a payload is the join
of its parts. The bytes are exactly what :func:`feeds.bus.topics.pack` makes of the same data
(``tests/test_hub_encode.py`` holds them side by side), so screens see no difference.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from feeds.bus.topics import VERSION
from feeds.game.challenges import GameState, Progress, plain_fields
from feeds.model import Agent, Snapshot, Team


def enc(value: Any) -> str:
    """One JSON value exactly as ``pack`` writes it."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class Fragments:
    """The JSON of objects seen at the last poll, by identity. Each poll's :meth:`turn` forgets the
    objects it did not use, so the cache holds one floor at most; a strong reference to each
    object keeps its ``id`` from being reused while its entry lives."""

    def __init__(self) -> None:
        self._last: dict[int, tuple[object, str]] = {}
        self._now: dict[int, tuple[object, str]] = {}

    def get(self, obj: object, encode: Callable[[Any], str]) -> str:
        key = id(obj)
        found = self._now.get(key) or self._last.get(key)
        if found is None or found[0] is not obj:
            found = (obj, encode(obj))
        self._now[key] = found
        return found[1]

    def many(self, objs: Iterable[object], encode: Callable[[Any], str]) -> list[str]:
        """:meth:`get` for each of ``objs`` (one call for a floor: this loop runs 15,000 times a poll)."""
        last, now, out = self._last, self._now, []
        for obj in objs:
            key = id(obj)
            found = last.get(key)  # (an object met twice in one poll is only encoded twice)
            if found is None or found[0] is not obj:
                found = (obj, encode(obj))
            now[key] = found
            out.append(found[1])
        return out

    def turn(self) -> None:
        """A poll's payloads are made: keep only what they used."""
        self._last, self._now = self._now, {}

    def __len__(self) -> int:
        return len(self._last)


def _agent(agent: Agent) -> str:
    return enc(agent.to_dict())


def _progress(progress: Progress) -> str:
    return enc(plain_fields(progress))


def _object(pairs: Iterable[tuple[str, str]]) -> str:
    return "{" + ",".join(f"{enc(k)}:{v}" for k, v in pairs) + "}"


class Encoder:
    """Board and game payloads for the :class:`~feeds.publish.hub.Publisher`."""

    def __init__(self) -> None:
        self.fragments = Fragments()

    def boards(self, snapshot: Snapshot, head: Mapping[str, Any]) -> dict[str | None, bytes]:
        """Each team's board payload: ``pack("board", {**head, **team_documents(snapshot)[team]})``."""
        teams = {t.id: t for t in snapshot.teams}
        grouped: dict[str | None, list[Agent]] = {}
        for agent in snapshot.agents:
            grouped.setdefault(agent.team, []).append(agent)
        members = {team: self.fragments.many(agents, _agent) for team, agents in grouped.items()}
        start = [("v", enc(VERSION)), ("kind", enc("board")), *((k, enc(v)) for k, v in head.items()),
                 ("version", "1")]
        out: dict[str | None, bytes] = {}
        for team_id, parts in members.items():
            team: Team | None = teams.get(team_id) if team_id else None
            body = [*start, ("teams", enc([team.to_dict()] if team else [])), ("agents", "[" + ",".join(parts) + "]")]
            if snapshot.generated_at:
                body.append(("generated_at", enc(snapshot.generated_at)))
            out[team_id] = _object(body).encode()
        for team_id, team in teams.items():  # a team with nobody in it yet still has a board
            if team_id not in out:
                out[team_id] = _object([*start, ("teams", enc([team.to_dict()])), ("agents", "[]")]).encode()
        return out

    def game(self, game: GameState, epoch: int) -> bytes:
        """``pack("game", {"epoch": epoch, "game": game.to_dict()})``."""
        whole = game.to_dict(progress=False)
        progress = "[" + ",".join(self.fragments.many(game.progress, _progress)) + "]"
        inner = [(k, progress if k == "progress" else enc(v)) for k, v in whole.items()]
        return _object([("v", enc(VERSION)), ("kind", enc("game")), ("epoch", enc(epoch)),
                        ("game", _object(inner))]).encode()

    def turn(self) -> None:
        self.fragments.turn()

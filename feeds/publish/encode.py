"""The hub's payloads, encoded without redoing what did not change since the last poll.

A 5,000-agent floor's boards and game are megabytes of JSON every poll, yet between two polls only
a few agents move. The parse layer keeps an unchanged agent's record as the *same* object, and so
does the engine an unchanged :class:`~feeds.game.challenges.Progress`; :class:`Fragments` keeps the
JSON of each such object from the last poll, keyed by the object itself, and a payload is the join
of its parts. Fragments and payloads come from the one encoder :func:`~feeds.bus.topics.pack` uses
(msgspec's), so the bytes are exactly ``pack``'s of the same data (``tests/test_hub_speed.py``
holds them side by side), and screens see no difference.

The game goes out in parts (docs/hub.md, "Topics and payloads"): each team's progress and badges on
its own topic, and the rest — period, records, duels, comparison, and the progress and badges of
subjects in no team — on the site's. Each progress entry travels with its place in the engine's list
(``order``), so a screen of any set of teams puts its parts back in the engine's order.
"""

from __future__ import annotations

import operator
from bisect import bisect_left
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from itertools import compress, repeat
from typing import Any

from feeds.bus.topics import ENCODER, VERSION
from feeds.game.challenges import GameState, Progress
from feeds.model import Agent, Snapshot, Team

enc: Callable[[Any], bytes] = ENCODER.encode  # one JSON value exactly as ``pack`` writes it
REST = "\0rest"  # the site part's key among the teams' (no team id is this: ids are visible text)
_team_of = operator.attrgetter("team")
_id_of = operator.attrgetter("id")
_who = operator.attrgetter("scope", "subject")


class Fragments:
    """The JSON of objects seen at the last poll, by ``id``. Each poll's :meth:`turn` forgets the
    objects it did not use, so the cache holds one floor at most. A strong reference to every
    object in the cache keeps it alive, so no other object can have its ``id`` while its entry
    lives: an ``id`` found is the object itself, and the lookups run in C."""

    def __init__(self) -> None:
        self._last: dict[int, bytes] = {}
        self._now: dict[int, bytes] = {}
        self._kept: dict[int, object] = {}  # id -> the object (what makes the ids safe)
        self._keep: dict[int, object] = {}

    def get(self, obj: object, encode: Callable[[Any], bytes]) -> bytes:
        return self.many((obj,), encode)[0]

    def many(self, objs: Sequence[object], encode: Callable[[Any], bytes]) -> list[bytes]:
        """:meth:`get` for each of ``objs``: C-level lookups, Python only for the misses (an object
        met twice in one poll before it was cached is encoded twice)."""
        ids = list(map(id, objs))
        last = self._last
        out: list[bytes | None] = list(map(last.get, ids))
        if None in out:
            now = self._now
            for i in compress(range(len(out)), map(operator.is_, out, repeat(None))):
                out[i] = now.get(ids[i]) or encode(objs[i])
        self._now.update(zip(ids, out))  # type: ignore[arg-type]
        self._keep.update(zip(ids, objs))
        return out  # type: ignore[return-value]

    def turn(self) -> None:
        """A poll's payloads are made: keep only what they used."""
        self._last, self._now = self._now, {}
        self._kept, self._keep = self._keep, {}

    def __len__(self) -> int:
        return len(self._last)


def positions(keys: Sequence[Hashable]) -> dict[Hashable, list[int]]:
    """Where each key occurs in ``keys``, ascending, the keys in the order first met — what a loop
    of ``setdefault(key, []).append(i)`` makes, with the loops in C (a stable sort by key rank)."""
    rank = {key: i for i, key in enumerate(dict.fromkeys(keys))}
    ranks = list(map(rank.__getitem__, keys))
    order = sorted(range(len(ranks)), key=ranks.__getitem__)
    ranks.sort()
    return {key: order[bisect_left(ranks, r):bisect_left(ranks, r + 1)] for key, r in rank.items()}


def _agent(agent: Agent) -> bytes:
    return enc(agent.to_dict())


def _object(pairs: Iterable[tuple[str, bytes]]) -> bytes:
    return b"{" + b",".join(enc(k) + b":" + v for k, v in pairs) + b"}"


def _array(parts: list[bytes]) -> bytes:
    return b"[" + b",".join(parts) + b"]"


class Encoder:
    """Board and game payloads for the :class:`~feeds.publish.hub.Publisher`."""

    def __init__(self) -> None:
        self.fragments = Fragments()

    def boards(self, snapshot: Snapshot, head: Mapping[str, Any]) -> dict[str | None, bytes]:
        """Each team's board payload: ``pack("board", {**head, **team_documents(snapshot)[team]})``."""
        teams = {t.id: t for t in snapshot.teams}
        agents = snapshot.agents
        fragments = self.fragments.many(agents, _agent)
        start = [("v", enc(VERSION)), ("kind", enc("board")), *((k, enc(v)) for k, v in head.items()),
                 ("version", b"1")]
        out: dict[str | None, bytes] = {}
        for team_id, where in positions(list(map(_team_of, agents))).items():
            team: Team | None = teams.get(team_id) if team_id else None  # type: ignore[arg-type]
            body = [*start, ("teams", enc([team.to_dict()] if team else [])),
                    ("agents", _array(list(map(fragments.__getitem__, where))))]
            if snapshot.generated_at:
                body.append(("generated_at", enc(snapshot.generated_at)))
            out[team_id] = _object(body)  # type: ignore[index]
        for team_id, team in teams.items():  # a team with nobody in it yet still has a board
            if team_id not in out:
                out[team_id] = _object([*start, ("teams", enc([team.to_dict()])), ("agents", b"[]")])
        return out

    def game(self, game: GameState, epoch: int, snapshot: Snapshot | None = None,
             teams: Iterable[str | None] = ()) -> dict[str | None, bytes]:
        """The game's parts: under :data:`REST` the site's ``pack("game", {"epoch", "game": …})``,
        under each team id (``teams``, and any team a progress entry or badge belongs to) its
        ``pack("game_team", {"epoch", "team", "progress", "order", "badges"})``. A subject is a
        team's when it is one of the team's agents (scope "agent") or the team (scope "team")."""
        agents = snapshot.agents if snapshot is not None else ()
        team_ids = set(teams) | {t.id for t in snapshot.teams} if snapshot is not None else set(teams)
        member = dict(zip(map(_id_of, agents), map(_team_of, agents)))
        team_ids |= set(member.values())
        owner: dict[tuple[str, str | None], str | None] = dict(zip(zip(repeat("agent"), member), member.values()))
        owner.update(zip(zip(repeat("team"), team_ids), team_ids))
        progress = game.progress
        fragments = self.fragments.many(progress, enc)
        where = positions(list(map(owner.get, map(_who, progress), repeat(REST))))
        badges: dict[str | None, dict[str, Any]] = {}
        for subject, worn in game.badges.items():
            homes = [h for h in (member.get(subject, REST), subject if subject in team_ids else REST) if h != REST]
            for home in homes or [REST]:
                badges.setdefault(home, {})[subject] = list(worn)
        rest = where.pop(REST, [])
        whole = game.to_dict(progress=False)
        inner = [("period", enc(whole.pop("period"))),
                 ("progress", _array(list(map(fragments.__getitem__, rest)))), ("order", enc(rest)),
                 *((k, enc(badges.get(REST, {}) if k == "badges" else v)) for k, v in whole.items() if k != "progress")]
        out: dict[str | None, bytes] = {REST: _object([("v", enc(VERSION)), ("kind", b'"game"'), ("epoch", enc(epoch)),
                                                        ("game", _object(inner))])}
        for team in sorted(team_ids | set(where) | (set(badges) - {REST}), key=lambda t: (t is None, t or "")):
            mine = where.get(team, [])
            out[team] = _object([("v", enc(VERSION)), ("kind", b'"game_team"'), ("epoch", enc(epoch)),
                                 ("team", enc(team)), ("progress", _array(list(map(fragments.__getitem__, mine)))),
                                 ("order", enc(mine)), ("badges", enc(badges.get(team, {})))])
        return out

    def turn(self) -> None:
        self.fragments.turn()

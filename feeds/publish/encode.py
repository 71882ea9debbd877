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
(``order``), so a screen of any set of teams puts its parts back in the engine's order; a team's
progress is compact (:mod:`feeds.live.compact`), the site's whole.

Each team's fragments wait in a list of their own between a slot for what precedes them in the
payload and one for what follows (:class:`Grouped`), so a payload costs one join, one copy of its
bytes; a poll's work is one C-level identity pass over each list (none over the agents when the
snapshot's hint, ``Snapshot.changed``, is about that very list and the last one), then a few steps
per changed object.
"""

from __future__ import annotations

import operator
from bisect import bisect_left
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from itertools import compress, repeat
from typing import Any

import msgspec

from feeds.live.compact import Heads
from feeds.bus.topics import ENCODER, VERSION
from feeds.game.challenges import GameState, Progress
from feeds.model import Agent, Changed, Snapshot, Team, plain_number

enc: Callable[[Any], bytes] = ENCODER.encode  # one JSON value exactly as ``pack`` writes it
CHANGE = b'{"v":' + enc(VERSION) + b',"kind":"board_change"'
REST = "\0rest"  # the site part's key among the teams' (no team id is this: ids are visible text)
_team_of = operator.attrgetter("team")
_id_of = operator.attrgetter("id")
_who = operator.attrgetter("scope", "subject")


class Fragments:
    """The JSON of each object of a list (the floor's agents, the engine's progress), kept from the
    last poll position by position: a poll compares each position's object with the last poll's by
    identity in C and encodes only those that are not the same. A list of another length (an agent
    came or went) finds its unchanged objects by ``id`` among the last poll's, which are still held,
    so no ``id`` can have been reused."""

    def __init__(self) -> None:
        self.objs: Sequence[object] = ()
        self.parts: list[bytes] = []

    def update(self, objs: Sequence[object], encode: Callable[[Any], bytes]) -> list[int] | None:
        """Bring :attr:`parts` to ``objs``; the positions re-encoded, or None for a list of another length."""
        if len(objs) == len(self.objs):
            changed = list(compress(range(len(objs)), map(operator.is_not, objs, self.objs)))
            parts = self.parts
            for i in changed:
                parts[i] = encode(objs[i])
            self.objs = objs
            return changed
        known = dict(zip(map(id, self.objs), self.parts))
        parts = list(map(known.get, map(id, objs)))
        for i in compress(range(len(parts)), map(operator.is_, parts, repeat(None))):
            parts[i] = encode(objs[i])
        self.objs, self.parts = objs, parts  # type: ignore[assignment]
        return None

    def __len__(self) -> int:
        return len(self.parts)


class Grouped:
    """:class:`Fragments` of a list whose objects each belong to a group (a team), with each
    group's fragments in a list of its own, kept while every re-encoded object stays in its group.

    Fragments carry a leading comma (the first of a group is kept without it), and a group's list
    has a slot before them and one after (:attr:`HEAD`, :attr:`TAIL`) for what a payload puts
    around them: a payload is then one join of that list, one copy of its bytes."""

    HEAD, TAIL = 0, -1

    def __init__(self, key: Callable[[Any], Hashable], same: Callable[[Any], Hashable] | None = None) -> None:
        self.key, self.same = key, same or key  # same: what must not change for an object to keep its place
        self.generation = 0  # counts the times the groups were sorted again
        self.fragments = Fragments()
        self.where: dict[Hashable, list[int]] = {}  # group -> its positions in the list
        self.lists: dict[Hashable, list[bytes]] = {}  # group -> [HEAD slot, its fragments, TAIL slot]
        self._list_of: list[list[bytes]] = []  # position -> its group's list
        self._place: list[int] = []  # position -> its place in that list
        self._context: object = None
        # group -> the places in its list re-encoded since take_touched(); None: sorted again since
        self.touched: dict[Hashable, set[int]] | None = None

    def take_touched(self) -> dict[Hashable, set[int]] | None:
        """The places each group's list had re-encoded since the last call (None: everything is new)."""
        touched, self.touched = self.touched, {}
        return touched

    def update(self, objs: Sequence[object], encode: Callable[[Any], bytes], context: object = None,
               hint: Changed | None = None) -> None:
        """Bring the groups to ``objs``; ``context`` (compared with ``==``) is whatever else decides
        the groups (who is in which team): when it changes, everything is sorted again. ``hint``
        spares the identity pass when it is about ``objs`` and the last poll's very list."""
        fragments = self.fragments
        old = fragments.objs
        if len(objs) == len(old) and context == self._context:
            same, parts, list_of, place = self.same, fragments.parts, self._list_of, self._place
            changed = (hint.differ() if hint is not None and hint.applies(objs, old)
                       else compress(range(len(objs)), map(operator.is_not, objs, old)))
            touched, key = self.touched, self.key
            for i in changed:  # a few steps per changed object
                obj = objs[i]
                if same(obj) != same(old[i]):
                    break  # its group may be another: sorted again below (what was done here is done again)
                parts[i] = part = encode(obj)
                at = place[i]
                list_of[i][at] = part if at > 1 else part[1:]
                if touched is not None:
                    touched.setdefault(key(obj), set()).add(at)
            else:
                fragments.objs = objs
                return
        fragments.update(objs, encode)
        parts = fragments.parts
        self._context, self.generation, self.touched = context, self.generation + 1, None
        self.where = positions(list(map(self.key, objs)))
        self.lists = {group: [b"", parts[where[0]][1:], *map(parts.__getitem__, where[1:]), b""]
                      for group, where in self.where.items()}
        self._list_of, self._place = [[]] * len(objs), [0] * len(objs)
        for group, where in self.where.items():
            for at, i in enumerate(where, 1):
                self._list_of[i], self._place[i] = self.lists[group], at


def positions(keys: Sequence[Hashable]) -> dict[Hashable, list[int]]:
    """Where each key occurs in ``keys``, ascending, the keys in the order first met — what a loop
    of ``setdefault(key, []).append(i)`` makes, with the loops in C (a stable sort by key rank)."""
    rank = {key: i for i, key in enumerate(dict.fromkeys(keys))}
    ranks = list(map(rank.__getitem__, keys))
    order = sorted(range(len(ranks)), key=ranks.__getitem__)
    ranks.sort()
    return {key: order[bisect_left(ranks, r):bisect_left(ranks, r + 1)] for key, r in rank.items()}


class _AgentJSON(msgspec.Struct, omit_defaults=True, gc=False):
    """:meth:`Agent.to_dict`'s keys in its order, a field left out when None (as it leaves them out)."""

    id: Any
    name: Any
    team: Any = None
    level: Any = None
    avatar: Any = None
    role: Any = None
    queue: Any = None
    channel: Any = None
    hours_available: Any = None
    metrics: Any = None  # always a dict here, so always written


_PLAIN: dict[float, float | int] = {}  # value -> plain_number(value): equal numbers have the same plain form
_PLAIN_MAX = 50_000


def _plain(values: Iterable[float]) -> list[float | int]:
    values = list(values)
    out = list(map(_PLAIN.get, values))
    if None in out:
        if len(_PLAIN) > _PLAIN_MAX:
            _PLAIN.clear()
        out = [_PLAIN.setdefault(v, plain_number(v)) if p is None else p for v, p in zip(values, out)]
    return out  # type: ignore[return-value]


def _agent(agent: Agent) -> bytes:
    """``b"," + enc(agent.to_dict())``, without building the dict a key at a time."""
    id_, name, team, level, avatar, metrics, hours, role, queue, channel = agent
    return b"," + enc(_AgentJSON(id_, name, team, level, avatar, role, queue, channel,
                                 None if hours is None else plain_number(hours), dict(zip(metrics, _plain(metrics.values())))))


def _pairs(pairs: Iterable[tuple[str, bytes]]) -> bytes:
    return b"".join(b"," + enc(k) + b":" + v for k, v in pairs)


class Encoder:
    """Board and game payloads for the :class:`~feeds.publish.hub.Publisher`."""

    def __init__(self) -> None:
        self.agents = Grouped(_team_of, operator.attrgetter("id", "team"))
        self.heads = Heads()
        self.progress = Grouped(self._home, _who)
        self._owner: dict[tuple[str, str | None], str | None] = {}  # (scope, subject) -> its team
        self._member: dict[str, str | None] = {}  # agent -> team
        self._teams: set[str | None] = set()  # every team: the snapshot's and its agents'
        self._listed: set[str] = set()  # the snapshot's teams
        self._orders: dict[Hashable, bytes] = {}  # team -> its progress's places, encoded (kept with the groups)
        self._order_generation = -1
        self._rest: tuple[tuple[object, ...], bytes] = ((), b"[]")  # the site part's progress, and its JSON
        # what changes() needs of the last boards(): the places re-encoded, the payloads' common parts
        self._touched: dict[Hashable, set[int]] | None = None
        self._made: tuple[int, bytes, bytes] = (0, b"", b"]}")
        self._team_json: dict[Hashable, bytes] = {}

    def _home(self, progress: Progress) -> Hashable:
        return self._owner.get((progress.scope, progress.subject), REST)

    def sizes(self) -> dict[str | None, int]:
        """How many agents each team has in the snapshot :meth:`boards` last encoded (its groups)."""
        return {team: len(where) for team, where in self.agents.where.items()}  # type: ignore[misc]

    def boards(self, snapshot: Snapshot, head: Mapping[str, Any]) -> dict[str | None, bytes]:
        """Each team's board payload: ``pack("board", {**head, **team_documents(snapshot)[team]})``."""
        teams = {t.id: t for t in snapshot.teams}
        self._follow(snapshot)
        self._touched = self.agents.take_touched()
        pairs = _pairs((k, enc(v)) for k, v in head.items())
        start = b'{"v":' + enc(VERSION) + b',"kind":"board"' + pairs + b',"version":1,"teams":'
        end = b'],"generated_at":' + enc(snapshot.generated_at) + b"}" if snapshot.generated_at else b"]}"
        self._made = (len(start) - len(b',"version":1,"teams":'), pairs, end)
        out: dict[str | None, bytes] = {}
        self._team_json = {}
        for team_id, parts in self.agents.lists.items():
            team: Team | None = teams.get(team_id) if team_id else None  # type: ignore[arg-type]
            self._team_json[team_id] = listed = enc([team.to_dict()] if team else [])
            parts[Grouped.HEAD] = start + listed + b',"agents":['
            parts[Grouped.TAIL] = end
            out[team_id] = b"".join(parts)  # type: ignore[index]
        for team_id, team in teams.items():  # a team with nobody in it yet still has a board
            if team_id not in out:
                out[team_id] = start + enc([team.to_dict()]) + b',"agents":[]}'
        return out

    def changes(self, boards: Mapping[str | None, bytes], bases: Mapping[str | None, Any]) -> dict[str | None, bytes]:
        """Each of ``boards``' teams' ``board_change`` payload (docs/hub.md, "A board and its changes"):
        on top of ``bases[team]`` (``{"rev", "observed_at"}`` of the team's board the screens have, as
        the hub last sent it), only the agents re-encoded since that board, each with its place; whole
        (``"base": null`` and every agent) where there is no base, or the floor's teams were sorted
        again since. ``boards`` is what :meth:`boards` returned this poll."""
        cut, pairs, end = self._made
        touched, lists = self._touched, self.agents.lists
        out: dict[str | None, bytes] = {}
        for team, body in boards.items():
            base, parts = bases.get(team), lists.get(team)
            places = None if touched is None else touched.get(team, ())
            if base is None or places is None or parts is None:
                out[team] = CHANGE + pairs + b',"base":null' + body[cut:]
                continue
            changed = b",".join(b"[%d,%s]" % (at - 1, parts[at] if at == 1 else parts[at][1:]) for at in sorted(places))
            out[team] = (CHANGE + pairs + b',"base":' + enc(base) + b',"version":1,"teams":' + self._team_json[team]
                         + b',"size":%d,"set":[' % (len(parts) - 2) + changed + end)
        return out

    def _follow(self, snapshot: Snapshot | None) -> None:
        """The floor's agents and who is in which team (once per snapshot)."""
        agents = snapshot.agents if snapshot is not None else ()
        if agents is self.agents.fragments.objs and agents:
            return
        before = self.agents.generation
        self.agents.update(agents, _agent, None, snapshot.changed if snapshot is not None else None)
        teams = {t.id for t in snapshot.teams} if snapshot is not None else set()
        if self.agents.generation != before or teams != self._listed:
            self._listed = teams
            self._member = dict(zip(map(_id_of, agents), map(_team_of, agents)))
            self._teams = teams | set(self._member.values())
            self._owner = dict(zip(zip(repeat("agent"), self._member), self._member.values()))
            self._owner.update(zip(zip(repeat("team"), self._teams), self._teams))

    def game(self, game: GameState, epoch: int, snapshot: Snapshot | None = None,
             teams: Iterable[str | None] = ()) -> dict[str | None, bytes]:
        """The game's parts: under :data:`REST` the site's ``pack("game", {"epoch", "game": …})``,
        under each team id (``teams``, and any team a progress entry or badge belongs to) its
        ``pack("game_team", {"epoch", "team", "heads", "progress", "order", "badges"})``, progress
        compact (:mod:`feeds.live.compact`). A subject is a team's when it is one of the team's agents
        (scope "agent") or the team (scope "team")."""
        self._follow(snapshot)
        member, team_ids = self._member, self._teams | set(teams)
        if not self.progress.fragments.objs or self.heads.stale():
            self.heads.renumber(game.progress)
            self.progress, self._order_generation = Grouped(self._home, _who), -1  # every entry encoded again
        self.progress.update(game.progress, self.heads.entry, (self.agents.generation, frozenset(team_ids)))
        lists, where = self.progress.lists, self.progress.where
        if self._order_generation != self.progress.generation:
            self._orders = {group: enc(places) for group, places in where.items()}
            self._order_generation = self.progress.generation
        badges: dict[Hashable, dict[str, Any]] = {}
        for subject, worn in game.badges.items():
            homes = [h for h in (member.get(subject, REST), subject if subject in team_ids else REST) if h != REST]
            for home in homes or [REST]:
                badges.setdefault(home, {})[subject] = list(worn)
        whole = game.to_dict(progress=False)
        inner = [("period", enc(whole.pop("period"))),
                 ("progress", self._site_progress(game.progress, where.get(REST, ()))),
                 ("order", self._orders.get(REST, b"[]")),
                 *((k, enc(badges.get(REST, {}) if k == "badges" else v)) for k, v in whole.items() if k != "progress")]
        out: dict[str | None, bytes] = {REST: b'{"v":' + enc(VERSION) + b',"kind":"game","epoch":' + enc(epoch)
                                        + b',"game":{' + _pairs(inner)[1:] + b"}}"}
        groups = (team_ids | set(lists) | set(badges)) - {REST}
        start = b'{"v":' + enc(VERSION) + b',"kind":"game_team","epoch":' + enc(epoch) + b',"team":'
        heads = b',"heads":' + self.heads.encoded() + b',"progress":['
        for team in sorted(groups, key=lambda t: (t is None, t or "")):  # type: ignore[arg-type, operator]
            tail = b'],"order":' + self._orders.get(team, b"[]") + b',"badges":' + enc(badges.get(team, {})) + b"}"
            parts = lists.get(team)
            if parts is None:
                out[team] = start + enc(team) + heads + tail  # type: ignore[index]
                continue
            parts[Grouped.HEAD], parts[Grouped.TAIL] = start + enc(team) + heads, tail
            out[team] = b"".join(parts)  # type: ignore[index]
        return out

    def _site_progress(self, progress: Sequence[Progress], places: Sequence[int]) -> bytes:
        """The JSON of the progress of subjects in no team, whole (it is rarely more than a few),
        encoded again only when one of them is not the same object as at the last poll."""
        mine = tuple(map(progress.__getitem__, places))
        last, encoded = self._rest
        if len(mine) != len(last) or not all(map(operator.is_, mine, last)):
            encoded = enc(mine)
            self._rest = (mine, encoded)
        return encoded

"""What a hub's screen has instead of an engine: the hub's game state and its celebrations, as given.

A screen never writes the ledger, so the coordinator's ``on_snapshot`` here only passes on what the
hub decided: the game (decoded and checked as it arrives, so a wrong shape is refused where it can
be logged) and the celebrations the screen's inbox handed on, points as the hub's ledger recorded
them — not zeroed as they would be for a feed without a ledger.

The hub sends the game in parts (docs/hub.md): the site's (period, records, duels, comparison, and
whatever belongs to no team) and one per team (its agents' and its own progress, and their badges),
each progress entry with its place in the engine's list, a team's progress compact
(:mod:`feeds.live.compact`). :func:`assemble` puts the parts a screen
subscribed to back together: the GameState a single wall would have, for those teams.

A thank-you the team page took back comes from the hub as a ``thanks_withdrawn`` event
(:mod:`feeds.live.undo`), handed to the display as :class:`~feeds.board.diff.ThanksWithdrawn`, as a
single wall's thanks reader does: the toast goes, or never comes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from feeds.board.diff import BoardEvent, ThanksWithdrawn
from feeds.bus.codec import DecodeError, decode
from feeds.live.compact import Expander, expand
from feeds.connectors.hub import HubFeed
from feeds.game.challenges import GameState, Progress
from feeds.game.engine import EngineOutput
from feeds.model import FeedEvent, Snapshot
from feeds.live.undo import WITHDRAWN, WITHDRAWS


@dataclass(frozen=True, slots=True)
class TeamGame:
    """One team's part of the game (``game/team/<team>``)."""

    progress: tuple[Progress, ...] = ()
    order: tuple[int, ...] = ()  # each progress entry's place in the engine's list
    badges: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True, slots=True)
class SiteGame:
    """The site's part (``game``): a GameState holding only the progress and badges of no team."""

    state: GameState
    order: tuple[int, ...]


def _ordered(progress: tuple[Progress, ...], order: Any, where: str) -> tuple[int, ...]:
    if not isinstance(order, (list, tuple)) or len(order) != len(progress) \
            or not all(type(i) is int for i in order):
        raise DecodeError(f"{where}.order: expected {len(progress)} integers, one per progress entry")
    return tuple(order)


def decode_game(data: dict[str, Any]) -> SiteGame:
    """The site's part; a game of the old shape (one message with every team's progress) is refused."""
    if "order" not in data:
        raise DecodeError("a game of the old shape (every team's progress in one message); this screen reads "
                          "the per-team game (are the hub and this screen the same release?)")
    state = decode(GameState, data)
    return SiteGame(state, _ordered(state.progress, data["order"], "GameState"))


@dataclass(frozen=True, slots=True)
class _TeamWire:
    """A team's part as it travels: progress compact (:mod:`feeds.live.compact`)."""

    heads: tuple[tuple[str, str, str, str], ...] = ()
    progress: tuple[tuple[int, str, float, float, int], ...] = ()
    order: tuple[int, ...] = ()
    badges: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))


def decode_team_game(data: dict[str, Any], expander: Callable[..., tuple[Progress, ...]] = expand) -> TeamGame:
    """A team's part; ``expander`` an :class:`~feeds.live.compact.Expander` of that team's parts
    (one per team: it remembers the last part's entries)."""
    wire = decode(_TeamWire, {k: data[k] for k in ("heads", "progress", "order", "badges") if k in data}, "TeamGame")
    if len(wire.order) != len(wire.progress):
        raise DecodeError(f"TeamGame.order: expected {len(wire.progress)} integers, one per progress entry")
    return TeamGame(expander(wire.heads, wire.progress), wire.order, wire.badges)


class TeamParts:
    """:func:`decode_team_game` for one screen: an :class:`Expander` per team it reads."""

    def __init__(self) -> None:
        self._expanders: dict[str, Expander] = {}

    def __call__(self, data: dict[str, Any], team: str) -> TeamGame:
        expander = self._expanders.get(team)
        if expander is None:
            expander = self._expanders[team] = Expander()
        return decode_team_game(data, expander)


def assemble(site: SiteGame, teams: Iterable[TeamGame]) -> GameState:
    """The GameState of the site's part and these teams' parts, progress in the engine's order."""
    progress, order = list(site.state.progress), list(site.order)
    badges = dict(site.state.badges)
    for part in teams:
        progress += part.progress
        order += part.order
        badges.update(part.badges)
    places = sorted(range(len(order)), key=order.__getitem__)
    return replace(site.state, progress=tuple(map(progress.__getitem__, places)), badges=MappingProxyType(badges))


class HubGame:
    """The coordinator's ``on_snapshot`` for ``[feed] type = "hub"``."""

    def __init__(self, feed: HubFeed) -> None:
        self.feed = feed
        feed.game_codec = (decode_game, TeamParts(), assemble)
        # the coordinator's publish, for the withdrawals of thank-yous shown at an earlier poll
        self.publish: Callable[[Sequence[FeedEvent], Sequence[BoardEvent]], object] | None = None

    def __call__(self, snapshot: Snapshot) -> EngineOutput:
        game = self.feed.game()
        events = snapshot.events
        if any(e.type == WITHDRAWN for e in events):
            taken = [str(e.data.get(WITHDRAWS)) for e in events if e.type == WITHDRAWN]
            listed = {e.id for e in events}
            late = [ThanksWithdrawn(i) for i in taken if i not in listed]
            events = tuple(e for e in events if e.type != WITHDRAWN and e.id not in taken)  # given and undone: no toast
            if late and self.publish is not None:
                self.publish((), late)
        return EngineOutput((), game if isinstance(game, GameState) else None, events)

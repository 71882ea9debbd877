"""What a hub's screen has instead of an engine: the hub's game state and its celebrations, as given.

A screen never writes the ledger, so the coordinator's ``on_snapshot`` here only passes on what the
hub decided: the game (decoded and checked as it arrives, so a wrong shape is refused where it can
be logged) and the celebrations the screen's inbox handed on, points as the hub's ledger recorded
them — not zeroed as they would be for a feed without a ledger. A thank-you the team page took back
comes from the hub as a ``thanks_withdrawn`` event (:mod:`feeds.live.undo`), handed to the display
as :class:`~feeds.board.diff.ThanksWithdrawn`, as a single wall's thanks reader does: the toast goes,
or never comes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from feeds.board.diff import BoardEvent, ThanksWithdrawn
from feeds.bus.codec import decode
from feeds.connectors.hub import HubFeed
from feeds.game.challenges import GameState
from feeds.game.engine import EngineOutput
from feeds.model import FeedEvent, Snapshot
from feeds.live.undo import WITHDRAWN, WITHDRAWS


def decode_game(data: dict[str, Any]) -> GameState:
    return decode(GameState, data)


class HubGame:
    """The coordinator's ``on_snapshot`` for ``[feed] type = "hub"``."""

    def __init__(self, feed: HubFeed) -> None:
        self.feed = feed
        feed._decode_game = decode_game
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

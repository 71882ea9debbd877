"""What a hub's screen has instead of an engine: the hub's game state and its celebrations, as given.

A screen never writes the ledger, so the coordinator's ``on_snapshot`` here only passes on what the
hub decided: the game (decoded and checked as it arrives, so a wrong shape is refused where it can
be logged) and the celebrations the screen's inbox handed on, points as the hub's ledger recorded
them — not zeroed as they would be for a feed without a ledger.
"""

from __future__ import annotations

from typing import Any

from feeds.bus.codec import decode
from feeds.connectors.hub import HubFeed
from feeds.game.challenges import GameState
from feeds.game.engine import EngineOutput
from feeds.model import Snapshot


def decode_game(data: dict[str, Any]) -> GameState:
    return decode(GameState, data)


class HubGame:
    """The coordinator's ``on_snapshot`` for ``[feed] type = "hub"``."""

    def __init__(self, feed: HubFeed) -> None:
        self.feed = feed
        feed._decode_game = decode_game

    def __call__(self, snapshot: Snapshot) -> EngineOutput:
        game = self.feed.game()
        return EngineOutput((), game if isinstance(game, GameState) else None, snapshot.events)

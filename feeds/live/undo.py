"""A thank-you taken back, told through the hub: the screens that were told of it hear that it was undone.

On a single wall the thanks reader hands an undo to its own display (``ThanksWithdrawn``). A hub's
screens are other processes, so the hub puts a withdrawal into the outbox instead — an event of
type ``thanks_withdrawn`` naming the thank-you, on each stream that carried the thank-you, after it
— and a screen (:mod:`feeds.live.hubgame`) turns it back into ``ThanksWithdrawn`` for its display.
A withdrawal is numbered like any celebration, so it is delivered once and in order, whatever
restarts; and at start the hub withdraws what was undone while it was down (or before it could).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime, timezone

from feeds.board.diff import BoardEvent, ThanksWithdrawn
from feeds.game.thanks import EVENT_PREFIX
from feeds.model import FeedEvent, _frozen

WITHDRAWN = ThanksWithdrawn.kind  # the event type a screen turns back into ThanksWithdrawn
WITHDRAWS = "withdraws"  # its field: the id of the thank-you taken back
Publish = Callable[[Sequence[FeedEvent], Sequence[BoardEvent]], object]


def withdrawal(event_id: str, now: float) -> FeedEvent:
    """The event that takes ``event_id`` back (one id per thank-you, so it is queued once per stream)."""
    at = datetime.fromtimestamp(now, timezone.utc).isoformat(timespec="seconds")
    return FeedEvent(f"{event_id}#withdrawn", WITHDRAWN, at, _frozen({WITHDRAWS: event_id}))


def thanks_publisher(publish: Publish, withdraw: Callable[[list[str]], object]) -> Publish:
    """The hub's thanks reader's ``publish``: new thank-yous to the coordinator (whose announced store
    is the outbox), undos to ``withdraw`` — after them, should a thank-you and its undo come together."""
    def hand_on(events: Sequence[FeedEvent], others: Sequence[BoardEvent]) -> object:
        taken = [o.event_id for o in others if isinstance(o, ThanksWithdrawn)]
        queued = publish(events, [o for o in others if not isinstance(o, ThanksWithdrawn)])
        if taken:
            withdraw(taken)
        return queued
    return hand_on


def undone_announced(db: sqlite3.Connection, now: float) -> list[str]:
    """The thank-yous the outbox announced, not expired yet, that the team page has since undone
    (``withdraw`` skips those already withdrawn); none while there is no thanks table."""
    try:
        rows = db.execute("SELECT DISTINCT o.event_id FROM hub_outbox o JOIN thanks t ON o.event_id = ? || t.id "
                          "WHERE t.undone_at IS NOT NULL AND o.expires_at > ?", (EVENT_PREFIX, now)).fetchall()
    except sqlite3.OperationalError:  # no thanks table: the team page never ran here
        return []
    return [str(r[0]) for r in rows]


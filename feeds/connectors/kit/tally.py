"""The day's tally, kept per ticket and per rating so that counting is idempotent.

A connector reads changes (a ticket's current state, a rating) and records each one's
*contribution*, replacing whatever that ticket or rating contributed before. The metrics are
derived from the contributions, never stored apart, so a ticket seen in two overlapping pages or
polls counts once, a reassigned ticket moves to its new owner, a reopened one leaves until it is
solved again, and a late rating counts once. Times are epoch seconds; the day decides what counts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any


class Tracked(dict[str, Any]):
    """A dict that remembers which keys were set or removed since the store last saved it (so that
    a save writes those rows only, not the whole day's tally again). A value changed in place is
    not seen: set a new one."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.changed: set[str] = set()

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        self.changed.add(key)

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self.changed.add(key)

    def pop(self, key: str, *default: Any) -> Any:
        if key in self:
            self.changed.add(key)
        return super().pop(key, *default)



class Tally:
    def __init__(self, tickets: dict[str, list[Any]] | None = None, ratings: dict[str, list[Any]] | None = None) -> None:
        # ticket id -> [owner, solved_at, first_reply_seconds | None]; only tickets solved now
        self.tickets = Tracked(tickets or {})
        # rating id -> [agent, rated_at, satisfied (True/False)]
        self.ratings = Tracked(ratings or {})

    def ticket(self, ticket_id: object, owner: object, solved_at: float | None, solved: bool,
               first_reply_seconds: float | None = None) -> None:
        """A ticket as it stands now: counted for ``owner`` if solved (or closed), else not at all."""
        key = str(ticket_id)
        if solved and solved_at is not None and owner is not None:
            self.tickets[key] = [str(owner), float(solved_at), first_reply_seconds]
        else:
            self.tickets.pop(key, None)

    def rating(self, rating_id: object, agent: object, rated_at: float | None, satisfied: bool | None) -> None:
        """A rating as it stands now; ``satisfied`` None (withdrawn, or not rated after all) removes it."""
        key = str(rating_id)
        if satisfied is None or agent is None or rated_at is None:
            self.ratings.pop(key, None)
        else:
            self.ratings[key] = [str(agent), float(rated_at), bool(satisfied)]

    def prune(self, start: float) -> None:
        """Forget what no longer counts: solves and ratings before ``start`` (the day's)."""
        for table in (self.tickets, self.ratings):
            for key in [k for k, v in table.items() if v[1] < start]:
                del table[key]

    def metrics(self, agents: Iterable[str], start: float, end: float,
                ratings: bool = True, first_reply: bool = True) -> dict[str, dict[str, float | None]]:
        """Per agent: ``tickets_solved``, and (when asked) ``csat`` = 100 × satisfied ÷ rated (None
        while unrated), ``csat_count``, ``first_reply_seconds`` (median over today's solved)."""
        out: dict[str, dict[str, float | None]] = {}
        solved: defaultdict[str, list[float | None]] = defaultdict(list)
        for owner, at, frt in self.tickets.values():
            if start <= at < end:
                solved[owner].append(frt)
        rated: defaultdict[str, list[bool]] = defaultdict(list)
        if ratings:
            for agent, at, good in self.ratings.values():
                if start <= at < end:
                    rated[agent].append(good)
        empty: list[Any] = []
        for agent in agents:
            mine = solved.get(agent, empty)
            row: dict[str, float | None] = {"tickets_solved": float(len(mine))}
            if ratings:
                scores = rated.get(agent, empty)
                row["csat"] = 100.0 * sum(scores) / len(scores) if scores else None
                row["csat_count"] = float(len(scores))
            if first_reply:
                row["first_reply_seconds"] = _median([f for f in mine if f is not None])
            out[agent] = row
        return out



def _median(values: list[float]) -> float | None:
    """statistics.median, without its overhead (called for every agent on every poll)."""
    if not values:
        return None
    values.sort()
    middle = len(values) // 2
    return float(values[middle]) if len(values) % 2 else (values[middle - 1] + values[middle]) / 2.0

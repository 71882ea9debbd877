"""Rate budgets: chalkwall's share of a vendor account's request limit.

A vendor's limit is per account and shared with the customer's other integrations, so chalkwall
takes a share of it (``rate_share``, 25 % by default). Each :class:`Bucket` is a token bucket
refilled continuously at ``share × limit`` per minute; a request names the buckets it counts
against (Zendesk's incremental exports count against the account's limit *and* their own 10 a
minute) and its cost (Freshdesk charges 3 credits for a ticket list with stats). The limit learnt
from a response's headers replaces the documented default. A vendor that counts in shorter
windows (Intercom: a minute's limit spread over 10-second windows) gives its bucket a ``window``:
the bucket then holds only that window's share, refilled at the same rate, so no burst can spend a
whole minute's allowance in one window.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable


class Bucket:
    def __init__(self, per_minute: float, share: float, clock: Callable[[], float] = time.time,
                 window: float = 60.0) -> None:
        self.share = share
        self.window = window  # seconds the vendor counts over (60: a plain per-minute limit)
        self.clock = clock
        self.per_minute = per_minute
        self.tokens = self.capacity
        self._at = clock()

    @property
    def capacity(self) -> float:
        return max(1.0, self.per_minute * self.share * self.window / 60.0)

    @property
    def rate(self) -> float:
        """Tokens per second."""
        return self.capacity / self.window

    def learn(self, per_minute: float | None) -> None:
        """The vendor said what the limit is (a header): use it from now on."""
        if per_minute and per_minute > 0 and per_minute != self.per_minute:
            self._refill()
            self.per_minute = per_minute
            self.tokens = min(self.tokens, self.capacity)

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self._at) * self.rate)
        self._at = now

    def wait(self, cost: float = 1.0) -> float:
        """Seconds until ``cost`` tokens are there (0 when they are now)."""
        self._refill()
        missing = min(cost, self.capacity) - self.tokens
        return 0.0 if missing <= 0 else missing / self.rate

    def spend(self, cost: float = 1.0) -> None:
        self._refill()
        self.tokens -= cost


class Budget:
    """The named buckets of one vendor account."""

    def __init__(self, limits: dict[str, float], share: float = 0.25, clock: Callable[[], float] = time.time,
                 windows: dict[str, float] | None = None) -> None:
        self.buckets = {name: Bucket(limit, share, clock, (windows or {}).get(name, 60.0))
                        for name, limit in limits.items()}

    def wait(self, names: Iterable[str], cost: float = 1.0) -> float:
        return max((self.buckets[n].wait(cost) for n in names), default=0.0)

    def spend(self, names: Iterable[str], cost: float = 1.0) -> None:
        for n in names:
            self.buckets[n].spend(cost)

    def learn(self, name: str, per_minute: float | None) -> None:
        if name in self.buckets:
            self.buckets[name].learn(per_minute)
